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
    api/{latest,topics/<slug>,sources/<slug>}/<n>.json   paginated collections
    sitemap.xml (+ sitemaps/sitemap-<n>.xml past 50,000 URLs or 50 MB), robots.txt
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any, Protocol
from urllib.parse import quote

from digest.config import Config
from digest.model import Article, Edition, PageSpec, Provider, Shared, Topic
from digest.text import safe_url, term_key

FORMATS = (
    ("rss", "rss.xml", "feed.rss.xml", "application/rss+xml", "RSS"),
    ("atom", "atom.xml", "feed.atom.xml", "application/atom+xml", "Atom"),
    ("json", "feed.json", "json:feed", "application/feed+json", "JSON Feed"),
)
"""(format, file name, template, media type, label) of every feed format."""

SITEMAP_MAX_URLS = 50_000
"""Most URLs in one sitemap file (sitemaps.org protocol)."""
SITEMAP_MAX_BYTES = 50 * 1024 * 1024
"""Largest sitemap file in bytes, uncompressed (sitemaps.org protocol)."""

_IMAGE_TYPES = {"webp": "image/webp", "avif": "image/avif", "jpg": "image/jpeg", "jpeg": "image/jpeg",
                "png": "image/png", "gif": "image/gif"}
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.\-]*):(?![\s\d])")
_INTERNAL_KEYS = frozenset({"secured"})
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PlannerView(Protocol):
    """What the feeds need from `digest.plan._Planner` (read only)."""

    articles: list[Article]
    topics: dict[str, Topic]
    providers: dict[str, tuple[Provider, str]]
    paths: dict[str, str]

    def card(self, article: Article) -> dict: ...


# --------------------------------------------------------------------------- small helpers


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 forbids (escaping is the template's job)."""
    return _XML_INVALID.sub("", value)


def rfc3339(when: datetime) -> str:
    """``2021-11-30T20:18:00Z``: UTC, seconds, upper-case T and Z (Atom, JSON Feed, sitemap)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc822(when: datetime) -> str:
    """``Tue, 30 Nov 2021 20:18:00 +0000`` (RSS 2.0)."""
    return format_datetime(when.astimezone(UTC))


def image_type(path: str) -> str:
    """Media type of an image by its file extension (``image/webp``...)."""
    return _IMAGE_TYPES.get(path.rsplit(".", 1)[-1].lower(), "image/jpeg")


def _updated(article: Article) -> datetime:
    return max(article.updated or article.published, article.published)


def newest_first(articles: Iterable[Article]) -> list[Article]:
    """Published (non-draft) articles, newest first, then by id."""
    return sorted((a for a in articles if a.is_published),
                  key=lambda a: (-a.published.timestamp(), a.id))


# --------------------------------------------------------------------------- feed entries


class _Entries:
    """Feed entries and API documents per article, built once and shared by every output."""

    def __init__(self, planner: PlannerView, config: Config):
        self.planner = planner
        self.config = config
        self._entries: dict[str, dict] = {}
        self._records: dict[str, dict] = {}

    def page_url(self, article: Article) -> str:
        return self.config.absolute(self.planner.paths[article.id])

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
            domain = provider.key if "." in provider.key else ""
            author = {"name": xml_text(provider.name),
                      "uri": safe_url(f"https://{domain}/") if domain else None}
        image = None
        largest = (card.get("image") or {}).get("largest")
        if largest:
            image = {"url": self.config.absolute(largest), "type": image_type(largest)}
        entry = Shared({
            "id": url,
            "url": url,
            "title": xml_text(article.title),
            "link": article.link,
            "published": rfc3339(article.published),
            "updated": rfc3339(_updated(article)),
            "published_822": rfc822(article.published),
            "summary": xml_text(article.excerpt),
            "content_html": xml_text(article.body_html),
            "categories": [xml_text(t["name"]) for t in card["topics"]],
            "author": author,
            "image": image,
        })
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
            doc["provider"] = {"name": article.provider.name, "domain": article.provider.domain}
        doc["topics"] = list(article.topics)
        doc["images"] = [
            {"url": link, "width": image.width, "height": image.height, "isCached": image.is_cached,
             **({"title": image.title} if image.title else {})}
            for image in article.images if (link := safe_url(image.url))
        ]
        doc["related"] = [
            {"title": ref.title, "excerpt": ref.excerpt,
             **({"publishedDateTime": ref.published.isoformat()} if ref.published else {}),
             **({"webUrl": ref.link} if ref.link else {}),
             **({"provider": {"name": ref.provider_name}} if ref.provider_name else {})}
            for ref in article.related
        ]
        if article.locale:
            doc["locale"] = article.locale
        if article.body_html:
            doc["note"] = article.body_html
        for key, value in article.extra.items():
            if key not in doc and key not in _INTERNAL_KEYS:
                clean = public_value(key, value)
                if clean is not _DROP:
                    doc[key] = clean
        doc = Shared(doc)
        self._records[article.id] = doc
        return doc


_DROP = object()


def public_value(key: str, value: Any) -> Any:
    """``value`` as JSON-safe public data, or `_DROP`.

    ``secured`` is dropped at any depth; a string under a key ending in ``url`` must
    be an http(s) URL; a string that starts with any other scheme is dropped too
    (``javascript:``, ``data:``...), so no non-http(s) link leaves the site.
    """
    if key in _INTERNAL_KEYS:
        return _DROP
    if isinstance(value, Mapping):
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
        if key.lower().endswith("url"):
            return safe_url(value) or _DROP
        match = _SCHEME.match(value)
        if match and match.group(1).lower() not in ("http", "https"):
            return _DROP
        return value
    if isinstance(value, bool | int) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------- feeds


def _feed_pages(base: str, title: str, description: str, home: str, entries: list[dict],
                config: Config, author: str) -> list[PageSpec]:
    """The three formats of one feed at ``base`` (``""``, ``topics/ai/``...)."""
    newest = max((e["updated"] for e in entries), default=rfc3339(EPOCH))
    newest_published = max((e["published_822"] for e in entries[:1]), default=rfc822(EPOCH))
    urls = {fmt: config.absolute(base + name) for fmt, name, *_ in FORMATS}
    feed = {
        "title": xml_text(title), "description": xml_text(description),
        "home_url": home, "urls": urls, "language": config.language,
        "updated": newest, "published_822": newest_published,
        "author": xml_text(author), "entries": entries,
    }
    pages = []
    for fmt, name, template, _media, _label in FORMATS:
        context = {"feed": feed, "self_url": urls[fmt]}
        if fmt == "json":
            context = {"data": json_feed(feed)}
        pages.append(PageSpec(base + name, template, context, f"feed-{fmt}"))
    return pages


def json_feed(feed: Mapping[str, Any]) -> dict:
    """A JSON Feed 1.1 document from format-neutral feed data."""
    items = []
    for entry in feed["entries"]:
        item: dict[str, Any] = {"id": entry["id"], "url": entry["url"]}
        if entry.get("link"):
            item["external_url"] = entry["link"]
        item["title"] = entry["title"]
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


def edition_entry(edition: Edition, by_id: Mapping[str, Article], entries: _Entries,
                  config: Config, day_name: str) -> dict:
    """One feed entry for a daily edition: links to it, summarises its top stories."""
    stories = [by_id[i] for i in edition.article_ids if by_id[i].is_published]
    url = config.absolute(f"editions/{edition.day}/")
    top = stories[:5]
    summary = f"{len(stories)} {'story' if len(stories) == 1 else 'stories'}. Top: " + "; ".join(
        a.title for a in top) + ("." if top else "")
    published = max(a.published for a in stories)
    categories = []
    for article in top:
        for topic in entries.entry(article)["categories"]:
            if topic not in categories:
                categories.append(topic)
    return {
        "id": url, "url": url, "title": f"Edition of {day_name}", "link": None,
        "published": rfc3339(published), "updated": rfc3339(max(_updated(a) for a in stories)),
        "published_822": rfc822(published),
        "summary": xml_text(summary),
        "content_html": xml_text(_edition_html(top, entries)),
        "categories": categories[:10], "author": None,
        "image": next((entries.entry(a)["image"] for a in top if entries.entry(a)["image"]), None),
    }


def _edition_html(top: Sequence[Article], entries: _Entries) -> str:
    from markupsafe import escape

    items = "".join(f'<li><a href="{escape(entries.page_url(a))}">{escape(a.title)}</a></li>' for a in top)
    return f"<ol>{items}</ol>" if items else ""


def plan_feeds(planner: PlannerView, editions: Sequence[Edition], config: Config,
               day_name: Callable[[str], str]) -> tuple[list[PageSpec], dict[tuple[str, str], list[dict]]]:
    """Every feed, the OPML list and the JSON API; plus discovery links by (page kind, key).

    Discovery keys: ``("home", "")``, ``("edition", "")``, ``("topic", topic key)``,
    ``("source", provider key)``.
    """
    entries = _Entries(planner, config)
    articles = newest_first(planner.articles)
    limit = config.feed_items
    pages: list[PageSpec] = []
    links: dict[tuple[str, str], list[dict]] = {}
    outline: dict[str, list[dict]] = {"Site": [], "Topics": [], "Sources": []}
    site_author = config.title

    def add(base: str, title: str, description: str, home: str, items: list[Article] | list[dict],
            key: tuple[str, str], group: str) -> None:
        data = [i if isinstance(i, dict) else entries.entry(i) for i in items[:limit]]
        pages.extend(_feed_pages(base, title, description, home, data, config, site_author))
        links[key] = discovery_links(config, base, title)
        outline[group].append({"title": xml_text(title), "html_url": home,
                               "xml_url": config.absolute(base + "rss.xml"),
                               "description": xml_text(description)})

    add("", config.title, config.description, config.absolute(""), articles, ("home", ""), "Site")
    by_id = {a.id: a for a in planner.articles}
    published_editions = [e for e in reversed(editions)
                          if any(by_id[i].is_published for i in e.article_ids)]
    edition_items = [edition_entry(e, by_id, entries, config, day_name(e.day))
                     for e in published_editions[:limit]]
    add("editions/", f"{config.title}: daily editions", "One entry per daily edition and its top stories.",
        config.absolute("editions/"), edition_items, ("edition", ""), "Site")

    by_topic: dict[str, list[Article]] = defaultdict(list)
    by_provider: dict[str, list[Article]] = defaultdict(list)
    for article in articles:
        for name in article.topics:
            by_topic[term_key(name)].append(article)
        if article.provider:
            by_provider[article.provider.key].append(article)
    for key, topic in sorted(planner.topics.items(), key=lambda kv: (kv[1].name.casefold(), kv[0])):
        if by_topic.get(key):
            base = f"topics/{topic.slug}/"
            add(base, f"{config.title}: {topic.name}", f"The latest curated stories about {topic.name}.",
                config.absolute(base), by_topic[key], ("topic", key), "Topics")
    for key, (provider, slug) in sorted(planner.providers.items(),
                                        key=lambda kv: (kv[1][0].name.casefold(), kv[0])):
        if by_provider.get(key):
            base = f"sources/{slug}/"
            add(base, f"{config.title}: {provider.name}",
                f"The latest curated stories from {provider.name} ({key}).",
                config.absolute(base), by_provider[key], ("source", key), "Sources")

    pages.append(PageSpec("feeds.opml", "feeds.opml", {
        "title": xml_text(f"{config.title}: every feed"),
        "home_url": config.absolute(""),
        "groups": [{"title": g, "feeds": f} for g, f in outline.items() if f],
    }, "opml"))
    pages += _api_pages(planner, config, entries, articles, by_topic, by_provider)
    return pages, links


# --------------------------------------------------------------------------- JSON API


def _api_pages(planner: PlannerView, config: Config, entries: _Entries, articles: list[Article],
               by_topic: Mapping[str, list[Article]],
               by_provider: Mapping[str, list[Article]]) -> list[PageSpec]:
    pages = [PageSpec(f"api/articles/{a.id}.json", "json:api", {"data": entries.record(a)}, "api")
             for a in articles]
    size = config.page_size
    hot = config.api_min_heat > -1

    def collection(base: str, title: str, items: list[Article]) -> dict:
        count = max(1, math.ceil(len(items) / size))
        for n in range(1, count + 1):
            doc = {
                "title": title,
                "page": n,
                "pages": count,
                "total": len(items),
                "value": [entries.record(a) for a in items[(n - 1) * size: n * size]],
                "nextPage": config.absolute(f"{base}{n + 1}.json") if n < count else None,
            }
            pages.append(PageSpec(f"{base}{n}.json", "json:api", {"data": doc}, "api"))
        return {"title": title, "url": config.absolute(f"{base}1.json"), "total": len(items)}

    def both(base: str, title: str, items: list[Article], **extra: Any) -> dict:
        entry = {**extra, **collection(base, title, items)}
        if hot:
            hot_items = [a for a in items if a.heat >= config.api_min_heat]
            entry["hot"] = collection(f"{base}hot/", f"{title} (heat ≥ {config.api_min_heat})",
                                      hot_items)["url"]
        return entry

    latest = both("api/latest/", config.title, articles)
    topics = [both(f"api/topics/{topic.slug}/", topic.name, by_topic[key], name=topic.name)
              for key, topic in sorted(planner.topics.items(), key=lambda kv: (kv[1].name.casefold(), kv[0]))
              if by_topic.get(key)]
    sources = [both(f"api/sources/{slug}/", provider.name, by_provider[key], name=provider.name,
                    domain=key)
               for key, (provider, slug) in sorted(planner.providers.items(),
                                                   key=lambda kv: (kv[1][0].name.casefold(), kv[0]))
               if by_provider.get(key)]
    index = {"title": config.title, "description": config.description, "home_page_url": config.absolute(""),
             "pageSize": size, "minHeat": config.api_min_heat if hot else None,
             "latest": latest, "topics": topics, "sources": sources}
    pages.append(PageSpec("api/index.json", "json:api", {"data": index}, "api"))
    return pages


# --------------------------------------------------------------------------- sitemap


def sitemap_loc(url: str) -> str:
    """``url`` percent-encoded as the sitemap protocol wants (ASCII, no spaces)."""
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~")


def plan_sitemap(entries: Sequence[Mapping[str, str]], config: Config, site: Mapping[str, Any],
                 max_urls: int = SITEMAP_MAX_URLS, max_bytes: int = SITEMAP_MAX_BYTES) -> list[PageSpec]:
    """``sitemap.xml`` (a plain urlset, or an index of parts past the limits) and ``robots.txt``.

    ``entries`` are ``{"loc", "lastmod"}``; parts go to ``sitemaps/sitemap-<n>.xml``.
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
    pages: list[PageSpec]
    if len(parts) == 1:
        pages = [PageSpec("sitemap.xml", "sitemap.xml", {"entries": parts[0], "site": site}, "sitemap")]
    else:
        index = []
        pages = []
        for n, part in enumerate(parts, 1):
            path = f"sitemaps/sitemap-{n}.xml"
            pages.append(PageSpec(path, "sitemap.xml", {"entries": part, "site": site}, "sitemap"))
            index.append({"loc": config.absolute(path),
                          "lastmod": max((e.get("lastmod", "") for e in part), default="")})
        pages.insert(0, PageSpec("sitemap.xml", "sitemap-index.xml", {"sitemaps": index, "site": site},
                                 "sitemap"))
    pages.append(PageSpec("robots.txt", "robots.txt",
                          {"sitemap": config.absolute("sitemap.xml"), "site": site}, "robots"))
    return pages


def sitemap_entries(pages: Sequence[PageSpec], config: Config,
                    articles: Sequence[Article], paths: Mapping[str, str]) -> list[dict]:
    """One entry per HTML page except 404 and draft articles; lastmod from the records.

    An article page's lastmod is its record's update (else publication) time; a
    listing's is the newest of the stories it shows.
    """
    lastmod: dict[str, datetime] = {a.id: _updated(a) for a in articles}
    entries = []
    for spec in pages:
        if not spec.path.endswith(".html") or spec.kind == "404":
            continue
        page = spec.context["page"]
        if spec.kind == "article" and page["article"].get("draft"):
            continue
        ids = [page["article"]["id"]] if spec.kind == "article" else _shown_ids(page)
        times = [lastmod[i] for i in ids if i in lastmod]
        entries.append({"loc": sitemap_loc(config.absolute(page["path"])),
                        "lastmod": rfc3339(max(times)) if times else ""})
    return entries


def _shown_ids(page: Mapping[str, Any]) -> list[str]:
    ids = []
    for key in ("stories", "top", "latest"):
        for card in page.get(key) or ():
            ids.append(card["id"])
    for group in page.get("groups") or ():
        ids += [card["id"] for card in group.get("stories", ())]
    for entry in page.get("editions") or ():
        if isinstance(entry, Mapping) and entry.get("lead"):
            ids.append(entry["lead"]["id"])
    return ids


def attach_feed_links(pages: Sequence[PageSpec], links: Mapping[tuple[str, str], list[dict]]) -> None:
    """Fill ``page.feeds`` (autodiscovery) of home, topic, source and edition pages in place."""
    for spec in pages:
        page = spec.context.get("page")
        if not isinstance(page, dict):
            continue
        if spec.kind == "home":
            key = ("home", "")
        elif spec.kind in ("edition", "editions"):
            key = ("edition", "")
        elif spec.kind in ("topic", "source") and page.get("term"):
            key = (spec.kind, page["term"]["key"])
        else:
            continue
        found = links.get(key)
        if found:
            page["feeds"] = ([*found, *links[("edition", "")]] if key == ("home", "") and ("edition", "") in links
                             else list(found))
