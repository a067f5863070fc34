"""Pure: decide every page of the site — its path, template, key and plain-data context.

Input is the loaded articles, the config and (optionally) the planned thumbnails;
output is a list of `PageSpec`s. No file is read or written here. URLs are stable:
an article's path depends only on its own record (date, title, identity).

Keys: a page's key is the digest of its ``struct`` (every input but article
contents: settings, its path, titles, the ids it lists, pagination) and of the
digests of the articles it shows (``deps``); its context is made only if the key
changed since the last build. `replan` derives the next plan from the last one
(kept in memory by a server, or saved by the last command with `write_plan` and read
back with `load_plan`) when article contents changed, and when articles were added,
removed (deleted or unpublished) or moved (a new date, rank, topics or source: they leave
as they were and join as they are), as long as the topics and sources that stay keep their
names and slugs (others may begin or end): it re-keys just the pages whose
``deps`` name a changed article, and plans again only the groups of pages (listings,
feeds, collections, editions) an added article joins or a removed one leaves (see
`_Planner.grouped`), and the pages of the articles whose related lists or curated links
moved with them. A plan saved for other articles is read back for it (see `label_fits`).
"""

from __future__ import annotations

import io
import math
import pickle
import re
import zlib
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from operator import attrgetter
from typing import Any, BinaryIO

from digest import __version__, labels, toolchain
from digest.config import Config
from digest.display import in_index_order
from digest.errors import BuildError
from digest.feeds import (
    Entries,
    api_document,
    plan_feeds,
    plan_sitemap,
    provider_name,
    sitemap_entries,
    sitemap_listed,
    sitemap_loc,
    source_description,
    source_domain,
    topic_name,
)
from digest.meta import page_meta
from digest.model import Article, Edition, ImageRef, PageSpec, Provider, Topic, input_key
from digest.related import Doc, RelatedState, SavedDoc, compute_related, docs_for, pick
from digest.search import search_page
from digest.text import language_direction, safe_url, short_hash, slugify, term_key, url_identity

Relate = Callable[[list[Doc]], tuple[dict[str, tuple[str, ...]], Any]]
"""Makes the related lists of the docs of the articles shown: ``(ids by article id, state for
the next plan)``, as `compute_related` does (the default; a build may get them from a
process that computed them from docs equal to these, and give its own token for the state)."""

_UNSAFE_PATH = re.compile(r"(?:^|/)\.{0,2}(?:/|$)|\\")
"""An empty, ``.`` or ``..`` segment (so also a leading or trailing ``/``), or a backslash."""
MAX_TALL = 3
"""A picture is shown at most this many times as tall as it is wide: a taller one's thumbnails are
its top part (`digest.images.plan_thumbs`), a placeholder's box is cut the same way. A 1x20000
spacer image, or a record saying so, made a card 7 million pixels tall (cards are as wide as
their column, and as tall as the picture's proportions make them)."""


# --------------------------------------------------------------------------- selection and scoring


def select(articles: Iterable[Article], config: Config, drafts: bool = False) -> list[Article]:
    """The articles the site shows: published ones (all with ``drafts``) at or above ``min_quality``."""
    return [
        a for a in articles
        if (drafts or a.is_published) and (a.quality if a.quality is not None else 0) >= config.min_quality
    ]


def story_score(article: Article, day_start: datetime | None = None) -> float:
    """Ranking score: quality + 10·log10(1 + heat) + up to 12 points for lateness in its day.

    Quality is the curator's score (missing = 0), heat the popularity (unknown = 0);
    the recency bonus grows linearly over the edition's day (``day_start`` in the
    site timezone). Ties are broken by `rank_key`.
    """
    score = float(article.quality or 0) + 10.0 * math.log10(1 + max(article.heat, 0))
    if day_start is not None:
        hours = (article.published - day_start).total_seconds() / 3600
        score += 12.0 * min(max(hours / 24.0, 0.0), 1.0)
    return score


def rank_key(article: Article, day_start: datetime | None = None) -> tuple:
    """Sort key for ranking: best score first, then newest, then id."""
    return (-story_score(article, day_start), -article.published.timestamp(), article.id)


def newest_key(article: Article) -> tuple:
    """Sort key for listings: newest first, then id."""
    return (-article.published.timestamp(), article.id)


# --------------------------------------------------------------------------- taxonomies


def _unique_slugs(items: list[tuple[str, str, int]], prefix: str) -> dict[str, str]:
    """Slug per key from (key, display name, weight); collisions get a key-derived suffix.

    Of the keys whose names make one slug, the heaviest keeps it; the others take it with
    six hex digits of their key, more when that is taken already (by another's name, as
    ``c-cedb1b`` beside ``c++`` and ``c#``), so that no two ever share a page."""
    by_slug: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for key, name, weight in items:
        by_slug[slugify(name) or f"{prefix}-{short_hash(key, 8)}"].append((key, weight))
    slugs = {}
    taken = set(by_slug)
    for slug, group in by_slug.items():
        group.sort(key=lambda kw: (-kw[1], kw[0]))
        slugs[group[0][0]] = slug
        for key, _ in group[1:]:
            digest = short_hash(key, 64)
            length = 6
            while (candidate := f"{slug[:70]}-{digest[:length]}") in taken and length < 64:
                length += 2
            while candidate in taken:  # (64 hex digits taken: only a name chosen to be)
                candidate += "-"
            taken.add(candidate)
            slugs[key] = candidate
    return slugs


def build_topics(articles: Sequence[Article]) -> dict[str, Topic]:
    """Topics by identity: display name is the most common spelling (then the first sorted)."""
    spellings: dict[str, Counter] = defaultdict(Counter)
    for article in articles:
        for name in article.topics:
            spellings[term_key(name)][name] += 1
    names = {k: min(c.items(), key=lambda nc: (-nc[1], nc[0]))[0] for k, c in spellings.items()}
    weights = {k: sum(c.values()) for k, c in spellings.items()}
    slugs = _unique_slugs([(k, names[k], weights[k]) for k in sorted(names)], "topic")
    return {k: Topic(key=k, name=names[k], slug=slugs[k]) for k in names}


def build_providers(articles: Sequence[Article]) -> dict[str, tuple[Provider, str]]:
    """Providers by identity (domain) with their slug; the name is the most common one.

    A provider's ``domain`` is the first one its records give ("" when none gives one: a
    source known by its name, see `source_domain`). Sources of one name (in any case) at two
    domains are shown with their domain, ``Reuters (reuters.co.uk)``: they had two pages of one
    title, two links of one text in the list of sources, and one value of the search's filter."""
    seen: dict[str, Counter] = defaultdict(Counter)
    domains: dict[str, str] = {}
    for article in articles:
        if article.provider:
            seen[article.provider.key][article.provider.name] += 1
            if not domains.get(article.provider.key):
                domains[article.provider.key] = article.provider.domain
    names = {k: min(c.items(), key=lambda nc: (-nc[1], nc[0]))[0] for k, c in seen.items()}
    shared = Counter(map(term_key, names.values()))
    if len(shared) < len(names):
        names = {k: f"{name} ({k})" if shared[term_key(name)] > 1 and domains[k] else name
                 for k, name in names.items()}
    slugs = _unique_slugs([(k, k, sum(seen[k].values())) for k in sorted(seen)], "source")
    return {k: (Provider(k, names[k], domains[k]), slugs[k]) for k in seen}


def build_editions(articles: Sequence[Article], config: Config) -> list[Edition]:
    """One edition per calendar day (site timezone) with stories, oldest first."""
    tz = config.tz
    days: dict[str, list[Article]] = defaultdict(list)
    for article in articles:
        days[article.published.astimezone(tz).date().isoformat()].append(article)
    editions = []
    for day in sorted(days):
        start = datetime.fromisoformat(day).replace(tzinfo=tz)
        ranked = sorted(days[day], key=lambda a: rank_key(a, start))
        editions.append(Edition(day=day, article_ids=tuple(a.id for a in ranked)))
    return editions


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True, slots=True)
class SitePlan:
    """Everything planned: the pages plus the derived structures other stages report on."""

    pages: list[PageSpec]
    """Every output file to render, in a deterministic order."""
    articles: list[Article]
    """The articles the site shows."""
    topics: dict[str, Topic]
    """Topics by identity."""
    editions: list[Edition]
    """Daily editions, oldest first."""
    urls: dict[str, str]
    """Site path (relative to the site root, e.g. ``2021/11/30/x/``) of every article by id."""
    related_state: RelatedState | None = None
    """State for the next plan's incremental related computation."""
    reuse: _Reuse | None = None
    """What `replan` needs to derive the next plan from this one (in memory only)."""


def site_key(config: Config, site: Mapping[str, Any], drafts: bool) -> str:
    """Digest of what every page depends on besides its own inputs: program, settings, nav."""
    return input_key(toolchain(), repr(config), site, drafts)


def shape(article: Article) -> str:
    """Digest of what of an article decides the site's structure (which pages exist, what
    each lists and in which order, titles of listings): everything but its words, pictures
    and note, which pages reach only through the article's digest, and its slug (see
    `replan`). Dates count as written (a new offset for the same instant counts too)."""
    provider = article.provider
    return input_key(article.id, article.source, article.is_published, article.quality, article.heat,
                     article.published.isoformat(), article.updated.isoformat() if article.updated else None,
                     article.web_url, (provider.key, provider.name, provider.domain) if provider else None,
                     article.topics, tuple((ref.web_url, ref.link) for ref in article.related))


def _dangling_key(identity: str) -> int:
    """A short stand-in for a URL identity in `_Planner.dangling` (a saved plan holds one per
    curated entry): two identities that share it only make a page or two planned again."""
    return zlib.crc32(identity.encode("utf-8", "surrogatepass"))


class _Reuse:
    """A plan's planner (whose tables its pages' builders read) and indexes over its pages."""

    def __init__(self, planner: _Planner, pages: list[PageSpec], docs: list[Doc],
                 sitemap: tuple[int, int]):
        self.planner = planner
        self.docs = docs
        """The related-articles documents, in the planner's article order."""
        self._index: dict[str, int] | None = None
        self.sitemap = sitemap
        """Positions (start, end) of the sitemap files and robots.txt among the pages."""
        self._showing: dict[str, set[int]] | None = None
        self.former: dict[str, tuple] | None = None
        """For a plan read back by `load_plan`: each article's `_facts` when it was saved (the
        planner's tables then hold the articles as they are now); None for a plan in memory."""
        self.known: Mapping[str, tuple] = {}
        """The `_facts` of a plan read back, kept (after `replan` let go of ``former``) for
        `write_plan`: an article whose content hash, source and slug are those noted has the
        facts noted, which are dear to make again (0.13 s at 10,000 articles)."""
        self.drift = 0
        """How many articles differ from the saved plan's (see `load_plan`)."""
        self.members = 0
        """How many of those were added or removed since the saved plan (see `replan`): a
        command saves such a plan again, or every later build would derive them again."""

    def __getstate__(self) -> dict[str, Any]:
        # The docs go along, with their digests (`Doc.digest`): making them again costs more.
        # A plan read back is the saved one: nothing differs from it yet.
        return {**self.__dict__, "_index": None, "_showing": None, "drift": 0, "members": 0, "known": {}}

    def index(self, pages: list[PageSpec]) -> dict[str, int]:
        """Page position by output path (made on first use: only a server replans)."""
        if self._index is None:
            self._index = {spec.path: n for n, spec in enumerate(pages)}
        return self._index

    def showing(self, pages: list[PageSpec]) -> dict[str, set[int]]:
        """Positions of the pages whose key includes each article's digest (made once)."""
        if self._showing is None:
            showing: dict[str, set[int]] = defaultdict(set)
            for n, spec in enumerate(pages):
                for article_id in spec.deps:
                    showing[article_id].add(n)
            self._showing = showing
        return self._showing


class _Planner:
    """Builds page specs; holds the derived lookup tables their builders read.

    Every page gets a key from cheap inputs (article digests, ids, numbers, small
    dicts) and a builder for its context; the key must cover everything the builder
    reads, and builders look articles up by id here (so `replan` can swap changed
    articles in). An article's digest (`digest`) covers all that any page shows of it:
    its record's bytes and path, its page path, its topics' and provider's display
    names and slugs, and its planned images.
    """

    def __init__(self, articles: list[Article], config: Config,
                 images: Mapping[str, Mapping[str, Any]], related: Mapping[str, Sequence[str]],
                 drafts: bool = False, search: bool = False):
        self.config = config
        self.tz = config.tz
        self.base = config.base_path
        self.origin = config.base_url[: len(config.base_url) - len(config.base_path)]
        self.articles = articles
        self.by_id = {a.id: a for a in articles}
        self.newest = sorted(articles, key=newest_key)
        self.topics = build_topics(articles)
        self.providers = build_providers(articles)
        self.images = images
        self.related = related
        self.paths = {a.id: self.article_path(a) for a in articles}
        self.by_web_url = {story: a for a in articles if (story := a.story_identity())}
        self.shown_refs: dict[str, tuple[tuple[tuple[str | None, int], ...], tuple[int, ...]]] = {}
        """`shown_related`'s answers (and the `_dangling_key` of each identity no article has),
        by article id: made once per article, for its page, its digest and its JSON."""
        self.dangling: dict[int, set[str]] = {}
        """Ids of the articles whose curated coverage names a URL identity no article has, by
        the identity's `_dangling_key` (filled as their pages are planned): `replan` plans
        them again when an article of that identity is added. (An article whose curated
        coverage links a removed one is found by its page's ``deps``; its page, planned again,
        notes the identity here.)"""
        self.cards: dict[str, dict] = {}
        self.digests: dict[str, str] = {}
        self.links: dict[tuple[str, str], list[dict]] = {}
        self.entries = Entries(self, config)
        self.sitemap_entries: list[dict] = []
        """The sitemap's ``{loc, lastmod}`` entries, once `sitemap` made them."""
        self.groups: dict[str, tuple[str, int]] = {}
        """Groups of pages planned together (a listing's pages, a feed's formats...) by their
        first page's path: a digest of what each was planned from and how many pages it has
        (see `reused`; a digest, not the inputs, to keep a saved plan small)."""
        self.last_plan: tuple[list[PageSpec], Mapping[str, int]] | None = None
        """While `replan` plans after additions or removals: the last plan's pages and their
        positions by path, whose groups `reused` gives back."""
        words = self.words = config.words
        self.site = {
            "title": config.title,
            "description": config.description,
            "base_url": config.base_url,
            "base_path": self.base,
            "language": config.language,
            "dir": language_direction(config.language),
            "generator": f"digest {__version__}",
            "nav": [
                {"name": words["nav_home"], "url": self.url("")},
                {"name": words["nav_editions"], "url": self.url("editions/")},
                {"name": words["nav_topics"], "url": self.url("topics/")},
                {"name": words["nav_sources"], "url": self.url("sources/")},
                {"name": words["nav_archive"], "url": self.url("archive/")},
            ],
            "stylesheet": self.url("static/style.css"),
        }
        if search:
            self.site["nav"].append({"name": words["nav_search"], "url": self.url("search/")})
        self.site_key = site_key(config, self.site, drafts)
        self.options = (config, drafts, search)
        """What the site key was made from (see `replan`)."""

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the cards, which are made again on demand (see `write_plan`)."""
        return {**self.__dict__, "cards": {}, "last_plan": None, "shown_refs": {}}

    def reused(self, first: str, inputs: str) -> list[PageSpec] | None:
        """The pages of the group at ``first`` as the last plan has them, if they were planned
        from the same inputs (their digest ``inputs``: with the site's settings and the digests
        of the articles they show they make the pages; `replan` re-keyed those of changed
        articles already); else None."""
        if self.last_plan is None:
            return None
        found = self.groups.get(first)
        if found is None or found[0] != inputs:
            return None
        pages, index = self.last_plan
        start = index.get(first)
        group = pages[start: start + found[1]] if start is not None else []
        return group if len(group) == found[1] and group[0].path == first else None

    def grouped(self, first: str, inputs: tuple, plan: Callable[[], list[PageSpec]]) -> list[PageSpec]:
        """The group of pages at ``first`` that ``plan()`` makes from ``inputs`` (plain data, all
        it reads but the site's settings and the articles' contents): kept from the last plan
        when it can be (see `reused`), and noted for the next."""
        digest = input_key(*inputs)
        found = self.reused(first, digest)
        if found is not None:
            return found
        pages = plan()
        self.groups[first] = (digest, len(pages))
        return pages

    # urls ---------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.base + path

    def article_path(self, article: Article) -> str:
        local = article.published.astimezone(self.tz)
        return f"{local.year:04d}/{local:%m/%d}/{article.slug}/"  # (%Y writes the year 2 as 2)

    def provider_path(self, provider: Provider | None) -> str | None:
        if provider is None or provider.key not in self.providers:
            return None
        return f"sources/{self.providers[provider.key][1]}/"

    # keys ----------------------------------------------------------------
    def digest(self, article_id: str) -> str:
        """Digest of everything any page shows of one article (see the class docstring).

        It includes the site key, so it can serve as a page key of its own.
        """
        found = self.digests.get(article_id)
        if found is None:
            article = self.by_id[article_id]
            provider = None
            if article.provider:
                shown, slug = self.providers[article.provider.key]
                provider = (shown.key, shown.name, shown.domain, slug)
            topics = tuple((t.key, t.name, t.slug) for t in map(self.topics.__getitem__, map(term_key, article.topics)))
            images = tuple(self.images.get(image.url) for image in article.images)
            record = article.content_hash or repr(article)  # made-up articles (tests) have no hash
            # (which curated entries it shows: its JSON lists those alone, and an article added or
            # removed elsewhere can change them)
            shown = tuple(index for _, index in self.shown_related(article)) if article.related else ()
            found = input_key(self.site_key, record, article.source, article.id, self.paths[article_id],
                              provider, topics, images, article.is_published, shown)
            self.digests[article_id] = found
        return found

    def rekey(self, struct: str, deps: tuple[str, ...]) -> str:
        """A page's key: its ``struct`` digest with the digests of the articles ``deps``."""
        digests = self.digests
        if len(digests) < len(self.by_id):
            for article_id in self.by_id:
                if article_id not in digests:
                    self.digest(article_id)
        return input_key(struct, "".join(map(digests.__getitem__, deps)))

    def forget(self, article_id: str) -> None:
        """Drop what was derived from one article's contents (it changed; see `replan`)."""
        self.cards.pop(article_id, None)
        self.digests.pop(article_id, None)
        self.shown_refs.pop(article_id, None)
        self.entries.forget(article_id)

    # plain data ------------------------------------------------------------
    def date_display(self, when: datetime) -> str:
        local = when.astimezone(self.tz)
        return self.words.day(local.day, local.month, local.year)

    def picture(self, image: ImageRef) -> Mapping[str, Any]:
        """How ``image`` is shown: its thumbnails as planned (see `digest.images`); else, with
        ``hotlink_images``, an https URL from its host; else no ``src`` (a card's placeholder)."""
        planned = self.images.get(image.url)
        if planned:
            return planned
        hotlinked = safe_url(image.url) if self.config.hotlink_images else None
        width = image.width or 16
        return {"src": hotlinked if hotlinked and hotlinked.startswith("https://") else None,
                "srcset": "", "sizes": "", "sources": [], "largest": None,
                "width": width, "height": min(image.height or 9, MAX_TALL * width)}

    def card(self, article: Article) -> dict:
        """Plain data for one article in a listing (built once, shared by every page)."""
        cached = self.cards.get(article.id)
        if cached is not None:
            return cached
        provider = None
        if article.provider:
            shown = self.providers[article.provider.key][0]
            provider = {"name": shown.name, "url": self.url(self.provider_path(article.provider)),
                        "domain": source_domain(shown)}
        topics = []
        for name in article.topics:
            topic = self.topics[term_key(name)]
            topics.append({"name": topic.name, "url": self.url(f"topics/{topic.slug}/")})
        first = article.images[0] if article.images else None
        image = {**self.picture(first), "alt": first.title or ""} if first is not None else None
        card = {
            "id": article.id,
            "title": article.title,
            "url": self.url(self.paths[article.id]),
            "link": article.link,
            "provider": provider,
            "published": article.published.isoformat(),
            "published_display": self.date_display(article.published),
            "excerpt": article.excerpt,
            "topics": topics,
            "image": image,
            "type": article.type,
            "lang": article.locale or "",
            "draft": not article.is_published,
        }
        self.cards[article.id] = card
        return card

    def cards_of(self, ids: Iterable[str]) -> list[dict]:
        return [self.card(self.by_id[i]) for i in ids]

    def page(self, path: str, template: str, kind: str, title: str, description: str, *,
             deps: tuple[str, ...] = (), inputs: tuple = (), lazy: Callable[[], dict] | None = None,
             feeds: tuple[str, str] | None = None, shows: tuple[str, ...] = (),
             **extra: Any) -> PageSpec:
        """One page whose context is made on demand.

        ``extra`` (small plain data, part of the key as it is) and what ``lazy()``
        returns (cards and the like; ``inputs`` and the contents of the articles
        ``deps`` must determine it) become fields of ``page``; ``feeds`` names the feeds
        the page links to for autodiscovery.
        """
        links = self.feed_links(feeds)
        struct = input_key(self.site_key, path, template, kind, title, description, extra, inputs, links)
        return PageSpec(path, template, kind, self.rekey(struct, deps),
                        partial(self._context, path, kind, title, description, extra, lazy, links), shows,
                        struct, deps)

    def feed_links(self, feeds: tuple[str, str] | None) -> list[dict]:
        found = self.links.get(feeds) if feeds else None
        if not found:
            return []
        if feeds == ("home", "") and ("edition", "") in self.links:
            return [*found, *self.links[("edition", "")]]
        return list(found)

    def _context(self, path: str, kind: str, title: str, description: str, extra: dict,
                 lazy: Callable[[], dict] | None, links: list[dict]) -> dict:
        canonical_path = path[: -len("index.html")] if path.endswith("index.html") else path
        fields = dict(extra)
        page = {
            "kind": kind,
            "title": title,
            "description": description or self.config.description,
            "path": canonical_path,
            "url": self.url(canonical_path),
            "canonical": self.config.absolute(canonical_path),
            "lang": fields.pop("lang", "") or self.config.language,
            "breadcrumbs": fields.pop("breadcrumbs", []),
            "feeds": links,
            "prev": None, "next": None,
            **fields,
            **(lazy() if lazy is not None else {}),
        }
        if path.endswith(".html"):
            page["meta"] = page_meta(kind, page, self.config, self.origin, self.config.title)
        return {"site": self.site, "page": page}

    def crumbs(self, *trail: tuple[str, str]) -> list[dict]:
        """Breadcrumbs from Home through ``(name, site path)`` pairs."""
        return [{"name": self.words["nav_home"], "url": self.url("")},
                *({"name": name, "url": self.url(path)} for name, path in trail)]

    def paginate(self, base: str, template: str, kind: str, title: str, description: str,
                 items: list[Article], feeds: tuple[str, str] | None = None, **extra: Any) -> list[PageSpec]:
        """The pages of one listing of ``items`` at ``base`` (a group: see `grouped`)."""
        inputs = (template, kind, title, description, tuple(a.id for a in items), feeds, extra)
        return self.grouped(base + "index.html", inputs,
                            partial(self._paginate, base, template, kind, title, description, items, feeds, extra))

    def _paginate(self, base: str, template: str, kind: str, title: str, description: str,
                  items: list[Article], feeds: tuple[str, str] | None, extra: dict[str, Any]) -> list[PageSpec]:
        size = self.config.page_size
        count = max(1, math.ceil(len(items) / size))
        pages = []

        def path_of(n: int) -> str:
            return base if n == 1 else f"{base}page/{n}/"

        for n in range(1, count + 1):
            ids = tuple(a.id for a in items[(n - 1) * size: n * size])
            heading = title if n == 1 else self.words.say("page_heading", title=title, n=n, total=count)
            pagination = {
                "page": n, "pages": count,
                "prev": self.url(path_of(n - 1)) if n > 1 else None,
                "next": self.url(path_of(n + 1)) if n < count else None,
                "first": self.url(path_of(1)), "last": self.url(path_of(count)),
            }
            pages.append(self.page(
                path_of(n) + "index.html", template, kind, heading, description,
                deps=ids, lazy=partial(self._stories, ids), feeds=feeds, shows=ids,
                heading=title, total=len(items), pagination=pagination,
                prev=pagination["prev"], next=pagination["next"], **extra,
            ))
        return pages

    def _stories(self, ids: tuple[str, ...]) -> dict:
        return {"stories": self.cards_of(ids)}

    # pages -------------------------------------------------------------------
    def article_pages(self) -> list[PageSpec]:
        return [self.article_page(article) for article in self.articles]

    def shown_related(self, article: Article) -> tuple[tuple[str | None, int], ...]:
        """The curated entries of ``article`` its page shows, in order: (the id of the article of
        this site it names, else None; the entry's index). An entry whose ``webUrl`` is a story of
        this site links to its page, another one with an http(s) link to it; the others (no link,
        or a story or link shown already, or the article itself) are not shown. Its JSON API
        document lists the same entries (`digest.feeds.Entries.record`)."""
        found = self.shown_refs.get(article.id)
        if found is None:
            curated: list[tuple[str | None, int]] = []  # (internal target id or None, index of the ref)
            dangling: list[int] = []
            seen = {article.id}
            for index, ref in enumerate(article.related):
                target = None
                if identity := url_identity(ref.web_url):  # ("": names no story, or no URL)
                    target = self.by_web_url.get(identity)
                    if target is None:
                        dangling.append(_dangling_key(identity))
                if target is not None:
                    if target.id not in seen:
                        seen.add(target.id)
                        curated.append((target.id, index))
                elif ref.link and ref.link not in seen:
                    seen.add(ref.link)
                    curated.append((None, index))
            found = self.shown_refs[article.id] = (tuple(curated), tuple(dangling))
        return found[0]

    def article_page(self, article: Article) -> PageSpec:
        curated = self.shown_related(article)
        for key in self.shown_refs[article.id][1]:
            self.dangling.setdefault(key, set()).add(article.id)
        seen = {article.id, *(target for target, _ in curated if target),
                *(article.related[index].link for target, index in curated if not target)}
        computed = tuple(pick(self.related.get(article.id, ()), seen, self.config.related_count))
        deps = (article.id, *(t for t, _ in curated if t), *computed)
        return self.page(
            self.paths[article.id] + "index.html", "article.html", "article",
            article.title, article.excerpt,
            deps=deps, inputs=(tuple(curated), computed),
            lazy=partial(self._article, article.id, tuple(curated), computed),
            shows=(article.id,), lang=article.locale,
        )

    def article_context(self, article_id: str) -> dict:
        """The context of one article's page, planned again (a saved plan keeps only this)."""
        return self.article_page(self.by_id[article_id]).build()

    def _article(self, article_id: str, curated: tuple[tuple[str | None, int], ...],
                 computed: tuple[str, ...]) -> dict:
        article = self.by_id[article_id]
        links = []
        for target_id, index in curated:
            ref = article.related[index]
            if target_id is not None:
                target = self.by_id[target_id]
                links.append({"title": target.title, "url": self.url(self.paths[target.id]), "internal": True,
                              "provider": (self.card(target)["provider"]["name"] if target.provider
                                           else ref.provider_name),
                              "published": target.published.isoformat(),
                              "published_display": self.date_display(target.published)})
            else:
                links.append({"title": ref.title, "url": ref.link, "internal": False,
                              "provider": ref.provider_name,
                              "published": ref.published.isoformat() if ref.published else "",
                              "published_display": self.date_display(ref.published) if ref.published else ""})
        gallery = []
        for image in article.images:
            planned = self.picture(image)
            if planned.get("src"):
                gallery.append({**planned, "alt": image.title or ""})
        card = self.card(article)
        local_day = article.published.astimezone(self.tz).date().isoformat()
        trail = [(card["topics"][0]["name"], card["topics"][0]["url"])] if card["topics"] else []
        return {
            "breadcrumbs": [{"name": self.words["nav_home"], "url": self.url("")},
                            *({"name": name, "url": url} for name, url in trail),
                            {"name": article.title, "url": card["url"]}],
            "article": {**card, "body_html": article.body_html, "category": article.category,
                        "updated": article.updated.isoformat() if article.updated else "",
                        "quality": article.quality, "heat": article.heat,
                        "images": gallery, "extra": article.extra,
                        "edition_url": self.url(f"editions/{local_day}/")},
            "curated": links,
            "related": self.cards_of(computed),
        }

    def edition_pages(self, editions: list[Edition]) -> list[PageSpec]:
        pages = []
        for index, edition in enumerate(editions):
            prev_day = editions[index - 1].day if index > 0 else None
            next_day = editions[index + 1].day if index + 1 < len(editions) else None
            pages += self.grouped(f"editions/{edition.day}/index.html",
                                  (edition.day, edition.article_ids, prev_day, next_day),
                                  partial(self._edition_page, edition, prev_day, next_day))
        return pages

    def _edition_page(self, edition: Edition, prev_day: str | None, next_day: str | None) -> list[PageSpec]:
        ids = edition.article_ids
        words = self.words
        name = _day_name(words, edition.day)
        title = words.say("edition_title", date=name)
        return [self.page(
            f"editions/{edition.day}/index.html", "edition.html", "edition", title,
            words.say("edition_description", n=len(ids), date=name),
            deps=ids, lazy=partial(self._edition, ids), feeds=("edition", ""),
            shows=ids, heading=title, day=edition.day, total=len(ids),
            breadcrumbs=self.crumbs((words["nav_editions"], "editions/"), (title, f"editions/{edition.day}/")),
            prev=self.url(f"editions/{prev_day}/") if prev_day else None,
            next=self.url(f"editions/{next_day}/") if next_day else None,
        )]

    def _edition(self, ids: tuple[str, ...]) -> dict:
        groups: dict[str, list[str]] = {}
        for i in ids:
            story = self.by_id[i]
            groups.setdefault(term_key(story.topics[0]) if story.topics else "", []).append(i)
        grouped = []
        for key, members in groups.items():
            topic = self.topics.get(key)
            grouped.append({
                "topic": {"name": topic.name, "url": self.url(f"topics/{topic.slug}/")} if topic else None,
                "stories": self.cards_of(members),
            })
        return {"groups": grouped, "top": self.cards_of(ids[:3])}

    def edition_index(self, editions: list[Edition]) -> list[PageSpec]:
        size = self.config.page_size * 3
        newest = list(reversed(editions))
        count = max(1, math.ceil(len(newest) / size))
        base = "editions/"
        pages = []
        for n in range(1, count + 1):
            chunk = newest[(n - 1) * size: n * size]
            leads = tuple(e.article_ids[0] for e in chunk)
            pagination = {"page": n, "pages": count,
                          "prev": self.url(base if n == 2 else f"{base}page/{n - 1}/") if n > 1 else None,
                          "next": self.url(f"{base}page/{n + 1}/") if n < count else None}
            days = tuple((e.day, len(e.article_ids)) for e in chunk)
            path = base if n == 1 else f"{base}page/{n}/"
            pages.append(self.page(
                path + "index.html", "editions.html", "editions", self.words["editions_title"],
                self.words["editions_description"],
                deps=leads, inputs=days, lazy=partial(self._edition_entries, days, leads),
                feeds=("edition", ""), shows=leads, heading=self.words["editions_title"], pagination=pagination,
                prev=pagination["prev"], next=pagination["next"],
            ))
        return pages

    def _edition_entries(self, days: tuple[tuple[str, int], ...], leads: tuple[str, ...]) -> dict:
        entries = []
        for (day, count), lead in zip(days, leads, strict=True):
            entries.append({"day": day, "url": self.url(f"editions/{day}/"),
                            "name": _day_name(self.words, day),
                            "count": count, "lead": self.card(self.by_id[lead])})
        return {"editions": entries}

    def taxonomy_pages(self) -> list[PageSpec]:
        pages = []
        by_topic: dict[str, list[Article]] = defaultdict(list)
        by_provider: dict[str, list[Article]] = defaultdict(list)
        for article in self.newest:
            for name in article.topics:
                by_topic[term_key(name)].append(article)
            if article.provider:
                by_provider[article.provider.key].append(article)
        index = []
        words = self.words
        for key, topic in in_index_order(self.topics, topic_name):
            items = by_topic[key]
            base = f"topics/{topic.slug}/"
            index.append({"name": topic.name, "url": self.url(base), "count": len(items)})
            pages += self.paginate(base, "list.html", "topic", topic.name,
                                   words.say("topic_description", name=topic.name), items,
                                   feeds=("topic", key),
                                   breadcrumbs=self.crumbs((words["nav_topics"], "topics/"), (topic.name, base)),
                                   term={"kind": "topic", "name": topic.name, "key": key})
        pages.append(self.page("topics/index.html", "terms.html", "topics", words["topics_title"],
                               words["topics_description"], heading=words["topics_title"], terms=index))
        index = []
        for key, (provider, slug) in in_index_order(self.providers, provider_name):
            items = by_provider[key]
            base = f"sources/{slug}/"
            domain = source_domain(provider)
            index.append({"name": provider.name, "url": self.url(base), "count": len(items),
                          "domain": domain})
            pages += self.paginate(base, "list.html", "source", provider.name,
                                   source_description(provider, words), items,
                                   feeds=("source", key),
                                   breadcrumbs=self.crumbs((words["nav_sources"], "sources/"), (provider.name, base)),
                                   term={"kind": "source", "name": provider.name, "key": key,
                                         "domain": domain})
        pages.append(self.page("sources/index.html", "terms.html", "sources", words["sources_title"],
                               words["sources_description"], heading=words["sources_title"], terms=index))
        return pages

    def archive_pages(self) -> list[PageSpec]:
        months: dict[str, list[Article]] = defaultdict(list)
        paths = self.paths
        for article in self.newest:
            months[paths[article.id][:7]].append(article)  # (its local year and month: `article_path`)
        pages = []
        index = []
        words = self.words
        for month in sorted(months, reverse=True):
            year, number = month.split("/")
            name = words.month(int(number), year)
            base = f"archive/{month}/"
            index.append({"name": name, "url": self.url(base), "count": len(months[month]), "year": year})
            pages += self.paginate(base, "list.html", "archive", name,
                                   words.say("archive_month_description", name=name), months[month],
                                   breadcrumbs=self.crumbs((words["nav_archive"], "archive/"), (name, base)),
                                   term=None)
        pages.append(self.page("archive/index.html", "archive.html", "archive-index", words["archive_title"],
                               words["archive_description"], heading=words["archive_title"], months=index))
        return pages

    def home_page(self, editions: list[Edition]) -> PageSpec:
        top: tuple[str, ...] = ()
        latest_day = None
        if editions:
            latest = editions[-1]
            latest_day = {"day": latest.day, "url": self.url(f"editions/{latest.day}/"),
                          "name": self.date_display(self.by_id[latest.article_ids[0]].published)}
            top = latest.article_ids[: self.config.home_top]
        shown = set(top)
        latest_ids = tuple(a.id for a in self.newest
                           if a.id not in shown)[: self.config.home_latest]
        return self.page("index.html", "home.html", "home", self.config.title,
                         self.config.description,
                         deps=top + latest_ids, inputs=(len(top),),
                         lazy=partial(self._home, top, latest_ids), feeds=("home", ""),
                         shows=top + latest_ids, heading=self.config.title, edition=latest_day,
                         total=len(self.articles))

    def _home(self, top: tuple[str, ...], latest_ids: tuple[str, ...]) -> dict:
        return {"top": self.cards_of(top), "latest": self.cards_of(latest_ids)}

    def sitemap(self, pages: list[PageSpec], kept: Mapping[str, tuple[PageSpec, dict]] | None = None,
                ) -> list[PageSpec]:
        """The sitemap of ``pages`` (``kept`` as for `digest.feeds.sitemap_entries`)."""
        self.sitemap_entries = sitemap_entries(pages, self.config, self.by_id, self.drafts(), kept)
        return plan_sitemap(self.sitemap_entries, self.config, self.site, site_key=self.site_key)

    def drafts(self) -> set[str]:
        """Ids of the articles shown that are not published (a ``--drafts`` preview)."""
        if not self.options[1]:
            return set()  # (without --drafts the site shows published articles only)
        return {a.id for a in self.articles if not a.is_published}

    def sitemap_kept(self, pages: list[PageSpec], start: int) -> dict[str, tuple[PageSpec, dict]]:
        """The sitemap entries made for ``pages`` (the plan's, the sitemap at ``start``) by
        path, with the spec each was made for: what a later `sitemap` may keep."""
        listed = sitemap_listed(pages[:start], self.drafts())
        if len(listed) != len(self.sitemap_entries):
            return {}
        return {spec.path: (spec, entry) for spec, entry in zip(listed, self.sitemap_entries, strict=True)}

    def sitemap_loc(self, path: str) -> str:
        return sitemap_loc(self.config.absolute(path))


def plan_site(
    articles: Sequence[Article],
    config: Config,
    images: Mapping[str, Mapping[str, Any]] | None = None,
    drafts: bool = False,
    related_state: RelatedState | None = None,
    search: bool = True,
    reusable: bool = True,
    parallel: bool = False,
    keep_tail: bool | None = None,
    relate: Relate | None = None,
) -> SitePlan:
    """Every page of the site for ``articles`` (already loaded and deduplicated).

    ``related_state`` is the previous plan's `SitePlan.related_state`: with it the
    related lists are recomputed only from the first changed article onward.
    ``search`` says whether a search index will be built: without one there is no
    search page and no Search link (a page that cannot work is worse than none).
    Pages come with keys and context builders; no context is made here. With
    ``reusable`` the plan keeps what `replan` needs (the related documents, mostly).
    ``parallel`` lets the related lists use a second process (see `compute_related`).
    ``keep_tail`` (default: ``reusable``) keeps the related lists' working structures for
    the next plan in this process (see `compute_related`). ``relate``, when given, makes the
    related lists instead (see `Relate`: ``related_state``, ``parallel`` and ``keep_tail``
    are then its business).

    This is the reference answer: `replan` must give exactly these pages, in this order,
    with these keys and contexts, whenever it gives one (the page order is `_site_pages`').
    """
    shown = sorted(select(articles, config, drafts), key=lambda a: a.id)
    if relate is None:
        relate = partial(compute_related, count=config.related_count, previous=related_state,
                         keep_tail=reusable if keep_tail is None else keep_tail, parallel=parallel)
    planner = _Planner(shown, config, images or {}, {}, drafts=drafts, search=search)
    made: dict[str, Any] = {}

    def related_lists() -> None:
        # Asked for as late as can be (only the article pages read the lists): a command's are
        # made in a child (see `digest.build._relate_apart`) while the other pages are planned.
        made["docs"] = docs = docs_for(shown)
        planner.related, made["state"] = relate(docs)

    editions = build_editions(shown, config)
    pages, _links, span = _site_pages(planner, editions, search, related_lists=related_lists)
    check_paths(pages)
    return SitePlan(pages=pages, articles=shown, topics=planner.topics, editions=editions,
                    urls=dict(planner.paths), related_state=made["state"],
                    reuse=_Reuse(planner, pages, made["docs"], span) if reusable else None)


def _site_pages(planner: _Planner, editions: list[Edition], search: bool,
                articles: list[PageSpec] | None = None, documents: Mapping[str, PageSpec] | None = None,
                entries: Mapping[str, tuple[PageSpec, dict]] | None = None,
                related_lists: Callable[[], None] | None = None,
                ) -> tuple[list[PageSpec], dict[tuple[str, str], list[dict]], tuple[int, int]]:
    """Every page of the site in its order, the feeds' discovery links, and where the sitemap is.

    One place decides the order of the pages, for `plan_site` and for `replan` after
    additions or removals, which passes the article pages (``articles``, in the planner's
    article order), the articles' API documents (``documents``, by id, see `plan_feeds`) and
    the sitemap entries (``entries``, see `_Planner.sitemap_kept`) it kept from the last plan
    instead of planning them all again. Without ``articles``, the article pages are planned
    after every other page but the sitemap (no other page reads the related lists), once
    ``related_lists()``, when given, has set the planner's.
    """
    feed_pages, links = plan_feeds(planner, editions, planner.config, partial(_day_name, planner.words), documents)
    planner.links = links  # (the listings read them: discovery links)
    home = planner.home_page(editions)
    pages: list[PageSpec] = planner.edition_pages(editions)
    pages += planner.edition_index(editions)
    pages += planner.taxonomy_pages()
    pages += planner.archive_pages()
    words = planner.words
    pages.append(planner.page("404.html", "404.html", "404", words["not_found_title"],
                              words["not_found_description"], heading=words["not_found_title"]))
    if search:
        pages.append(search_page(planner))
    if articles is None:
        if related_lists is not None:
            related_lists()
        articles = planner.article_pages()
    pages = [home, *articles, *pages]
    start = len(pages)
    pages += planner.sitemap(pages, entries)
    end = len(pages)
    pages += feed_pages
    return pages, links, (start, end)


def replan(
    previous: SitePlan,
    articles: Sequence[Article],
    config: Config,
    images: Mapping[str, Mapping[str, Any]] | None = None,
    drafts: bool = False,
    related_state: RelatedState | None = None,
    search: bool = True,
    keep_tail: bool = True,
    relate: Relate | None = None,
) -> SitePlan | None:
    """`plan_site`'s answer, derived from ``previous`` when articles changed contents or
    `shape` (a new date, rank, topics, source or curated links), were added, or were removed
    (deleted, unpublished, below ``min_quality``), any of these at once.

    With the same settings, each changed article of ``previous`` of the same `shape` (see
    `_replan_contents`) or else as published as it was, and the articles added, removed and
    of another shape (these leave as they were and join as they are) leaving the site's
    structure as it was (see `_joins`: every topic and source that stays keeps its name and
    slug, though others may begin or end; no path or identity of an added one taken), the
    answer equals `plan_site`'s, page for page and key for key. Otherwise (or without
    ``previous.reuse``) the answer is None and the caller plans from scratch: a changed
    structure (a topic or source renamed, or whose slug moves to or from another; an
    article published or unpublished that a ``--drafts`` preview shows either way), other
    settings, most of the site changed (`_MASSIVE`).

    ``previous`` is consumed: its planner is brought up to date in place (its pages'
    builders read it), so it must not be used afterwards, not even after a None. It may
    come from memory (the last plan of this process) or from `load_plan`; then the changes
    are counted from the articles as they were saved (`_Reuse.former`), so they add up
    until a new plan is saved (`_Reuse.drift` counts them). ``keep_tail`` and ``relate`` are
    as for `plan_site`.
    """
    reuse = previous.reuse
    if reuse is None:
        return None
    planner = reuse.planner
    images = images or {}
    shown = sorted(select(articles, config, drafts), key=attrgetter("id"))
    if planner.options != (config, drafts, search):
        return None
    if relate is None:
        relate = partial(compute_related, count=config.related_count, previous=related_state, keep_tail=keep_tail)
    by_id = planner.by_id
    added = [a for a in shown if a.id not in by_id]
    if not added and len(shown) == len(planner.articles):
        reshaped: set[str] = set()
        found = _replan_contents(previous, shown, images, relate, reshaped=reshaped)
        if found is not None or not reshaped:
            return found
        # (articles whose shape changed were found before anything was touched: below they
        # leave the site and join it again)
    current = {a.id: a for a in shown}
    removed = {article_id for article_id in by_id if article_id not in current}
    if len(added) + len(removed) > max(_MASSIVE, len(by_id) // 2):
        return None  # (another site, mostly: planning it from scratch is as quick, and simpler)
    taxonomy = _joins(planner, shown, added)
    if taxonomy is None:
        return None
    saved = reuse.former is not None
    # The articles of the last plan, as they are now (the removed ones as they were), in its order.
    known = [current.get(a.id, a) for a in planner.articles]
    reshaped = set()
    step = _replan_contents(previous, known, images, None, skip=removed, reshaped=reshaped)
    if step is None:
        return None
    return _replan_members(step, shown, added, removed, images, saved, relate, taxonomy, reshaped)


_MASSIVE = 64
"""`replan` derives a plan when at most this many articles, or half the site's, were added,
removed or moved."""


def _pictured(old: Mapping[str, Any], new: Mapping[str, Any], shown: Sequence[Article],
              skip: Set[str] = frozenset()) -> set[str]:
    """Ids of the articles ``shown`` (but those of ``skip``) with a picture whose planned
    thumbnails differ between ``old`` and ``new`` (an image cached since, or cached again, or
    gone): they changed as much as if their records had (see `_replan_contents`)."""
    if new is old or new == old:
        return set()
    missing = object()
    differing = {url for url in old.keys() | new.keys() if old.get(url, missing) != new.get(url, missing)}
    return {a.id for a in shown if a.id not in skip and any(image.url in differing for image in a.images)}


def _joins(planner: _Planner, shown: Sequence[Article], added: Sequence[Article],
           ) -> tuple[dict[str, Topic], dict[str, tuple[Provider, str]]] | None:
    """The topics and sources of the articles ``shown`` (with ``added``, without those removed)
    when they fit the site's structure as it stands, else None: every topic and source of the
    site that stays keeps its name and slug (a new one whose slug would move another's does
    not fit, nor one gone that leaves its slug to another), new ones may begin (an added
    article's own: a curator's sources and tags grow every day) and others end (a removed
    article's own: unpublishing a source's only story is common), and every added identity
    is new (two records of one story make `plan_site` choose; the identity of a removed
    article counts as taken too, which is merely cautious)."""
    topics, providers = build_topics(shown), build_providers(shown)
    if not (_same_where_both(planner.topics, topics) and _same_where_both(planner.providers, providers)):
        return None
    urls = [story for a in added if (story := a.story_identity())]
    if len(set(urls)) != len(urls) or any(url in planner.by_web_url for url in urls):
        return None
    return topics, providers


def _same_where_both(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether every key of both ``old`` and ``new`` has the same value in both."""
    if len(new) < len(old):
        old, new = new, old
    return all(new.get(key, value) == value for key, value in old.items())


def _replan_contents(
    previous: SitePlan,
    shown: list[Article],
    images: Mapping[str, Mapping[str, Any]],
    relate: Relate | None,
    skip: Set[str] = frozenset(),
    reshaped: set[str] | None = None,
) -> SitePlan | None:
    """`replan` when only contents changed: the same articles (``shown``, selected and by id).

    An article changed when its record did, or the thumbnails planned for its pictures
    (``images``: see `_pictured`). Each changed one must be of the same `shape`, unless
    ``reshaped`` is given: then the ids of those of another shape but as published as they
    were are added to it, and (with ``relate``) the answer is None before anything was
    touched, or (without, for `_replan_members`, which plans them as leaving and joining
    again) they are skipped. Then every page stays where it was (an article whose new title
    gives it a new slug moves, and the sitemap follows); the changed articles' own pages and
    those whose related lists moved are planned again, and the pages that show a changed
    article get new keys. Otherwise None.

    ``relate`` makes the related lists (see `Relate`). Without it they are left as they were
    (with the docs brought up to date): `_replan_members` makes them next, for all changes
    at once, and plans again every page whose list then moved. The articles of
    ``skip`` (removed: `_replan_members` drops them next) are not compared; ``shown`` holds
    them as the plan does.
    """
    reuse = previous.reuse
    planner = reuse.planner
    config = planner.config
    index = reuse.index(previous.pages)
    if len(shown) != len(planner.articles):
        return None
    pictured = _pictured(planner.images, images, shown, skip)
    changed = []
    moves: dict[str, str] = {}  # article id -> its new site path
    former = reuse.former
    for new, old in zip(shown, planner.articles, strict=True):
        if new is old and former is None and new.id not in pictured:
            continue
        if new.id != old.id:
            return None
        if new.id in skip:
            continue
        content_hash, source, slug, old_shape, published = _facts(old) if former is None else former[old.id]
        if (new.content_hash and new.content_hash == content_hash and new.source == source and new.slug == slug
                and new.id not in pictured):
            continue  # (a record's slug can change with another's: see `digest.load.distinct_slugs`)
        if shape(new) != old_shape:
            if reshaped is None or new.is_published != published:
                return None  # (a draft shown by --drafts that is published now, or the reverse: its listings change)
            reshaped.add(new.id)
            continue
        changed.append(new)
        if new.slug != slug:
            moves[new.id] = planner.article_path(new)
    if reshaped and relate is not None:
        return None
    sitemap = None
    if moves:
        targets = {path + "index.html" for path in moves.values()}
        if len(targets) < len(moves) or any(path in index for path in targets):
            return None  # a move onto another page's path: let a full plan report it
        entries = list(planner.sitemap_entries)
        at = {entry["loc"]: n for n, entry in enumerate(entries)}
        for article_id, path in moves.items():
            n = at.get(planner.sitemap_loc(planner.paths[article_id]))
            if n is not None:  # drafts have no entry
                entries[n] = {"loc": planner.sitemap_loc(path), "lastmod": entries[n]["lastmod"]}
        sitemap = plan_sitemap(entries, config, planner.site, site_key=planner.site_key)
        if len(sitemap) != reuse.sitemap[1] - reuse.sitemap[0]:
            return None  # the sitemap splits differently: positions would shift
    fresh = {a.id: doc for a, doc in zip(changed, docs_for(changed), strict=True)}
    docs = [fresh.get(doc.id, doc) for doc in reuse.docs]  # same order as planner.articles
    if relate is not None:
        related, new_state = relate(docs)
        moved = [i for i, ids in related.items() if ids != planner.related.get(i)]
    else:
        related, new_state, moved = planner.related, None, []
    reuse.docs = docs
    reuse.drift = len(changed) if former is not None else 0
    if former is not None:
        reuse.known = former
    reuse.former = None  # the planner's tables now hold what they compare with

    # The site's structure is unchanged: bring the planner's tables up to date in place.
    planner.images = images
    for article_id, path in moves.items():
        index[path + "index.html"] = index.pop(planner.paths[article_id] + "index.html")
        planner.paths[article_id] = path
    if sitemap is not None:
        planner.sitemap_entries = entries
    for article in changed:
        old = planner.by_id[article.id]
        planner.by_id[article.id] = article
        if (story := article.story_identity()) and planner.by_web_url.get(story) is old:
            planner.by_web_url[story] = article
        planner.forget(article.id)
    if changed:
        # (With ``skip`` the lists hold removed articles: from a saved plan, `_gone` stand-ins without a sort key.)
        by_id = planner.by_id
        planner.articles = ((not skip and _swapped(planner.articles, changed, attrgetter("id")))
                            or [by_id[a.id] for a in planner.articles])
        planner.newest = ((not skip and _swapped(planner.newest, changed, newest_key))
                          or [by_id[a.id] for a in planner.newest])
    planner.related = related

    pages = list(previous.pages)
    # A plan in memory keeps its index of which pages show which article up to date; a
    # saved one finds just the pages that show a changed article (a fresh page below has
    # its right key already, whether it shows one or not) and keeps no index.
    # (Nothing changed, as before an addition: no index is needed nor made.)
    again = list(dict.fromkeys([*(a.id for a in changed), *moved]))
    if not again:
        return SitePlan(pages=pages, articles=planner.articles, topics=planner.topics,
                        editions=previous.editions, urls=previous.urls, related_state=new_state, reuse=reuse)
    complete = former is None or reuse._showing is not None
    showing = reuse.showing(previous.pages) if complete else _showing(previous.pages, {a.id for a in changed})
    if sitemap is not None:
        pages[reuse.sitemap[0]: reuse.sitemap[1]] = sitemap
    for article_id in again:
        position = index[planner.paths[article_id] + "index.html"]
        old_spec, spec = pages[position], planner.article_page(planner.by_id[article_id])
        if complete:
            for dep in old_spec.deps:
                showing[dep].discard(position)
            for dep in spec.deps:
                showing[dep].add(position)
        pages[position] = spec
        if article_id in moves:
            check_paths([spec])
    for article in changed:
        for position in showing.get(article.id, ()):
            spec = pages[position]
            pages[position] = replace(spec, key=planner.rekey(spec.struct, spec.deps))
    reuse._showing = showing if complete else None
    return SitePlan(pages=pages, articles=planner.articles, topics=planner.topics,
                    editions=previous.editions, urls=dict(planner.paths) if moves else previous.urls,
                    related_state=new_state, reuse=reuse)


def _swapped(articles: list[Article], changed: Sequence[Article],
             key: Callable[[Article], Any]) -> list[Article] | None:
    """A copy of ``articles`` (sorted by ``key``) with each of ``changed`` in the place of the
    article of its id, which has the same ``key`` (it is of the same `shape`): found by
    bisection, not by a lookup of every article (0.2 s of an edit at 100,000 records); None
    if one is not where its key puts it (the caller then looks every article up)."""
    swapped = list(articles)
    for article in changed:
        at = bisect_left(swapped, key(article), key=key)
        if at == len(swapped) or swapped[at].id != article.id:
            return None
        swapped[at] = article
    return swapped


def _replan_members(
    plan: SitePlan,
    shown: list[Article],
    added: list[Article],
    removed: Set[str],
    images: Mapping[str, Mapping[str, Any]],
    saved: bool,
    relate: Relate,
    taxonomy: tuple[dict[str, Topic], dict[str, tuple[Provider, str]]],
    reshaped: Set[str] = frozenset(),
) -> SitePlan | None:
    """`replan` after `_replan_contents`: the articles ``added`` (those of ``shown`` the plan
    has not) join the site and those of ``removed`` (ids of the plan's articles ``shown`` has
    not) leave it, which `_joins` found keeps the topics and sources that stay as they were
    (``taxonomy``: those of ``shown``, some perhaps new, some of the site's perhaps gone);
    None when a path is taken.

    What an addition or a removal can touch is planned again: the new articles' pages and
    documents, the pages of other articles whose related lists moved or whose curated
    coverage links a new article or linked a removed one, the groups of pages (listings,
    feeds, collections, editions) whose inputs changed (see `_Planner.grouped`: the others
    are the last plan's), the single pages (home, indexes) and the sitemap, whose entries
    are kept for kept pages. The removed articles' pages, documents and entries are left
    out. Editions are brought up to date day by day, the related lists from the first
    article added or removed on (see `compute_related`), the planner's tables in place.

    The articles of ``reshaped`` (ids: of another `shape` now, a new date, rank, topic or
    source, as `_replan_contents` found) leave as they were and join as they are; their
    pages, entries and documents are planned again, and every page kept that shows one of
    them gets its new key.
    """
    reuse = plan.reuse
    planner = reuse.planner
    index = reuse.index(plan.pages)
    if len(added) + len(removed) + len(reshaped) > max(_MASSIVE, len(planner.articles) // 2):
        return None  # (most of the site moved: a scraper's new heat for every record, say)
    if reshaped:
        current = {a.id: a for a in shown}
        added = sorted([*added, *(current[i] for i in reshaped)], key=lambda a: a.id)
        removed = removed | reshaped
    paths = {a.id: planner.article_path(a) for a in added}
    targets = {path + "index.html" for path in paths.values()}
    freed = {planner.paths[i] + "index.html" for i in reshaped}  # (their own pages: planned again)
    if len(targets) < len(paths) or any(path in index and path not in freed for path in targets):
        return None  # a page planned where another is (or was): let a full plan report it

    fresh = {a.id: doc for a, doc in zip(added, docs_for(added), strict=True)}
    kept = {doc.id: doc for doc in reuse.docs}
    docs = [fresh.get(a.id) or kept[a.id] for a in shown]
    related, new_state = relate(docs)
    again = {i for i, ids in related.items() if ids != planner.related.get(i)}
    again.update(reshaped)
    linking: set[str] = set()  # (articles whose curated entries may be shown otherwise now)
    for article in added:  # older pages whose curated coverage now links a new article
        if story := article.story_identity():
            linking.update(planner.dangling.get(_dangling_key(story), ()))
    old_pages = {a.id: spec for a, spec in zip(planner.articles, plan.pages[1:], strict=False)}
    if removed:  # pages that show a removed article: its curated coverage links out again
        linking.update(i for i, spec in old_pages.items() if not removed.isdisjoint(spec.deps[1:]))
    again.update(linking)
    shown_before = {i: planner.shown_related(planner.by_id[i]) for i in linking
                    if i in planner.by_id and i not in removed}
    editions = _editions_with(plan.editions, added, removed, planner)

    entries = planner.sitemap_kept(plan.pages, reuse.sitemap[0])
    documents = {spec.deps[0]: spec for spec in plan.pages[reuse.sitemap[1]:]
                 if spec.kind == "api" and spec.path.startswith("api/articles/") and spec.deps[0] not in reshaped}
    if reshaped:  # (a listing that shows one of them takes its date from it)
        entries = {path: entry for path, entry in entries.items() if reshaped.isdisjoint(entry[0].shows)}
    planner.articles = shown
    old_topics, old_providers = planner.topics, planner.providers
    if taxonomy != (old_topics, old_providers):  # new topics or sources begin
        planner.topics, planner.providers = taxonomy
    if removed:
        for article_id in removed:
            del planner.by_id[article_id], planner.paths[article_id]
            planner.forget(article_id)
        planner.newest = [a for a in planner.newest if a.id not in removed]
        for url in [url for url, a in planner.by_web_url.items() if a.id in removed]:
            del planner.by_web_url[url]
    planner.by_id.update((a.id, a) for a in added)
    if added:
        planner.newest = sorted([*planner.newest, *added], key=newest_key)
    planner.paths.update(paths)
    planner.by_web_url.update((story, a) for a in added if (story := a.story_identity()))
    planner.images = images
    planner.related = related
    recurated: set[str] = set()  # (their JSON lists other curated entries: new digests, and new keys below)
    for article_id, before in shown_before.items():
        planner.shown_refs.pop(article_id, None)
        if planner.shown_related(planner.by_id[article_id]) != before:
            planner.forget(article_id)
            recurated.add(article_id)
    articles = []
    for article in shown:
        spec = old_pages.get(article.id)
        if spec is None or article.id in again or spec.shows != (article.id,):
            spec = planner.article_page(article)
        articles.append(spec)
    check_paths([articles[n] for n, a in enumerate(shown) if a.id in paths])
    links = planner.links
    planner.last_plan = (plan.pages, index)
    try:
        pages, new_links, span = _site_pages(planner, editions, planner.options[2], articles, documents, entries)
    finally:
        planner.last_plan = None
    if new_links != links:  # only the feeds of topics and sources that begin or end may
        begun = ({("topic", key) for key in planner.topics.keys() - old_topics.keys()}
                 | {("source", key) for key in planner.providers.keys() - old_providers.keys()})
        ended = ({("topic", key) for key in old_topics.keys() - planner.topics.keys()}
                 | {("source", key) for key in old_providers.keys() - planner.providers.keys()})
        if (any(new_links.get(key) != value for key, value in links.items() if key not in ended)
                or not new_links.keys() - links.keys() <= begun):
            return None  # a feed begins or ends (a topic's first or last published article in a --drafts preview)
    if reshaped or recurated:  # a group of pages kept as it was (the same inputs) that shows one of them: new keys
        for position in sorted(set().union(*_showing(pages, set(reshaped) | recurated).values())):
            spec = pages[position]
            pages[position] = replace(spec, key=planner.rekey(spec.struct, spec.deps))
    new_reuse = _Reuse(planner, pages, docs, span)
    new_reuse.known = reuse.known
    members = len(added) + len(removed) - len(reshaped)
    new_reuse.drift = reuse.drift + members if saved else 0
    new_reuse.members = reuse.members + members if saved else 0
    return SitePlan(pages=pages, articles=shown, topics=planner.topics, editions=editions,
                    urls=dict(planner.paths), related_state=new_state, reuse=new_reuse)


def _editions_with(editions: list[Edition], added: Sequence[Article], removed: Set[str],
                   planner: _Planner) -> list[Edition]:
    """`build_editions`' answer for the planner's articles with ``added`` and without those of
    ``removed`` (ids), from ``editions`` (its answer for the planner's articles): a removed
    article leaves its day's ranking as it was (each article's rank is its own), and only the
    days the added articles join are ranked again."""
    days = {edition.day: edition for edition in editions}
    for day in {planner.paths[i][:10].replace("/", "-") for i in removed}:  # (its local date: `article_path`)
        ids = tuple(i for i in days[day].article_ids if i not in removed)
        if ids:
            days[day] = Edition(day=day, article_ids=ids)
        else:
            del days[day]
    new = {article.id: article for article in added}
    for joined in build_editions(added, planner.config):  # (one per day the added articles join)
        kept = days.get(joined.day)
        members = [planner.by_id[i] for i in kept.article_ids] if kept else []
        (days[joined.day],) = build_editions([*members, *map(new.__getitem__, joined.article_ids)],
                                             planner.config)
    return [days[day] for day in sorted(days)]


def _showing(pages: Sequence[PageSpec], wanted: set[str]) -> dict[str, set[int]]:
    """Positions of the pages whose ``deps`` include each article of ``wanted``."""
    found: dict[str, set[int]] = defaultdict(set)
    if wanted:
        for n, spec in enumerate(pages):
            if not wanted.isdisjoint(spec.deps):
                for article_id in wanted.intersection(spec.deps):
                    found[article_id].add(n)
    return found


def _facts(article: Article) -> tuple:
    """What `replan` compares a changed article with: (content hash, source, slug, `shape`,
    whether it is published)."""
    return (article.content_hash, article.source, article.slug, shape(article), article.is_published)


def _article_ref(article_id: str) -> Article:
    """Stands for an article in a saved plan; `_PlanUnpickler` resolves it (nothing else may)."""
    raise BuildError(f"a saved plan refers to article {article_id!r} outside `load_plan`")


def _doc_ref(article_id: str, topics: tuple[str, ...], digest: bytes) -> Doc:
    """Stands for an article's related-articles doc in a saved plan (see `_article_ref`)."""
    raise BuildError(f"a saved plan refers to the doc of {article_id!r} outside `load_plan`")


class _PlanPickler(pickle.Pickler):
    """Pickles a plan with each article as its id (`load_plan` is given the articles); or, given
    the plan's ``planner``, one page builder of it (see `_SavedBuilders`), with the planner and
    its feed entries as references to the plan's own.

    ``reducer_override`` sees only objects that are not plain data (strings, numbers,
    lists, dicts and tuples are not offered to it), which is what makes it cheaper here
    than ``persistent_id``, asked about every object.
    """

    def __init__(self, file: BinaryIO, planner: _Planner | None = None):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.planner = planner

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind is Article:
            return _article_ref, (obj.id,)
        if kind is Doc or kind is SavedDoc:  # its text is its article's (see `_saved_doc`)
            return _doc_ref, (obj.id, obj.topics, obj.digest)
        planner = self.planner
        if planner is not None:
            if obj is planner:
                return _planner_ref, ()
            if obj is planner.entries:
                return _entries_ref, ()
        return NotImplemented


def _planner_ref() -> _Planner:
    """Stands for a saved plan's planner in a page builder; `_PlanUnpickler` given the planner
    resolves it (nothing else may)."""
    raise BuildError("a saved page builder refers to its planner outside `load_plan`")


def _entries_ref() -> Entries:
    """Stands for a saved plan's feed entries in a page builder (see `_planner_ref`)."""
    raise BuildError("a saved page builder refers to its feed entries outside `load_plan`")


def _page_rows(pages: Sequence[PageSpec], planner: _Planner, builders: BinaryIO) -> list[tuple]:
    """``pages`` as `_saved_pages` reads them back: each a row of its fields, with its builder
    pickled on its own into ``builders`` (the row says where), or named by the row (see
    `_own_builder`). The builder of a page read back and never used is copied as it is."""
    rows = []
    one = _PlanPickler(builders, planner)
    for spec in pages:
        start, build = builders.tell(), spec.build
        own = _own_builder(build, planner)
        if own is not None:  # (no pickle: the row says which, and of which article)
            rows.append((spec.path, spec.template, spec.kind, spec.key, spec.shows, spec.struct, spec.deps, *own))
            continue
        if type(build) is partial and build.func is _saved_context:
            saved, begin, end = build.args
            builders.write(saved.data[begin:end])
        else:
            one.clear_memo()
            one.dump(build)
            if builders.tell() - start > _LARGE_BUILDER:
                one = _PlanPickler(builders, planner)
        rows.append((spec.path, spec.template, spec.kind, spec.key, spec.shows, spec.struct, spec.deps,
                     start, builders.tell()))
    return rows


_ARTICLE_PAGE, _API_DOCUMENT = -1, -2
"""What a saved page row holds in place of where its builder is pickled, for the builders made
from one article's id alone (`_own_builder`): its page's, or its document's in the JSON API."""


def _own_builder(build: Callable[[], dict], planner: _Planner) -> tuple[int, str] | None:
    """``(_ARTICLE_PAGE or _API_DOCUMENT, article id)`` when ``build`` is one of those builders
    (two of every three pages: pickled one by one they were most of the time spent saving a
    plan), else None."""
    if type(build) is not partial or build.keywords:
        return None
    func, args = build.func, build.args
    if getattr(func, "__self__", None) is planner:
        method = func.__func__
        if method is _Planner.article_context and len(args) == 1:
            return _ARTICLE_PAGE, args[0]
        # (`_Planner.page`'s partial of ``_context``, whose lazy part is ``partial(_article,
        # article_id, ...)``: its title, excerpt and lists are planned again if it is rendered)
        if method is _Planner._context and args[1] == "article":
            return _ARTICLE_PAGE, args[5].args[0]
    elif func is api_document and len(args) == 2 and args[0] is planner.entries:
        return _API_DOCUMENT, args[1]
    return None


_LARGE_BUILDER = 4096
"""Bytes of a builder's pickle past which `_page_rows` takes a new pickler for the next: a
pickler's ``clear_memo`` takes as long as the largest memo it ever held (one per builder, after
a sitemap's, made saving a 10,000-record plan take 2.6 s instead of 0.5 s)."""


def _saved_pages(rows: list[tuple], builders: _SavedBuilders) -> list[PageSpec]:
    """The pages `_page_rows` saved, each builder read back only if its page is rendered.
    (Made here, field by field: as pickled objects they took three times as long.)"""
    pages = []
    add, new = pages.append, object.__new__
    article_context, entries = builders.planner.article_context, builders.planner.entries
    for path, template, kind, key, shows, struct, deps, start, end in rows:
        spec = new(PageSpec)
        fields = spec.__dict__
        fields["path"], fields["template"], fields["kind"], fields["key"] = path, template, kind, key
        fields["build"] = (partial(_saved_context, builders, start, end) if start >= 0
                           else partial(article_context, end) if start == _ARTICLE_PAGE
                           else partial(api_document, entries, end))
        fields["shows"], fields["struct"], fields["deps"] = shows, struct, deps
        add(spec)
    return pages


class _SavedBuilders:
    """The page builders of a plan read back by `load_plan`, each pickled on its own in
    `data` (see `_page_rows`): one is read back when its page is rendered (`_saved_context`),
    the others never. At 10,000 records they are most of a saved plan, and reading them all
    back took 0.08 s of every build after an edit (ten times that at 100,000), which renders
    a few dozen pages.

    A builder refers to its plan's planner and feed entries (which `replan` brings up to
    date in place); whatever else it holds is its own copy of plain data that the plan never
    changes in place (the feeds' discovery links, the sitemap's entries, the site's settings)."""

    __slots__ = ("by_id", "data", "planner")

    def __init__(self, by_id: Mapping[str, Article], data: bytes, planner: _Planner):
        self.by_id = by_id
        self.data = data
        """The builders' pickles, one after the other."""
        self.planner = planner

    def builder(self, start: int, end: int) -> Callable[[], dict[str, Any]]:
        return _PlanUnpickler(memoryview(self.data)[start:end], 0, self.by_id, self.planner).load()


def _saved_context(saved: _SavedBuilders, start: int, end: int) -> dict[str, Any]:
    """A `PageSpec.build` of a plan read back: the context of the page whose builder is
    pickled in ``saved`` between ``start`` and ``end``."""
    return saved.builder(start, end)()


class _PlanUnpickler(pickle.Unpickler):
    """Reads back what `_PlanPickler` wrote: a plan, or (given its ``planner``) one page builder."""

    def __init__(self, data: bytes | memoryview, start: int, by_id: Mapping[str, Article],
                 planner: _Planner | None = None):
        self.stream = io.BytesIO(data)  # shares ``data`` when bytes (BytesIO does not copy them)
        self.stream.seek(start)
        super().__init__(self.stream)
        self.by_id = by_id
        self.planner = planner

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__:
            if name == "_article_ref":
                return self.by_id.__getitem__  # (an article that is gone: see `_Present`)
            if name == "_doc_ref":
                # (Not a method of this unpickler: its memo would hold it, a cycle that the paused
                # collector never frees, and with it every object of the plan read and its bytes.)
                return partial(_saved_doc, self.by_id)
            if name == "_planner_ref" and self.planner is not None:
                return partial(_same, self.planner)
            if name == "_entries_ref" and self.planner is not None:
                return partial(_same, self.planner.entries)
        return super().find_class(module, name)


def _same(value: Any) -> Any:
    return value


def _saved_doc(by_id: Mapping[str, Article], article_id: str, topics: tuple[str, ...], digest: bytes) -> Doc:
    """The doc saved with ``digest``, its words taken from the article as it is now: the
    same words unless the article changed since, and then `replan` makes a fresh doc."""
    return SavedDoc(by_id[article_id], topics, digest)


def write_plan(plan: SitePlan, file: BinaryIO) -> None:
    """Write ``plan`` (made with ``reusable``) into ``file`` for `load_plan` in a later process,
    piece by piece as it is pickled: a plan of 100,000 records is 130 MB, which the process
    saving it (forked from the build) held whole besides the build's own memory.

    Articles are kept by id, with the `_facts` of each as it is now (those noted when the plan
    was read back, for the articles whose content did not change); the planner's cards
    and feed entries are left out (its article digests go along: they hold as long as the
    facts do, and making them again costs more). The pages are rows of their fields, and
    their builders come after the plan, each pickled on its own (see `_page_rows`).
    """
    if plan.reuse is None:
        raise ValueError("only a reusable plan can be saved")
    planner = plan.reuse.planner
    known = plan.reuse.known
    facts = {}
    for article in planner.articles:
        noted = known.get(article.id)
        facts[article.id] = (noted if noted is not None and article.content_hash
                             and noted[:3] == (article.content_hash, article.source, article.slug)
                             else _facts(article))  # (`replan` takes the first three as much)
    builders = io.BytesIO()
    saved = (_page_rows(plan.pages, planner, builders), plan.editions, plan.urls, plan.reuse, facts)
    _PlanPickler(file).dump(saved)
    file.write(builders.getbuffer())  # (`load_plan` finds them where the plan's pickle ends)


def dump_plan(plan: SitePlan) -> bytes:
    """``plan`` as bytes for `load_plan` (see `write_plan`)."""
    buffer = io.BytesIO()
    write_plan(plan, buffer)
    return buffer.getvalue()


LABEL_SIZE = 12
"""Characters of a `plan_label`."""


def plan_label(shown: Sequence[Article]) -> str:
    """What a saved plan is filed under: the number of articles it was made for (`LABEL_SIZE`
    digits; see `label_fits`)."""
    return f"{len(shown):0{LABEL_SIZE}d}"


def label_fits(label: str) -> bool:
    """Whether a plan saved under ``label`` is one `replan` may be given: any `plan_label`.

    A saved plan serves whatever articles the site shows now (added, removed, moved,
    changed: see `replan`) but for a change of settings, a topic or source renamed or one
    whose slug moves; then it is read in vain (a tenth of planning from scratch). Articles
    gone since stand in as `_gone` ones (see `load_plan`)."""
    return len(label) == LABEL_SIZE and label.isdigit()


class _Present(dict):
    """The articles loaded now by id, for `_PlanUnpickler`: an id the saved plan holds that is
    not among them (its record was deleted since) is a `_gone` article."""

    def __missing__(self, article_id: str) -> Article:
        return _gone(article_id)


def _gone(article_id: str) -> Article:
    """Stands for an article of a saved plan whose record is gone: `replan` finds it is not
    shown and drops it, reading only its id (and `_Planner.drafts` whether it was published,
    which it cannot say: True makes the sitemap's entries be made again, see `sitemap_kept`).
    Any other field read is an AttributeError."""
    article = object.__new__(Article)
    article.__dict__.update(id=article_id, is_published=True, published=None)
    return article


def load_plan(data: bytes, articles: Sequence[Article], start: int = 0) -> SitePlan | None:
    """The plan `write_plan` saved (in ``data`` from ``start``), its articles replaced by those
    of ``articles`` with the same ids (a `_gone` stand-in for one whose record was deleted
    since), ready for `replan` (which works out what changed since); None when the data is not
    a saved plan."""
    by_id = _Present((article.id, article) for article in articles)
    reader = _PlanUnpickler(data, start, by_id)
    try:
        rows, editions, urls, reuse, facts = reader.load()
        if not isinstance(reuse, _Reuse) or not isinstance(facts, dict):
            return None
        planner = reuse.planner
        pages = _saved_pages(rows, _SavedBuilders(by_id, data[reader.stream.tell():], planner))
    except Exception:  # noqa: BLE001 - an unusable saved plan means planning from scratch
        return None
    reuse.former = facts
    return SitePlan(pages=pages, articles=planner.articles, topics=planner.topics, editions=editions,
                    urls=urls, related_state=None, reuse=reuse)


def _day_name(words: labels.Labels, day: str) -> str:
    """An ISO day (``2024-03-05``) in words, as the site's labels write dates."""
    when = datetime.fromisoformat(day)
    return words.day(when.day, when.month, when.year)


def check_paths(pages: Sequence[PageSpec]) -> None:
    """Every output path is relative, free of dot segments, and used once."""
    seen: dict[str, str] = {}
    for spec in pages:
        path = spec.path
        if _UNSAFE_PATH.search(path) or not path:
            raise BuildError(f"unsafe output path planned: {path!r}")
        if len(path) > 200 and any(len(p.encode()) > 200 for p in path.split("/")):
            raise BuildError(f"output path segment too long: {path!r}")
        if spec.path in seen:
            raise BuildError(f"two pages planned at {spec.path}: {seen[spec.path]} and {spec.kind}")
        seen[spec.path] = spec.kind
