"""Syndication outputs: feeds (golden + round trip), JSON API, OPML, sitemap, metadata, safety."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import feedparser
import jsonschema
import pytest
from lxml import etree

from digest.build import build
from digest.config import Config
from digest.feeds import plan_sitemap, public_value, rfc822, sitemap_loc
from digest.search import index_site, pagefind_executable
from tests.conftest import record

GOLDEN = Path(__file__).resolve().parent / "golden" / "feeds"
SECRET = "c2VjcmV0LXBheWxvYWQtbmV2ZXItcHVibGlzaA==;SVYtdmFsdWU="
NOTE = """
A note with <b>bold</b> & a [link](https://example.org/a?b=1&c=2) and `code`.

<script>alert("x")</script>
"""


def rec(title: str, when: str, slug: str, note: str = "", **fields) -> str:
    return record(title, when, webUrl=f'"https://news.example.com/{slug}"', **fields) + note


TINY = {
    "digest.toml": 'title = "Tiny & <Digest>"\nbase_url = "https://example.org/news/"\nfeed_items = 3\n'
                   "page_size = 1\napi_min_heat = 10\n",
    "content/a.md": "\n".join([
        "---", "title: 'Robots \"learn\" <fast> & well'", "publishedDateTime: 2024-01-02T10:00:00Z",
        'webUrl: "https://news.example.com/a"', "excerpt: '\"Fast\" robots & <b>tags</b>'",
        'topics: ["AI", "Robots"]', "provider: {name: Robot News, domain: www.robots.example}",
        "heat: 50", f'secured: "{SECRET}"', 'ampWebUrl: "javascript:alert(1)"',
        "featuredContent: \"<iframe src='https://v.example/1'></iframe>\"", "---", NOTE]),
    "content/b.md": rec("Second story about AI", "2024-01-03T09:30:00+02:00", "b",
                        updatedDateTime="2024-01-04T08:00:00Z", excerpt="Plain summary.",
                        topics='["ai"]', provider="{name: Other, domain: other.example}", heat=5),
    "content/c.md": rec("Third story", "2024-01-03T12:00:00Z", "c", topics='["Space"]',
                        provider="{name: Robot News, domain: robots.example}"),
    "content/draft.md": rec("Unpublished draft title", "2024-01-05T12:00:00Z", "draft",
                            topics='["AI"]', published="false"),
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from tests.conftest import write_site

    site = write_site(tmp_path_factory.mktemp("tiny"), TINY)
    result = build(site)
    assert result.articles == 3
    return site / "build"


def every_file(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- golden files


@pytest.mark.parametrize("path", ["rss.xml", "atom.xml", "feed.json", "topics/ai/rss.xml",
                                  "editions/atom.xml", "feeds.opml", "api/topics/ai/index.json",
                                  "api/topics/ai/1.json"])
def test_feed_matches_golden_file(tiny, path):
    actual = (tiny / path).read_text("utf-8")
    golden = GOLDEN / path.replace("/", "__")
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, "utf-8")
    assert actual == golden.read_text("utf-8"), f"{path} differs from {golden} (UPDATE_GOLDEN=1 to accept)"


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name,version", [("rss.xml", "rss20"), ("atom.xml", "atom10")])
def test_feedparser_reads_every_entry_back(tiny, name, version):
    parsed = feedparser.parse((tiny / name).read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == version
    assert parsed.feed.title == "Tiny & <Digest>"
    got = [(e.title, e.link, e.published_parsed[:6]) for e in parsed.entries]
    assert got == [
        ("Third story", "https://example.org/news/2024/01/03/third-story-" + got[0][1].rsplit("-", 1)[1],
         (2024, 1, 3, 12, 0, 0)),
        ("Second story about AI", got[1][1], (2024, 1, 3, 7, 30, 0)),
        ('Robots "learn" <fast> & well', got[2][1], (2024, 1, 2, 10, 0, 0)),
    ]
    for entry in parsed.entries:
        assert (tiny / entry.link.removeprefix("https://example.org/news/") / "index.html").is_file()
    robots = parsed.entries[2]
    assert [t.term for t in robots.tags] == ["AI", "Robots"]
    assert "<script" not in robots.content[0].value and "https://example.org/a?b=1&amp;c=2" in robots.content[0].value


def test_json_feed_matches_the_json_feed_schema(tiny, shared_dir):
    schema = json.loads((shared_dir / "validate/schemas/jsonfeed-1.1.schema.json").read_text())
    for path in ["feed.json", "topics/ai/feed.json", "sources/robots-example/feed.json", "editions/feed.json"]:
        doc = json.loads((tiny / path).read_text("utf-8"))
        jsonschema.validate(doc, schema, format_checker=jsonschema.FormatChecker())
    doc = json.loads((tiny / "feed.json").read_text("utf-8"))
    assert [i["title"] for i in doc["items"]] == ["Third story", "Second story about AI",
                                                   'Robots "learn" <fast> & well']
    assert doc["items"][1]["date_modified"] == "2024-01-04T08:00:00Z"
    assert doc["items"][2]["authors"] == [{"name": "Robot News", "url": "https://robots.example/"}]


def test_dates_use_each_formats_syntax():
    when = datetime.fromisoformat("2024-01-03T09:30:00+02:00")
    assert rfc822(when) == "Wed, 03 Jan 2024 07:30:00 +0000"


def test_feeds_advertised_on_home_topic_source_and_edition_pages(tiny):
    def alternates(path: str) -> list[str]:
        html = (tiny / path).read_text("utf-8")
        return re.findall(r'<link rel="alternate" type="([^"]+)"[^>]* href="([^"]+)"', html)

    home = alternates("index.html")
    assert ("application/rss+xml", "https://example.org/news/rss.xml") in home
    assert ("application/feed+json", "https://example.org/news/editions/feed.json") in home
    assert ("application/atom+xml", "https://example.org/news/topics/ai/atom.xml") in alternates("topics/ai/index.html")
    assert ("application/rss+xml", "https://example.org/news/sources/robots-example/rss.xml") in \
        alternates("sources/robots-example/index.html")
    assert ("application/atom+xml", "https://example.org/news/editions/atom.xml") in \
        alternates("editions/2024-01-03/index.html")
    for url in (u for _, u in home):
        assert (tiny / url.removeprefix("https://example.org/news/")).is_file()


def test_edition_feed_has_one_entry_per_day_linking_to_it(tiny):
    parsed = feedparser.parse((tiny / "editions/rss.xml").read_bytes())
    assert [e.link for e in parsed.entries] == ["https://example.org/news/editions/2024-01-03/",
                                                "https://example.org/news/editions/2024-01-02/"]
    assert "2 stories" in parsed.entries[0].summary


def test_opml_lists_every_rss_feed(tiny):
    tree = etree.parse(str(tiny / "feeds.opml"))
    urls = sorted(o.get("xmlUrl") for o in tree.iter("outline") if o.get("xmlUrl"))
    on_disk = sorted("https://example.org/news/" + p.relative_to(tiny).as_posix()
                     for p in tiny.rglob("rss.xml"))
    assert urls == on_disk and len(urls) == 2 + 3 + 2  # site + editions, 3 topics, 2 sources


# --------------------------------------------------------------------------- JSON API


API_RECORD = {
    "type": "object",
    "required": ["id", "url", "title", "publishedDateTime", "topics", "images", "related"],
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9a-f]{10}$"},
        "url": {"type": "string", "format": "uri", "pattern": "^https://"},
        "title": {"type": "string", "minLength": 1},
        "publishedDateTime": {"type": "string", "format": "date-time"},
        "updatedDateTime": {"type": "string", "format": "date-time"},
        "webUrl": {"type": "string", "pattern": "^https?://"},
        "quality": {"type": ["integer", "null"]},
        "heat": {"type": "integer"},
        "provider": {"type": "object", "required": ["name", "domain"]},
        "topics": {"type": "array", "items": {"type": "string"}},
        "images": {"type": "array"},
        "related": {"type": "array"},
    },
    "not": {"anyOf": [{"required": ["secured"]}, {"required": ["published"]}]},
}
API_PAGE = {
    "type": "object",
    "required": ["title", "page", "value", "nextPage"],
    "properties": {
        "title": {"type": "string"},
        "page": {"type": "integer", "minimum": 1},
        "value": {"type": "array", "items": API_RECORD},
        "nextPage": {"type": ["string", "null"], "format": "uri"},
    },
}


def test_api_collections_are_paginated_newest_first_and_valid(tiny):
    index = json.loads((tiny / "api/index.json").read_text("utf-8"))
    assert {t["name"] for t in index["topics"]} == {"AI", "Robots", "Space"}
    pages, url = [], index["latest"]["url"]
    assert url == "https://example.org/news/api/latest/index.json"
    while url:
        doc = json.loads((tiny / url.removeprefix("https://example.org/news/")).read_text("utf-8"))
        jsonschema.validate(doc, API_PAGE, format_checker=jsonschema.FormatChecker())
        pages.append(doc)
        url = doc["nextPage"]
    # (page_size 1) the entry holds the newest, numbered after the fixed pages, which count
    # from the oldest; only the entry says how many there are
    assert [d["page"] for d in pages] == [3, 2, 1]
    assert (pages[0]["pages"], pages[0]["total"]) == (3, 3)
    assert all("pages" not in d and "total" not in d for d in pages[1:])
    titles = [r["title"] for d in pages for r in d["value"]]
    assert titles == ["Third story", "Second story about AI", 'Robots "learn" <fast> & well']
    hot = json.loads((tiny / "api/topics/ai/hot/index.json").read_text("utf-8"))
    assert [r["title"] for r in hot["value"]] == ['Robots "learn" <fast> & well']  # heat 50 >= 10
    assert hot["nextPage"] is None


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_api_pages_numbered_from_the_oldest_never_change_when_stories_are_added(tmp_path, size):
    """Each fixed page keeps its bytes while newer stories arrive, the entry holds from
    ``size`` to ``2 * size - 1`` stories (fewer only when there are fewer), and reading from
    the entry on gives every story once, newest first."""
    from tests.conftest import write_site

    site = write_site(tmp_path / "s", {"digest.toml": f'title = "T"\nbase_url = "https://example.org/"\n'
                                                      f"page_size = {size}\nsearch = false\n"})
    (site / "content").mkdir()
    fixed: dict[str, bytes] = {}
    for n in range(1, 13):
        (site / f"content/r{n:02d}.md").write_text(
            rec(f"Story {n}", f"2024-01-{n:02d}T10:00:00Z", f"r{n}", topics='["AI"]'), "utf-8")
        build(site)
        out = site / "build/api/topics/ai"
        for path in sorted(out.glob("[0-9]*.json")):
            data = path.read_bytes()
            assert fixed.setdefault(path.name, data) == data, f"{path.name} changed after story {n}"
        walk, url = [], "https://example.org/api/topics/ai/index.json"
        while url:
            doc = json.loads((site / "build" / url.removeprefix("https://example.org/")).read_text("utf-8"))
            walk.append(doc)
            url = doc["nextPage"]
        assert len(walk[0]["value"]) == (n if n < 2 * size else size + n % size)
        assert all(len(d["value"]) == size for d in walk[1:])
        assert [r["title"] for d in walk for r in d["value"]] == [f"Story {i}" for i in range(n, 0, -1)]
        assert [d["page"] for d in walk] == list(range(len(walk), 0, -1))
    assert len(fixed) == 12 // size - 1


def test_api_article_document_keeps_record_fields_but_not_secrets(tiny):
    docs = [json.loads(p.read_text("utf-8")) for p in (tiny / "api/articles").glob("*.json")]
    assert len(docs) == 3
    for doc in docs:
        jsonschema.validate(doc, API_RECORD, format_checker=jsonschema.FormatChecker())
    robots = next(d for d in docs if d["title"].startswith("Robots"))
    assert robots["provider"] == {"name": "Robot News", "domain": "www.robots.example"}
    assert robots["featuredContent"].startswith("<iframe")  # kept as data, JSON-escaped
    assert "ampWebUrl" not in robots  # javascript: URL dropped


def test_public_value_drops_secrets_and_non_http_links():
    data = {"secured": "x", "a": [{"secured": "y", "ok": 1}], "shareUrl": "ftp://x/y",
            "homeUrl": "//cdn.example/x", "note": "Note: fine", "bad": "javascript:alert(1)",
            "when": datetime(2024, 1, 2), "nan": float("nan")}
    assert public_value("extra", data) == {
        "a": [{"ok": 1}], "homeUrl": "https://cdn.example/x", "note": "Note: fine",
        "when": "2024-01-02T00:00:00", "nan": None}


# --------------------------------------------------------------------------- safety and stability


def test_secrets_drafts_and_bad_links_never_leave_the_site(tiny):
    for path, data in every_file(tiny).items():
        if path.startswith("pagefind/"):
            continue
        text = data.decode("utf-8", "replace")
        assert SECRET[:20] not in text, path
        assert "javascript:" not in text, path
        if path.endswith((".xml", ".json", ".opml", ".txt")):
            assert "Unpublished draft" not in text, path
            assert "<script>alert" not in text, path


def test_rebuild_with_one_new_record_leaves_unrelated_feeds_byte_identical(tmp_path):
    from tests.conftest import write_site

    site = write_site(tmp_path / "s", TINY)
    build(site)
    before = every_file(site / "build")
    again = build(site)
    assert again.written == 0
    (site / "content/d.md").write_text(rec("A fourth story", "2024-01-06T10:00:00Z", "d",
                                           topics='["Space"]'), "utf-8")
    build(site)
    after = every_file(site / "build")
    for path in ["topics/ai/rss.xml", "topics/ai/atom.xml", "topics/ai/feed.json",
                 "sources/other-example/atom.xml", "api/topics/robots/index.json",
                 "api/latest/1.json", "api/latest/2.json"]:
        assert before[path] == after[path], path
    assert before["rss.xml"] != after["rss.xml"]
    assert b"A fourth story" in after["topics/space/atom.xml"]


# --------------------------------------------------------------------------- sitemap


def xsd(shared: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(shared / "validate/schemas/sitemap-0.9.xsd")))


def test_sitemap_is_valid_lists_pages_and_not_drafts(tiny, shared_dir):
    tree = etree.parse(str(tiny / "sitemap.xml"))
    xsd(shared_dir).assertValid(tree)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = {u.findtext("s:loc", namespaces=ns): u.findtext("s:lastmod", namespaces=ns)
            for u in tree.findall("s:url", ns)}
    assert "https://example.org/news/" in locs and "https://example.org/news/404.html" not in locs
    assert not any("unpublished" in loc for loc in locs)
    assert locs["https://example.org/news/topics/ai/"] == "2024-01-04T08:00:00Z"  # b's update
    robots = (tiny / "robots.txt").read_text()
    assert "Sitemap: https://example.org/news/sitemap.xml" in robots


def test_sitemap_splits_into_an_index_past_the_limits(tmp_path, shared_dir):
    from digest.render import make_environment, render_page

    config = Config(base_url="https://example.org/")
    entries = [{"loc": sitemap_loc(f"https://example.org/p/{n}/ä b/"), "lastmod": "2024-01-02T00:00:00Z"}
               for n in range(7)]
    pages = plan_sitemap(entries, config, {}, max_urls=3)
    assert [p.path for p in pages] == ["sitemap.xml", "sitemaps/sitemap-1.xml", "sitemaps/sitemap-2.xml",
                                       "sitemaps/sitemap-3.xml", "robots.txt"]
    env = make_environment(tmp_path)
    schema = xsd(shared_dir)
    for spec in pages[:-1]:
        schema.assertValid(etree.fromstring(render_page(env, spec)))
    assert b"%C3%A4%20b" in render_page(env, pages[1])
    by_bytes = plan_sitemap(entries, config, {}, max_bytes=400)
    assert len(by_bytes) > 3


# --------------------------------------------------------------------------- metadata


def test_article_page_has_og_twitter_and_json_ld(tiny):
    page = next(p for p in tiny.glob("2024/01/02/*/index.html"))
    html = page.read_text("utf-8")
    assert '<meta property="og:type" content="article">' in html
    assert '<meta name="twitter:card" content="summary">' in html
    blocks = [json.loads(b) for b in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html)]
    article = next(b for b in blocks if b["@type"] == "NewsArticle")
    assert article["isBasedOn"] == "https://news.example.com/a"
    assert article["headline"] == 'Robots "learn" <fast> & well'
    assert "<fast>" not in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html)[0]
    assert any(b["@type"] == "BreadcrumbList" for b in blocks)
    topic = (tiny / "topics/ai/page/2/index.html").read_text("utf-8")
    assert '<link rel="prev" href="/news/topics/ai/">' in topic
    assert '"@type":"CollectionPage"' in topic and "https://example.org/news/topics/ai/page/2/" in topic


# --------------------------------------------------------------------------- search step without Pagefind


def test_search_step_reports_a_failing_pagefind_without_crashing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("<html><body><p>x</p></body></html>")
    result = index_site(out, Config(), changed=True, executable=str(tmp_path / "no-such-pagefind"))
    assert result.status == "failed" and "no-such-pagefind" in result.message
    assert not (out / "pagefind").exists()


def test_build_without_pagefind_skips_search_with_a_message(make_site):
    site = make_site({"content/a.md": rec("Only story", "2024-01-02T10:00:00Z", "only")})
    code = ("import sys; sys.modules['pagefind_bin'] = None\n"
            "from digest.cli import main; sys.exit(main(['build', sys.argv[1]]))")
    env = {**os.environ, "PATH": "/nonexistent"}
    run = subprocess.run([sys.executable, "-c", code, str(site)], capture_output=True, text=True,
                         env=env, timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert run.returncode == 0, run.stderr
    assert "search index skipped: Pagefind is not installed" in run.stdout
    assert (site / "build/index.html").is_file() and not (site / "build/pagefind").exists()


def test_drafts_preview_keeps_drafts_out_of_syndication(tmp_path):
    from tests.conftest import write_site

    site = write_site(tmp_path / "s", TINY)
    build(site, drafts=True)
    out = site / "build"
    assert any("Unpublished draft" in p.read_text("utf-8") for p in out.glob("2024/01/05/*/index.html"))
    fragments = 0
    for path, data in every_file(out).items():
        if path.endswith(".pf_fragment"):
            data = gzip.decompress(data)
            fragments += 1
        if path.endswith((".xml", ".json", ".opml", ".txt", ".pf_fragment")):
            assert b"Unpublished draft" not in data and b"unpublished-draft" not in data, path
    assert fragments == 3 or pagefind_executable() is None  # the three published articles


def test_generated_corpus_passes_the_external_validator(tmp_path, shared_dir):
    """feeds, sitemap and links checks of ../shared/validate on a generated 300-record site."""
    site = tmp_path / "site"
    subprocess.run([sys.executable, str(shared_dir / "tools/gen_corpus.py"), "--records", "300",
                    "--out", str(site / "content"), "--image-ratio", "0", "--workers", "1"],
                   check=True, capture_output=True, timeout=300)
    (site / "digest.toml").write_text('base_url = "http://localhost:8000/"\napi_min_heat = 50\n')
    build(site)
    run = subprocess.run([sys.executable, str(shared_dir / "validate/validate_site.py"), str(site / "build"),
                          "--base-url", "http://localhost:8000/", "--only", "feeds,sitemap,links"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    for check in ("feeds", "sitemap", "links"):
        assert re.search(rf"^{check}\s+ok\s+\d+ files, 0 errors", run.stdout, re.M), run.stdout


def test_pages_only_drafts_make_are_not_in_a_drafts_previews_sitemap(tmp_path):
    """A draft's own topic, source and day make pages in a `--drafts` preview; the sitemap lists
    none of them (the README: drafts never appear in it), nor dates a listing by a draft."""
    from tests.conftest import write_site

    site = write_site(tmp_path / "s", {
        "digest.toml": 'base_url = "https://example.org/"\nsearch = false\n',
        "content/pub.md": record("Published story", "2024-01-01T10:00:00Z", topics='["AI"]',
                                 webUrl='"https://news.example.com/pub"'),
        "content/draft.md": record("Secret story", "2024-02-02T10:00:00Z",
                                   updatedDateTime="2024-03-03T10:00:00Z", published="false",
                                   topics='["AI", "Secret merger"]', webUrl='"https://news.example.com/draft"',
                                   provider="{name: Hidden, domain: hidden.example}"),
    })
    build(site, drafts=True)
    out = site / "build"
    assert (out / "topics/secret-merger/index.html").is_file()  # (the preview shows them)
    sitemap = (out / "sitemap.xml").read_text("utf-8")
    for leak in ("secret", "hidden", "2024-02-02", "2024-03-03"):
        assert leak not in sitemap, leak
    assert "https://example.org/topics/ai/" in sitemap and "2024-01-01" in sitemap


def test_rfc822_dates_are_those_of_the_email_package():
    import random
    from datetime import UTC, datetime, timedelta, timezone
    from email.utils import format_datetime

    from digest.feeds import rfc822

    rng = random.Random(3)
    for _ in range(2000):
        zone = timezone(timedelta(minutes=rng.randrange(-14 * 60, 14 * 60 + 1)))
        when = datetime(rng.randrange(1, 9999), 1, 1, tzinfo=zone) + timedelta(seconds=rng.randrange(0, 366 * 86400),
                                                                               microseconds=rng.randrange(10**6))
        try:
            expected = format_datetime(when.astimezone(UTC))
        except OverflowError:
            continue
        assert rfc822(when) == expected
