"""Pure: syndication outputs as pages of their own — feeds, JSON API, OPML and the sitemap.

Every function here turns planned data into `PageSpec`s; nothing is read or
written. Feeds are RSS 2.0, Atom 1.0 and JSON Feed 1.1 for the whole site, every
topic, every source (provider) and the daily editions. No output carries a build
timestamp: a feed's date is its newest entry's, so a rebuild with the same records
yields the same bytes. Drafts never appear in any of these outputs (not even in a
``--drafts`` preview): syndication is publication.

Paths (relative to the site root)::

    rss.xml  atom.xml  feed.json                     the whole site
    topics/<slug>/{rss.xml,atom.xml,feed.json}       one topic
    sources/<slug>/{rss.xml,atom.xml,feed.json}      one source
    editions/{rss.xml,atom.xml,feed.json}            one entry per daily edition
    feeds.opml                                       every RSS feed above
    api/index.json, api/articles/<id>.json           JSON API (see README)
    api/{latest,topics/<slug>,sources/<slug>}/index.json   collections: the newest stories,
    api/{latest,topics/<slug>,sources/<slug>}/<n>.json     then fixed pages from the oldest
    sitemap.xml (+ sitemaps/sitemap-<n>.xml past 50,000 URLs or 50 MB), robots.txt
"""

from __future__ import annotations

import base64
import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from functools import partial
from operator import attrgetter
from typing import Any, Protocol
from urllib.parse import quote

from digest.config import Config
from digest.display import in_index_order
from digest.labels import Labels, labels_of
from digest.model import Article, Edition, PageSpec, Provider, RelatedRef, Topic, fixed, input_key
from digest.text import LINK_SCHEMES, credentials_link, domain_url, link_scheme, safe_url, term_key

FORMATS = (
    ("rss", "rss.xml", "feed.rss.xml", "application/rss+xml", "RSS"),
    ("atom", "atom.xml", "feed.atom.xml", "application/atom+xml", "Atom"),
    ("json", "feed.json", "json:feed", "application/feed+json", "JSON Feed"),
)
"""(format, file name, template, media type, label) of every feed format."""


topic_name = attrgetter("name")
"""A topic's name (its index order: `digest.display.in_index_order`)."""


def provider_name(entry: tuple[Provider, str]) -> str:
    """A source's name in ``planner.providers``' ``(provider, slug)`` (its index order)."""
    return entry[0].name


ENGLISH = labels_of()
"""The English labels (`digest.labels`)."""


def source_domain(provider: Provider) -> str:
    """The domain a source (of `digest.plan.build_providers`) is shown with: its host name; ""
    for one known by its name alone, whose identity is that name folded (``{name: The Guardian}``
    claimed the domain ``the guardian`` in the JSON API, and a name with a dot, ``Yahoo.News``,
    a home page in its feeds and pages' metadata)."""
    return provider.key if provider.domain else ""


def source_description(provider: Provider, words: Labels = ENGLISH) -> str:
    """The description of a source's page and feeds."""
    domain = source_domain(provider)
    if domain:
        return words.say("source_description", name=provider.name, domain=domain)
    return words.say("source_description_nameonly", name=provider.name)


SITEMAP_MAX_URLS = 50_000
"""Most URLs in one sitemap file (sitemaps.org protocol)."""
SITEMAP_MAX_BYTES = 50 * 1024 * 1024
"""Largest sitemap file in bytes, uncompressed (sitemaps.org protocol)."""

_IMAGE_TYPES = {"webp": "image/webp", "avif": "image/avif", "jpg": "image/jpeg", "jpeg": "image/jpeg",
                "png": "image/png", "gif": "image/gif"}
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_INTERNAL_KEYS = frozenset({"secured"})
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PlannerView(Protocol):
    """What the feeds need from `digest.plan._Planner` (read only)."""

    articles: list[Article]
    newest: list[Article]
    """The articles newest first, then by id."""
    topics: dict[str, Topic]
    providers: dict[str, tuple[Provider, str]]
    paths: dict[str, str]
    by_id: dict[str, Article]
    site_key: str
    entries: Entries

    def card(self, article: Article) -> dict: ...

    def rekey(self, struct: str, deps: tuple[str, ...]) -> str: ...

    def shown_related(self, article: Article) -> tuple[tuple[str | None, int], ...]: ...

    def grouped(self, first: str, inputs: tuple, plan: Callable[[], list[PageSpec]]) -> list[PageSpec]: ...


def output(path: str, template: str, kind: str, planner: PlannerView, inputs: tuple,
           build: Callable[[], dict], deps: tuple[str, ...] = ()) -> PageSpec:
    """A non-HTML output whose context ``build()`` makes from ``inputs`` and the articles ``deps``."""
    struct = input_key(planner.site_key, path, template, inputs)
    return PageSpec(path, template, kind, planner.rekey(struct, deps), build, struct=struct, deps=deps)


# --------------------------------------------------------------------------- small helpers


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 forbids (escaping is the template's job)."""
    return _XML_INVALID.sub("", value)


def rfc3339(when: datetime) -> str:
    """``2021-11-30T20:18:00Z``: UTC, seconds, upper-case T and Z (Atom, JSON Feed, sitemap).

    (Not ``strftime("%Y")``, which writes the year 2 as ``2``: four digits, always.)"""
    utc = when.astimezone(UTC)
    return (f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
            f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z")


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc822(when: datetime) -> str:
    """``Tue, 30 Nov 2021 20:18:00 +0000`` (RSS 2.0), in UTC: `email.utils.format_datetime`'s
    answer, without importing the email package (14 ms of every build that plans)."""
    t = when.astimezone(UTC)
    return (f"{_DAYS[t.weekday()]}, {t.day:02d} {_MONTHS[t.month - 1]} {t.year:04d} "
            f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} +0000")


def image_type(path: str) -> str:
    """Media type of an image by its file extension (``image/webp``...)."""
    return _IMAGE_TYPES.get(path.rsplit(".", 1)[-1].lower(), "image/jpeg")


def _updated(article: Article) -> datetime:
    return max(article.updated or article.published, article.published)


# --------------------------------------------------------------------------- feed entries


class Entries:
    """Feed entries and API documents per article, built once and shared by every output."""

    def __init__(self, planner: PlannerView, config: Config):
        self.planner = planner
        self.config = config
        self._entries: dict[str, dict] = {}
        self._records: dict[str, dict] = {}

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the memos (entries and documents are made again on demand)."""
        return {**self.__dict__, "_entries": {}, "_records": {}}

    def page_url(self, article: Article) -> str:
        return self.config.absolute(self.planner.paths[article.id])

    def forget(self, article_id: str) -> None:
        """Drop the entry and document made for one article (its record changed)."""
        self._entries.pop(article_id, None)
        self._records.pop(article_id, None)

    def entry(self, article: Article) -> dict:
        """Plain data of one feed entry, format-neutral."""
        cached = self._entries.get(article.id)
        if cached is not None:
            return cached
        card = self.planner.card(article)
        url = self.page_url(article)
        author = None
        if article.provider:
            provider = self.planner.providers[article.provider.key][0]
            domain = source_domain(provider)
            author = {"name": xml_text(provider.name), "uri": domain_url(domain) if domain else None}
        image = None
        largest = (card.get("image") or {}).get("largest")
        if largest:
            image = {"url": self.config.absolute(largest), "type": image_type(largest)}
        entry = {
            "id": url,
            "url": url,
            "title": xml_text(article.title),
            "language": article.locale,
            "link": article.link,
            "published": rfc3339(article.published),
            "updated": rfc3339(_updated(article)),
            "published_822": rfc822(article.published),
            "summary": xml_text(article.excerpt),
            "content_html": xml_text(article.body_html),
            "categories": [xml_text(t["name"]) for t in card["topics"]],
            "author": author,
            "image": image,
        }
        self._entries[article.id] = entry
        return entry

    def record(self, article: Article) -> dict:
        """The JSON API document of one article: the record's fields, safe and public."""
        cached = self._records.get(article.id)
        if cached is not None:
            return cached
        doc: dict[str, Any] = {
            "id": article.id,
            "url": self.page_url(article),
            "title": article.title,
            "excerpt": article.excerpt,
            "publishedDateTime": article.published.isoformat(),
        }
        if article.updated:
            doc["updatedDateTime"] = article.updated.isoformat()
        doc.update({"category": article.category, "type": article.type})
        if article.link:
            doc["webUrl"] = article.link
        doc["quality"] = article.quality
        doc["heat"] = article.heat
        if article.provider:
            doc["provider"] = {"name": article.provider.name, "domain": article.provider.domain,
                               **public_value("provider", article.provider.extra)}
        doc["topics"] = list(article.topics)
        doc["images"] = [
            {"url": link, "width": image.width, "height": image.height, "isCached": image.is_cached,
             **({"title": image.title} if image.title else {})}
            for image in article.images if (link := safe_url(image.url))
        ]
        # The curated entries its page shows, and no others (one whose webUrl is no http(s) link
        # and no story of this site was listed, a title leading nowhere; their other fields: see
        # `full_record`).
        doc["related"] = [self._related(article.related[index]) for _, index in self.planner.shown_related(article)]
        if article.locale:
            doc["locale"] = article.locale
        if article.body_html:
            doc["note"] = article.body_html
        for key, value in article.extra.items():
            if key not in doc and key not in _INTERNAL_KEYS:
                clean = public_value(key, value)
                if clean is not _DROP:
                    doc[key] = clean
        self._records[article.id] = doc
        return doc

    def full_record(self, article: Article) -> dict:
        """`record`, with each curated entry's other fields too (the seed's ``ampWebUrl``,
        ``cdnAmpWebUrl``, ``images``...), public: the article's own document. Made anew at each
        call and never kept: the documents `record` keeps (a collection page repeats them) grew
        by a third with them, and a render worker by 270 MB at 100,000 records."""
        doc = self.record(article)
        if not any(ref.extra_packed for ref in article.related):
            return doc
        shown = [article.related[index] for _, index in self.planner.shown_related(article)]
        return {**doc, "related": [{**entry, **self._others(entry, ref)}
                                   for entry, ref in zip(doc["related"], shown, strict=True)]}

    @staticmethod
    def _related(ref: RelatedRef) -> dict[str, Any]:
        """The JSON of a curated ``related`` entry in a collection: the fields read."""
        doc: dict[str, Any] = {"title": ref.title, "excerpt": ref.excerpt}
        if ref.published:
            doc["publishedDateTime"] = ref.published.isoformat()
        if ref.link:
            doc["webUrl"] = ref.link
        if ref.provider_name or ref.provider_domain:
            doc["provider"] = {**({"name": ref.provider_name} if ref.provider_name else {}),
                               **({"domain": ref.provider_domain} if ref.provider_domain else {})}
        return doc

    @staticmethod
    def _others(entry: Mapping[str, Any], ref: RelatedRef) -> dict[str, Any]:
        """A curated entry's other fields, public, that its JSON ``entry`` does not hold already."""
        return {key: clean for key, value in ref.extra.items()
                if key not in entry and (clean := public_value(key, value)) is not _DROP}


_DROP = object()


def public_value(key: str, value: Any) -> Any:
    """``value`` as JSON-safe public data, or `_DROP`.

    ``secured`` is dropped at any depth; a string under a key ending in ``url`` must
    be an http(s) URL; a string that starts with any other scheme is dropped too
    (``javascript:``, ``data:``..., as a browser reads it: after leading spaces and controls,
    without tabs and line breaks, and a script scheme whatever follows its colon), so no
    non-http(s) link leaves the site, nor an http(s) one holding credentials
    (`credentials_link`). A word, a colon and a space or digit (``Note: x``) is text, not a link.
    """
    if key in _INTERNAL_KEYS:
        return _DROP
    kind = type(value)
    if kind is str:  # (the common case first: the abstract `Mapping` check costs a microsecond)
        return _public_text(key, value)
    if kind is dict or isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            clean = public_value(str(k), v)
            if clean is not _DROP:
                out[str(k)] = clean
        return out
    if isinstance(value, list | tuple):
        items = [public_value(key, v) for v in value]
        return [v for v in items if v is not _DROP]
    if isinstance(value, str):
        return _public_text(key, value)
    if isinstance(value, bool | int) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):  # YAML's !!set: in a stable order (a set's varies per run)
        items = [public_value(key, v) for v in value]
        return sorted((v for v in items if v is not _DROP), key=lambda v: (type(v).__name__, str(v)))
    if isinstance(value, bytes):  # YAML's !!binary: as it was written (not Python's b'...')
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _public_text(key: str, value: str) -> Any:
    """`public_value` of a string."""
    if key.lower().endswith("url"):
        return safe_url(value) or _DROP
    # (As a browser reads a link: see `link_scheme`. Load dropped these already, with a
    # warning: this is the second line of defence, for extra data made otherwise.)
    scheme = link_scheme(value)
    if scheme is not None and scheme not in LINK_SCHEMES:
        return _DROP
    return _DROP if "@" in value and credentials_link(value) else value  # (text such as "Note: fine")


# --------------------------------------------------------------------------- feeds


def _feed_pages(base: str, title: str, description: str, home: str, inputs: tuple, deps: tuple[str, ...],
                entries: Callable[[], list[dict]], config: Config, author: str,
                planner: PlannerView) -> list[PageSpec]:
    """The three formats of one feed at ``base`` (``""``, ``topics/ai/``...).

    ``entries()`` makes the feed's entries; ``inputs`` and the articles ``deps`` must
    determine them.
    """
    urls = {fmt: config.absolute(base + name) for fmt, name, *_ in FORMATS}
    feed = partial(_feed, entries, title, description, home, urls, config.language, author)
    inputs = (title, description, home, author, inputs)
    return [output(base + name, template, f"feed-{fmt}", planner, inputs, partial(_feed_context, feed, fmt, urls),
                   deps)
            for fmt, name, template, _media, _label in FORMATS]


def _feed(entries: Callable[[], list[dict]], title: str, description: str, home: str, urls: dict[str, str],
          language: str, author: str) -> dict:
    """Format-neutral data of one feed: made per format, not memoised (a later build may
    reuse the page, see `digest.plan.replan`)."""
    items = entries()
    return {
        "title": xml_text(title), "description": xml_text(description),
        "home_url": home, "urls": urls, "language": language,
        "updated": max((e["updated"] for e in items), default=rfc3339(EPOCH)),
        "published_822": max((e["published_822"] for e in items[:1]), default=rfc822(EPOCH)),
        "author": xml_text(author), "entries": items,
    }


def _feed_context(feed: Callable[[], dict], fmt: str, urls: dict[str, str]) -> dict:
    return {"data": json_feed(feed())} if fmt == "json" else {"feed": feed(), "self_url": urls[fmt]}


def json_feed(feed: Mapping[str, Any]) -> dict:
    """A JSON Feed 1.1 document from format-neutral feed data."""
    items = []
    for entry in feed["entries"]:
        item: dict[str, Any] = {"id": entry["id"], "url": entry["url"]}
        if entry.get("link"):
            item["external_url"] = entry["link"]
        item["title"] = entry["title"]
        if entry.get("language"):
            item["language"] = entry["language"]
        if entry["content_html"]:
            item["content_html"] = entry["content_html"]
        else:
            item["content_text"] = entry["summary"] or entry["title"]
        if entry["summary"]:
            item["summary"] = entry["summary"]
        if entry.get("image"):
            item["image"] = entry["image"]["url"]
        item["date_published"] = entry["published"]
        item["date_modified"] = entry["updated"]
        if entry.get("author"):
            author = {"name": entry["author"]["name"]}
            if entry["author"].get("uri"):
                author["url"] = entry["author"]["uri"]
            item["authors"] = [author]
        if entry.get("categories"):
            item["tags"] = list(entry["categories"])
        items.append(item)
    return {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed["title"],
        "home_page_url": feed["home_url"],
        "feed_url": feed["urls"]["json"],
        "description": feed["description"],
        "language": feed["language"],
        "authors": [{"name": feed["author"], "url": feed["home_url"]}],
        "items": items,
    }


def discovery_links(config: Config, base: str, title: str) -> list[dict]:
    """``<link rel=alternate>`` data for the feeds at ``base``."""
    return [{"type": media, "title": f"{title} ({label})", "url": config.absolute(base + name)}
            for _fmt, name, _template, media, label in FORMATS]


def edition_entry(edition: Edition, by_id: Mapping[str, Article], entries: Entries,
                  config: Config, day_name: str) -> dict:
    """One feed entry for a daily edition: links to it, summarises its top stories."""
    stories = [by_id[i] for i in edition.article_ids if by_id[i].is_published]
    url = config.absolute(f"editions/{edition.day}/")
    top = stories[:5]
    words = config.words
    summary = words.say("feed_edition_summary", stories=words.stories(len(stories)),
                        titles="; ".join(a.title for a in top))
    published = max(a.published for a in stories)
    categories = []
    for article in top:
        for topic in entries.entry(article)["categories"]:
            if topic not in categories:
                categories.append(topic)
    return {
        "id": url, "url": url, "title": words.say("edition_title", date=day_name), "language": None, "link": None,
        "published": rfc3339(published), "updated": rfc3339(max(_updated(a) for a in stories)),
        "published_822": rfc822(published),
        "summary": xml_text(summary),
        "content_html": xml_text(_edition_html(top, entries)),
        "categories": categories[:10], "author": None,
        "image": next((entries.entry(a)["image"] for a in top if entries.entry(a)["image"]), None),
    }


def _edition_html(top: Sequence[Article], entries: Entries) -> str:
    from markupsafe import escape

    items = "".join(f'<li><a href="{escape(entries.page_url(a))}">{escape(a.title)}</a></li>' for a in top)
    return f"<ol>{items}</ol>" if items else ""


def plan_feeds(planner: PlannerView, editions: Sequence[Edition], config: Config,
               day_name: Callable[[str], str], documents: Mapping[str, PageSpec] | None = None,
               ) -> tuple[list[PageSpec], dict[tuple[str, str], list[dict]]]:
    """Every feed, the OPML list and the JSON API; plus discovery links by (page kind, key).

    Discovery keys: ``("home", "")``, ``("edition", "")``, ``("topic", topic key)``,
    ``("source", provider key)``. ``documents`` are API documents of articles (by id) planned
    before and still right (see `digest.plan.replan`): they are taken as they are.
    """
    entries = planner.entries
    articles = [a for a in planner.newest if a.is_published]  # newest first
    limit = config.feed_items
    pages: list[PageSpec] = []
    links: dict[tuple[str, str], list[dict]] = {}
    words = config.words
    outline: dict[str, list[dict]] = {"Site": [], "Topics": [], "Sources": []}
    groups = {"Site": words["opml_site"], "Topics": words["nav_topics"], "Sources": words["nav_sources"]}
    site_author = config.title

    def listed(base: str, title: str, description: str, home: str, key: tuple[str, str], group: str) -> None:
        """A feed's discovery links and its OPML entry."""
        links[key] = discovery_links(config, base, title)
        outline[group].append({"title": xml_text(title), "html_url": home,
                               "xml_url": config.absolute(base + "rss.xml"),
                               "description": xml_text(description)})

    def add(base: str, title: str, description: str, home: str, inputs: tuple, deps: tuple[str, ...],
            items: Callable[[], list[dict]], key: tuple[str, str], group: str) -> None:
        pages.extend(_feed_pages(base, title, description, home, inputs, deps, items, config, site_author,
                                 planner))
        listed(base, title, description, home, key, group)

    def article_feed(base: str, title: str, description: str, items: list[Article],
                     key: tuple[str, str], group: str) -> None:
        ids = tuple(a.id for a in items[:limit])
        home = config.absolute(base)
        # (The same inputs, the same three pages: a later plan may keep them, see `_Planner.grouped`.)
        pages.extend(planner.grouped(base + FORMATS[0][1], ("feed", title, description, ids),
                                     partial(_feed_pages, base, title, description, home, (), ids,
                                             partial(_article_entries, entries, ids), config, site_author,
                                             planner)))
        listed(base, title, description, home, key, group)

    article_feed("", config.title, config.description, articles, ("home", ""), "Site")
    by_id = planner.by_id
    published_editions = [(e, tuple(i for i in e.article_ids if by_id[i].is_published))
                          for e in reversed(editions)]
    published_editions = [(e, ids) for e, ids in published_editions if ids][:limit]
    add("editions/", words.say("feed_editions_title", site=config.title), words["feed_editions_description"],
        config.absolute("editions/"),
        tuple((e.day, day_name(e.day), len(ids)) for e, ids in published_editions),
        tuple(i for _, ids in published_editions for i in ids),
        partial(_edition_entries, entries, tuple((e, day_name(e.day)) for e, _ in published_editions)),
        ("edition", ""), "Site")

    by_topic: dict[str, list[Article]] = defaultdict(list)
    by_provider: dict[str, list[Article]] = defaultdict(list)
    for article in articles:
        for name in article.topics:
            by_topic[term_key(name)].append(article)
        if article.provider:
            by_provider[article.provider.key].append(article)
    for key, topic in in_index_order(planner.topics, topic_name):
        if by_topic.get(key):
            article_feed(f"topics/{topic.slug}/", words.say("feed_title", site=config.title, name=topic.name),
                         words.say("topic_description", name=topic.name), by_topic[key], ("topic", key), "Topics")
    for key, (provider, slug) in in_index_order(planner.providers, provider_name):
        if by_provider.get(key):
            article_feed(f"sources/{slug}/", words.say("feed_title", site=config.title, name=provider.name),
                         source_description(provider, words), by_provider[key],
                         ("source", key), "Sources")

    opml = {
        "title": xml_text(words.say("opml_title", site=config.title)),
        "home_url": config.absolute(""),
        "groups": [{"title": groups[g], "feeds": f} for g, f in outline.items() if f],
    }
    pages.append(output("feeds.opml", "feeds.opml", "opml", planner, (opml,), fixed(opml)))
    pages += _api_pages(planner, config, entries, articles, by_topic, by_provider, documents or {})
    return pages, links


def _article_entries(entries: Entries, ids: tuple[str, ...]) -> list[dict]:
    by_id = entries.planner.by_id
    return [entries.entry(by_id[i]) for i in ids]


def _edition_entries(entries: Entries, editions: tuple[tuple[Edition, str], ...]) -> list[dict]:
    return [edition_entry(edition, entries.planner.by_id, entries, entries.config, name) for edition, name in editions]


# --------------------------------------------------------------------------- JSON API


def api_document(entries: Entries, article_id: str) -> dict:
    return {"data": entries.full_record(entries.planner.by_id[article_id])}


def _api_collection(entries: Entries, doc: dict, ids: tuple[str, ...], next_page: str | None) -> dict:
    by_id = entries.planner.by_id
    return {"data": {**doc, "value": [entries.record(by_id[i]) for i in ids], "nextPage": next_page}}


def _api_collection_pages(planner: PlannerView, config: Config, entries: Entries, base: str, title: str,
                          items: list[Article]) -> list[PageSpec]:
    """The pages of one API collection of ``items`` (newest first) at ``base``.

    Pages are numbered from the oldest, ``page_size`` stories each, and never change when
    newer stories are added (as RFC 5005 archives): ``base``1.json holds the oldest. The
    newest stories, those no full page holds yet, are the collection's entry at
    ``base``index.json: from ``page_size`` to twice that less one of them (all of them when
    there are fewer), so adding today's stories rewrites that one page, and the others only
    when it fills up and a new fixed page is split off. Every ``nextPage`` leads to older
    stories, so reading from the entry on gives the whole collection, newest first.
    """
    size = config.page_size
    fixed_pages = max(0, len(items) // size - 1)
    newest = len(items) - fixed_pages * size

    def url(n: int) -> str | None:
        return config.absolute(f"{base}{n}.json") if n else None

    def page(path: str, doc: dict, ids: tuple[str, ...], next_page: str | None) -> PageSpec:
        return output(path, "json:api", "api", planner, (doc, next_page),
                      partial(_api_collection, entries, doc, ids, next_page), ids)

    entry = {"title": title, "page": fixed_pages + 1, "pages": fixed_pages + 1, "total": len(items)}
    pages = [page(f"{base}index.json", entry, tuple(a.id for a in items[:newest]), url(fixed_pages))]

    def archive() -> list[PageSpec]:
        older = items[newest:]  # (page n holds the n-th ``size`` stories from the oldest)
        return [page(f"{base}{n}.json", {"title": title, "page": n},
                     tuple(a.id for a in older[(fixed_pages - n) * size: (fixed_pages - n + 1) * size]),
                     url(n - 1))
                for n in range(1, fixed_pages + 1)]

    if fixed_pages:
        fixed_ids = tuple(a.id for a in items[newest:])
        pages += planner.grouped(f"{base}1.json", ("api-pages", title, fixed_ids), archive)
    return pages


def _api_pages(planner: PlannerView, config: Config, entries: Entries, articles: list[Article],
               by_topic: Mapping[str, list[Article]],
               by_provider: Mapping[str, list[Article]], documents: Mapping[str, PageSpec]) -> list[PageSpec]:
    pages = [documents.get(a.id) or output(f"api/articles/{a.id}.json", "json:api", "api", planner, (),
                                           partial(api_document, entries, a.id), (a.id,))
             for a in articles]
    size = config.page_size
    hot = config.api_min_heat > -1

    def collection(base: str, title: str, items: list[Article]) -> dict:
        pages.extend(_api_collection_pages(planner, config, entries, base, title, items))
        return {"title": title, "url": config.absolute(f"{base}index.json"), "total": len(items)}

    def both(base: str, title: str, items: list[Article], **extra: Any) -> dict:
        entry = {**extra, **collection(base, title, items)}
        if hot:
            hot_items = [a for a in items if a.heat >= config.api_min_heat]
            entry["hot"] = collection(f"{base}hot/", f"{title} (heat ≥ {config.api_min_heat})",
                                      hot_items)["url"]
        return entry

    latest = both("api/latest/", config.title, articles)
    topics = [both(f"api/topics/{topic.slug}/", topic.name, by_topic[key], name=topic.name)
              for key, topic in in_index_order(planner.topics, topic_name)
              if by_topic.get(key)]
    sources = [both(f"api/sources/{slug}/", provider.name, by_provider[key], name=provider.name,
                    **({"domain": domain} if (domain := source_domain(provider)) else {}))
               for key, (provider, slug) in in_index_order(planner.providers, provider_name)
               if by_provider.get(key)]
    index = {"title": config.title, "description": config.description, "home_page_url": config.absolute(""),
             "pageSize": size, "minHeat": config.api_min_heat if hot else None,
             "latest": latest, "topics": topics, "sources": sources}
    pages.append(output("api/index.json", "json:api", "api", planner, (index,), fixed({"data": index})))
    return pages


# --------------------------------------------------------------------------- sitemap


def sitemap_loc(url: str) -> str:
    """``url`` percent-encoded as the sitemap protocol wants (ASCII, no spaces)."""
    if _PLAIN_URL.fullmatch(url):
        return url  # nothing to encode (the common case)
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~")


_PLAIN_URL = re.compile(r"[A-Za-z0-9:/?#\[\]@!$&'()*+,;=%~._-]*")


def plan_sitemap(entries: Sequence[Mapping[str, str]], config: Config, site: Mapping[str, Any],
                 max_urls: int = SITEMAP_MAX_URLS, max_bytes: int = SITEMAP_MAX_BYTES,
                 site_key: str = "") -> list[PageSpec]:
    """``sitemap.xml`` (a plain urlset, or an index of parts past the limits) and ``robots.txt``.

    ``entries`` are ``{"loc", "lastmod"}``; parts go to ``sitemaps/sitemap-<n>.xml``.
    ``site_key`` is the planner's digest of the site settings (part of every key).
    """
    overhead = 200
    parts: list[list[Mapping[str, str]]] = [[]]
    size = overhead
    for entry in entries:
        cost = len(entry["loc"]) * 5 + len(entry.get("lastmod", "")) + 60  # & -> &amp; worst case
        if parts[-1] and (len(parts[-1]) >= max_urls or size + cost > max_bytes):
            parts.append([])
            size = overhead
        parts[-1].append(entry)
        size += cost

    def spec(path: str, template: str, kind: str, context: dict, inputs: Any) -> PageSpec:
        key = input_key(site_key, path, template, inputs)
        return PageSpec(path, template, kind, key, fixed(context), struct=key)

    def listed(part: list[Mapping[str, str]]) -> str:
        return "\n".join(f"{e['loc']} {e.get('lastmod', '')}" for e in part)

    pages: list[PageSpec]
    if len(parts) == 1:
        pages = [spec("sitemap.xml", "sitemap.xml", "sitemap", {"entries": parts[0], "site": site},
                      listed(parts[0]))]
    else:
        index = []
        pages = []
        for n, part in enumerate(parts, 1):
            path = f"sitemaps/sitemap-{n}.xml"
            pages.append(spec(path, "sitemap.xml", "sitemap", {"entries": part, "site": site}, listed(part)))
            index.append({"loc": config.absolute(path),
                          "lastmod": max((e.get("lastmod", "") for e in part), default="")})
        pages.insert(0, spec("sitemap.xml", "sitemap-index.xml", "sitemap", {"sitemaps": index, "site": site},
                             index))
    robots = {"sitemap": config.absolute("sitemap.xml"), "site": site}
    pages.append(spec("robots.txt", "robots.txt", "robots", robots, robots["sitemap"]))
    return pages


def sitemap_listed(pages: Sequence[PageSpec], drafts: set[str]) -> list[PageSpec]:
    """The pages the sitemap lists, in its order: HTML pages but 404 and those that show
    drafts (``drafts``: a ``--drafts`` preview's) alone, such as a draft's article page, or
    the page of a topic, source or day only drafts have (its name would tell of them)."""
    return [spec for spec in pages if spec.path.endswith(".html") and spec.kind != "404"
            and not (drafts and spec.shows and drafts.issuperset(spec.shows))]


def sitemap_entries(pages: Sequence[PageSpec], config: Config, by_id: Mapping[str, Article], drafts: set[str],
                    kept: Mapping[str, tuple[PageSpec, dict]] | None = None) -> list[dict]:
    """One entry per page `sitemap_listed` lists; lastmod from the records (the articles
    shown, ``by_id``, but drafts).

    An article page's lastmod is its record's update (else publication) time; a
    listing's is the newest of the stories it shows (`PageSpec.shows`). ``kept`` has
    entries made before, by path with the spec each was made for: a page whose spec is
    that very one (so it shows the same articles, which have not changed: see
    `digest.plan.replan`) takes its entry as it is.
    """
    lastmod: dict[str, datetime] = {}  # (made only for the pages not kept: each reads a whole record)

    def modified(article_id: str) -> datetime:
        found = lastmod.get(article_id)
        if found is None:
            found = lastmod[article_id] = _updated(by_id[article_id])
        return found

    formatted: dict[str, str] = {}
    entries = []
    kept = kept or {}
    for spec in sitemap_listed(pages, drafts):
        found = kept.get(spec.path)
        if found is not None and found[0] is spec:
            entries.append(found[1])
            continue
        path = spec.path[: -len("index.html")] if spec.path.endswith("index.html") else spec.path
        shown = [i for i in spec.shows if i in by_id and i not in drafts]  # (a draft's date tells of it)
        newest = max(shown, key=modified) if shown else None
        if newest is not None and newest not in formatted:
            formatted[newest] = rfc3339(lastmod[newest])
        entries.append({"loc": sitemap_loc(config.absolute(path)),
                        "lastmod": formatted[newest] if newest is not None else ""})
    return entries
