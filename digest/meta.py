"""Pure: social and structured metadata of planned pages (Open Graph, Twitter cards, JSON-LD).

`page_meta` makes ``page.meta`` of an HTML page's context (`digest.plan` calls it when
it makes a context); ``templates/_meta.html`` turns it into tags. JSON-LD is plain data here and escaped for HTML by the
``ldjson`` filter at render time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from digest.config import Config
from digest.text import domain_url

LISTING_KINDS = frozenset({"home", "topic", "source", "archive", "edition", "editions",
                           "topics", "sources", "archive-index"})
"""Page kinds described as a ``CollectionPage`` with an ``ItemList``."""

_SCHEMA = "https://schema.org"


def page_meta(kind: str, page: Mapping[str, Any], config: Config, origin: str, site_title: str) -> dict:
    """The metadata of one page from its plain-data context."""
    article = page.get("article") if kind == "article" else None
    image = None
    if article and article.get("image") and article["image"].get("largest"):
        image = {"url": config.absolute(article["image"]["largest"]),
                 "alt": article["image"].get("alt", "")}
    description = page.get("description") or config.description
    og = {
        "site_name": site_title,
        "type": "article" if article else "website",
        "title": page["title"],
        "description": description,
        "url": page["canonical"],
        "locale": _og_locale(page.get("lang") or config.language),
        "image": image,
    }
    if article:
        og["published"] = article["published"]
        og["modified"] = article.get("updated") or ""
        og["tags"] = [t["name"] for t in article.get("topics", ())]
    twitter = {"card": "summary_large_image" if image else "summary", "title": page["title"],
               "description": description, "image": image}
    ld: list[dict] = []
    if article:
        ld.append(_news_article(article, page, description, image, site_title, config, origin))
    elif kind in LISTING_KINDS:
        ld.append(_collection(page, description, origin))
    crumbs = page.get("breadcrumbs") or []
    if crumbs:
        ld.append({
            "@context": _SCHEMA, "@type": "BreadcrumbList",
            "itemListElement": [{"@type": "ListItem", "position": n, "name": c["name"],
                                 "item": origin + c["url"]} for n, c in enumerate(crumbs, 1)],
        })
    return {"og": og, "twitter": twitter, "ld": ld}


def _og_locale(tag: str) -> str:
    """``en-us`` -> ``en_US`` (Open Graph's form, language and country): a script before the
    region is passed over (``zh-Hant-TW`` is ``zh_TW``, not ``zh``), and what follows the
    region (variants, extensions: ``de-CH-1996`` is ``de_CH``) left out."""
    parts = tag.replace("_", "-").split("-")
    if len(parts) >= 3 and len(parts[1]) == 4 and parts[1].isalpha():
        del parts[1]
    if len(parts) >= 2 and len(parts[1]) == 2 and parts[1].isalpha():
        return f"{parts[0].lower()}_{parts[1].upper()}"
    return parts[0].lower()


def _news_article(article: Mapping[str, Any], page: Mapping[str, Any], description: str,
                  image: Mapping[str, str] | None, site_title: str, config: Config, origin: str) -> dict:
    data: dict[str, Any] = {
        "@context": _SCHEMA, "@type": "NewsArticle",
        "headline": article["title"][:110],
        "name": article["title"],
        "description": description,
        "url": page["canonical"],
        "mainEntityOfPage": page["canonical"],
        "datePublished": article["published"],
        "dateModified": article.get("updated") or article["published"],
        "inLanguage": page.get("lang") or config.language,
        "publisher": {"@type": "Organization", "name": site_title, "url": config.base_url},
    }
    if article.get("link"):
        data["isBasedOn"] = article["link"]
    if article.get("provider"):
        source = {"@type": "Organization", "name": article["provider"]["name"]}
        url = domain_url(article["provider"].get("domain", ""))
        if url:
            source["url"] = url
        data["author"] = source
        data["sourceOrganization"] = source
    if image:
        data["image"] = [image["url"]]
    if article.get("topics"):
        data["keywords"] = [t["name"] for t in article["topics"]]
        data["about"] = [{"@type": "Thing", "name": t["name"], "url": origin + t["url"]}
                         for t in article["topics"]]
    return data


def _collection(page: Mapping[str, Any], description: str, origin: str) -> dict:
    urls: list[str] = []
    for key in ("top", "stories", "latest"):
        urls += [origin + card["url"] for card in page.get(key) or ()]
    for group in page.get("groups") or ():
        urls += [origin + card["url"] for card in group.get("stories", ())]
    for key in ("terms", "months", "editions"):
        urls += [origin + item["url"] for item in page.get(key) or ()]
    seen: set[str] = set()
    unique = [u for u in urls if not (u in seen or seen.add(u))]
    return {
        "@context": _SCHEMA, "@type": "CollectionPage",
        "name": page["title"], "description": description, "url": page["canonical"],
        "mainEntity": {
            "@type": "ItemList", "numberOfItems": len(unique),
            "itemListElement": [{"@type": "ListItem", "position": n, "url": u}
                                for n, u in enumerate(unique, 1)],
        },
    }
