"""Pure: decide every page of the site — its path, template and plain-data context.

Input is the loaded articles, the config and (optionally) the planned thumbnails;
output is a list of `PageSpec`s. No file is read or written here. URLs are stable:
an article's path depends only on its own record (date, title, identity).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from digest import __version__
from digest.config import Config
from digest.errors import BuildError
from digest.feeds import attach_feed_links, plan_feeds, plan_sitemap, sitemap_entries
from digest.meta import annotate
from digest.model import Article, Edition, PageSpec, Provider, Shared, Topic
from digest.related import RelatedState, compute_related, docs_for, pick
from digest.search import search_page
from digest.text import short_hash, slugify, term_key, url_identity

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


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
    """Slug per key from (key, display name, weight); collisions get a key-derived suffix."""
    by_slug: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for key, name, weight in items:
        by_slug[slugify(name) or f"{prefix}-{short_hash(key, 8)}"].append((key, weight))
    slugs = {}
    for slug, group in by_slug.items():
        group.sort(key=lambda kw: (-kw[1], kw[0]))
        slugs[group[0][0]] = slug
        for key, _ in group[1:]:
            slugs[key] = f"{slug[:70]}-{short_hash(key, 6)}"
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
    """Providers by identity (domain) with their slug; the name is the most common one."""
    seen: dict[str, Counter] = defaultdict(Counter)
    domains: dict[str, str] = {}
    for article in articles:
        if article.provider:
            seen[article.provider.key][article.provider.name] += 1
            domains.setdefault(article.provider.key, article.provider.domain)
    names = {k: min(c.items(), key=lambda nc: (-nc[1], nc[0]))[0] for k, c in seen.items()}
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


class _Planner:
    """Builds page specs; holds only the derived lookup tables of one plan call."""

    def __init__(self, articles: list[Article], config: Config,
                 images: Mapping[str, Mapping[str, Any]], related: Mapping[str, Sequence[str]]):
        self.config = config
        self.tz = config.tz
        self.base = config.base_path
        self.articles = articles
        self.by_id = {a.id: a for a in articles}
        self.topics = build_topics(articles)
        self.providers = build_providers(articles)
        self.images = images
        self.related = related
        self.paths = {a.id: self.article_path(a) for a in articles}
        self.by_web_url = {url_identity(a.web_url): a for a in articles if a.web_url}
        self.cards: dict[str, dict] = {}
        self.site = {
            "title": config.title,
            "description": config.description,
            "base_url": config.base_url,
            "base_path": self.base,
            "language": config.language,
            "generator": f"digest {__version__}",
            "nav": [
                {"name": "Home", "url": self.url("")},
                {"name": "Editions", "url": self.url("editions/")},
                {"name": "Topics", "url": self.url("topics/")},
                {"name": "Sources", "url": self.url("sources/")},
                {"name": "Archive", "url": self.url("archive/")},
            ],
            "stylesheet": self.url("static/style.css"),
        }

    # urls ---------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.base + path

    def article_path(self, article: Article) -> str:
        local = article.published.astimezone(self.tz)
        return f"{local:%Y/%m/%d}/{article.slug}/"

    def topic_path(self, name: str) -> str | None:
        topic = self.topics.get(term_key(name))
        return f"topics/{topic.slug}/" if topic else None

    def provider_path(self, provider: Provider | None) -> str | None:
        if provider is None or provider.key not in self.providers:
            return None
        return f"sources/{self.providers[provider.key][1]}/"

    # plain data ------------------------------------------------------------
    def date_display(self, when: datetime) -> str:
        local = when.astimezone(self.tz)
        return f"{local.day} {MONTHS[local.month - 1]} {local.year}"

    def card(self, article: Article) -> dict:
        """Plain data for one article in a listing (built once, shared by every page)."""
        cached = self.cards.get(article.id)
        if cached is not None:
            return cached
        provider = None
        if article.provider:
            name = self.providers[article.provider.key][0].name
            provider = {"name": name, "url": self.url(self.provider_path(article.provider)),
                        "domain": article.provider.key}
        topics = []
        for name in article.topics:
            topic = self.topics[term_key(name)]
            topics.append({"name": topic.name, "url": self.url(f"topics/{topic.slug}/")})
        first = article.images[0] if article.images else None
        image = None
        if first is not None:
            image = dict(self.images.get(first.url) or {
                "src": first.url if (self.config.hotlink_images and first.url.startswith("https://")) else None,
                "srcset": "", "sizes": "", "sources": [], "largest": None,
                "width": first.width or 16, "height": first.height or 9,
            })
            image["alt"] = first.title or ""
        card = Shared({
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
        })
        self.cards[article.id] = card
        return card

    def page(self, path: str, template: str, kind: str, title: str, description: str,
             **extra: Any) -> PageSpec:
        canonical_path = path[: -len("index.html")] if path.endswith("index.html") else path
        context = {
            "site": self.site,
            "page": {
                "kind": kind,
                "title": title,
                "description": description or self.config.description,
                "path": canonical_path,
                "url": self.url(canonical_path),
                "canonical": self.config.absolute(canonical_path),
                "lang": extra.pop("lang", "") or self.config.language,
                "breadcrumbs": extra.pop("breadcrumbs", []),
                "feeds": extra.pop("feeds", []),
                "prev": None, "next": None,
                **extra,
            },
        }
        return PageSpec(path=path, template=template, context=context, kind=kind)

    def paginate(self, base: str, template: str, kind: str, title: str, description: str,
                 items: list[Article], **extra: Any) -> list[PageSpec]:
        size = self.config.page_size
        count = max(1, math.ceil(len(items) / size))
        pages = []

        def path_of(n: int) -> str:
            return base if n == 1 else f"{base}page/{n}/"

        for n in range(1, count + 1):
            chunk = items[(n - 1) * size: n * size]
            heading = title if n == 1 else f"{title} (page {n} of {count})"
            spec = self.page(
                path_of(n) + "index.html", template, kind, heading, description,
                heading=title, stories=[self.card(a) for a in chunk], total=len(items),
                pagination={
                    "page": n, "pages": count,
                    "prev": self.url(path_of(n - 1)) if n > 1 else None,
                    "next": self.url(path_of(n + 1)) if n < count else None,
                    "first": self.url(path_of(1)), "last": self.url(path_of(count)),
                },
                **extra,
            )
            spec.context["page"]["prev"] = spec.context["page"]["pagination"]["prev"]
            spec.context["page"]["next"] = spec.context["page"]["pagination"]["next"]
            pages.append(spec)
        return pages

    # pages -------------------------------------------------------------------
    def article_pages(self) -> list[PageSpec]:
        pages = []
        for article in self.articles:
            curated = []
            seen = {article.id}
            for ref in article.related:
                target = self.by_web_url.get(url_identity(ref.web_url)) if ref.web_url else None
                if target is not None:
                    if target.id in seen:
                        continue
                    seen.add(target.id)
                    curated.append({"title": target.title, "url": self.url(self.paths[target.id]),
                                    "internal": True, "provider": self.card(target)["provider"]["name"] if target.provider else ref.provider_name,
                                    "published": target.published.isoformat(),
                                    "published_display": self.date_display(target.published)})
                elif ref.link:
                    if ref.link in seen:
                        continue
                    seen.add(ref.link)
                    curated.append({"title": ref.title, "url": ref.link, "internal": False,
                                    "provider": ref.provider_name,
                                    "published": ref.published.isoformat() if ref.published else "",
                                    "published_display": self.date_display(ref.published) if ref.published else ""})
            computed = [self.card(self.by_id[i])
                        for i in pick(self.related.get(article.id, ()), seen, self.config.related_count)]
            card = self.card(article)
            crumbs = [{"name": "Home", "url": self.url("")}]
            if article.topics:
                crumbs.append(card["topics"][0])
            crumbs.append({"name": article.title, "url": card["url"]})
            gallery = []
            for image in article.images:
                planned = self.images.get(image.url)
                if planned and planned.get("src"):
                    gallery.append({**planned, "alt": image.title or ""})
            pages.append(self.page(
                self.paths[article.id] + "index.html", "article.html", "article",
                article.title, article.excerpt,
                lang=article.locale, breadcrumbs=crumbs,
                article={**card, "body_html": article.body_html, "category": article.category,
                         "updated": article.updated.isoformat() if article.updated else "",
                         "quality": article.quality, "heat": article.heat,
                         "images": gallery, "extra": article.extra,
                         "edition_url": self.url(f"editions/{article.published.astimezone(self.tz).date().isoformat()}/")},
                curated=curated,
                related=computed,
            ))
        return pages

    def edition_pages(self, editions: list[Edition]) -> list[PageSpec]:
        pages = []
        for index, edition in enumerate(editions):
            stories = [self.by_id[i] for i in edition.article_ids]
            groups: dict[str, list[Article]] = {}
            for story in stories:
                key = term_key(story.topics[0]) if story.topics else ""
                groups.setdefault(key, []).append(story)
            grouped = []
            for key, members in groups.items():
                topic = self.topics.get(key)
                grouped.append({
                    "topic": {"name": topic.name, "url": self.url(f"topics/{topic.slug}/")} if topic else None,
                    "stories": [self.card(a) for a in members],
                })
            day = datetime.fromisoformat(edition.day)
            title = f"Edition of {day.day} {MONTHS[day.month - 1]} {day.year}"
            prev_day = editions[index - 1].day if index > 0 else None
            next_day = editions[index + 1].day if index + 1 < len(editions) else None
            spec = self.page(
                f"editions/{edition.day}/index.html", "edition.html", "edition", title,
                f"{len(stories)} stories from {day.day} {MONTHS[day.month - 1]} {day.year}.",
                heading=title, day=edition.day, groups=grouped, total=len(stories),
                top=[self.card(a) for a in stories[:3]],
                breadcrumbs=[{"name": "Home", "url": self.url("")},
                             {"name": "Editions", "url": self.url("editions/")},
                             {"name": title, "url": self.url(f"editions/{edition.day}/")}],
            )
            spec.context["page"]["prev"] = self.url(f"editions/{prev_day}/") if prev_day else None
            spec.context["page"]["next"] = self.url(f"editions/{next_day}/") if next_day else None
            pages.append(spec)
        return pages

    def edition_index(self, editions: list[Edition]) -> list[PageSpec]:
        size = self.config.page_size * 3
        newest = list(reversed(editions))
        count = max(1, math.ceil(len(newest) / size))
        pages = []
        for n in range(1, count + 1):
            chunk = newest[(n - 1) * size: n * size]
            entries = []
            for edition in chunk:
                day = datetime.fromisoformat(edition.day)
                lead = self.by_id[edition.article_ids[0]]
                entries.append({"day": edition.day, "url": self.url(f"editions/{edition.day}/"),
                                "name": f"{day.day} {MONTHS[day.month - 1]} {day.year}",
                                "count": len(edition.article_ids), "lead": self.card(lead)})
            base = "editions/"
            path = base if n == 1 else f"{base}page/{n}/"
            spec = self.page(path + "index.html", "editions.html", "editions", "Daily editions",
                             "Every daily edition of the digest.", heading="Daily editions",
                             editions=entries,
                             pagination={"page": n, "pages": count,
                                         "prev": self.url(base if n == 2 else f"{base}page/{n - 1}/") if n > 1 else None,
                                         "next": self.url(f"{base}page/{n + 1}/") if n < count else None})
            spec.context["page"]["prev"] = spec.context["page"]["pagination"]["prev"]
            spec.context["page"]["next"] = spec.context["page"]["pagination"]["next"]
            pages.append(spec)
        return pages

    def taxonomy_pages(self) -> list[PageSpec]:
        pages = []
        by_topic: dict[str, list[Article]] = defaultdict(list)
        by_provider: dict[str, list[Article]] = defaultdict(list)
        for article in sorted(self.articles, key=newest_key):
            for name in article.topics:
                by_topic[term_key(name)].append(article)
            if article.provider:
                by_provider[article.provider.key].append(article)
        index = []
        for key, topic in sorted(self.topics.items(), key=lambda kv: (kv[1].name.casefold(), kv[0])):
            items = by_topic[key]
            base = f"topics/{topic.slug}/"
            index.append({"name": topic.name, "url": self.url(base), "count": len(items)})
            pages += self.paginate(base, "list.html", "topic", topic.name,
                                   f"The latest curated stories about {topic.name}.", items,
                                   breadcrumbs=[{"name": "Home", "url": self.url("")},
                                                {"name": "Topics", "url": self.url("topics/")},
                                                {"name": topic.name, "url": self.url(base)}],
                                   term={"kind": "topic", "name": topic.name, "key": key})
        pages.append(self.page("topics/index.html", "terms.html", "topics", "Topics",
                               "Every topic of the digest.", heading="Topics", terms=index))
        index = []
        for key, (provider, slug) in sorted(self.providers.items(),
                                            key=lambda kv: (kv[1][0].name.casefold(), kv[0])):
            items = by_provider[key]
            base = f"sources/{slug}/"
            index.append({"name": provider.name, "url": self.url(base), "count": len(items),
                          "domain": key})
            pages += self.paginate(base, "list.html", "source", provider.name,
                                   f"The latest curated stories from {provider.name} ({key}).", items,
                                   breadcrumbs=[{"name": "Home", "url": self.url("")},
                                                {"name": "Sources", "url": self.url("sources/")},
                                                {"name": provider.name, "url": self.url(base)}],
                                   term={"kind": "source", "name": provider.name, "key": key,
                                         "domain": key})
        pages.append(self.page("sources/index.html", "terms.html", "sources", "Sources",
                               "Every news source of the digest.", heading="Sources", terms=index))
        return pages

    def archive_pages(self) -> list[PageSpec]:
        months: dict[str, list[Article]] = defaultdict(list)
        for article in sorted(self.articles, key=newest_key):
            local = article.published.astimezone(self.tz)
            months[f"{local:%Y/%m}"].append(article)
        pages = []
        index = []
        for month in sorted(months, reverse=True):
            year, number = month.split("/")
            name = f"{MONTHS[int(number) - 1]} {year}"
            base = f"archive/{month}/"
            index.append({"name": name, "url": self.url(base), "count": len(months[month]), "year": year})
            pages += self.paginate(base, "list.html", "archive", name,
                                   f"Every story of {name}.", months[month],
                                   breadcrumbs=[{"name": "Home", "url": self.url("")},
                                                {"name": "Archive", "url": self.url("archive/")},
                                                {"name": name, "url": self.url(base)}],
                                   term=None)
        pages.append(self.page("archive/index.html", "archive.html", "archive-index", "Archive",
                               "Every month of the digest.", heading="Archive", months=index))
        return pages

    def home_page(self, editions: list[Edition]) -> PageSpec:
        top: list[dict] = []
        latest_day = None
        if editions:
            latest = editions[-1]
            latest_day = {"day": latest.day, "url": self.url(f"editions/{latest.day}/"),
                          "name": self.date_display(self.by_id[latest.article_ids[0]].published)}
            top = [self.card(self.by_id[i]) for i in latest.article_ids[: self.config.home_top]]
        shown = {c["id"] for c in top}
        latest_items = [self.card(a) for a in sorted(self.articles, key=newest_key)
                        if a.id not in shown][: self.config.home_latest]
        return self.page("index.html", "home.html", "home", self.config.title,
                         self.config.description, heading=self.config.title,
                         top=top, latest=latest_items, edition=latest_day,
                         total=len(self.articles))

    def sitemap(self, pages: list[PageSpec]) -> list[PageSpec]:
        entries = sitemap_entries(pages, self.config, self.articles, self.paths)
        return plan_sitemap(entries, self.config, self.site)


def plan_site(
    articles: Sequence[Article],
    config: Config,
    images: Mapping[str, Mapping[str, Any]] | None = None,
    drafts: bool = False,
    related_state: RelatedState | None = None,
    search: bool = True,
) -> SitePlan:
    """Every page of the site for ``articles`` (already loaded and deduplicated).

    ``related_state`` is the previous plan's `SitePlan.related_state`: with it the
    related lists are recomputed only from the first changed article onward.
    ``search`` says whether a search index will be built: without one there is no
    search page and no Search link (a page that cannot work is worse than none).
    """
    shown = sorted(select(articles, config, drafts), key=lambda a: a.id)
    planner = _Planner(shown, config, images or {}, {})
    if search:
        planner.site["nav"].append({"name": "Search", "url": planner.url("search/")})
    planner.related, new_state = compute_related(docs_for(shown), config.related_count, related_state)
    editions = build_editions(shown, config)
    pages: list[PageSpec] = [planner.home_page(editions)]
    pages += planner.article_pages()
    pages += planner.edition_pages(editions)
    pages += planner.edition_index(editions)
    pages += planner.taxonomy_pages()
    pages += planner.archive_pages()
    pages.append(planner.page("404.html", "404.html", "404", "Page not found",
                              "The page you asked for is not here.", heading="Page not found"))
    if search:
        pages.append(search_page(planner))
    annotate(pages, config, config.title)
    feed_pages, feed_links = plan_feeds(planner, editions, config, _day_name)
    attach_feed_links(pages, feed_links)
    pages += planner.sitemap(pages)
    pages += feed_pages
    check_paths(pages)
    return SitePlan(pages=pages, articles=shown, topics=planner.topics, editions=editions,
                    urls=dict(planner.paths), related_state=new_state)


def _day_name(day: str) -> str:
    when = datetime.fromisoformat(day)
    return f"{when.day} {MONTHS[when.month - 1]} {when.year}"


def check_paths(pages: Sequence[PageSpec]) -> None:
    """Every output path is relative, free of dot segments, and used once."""
    seen: dict[str, str] = {}
    for spec in pages:
        parts = spec.path.split("/")
        if spec.path.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in spec.path:
            raise BuildError(f"unsafe output path planned: {spec.path!r}")
        if any(len(p.encode()) > 200 for p in parts):
            raise BuildError(f"output path segment too long: {spec.path!r}")
        if spec.path in seen:
            raise BuildError(f"two pages planned at {spec.path}: {seen[spec.path]} and {spec.kind}")
        seen[spec.path] = spec.kind
