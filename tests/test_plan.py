"""Planning and the built site: selection, URLs, taxonomies, ranking, and safety of the output."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.build import build
from digest.config import Config, parse_config
from digest.errors import BuildError
from digest.load import load_content, parse_record
from digest.model import PageSpec, fixed
from digest.plan import check_paths, plan_site, story_score
from digest.text import short_hash, term_key
from tests.conftest import record


def rec(title: str, when: str = "2024-01-02T10:00:00Z", url: str | None = None, **fields) -> str:
    """A record with a deterministic webUrl derived from the title."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower())
    return record(title, when, webUrl=f'"https://news.example.com/{url or slug}"', **fields)


def all_text(folder: Path) -> str:
    return "\n".join(p.read_text("utf-8", "replace") for p in sorted(folder.rglob("*")) if p.is_file())


def articles_of(site: Path):
    return load_content(site, site / "content").articles


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[list] = []

    def handle_starttag(self, tag, attrs):
        self.found.append([tag, dict(attrs), ""])

    def handle_data(self, data):
        if self.found and self.found[-1][0] == "script":
            self.found[-1][2] += data


def elements(html: str) -> list[tuple[str, dict, str]]:
    """(tag, attributes, script text) of every start tag, as a browser's tokenizer sees them."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return [tuple(item) for item in parser.found]


# --------------------------------------------------------------------------- selection


def test_unpublished_absent_everywhere_unless_drafts(make_site, tmp_path):
    site = make_site({
        "content/pub.md": rec("Visible story", topics='["Shared"]', provider="{name: P, domain: p.example}"),
        "content/draft.md": rec("Hidden zebra story", published="false", topics='["Shared", "Draftonly"]',
                                provider="{name: Q, domain: q-only.example}"),
    })
    build(site)
    everything = all_text(site / "build")
    assert "Visible story" in everything
    for leak in ("Hidden zebra story", "hidden-zebra-story", "Draftonly", "q-only"):
        assert leak not in everything, leak
    build(site, out=tmp_path / "with-drafts", drafts=True)
    with_drafts = all_text(tmp_path / "with-drafts")
    assert "Hidden zebra story" in with_drafts and "Draftonly" in with_drafts


def test_min_quality_filters_everywhere(make_site):
    site = make_site({
        "digest.toml": "min_quality = 30\n",
        "content/good.md": rec("Good story", quality=30),
        "content/poor.md": rec("Poor quokka story", quality=29),
        "content/none.md": rec("Unscored quokka story"),
    })
    build(site)
    everything = all_text(site / "build")
    assert "Good story" in everything
    assert "quokka" not in everything


def test_secured_never_in_output(make_site):
    secret = "c2VjcmV0UGF5bG9hZA==;aXZpdml2aXY="
    site = make_site({
        "content/a.md": rec("Story", secured=f'"{secret}"',
                            related=f'[{{title: R, webUrl: "https://r.example/1", secured: "{secret}"}}]'),
        "content/b.md": rec("Draft", published="false", secured=f'"{secret}"'),
    })
    build(site, drafts=True)
    for path in (site / "build").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert secret.encode() not in data and b"c2VjcmV0UGF5" not in data, path
            assert b"secured" not in data, path


# --------------------------------------------------------------------------- URLs


def test_adding_or_removing_a_record_never_changes_another_url(make_site):
    base = {f"content/{i}.md": rec("Same title", url=f"s{i}") for i in range(4)}
    base["content/x.md"] = rec("Other title")
    site = make_site(base)
    config = Config()
    before = plan_site(articles_of(site), config).urls
    (site / "content" / "new.md").write_text(rec("Same title", url="new"))
    (site / "content" / "2.md").unlink()
    after = plan_site(articles_of(site), config).urls
    common = set(before) & set(after)
    assert len(common) == 4
    assert all(before[i] == after[i] for i in common)
    assert len(set(after.values())) == len(after)


def test_article_path_uses_site_timezone(make_site):
    site = make_site({"content/a.md": rec("Late night", when="2024-01-02T23:30:00Z")})
    berlin = parse_config('timezone = "Europe/Berlin"\n')
    (path,) = plan_site(articles_of(site), berlin).urls.values()
    assert path.startswith("2024/01/03/late-night-")


def test_hostile_titles_make_safe_paths(make_site):
    titles = ["../../../etc/passwd", "..", "/", "\\\\evil\\x", "🙂", "CON", "x" * 400, "a/../../b"]
    site = make_site({f"content/{i}.md": rec(json.dumps(t, ensure_ascii=False)[1:-1], url=f"h{i}") for i, t in enumerate(titles)})
    result = build(site)
    assert result.articles == len(titles)
    out = (site / "build").resolve()
    for path in out.rglob("*"):
        assert out in path.resolve().parents or path.resolve() == out
        assert len(path.name.encode()) <= 255
    assert not (site / "etc").exists() and not (site.parent / "etc").exists()


def test_check_paths_refuses_unsafe_paths():
    for bad in ("../x.html", "/abs.html", "a/./b.html", "a//b.html", "a\\b.html", ("x" * 201) + "/i.html"):
        with pytest.raises(BuildError):
            check_paths([PageSpec(bad, "404.html", "x", "", fixed({}))])
    with pytest.raises(BuildError, match="two pages planned"):
        check_paths([PageSpec("a.html", "404.html", "x", "", fixed({})), PageSpec("a.html", "404.html", "y", "", fixed({}))])


# --------------------------------------------------------------------------- taxonomies


def test_topics_differing_in_case_or_unicode_form_are_one_topic(make_site):
    site = make_site({
        "content/a.md": rec("One", topics='["Café Society"]'),
        "content/b.md": rec("Two", topics='["CAFÉ SOCIETY"]'),
        "content/c.md": rec("Three", topics='["Cafe\u0301 society"]'),
        "content/d.md": rec("Four", topics='["café  society"]'),
    })
    plan = plan_site(articles_of(site), Config())
    assert len(plan.topics) == 1
    topic_pages = [p for p in plan.pages if p.kind == "topic"]
    assert len(topic_pages) == 1
    assert topic_pages[0].path == "topics/cafe-society/index.html"
    assert topic_pages[0].context["page"]["total"] == 4


def test_topics_whose_slugs_collide_get_distinct_stable_pages(make_site):
    site = make_site({
        "content/a.md": rec("One", topics='["C++"]'),
        "content/b.md": rec("Two", topics='["C"]'),
        "content/c.md": rec("Three", topics='["C#"]'),
        "content/d.md": rec("Four", topics='["🙂"]'),
    })
    plan = plan_site(articles_of(site), Config())
    paths = sorted(p.path for p in plan.pages if p.kind == "topic")
    assert len(paths) == 4 and len(set(paths)) == 4
    assert all(re.fullmatch(r"topics/[a-z0-9-]+/index\.html", p) for p in paths)


def test_a_collision_suffix_never_takes_a_slug_already_taken(make_site):
    # "c++" and "c#" both slugify to "c"; the second's suffix "c-<6 hex>" is another topic's name.
    taken = f"c-{short_hash(term_key('c#'), 6)}"
    site = make_site({
        "content/a.md": rec("One", topics='["c++", "c#"]'),
        "content/b.md": rec("Two", topics=f'["c++", "{taken}"]'),
        "content/c.md": rec("Three", provider="{name: A, domain: a.example}"),
        "content/d.md": rec("Four", provider="{name: B, domain: a-example}"),
    })
    plan = plan_site(articles_of(site), Config())  # raised: two pages planned at topics/c-.../
    topics = {t.name: t.slug for t in plan.topics.values()}
    assert len(set(topics.values())) == 3 and topics["c++"] == "c" and topics[taken] == taken
    assert topics["c#"].startswith(taken)
    assert len({p.path for p in plan.pages if p.kind == "source"}) == 2


def test_providers_are_identified_by_domain(make_site):
    site = make_site({
        "content/a.md": rec("One", provider="{name: Biometric Companies, domain: biometricupdate.com}"),
        "content/b.md": rec("Two", provider="{name: Biometric Update, domain: www.BiometricUpdate.com}"),
        "content/c.md": rec("Three", provider="{name: Biometric Update, domain: biometricupdate.com}"),
    })
    plan = plan_site(articles_of(site), Config())
    sources = [p for p in plan.pages if p.kind == "source"]
    assert [p.path for p in sources] == ["sources/biometricupdate-com/index.html"]
    assert sources[0].context["page"]["heading"] == "Biometric Update"


# --------------------------------------------------------------------------- ranking, editions, pagination


def test_story_score_is_documented_formula():
    article = parse_record(b"---\ntitle: t\npublishedDateTime: 2024-01-01T12:00:00Z\nquality: 50\nheat: 99\n---\n",
                           "x").article
    start = datetime(2024, 1, 1, tzinfo=UTC)
    assert story_score(article, start) == pytest.approx(50 + 10 * 2 + 6)
    assert story_score(article) == pytest.approx(70)


def test_editions_rank_and_link_days(make_site):
    site = make_site({
        "content/a.md": rec("Low", when="2024-01-01T08:00:00Z", quality=1),
        "content/b.md": rec("High", when="2024-01-01T07:00:00Z", quality=90),
        "content/c.md": rec("Next day", when="2024-01-03T08:00:00Z"),
    })
    plan = plan_site(articles_of(site), Config())
    assert [e.day for e in plan.editions] == ["2024-01-01", "2024-01-03"]
    titles = {a.id: a.title for a in plan.articles}
    assert [titles[i] for i in plan.editions[0].article_ids] == ["High", "Low"]
    first = next(p for p in plan.pages if p.path == "editions/2024-01-01/index.html")
    assert first.context["page"]["next"].endswith("editions/2024-01-03/")
    assert first.context["page"]["prev"] is None


def test_listings_paginate(make_site):
    site = make_site({
        "digest.toml": "page_size = 2\n",
        **{f"content/{i}.md": rec(f"Story {i}", when=f"2024-01-0{i + 1}T10:00:00Z", topics='["T"]')
           for i in range(5)},
    })
    build(site)
    topic = site / "build" / "topics" / "t"
    assert (topic / "index.html").is_file() and (topic / "page" / "3" / "index.html").is_file()
    assert not (topic / "page" / "4").exists()
    page2 = (topic / "page" / "2" / "index.html").read_text()
    assert 'rel="prev"' in page2 and 'rel="next"' in page2


def test_every_kind_of_page_exists(make_site):
    site = make_site({"content/a.md": rec("Story", topics='["AI"]', provider="{name: P, domain: p.example}")})
    build(site)
    out = site / "build"
    for path in ("index.html", "404.html", "topics/index.html", "topics/ai/index.html",
                 "sources/index.html", "sources/p-example/index.html", "editions/index.html",
                 "editions/2024-01-02/index.html", "archive/index.html", "archive/2024/01/index.html",
                 "sitemap.xml", "robots.txt", "static/style.css"):
        assert (out / path).is_file(), path
    assert len(list(out.glob("2024/01/02/story-*/index.html"))) == 1


def test_empty_site_builds(make_site):
    site = make_site({"content/.keep": ""})
    result = build(site)
    assert result.articles == 0
    assert "No stories yet" in (site / "build" / "index.html").read_text()


# --------------------------------------------------------------------------- safety of the output

HOSTILE = '"<script>alert(1)</script><img src=x onerror=alert(2)>"'


def test_hostile_content_is_never_executable(make_site):
    site = make_site({
        "content/a.md": rec(
            "<script>alert('title')</script> & <b onmouseover=alert(1)>bold</b>", url="a",
            excerpt=HOSTILE, topics='["<script>t</script>", "\\" onfocus=\\"alert(3)"]',
            provider='{name: "<svg onload=alert(4)>", domain: "evil.example\\"><script>"}',
            originalUrl='"javascript:alert(5)"',
            locale='"en\\" onload=\\"x"',
            featuredContent='"<iframe src=https://evil.example/></iframe>"',
            related='[{title: "<script>r</script>", webUrl: "javascript:alert(6)"}, '
                    '{title: "Proto", webUrl: "//cdn.example/p"}, {title: "Data", webUrl: "data:text/html,x"}]',
        ).replace('webUrl: "https://news.example.com/a"', 'webUrl: "JaVaScRiPt:alert(7)"')
        + "\n<script>alert('note')</script>\n\n[click](javascript:alert(8)) <a href=\"vbscript:x\">v</a>\n",
        "content/b.md": rec("Proto relative", url="b").replace(
            'webUrl: "https://news.example.com/b"', 'webUrl: "//host.example/story"'),
    })
    build(site)
    for path in (site / "build").rglob("*.html"):
        for tag, attrs, data in elements(path.read_text()):
            where = (path.relative_to(site).as_posix(), tag, attrs)
            if tag == "script" and attrs.get("src"):  # the theme's own scripts only
                assert attrs["src"].startswith("/static/") and not data.strip(), where
            elif tag == "script":
                assert attrs.get("type") == "application/ld+json", where
                json.loads(data)  # a data block, never code: valid JSON with no markup inside
                assert "<" not in data, where
            assert tag not in ("iframe", "object", "embed", "svg", "math", "base"), where
            assert not any(name.startswith("on") for name in attrs), where
            for name in ("href", "src", "action", "formaction", "poster"):
                value = (attrs.get(name) or "").strip().lower()
                assert not value or value.startswith(("/", "https://", "http://", "mailto:", "#")), where
            if tag == "a" and attrs.get("href", "").startswith(("http://", "https://")) \
                    and not attrs["href"].startswith("http://localhost:8000/"):
                assert attrs.get("rel") == "noopener noreferrer", where
    # RSS <description> is HTML: a plain-text excerpt must not turn into markup in a feed reader
    for feed in (site / "build").rglob("rss.xml"):
        for item in ElementTree.parse(feed).iter("description"):
            assert [e for e in elements(item.text or "") if e[0] != "p"] == [], feed
    # the text is there, escaped (markup in a text field is removed: tests/test_scrape_sweep.py)
    assert "onfocus=&#34;alert(3)" in all_text(site / "build")
    article = next((site / "build").glob("2024/01/02/proto-relative-*/index.html")).read_text()
    assert 'href="https://host.example/story"' in article


def test_no_third_party_requests(make_site):
    site = make_site({"content/a.md": rec("Story", images='[{url: "https://img.example/a.jpg", width: 4, '
                                                    'height: 3, isCached: false}]')})
    build(site)
    for path in (site / "build").rglob("*.html"):
        html = path.read_text()
        for src in re.findall(r'<(?:img|script|link|source|iframe)[^>]+(?:src|href|srcset)="([^"]+)"', html):
            assert not src.startswith(("http:", "https:", "//")) or src.startswith("http://localhost:8000/"), src
        assert "img.example" not in html.split("<body", 1)[0]
        assert 'src="https://img.example' not in html


def test_no_search_page_or_link_without_a_search_index(make_site):
    site = make_site({
        "content/a.md": record("Searchable story", webUrl='"https://c.example/s"'),
        "digest.toml": "search = false\n",
    })
    build(site, jobs=1)
    out = site / "build"
    assert not (out / "search").exists()
    assert 'href="/search/"' not in (out / "index.html").read_text(encoding="utf-8")
    (site / "digest.toml").write_text("search = true\n", encoding="utf-8")
    build(site, jobs=1)
    from digest.search import pagefind_executable

    if pagefind_executable():
        assert (out / "search" / "index.html").is_file()
        assert 'href="/search/"' in (out / "index.html").read_text(encoding="utf-8")


def test_curated_entry_links_to_our_page_whatever_the_url_spelling(make_site):
    site = make_site({
        "content/a.md": record("Our copy of the story", webUrl='"https://News.example.com/story"'),
        "content/b.md": (
            "---\ntitle: Another story\npublishedDateTime: 2024-01-03T10:00:00Z\n"
            "webUrl: https://c.example/b\nrelated:\n  - title: Coverage\n"
            "    webUrl: //news.example.com/story#top\n---\n"
        ),
        "digest.toml": "search = false\n",
    })
    result = build(site, jobs=1)
    assert result.articles == 2
    page = next((site / "build").glob("2024/01/03/*/index.html")).read_text(encoding="utf-8")
    ours = next((site / "build").glob("2024/01/02/*/index.html")).parent.name
    assert f'/{ours}/"' in page


# --------------------------------------------------------------------------- replan


def _records(n: int, overrides: dict | None = None) -> dict[str, str]:
    topics = ['["AI", "Robots"]', '["AI"]', '["Privacy", "AI"]', '[]']
    files = {}
    for i in range(n):
        fields = dict(topics=topics[i % 4], provider=f"{{name: P{i % 3}, domain: p{i % 3}.example}}",
                      excerpt=f'"robot camera vision {i} privacy drone"', quality=i % 7)
        if i % 5 == 1:
            fields["related"] = f'[{{title: "Also", webUrl: "https://news.example.com/story-{(i + 3) % n}"}}]'
        fields.update((overrides or {}).get(i, {}))
        title = fields.pop("_title", f"Story {i}")
        files[f"content/r{i}.md"] = rec(title, f"2024-01-0{1 + i % 6}T{i % 24:02d}:00:00Z",
                                        url=f"story-{i}", **fields)
    return files


def _same_plans(a, b):
    assert [(p.path, p.key, p.deps, p.struct) for p in a.pages] == [(p.path, p.key, p.deps, p.struct) for p in b.pages]
    assert [p.build() for p in a.pages] == [p.build() for p in b.pages]


@pytest.mark.parametrize("change", [
    {3: {"excerpt": '"an entirely new excerpt about drones"'}},
    {1: {"category": "opinion", "type": "video"}, 4: {"excerpt": '"quantum satellite"'}},
    {2: {"locale": "fr-fr"}},
    {3: {"_title": "A new headline for story three"}},         # a new slug: the page moves
    {1: {"_title": "Retitled one"}, 6: {"_title": "Retitled six", "excerpt": '"drone"'}},
])
def test_replan_equals_planning_from_scratch_when_only_contents_change(make_site, change):
    from digest.plan import replan

    config = Config(page_size=3)
    site = make_site(_records(14))
    before = plan_site(articles_of(site), config)
    site = make_site(_records(14, change))
    articles = articles_of(site)
    fresh = plan_site(articles, config, related_state=before.related_state)
    derived = replan(before, articles, config, related_state=before.related_state)
    assert derived is not None
    _same_plans(derived, fresh)


RESHAPES = {  # an article's place in the site changes: it leaves as it was and joins as it is
    "a topic ends": {i: {"topics": '["AI"]'} for i in (0, 4, 8, 12)},
    "a source ends": {i: {"provider": "{name: P0, domain: p0.example}"} for i in (2, 5, 8, 11)},
    "new topic": {3: {"topics": '["Space"]'}},
    "other topics": {5: {"topics": '["Privacy"]'}, 2: {"topics": '["AI", "Robots"]'}},
    "rank": {3: {"quality": 99}},
    "heat": {4: {"heat": 5000}, 9: {"heat": 12}},
    "new date, same day": {3: {"publishedDateTime": "2024-01-04T23:59:00Z"}},
    "new date, new month": {3: {"publishedDateTime": "2024-02-01T00:00:00Z"}},
    "new date and title": {7: {"publishedDateTime": "2023-12-31T08:00:00Z", "_title": "Year end"}},
    "updated": {6: {"updatedDateTime": "2024-01-20T10:00:00Z"}},
    "new source": {8: {"provider": "{name: Fresh, domain: fresh.example}"}},
    "other source": {8: {"provider": "{name: P0, domain: p0.example}"}},
    "source renamed by one record": {8: {"provider": "{name: Other name, domain: p2.example}"}},
    "curated coverage": {2: {"related": '[{title: "Also", webUrl: "https://news.example.com/story-9"}]'}},
    "with contents": {3: {"quality": 0}, 10: {"excerpt": '"a brand new excerpt about drones"'}},
}


@pytest.mark.parametrize("saved", [False, True])
@pytest.mark.parametrize("drafts", [False, True])
@pytest.mark.parametrize("shape", sorted(RESHAPES))
def test_replan_equals_scratch_when_an_articles_shape_changes(make_site, shape, drafts, saved):
    from digest.plan import dump_plan, load_plan, replan

    config = Config(page_size=3, feed_items=4, related_count=3)
    files = _records(14) | _added("draft", "2024-01-05T12:00:00Z", published="false")
    before = plan_site(articles_of(make_site(files)), config, drafts=drafts)
    articles = articles_of(make_site(_records(14, RESHAPES[shape]) | _added("draft", "2024-01-05T12:00:00Z",
                                                                              published="false")))
    previous = load_plan(dump_plan(before), articles) if saved else before
    fresh = plan_site(articles, config, drafts=drafts, related_state=before.related_state)
    derived = replan(previous, articles, config, drafts=drafts, related_state=before.related_state)
    assert derived is not None
    _same_plans(derived, fresh)
    assert derived.editions == fresh.editions and derived.urls == fresh.urls


def test_changed_articles_are_swapped_in_where_their_sort_key_puts_them(make_site):
    """`replan` puts a changed article (of the same shape) in its predecessor's place in the
    planner's sorted lists by bisection; one that is not where its key says is refused."""
    from dataclasses import replace

    from digest.plan import _swapped, newest_key

    articles = sorted(articles_of(make_site(_records(9))), key=newest_key)
    edited = replace(articles[4], title="Edited")
    swapped = _swapped(articles, [edited], newest_key)
    assert swapped[4] is edited and swapped[:4] + swapped[5:] == articles[:4] + articles[5:]
    assert articles[4] is not edited  # (a copy: the list it was given is left as it was)
    moved = replace(articles[4], published=datetime(1999, 1, 1, tzinfo=UTC))
    assert _swapped(articles, [moved], newest_key) is None


def test_a_saved_plan_reads_a_page_builder_back_only_for_a_page_made(make_site, monkeypatch):
    """Each page builder of a saved plan is pickled on its own and read back only when its
    page's context is made (an edit renders a few dozen of 25,000), but for those made from an
    article's id alone (its page, its JSON document), which the saved row names; the contexts
    are the plan's, and a plan read back and saved again keeps the builders it never used."""
    from digest import plan as planning

    config = Config(page_size=3, feed_items=4)
    articles = articles_of(make_site(_records(14)))
    plan = plan_site(articles, config)
    read = []
    real = planning._SavedBuilders.builder
    monkeypatch.setattr(planning._SavedBuilders, "builder", lambda self, *span: read.append(span) or real(self, *span))
    loaded = planning.load_plan(planning.dump_plan(plan), articles)
    assert read == [] and len(loaded.pages) == len(plan.pages)
    pickled = [n for n, spec in enumerate(loaded.pages) if spec.build.func is planning._saved_context]
    assert {loaded.pages[n].kind for n in pickled} >= {"topic", "feed-rss", "home", "sitemap"}
    assert not any(loaded.pages[n].kind == "article" or loaded.pages[n].path.startswith("api/articles/")
                   for n in pickled)
    listing = next(n for n in pickled if loaded.pages[n].kind == "topic")
    assert loaded.pages[listing].build() == plan.pages[listing].build() and len(read) == 1
    again = planning.load_plan(planning.dump_plan(loaded), articles)  # (copied, not read back)
    assert len(read) == 1
    _same_plans(again, plan)
    assert len(read) == 1 + len(pickled)


@pytest.mark.parametrize("change", [
    {i: {"topics": '["robots"]'} for i in (1, 3, 5, 7, 9)},  # "robots" outnumbers "Robots": renamed
])
def test_replan_declines_when_the_structure_changes(make_site, change):
    from digest.plan import replan

    config = Config(page_size=3)
    before = plan_site(articles_of(make_site(_records(14))), config)
    articles = articles_of(make_site(_records(14, change)))
    assert replan(before, articles, config, related_state=before.related_state) is None
    assert replan(plan_site(articles, config), articles, Config(page_size=4)) is None  # settings


def test_replan_declines_a_draft_published_in_a_drafts_preview(make_site):
    from digest.plan import replan

    config = Config(page_size=3)
    draft = _added("draft", "2024-01-05T12:00:00Z", published="false")
    before = plan_site(articles_of(make_site(_records(14) | draft)), config, drafts=True)
    articles = articles_of(make_site(_records(14) | _added("draft", "2024-01-05T12:00:00Z")))
    assert replan(before, articles, config, drafts=True, related_state=before.related_state) is None


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, 17), st.sampled_from(["_title", "excerpt", "category", "locale"]),
                                st.sampled_from(["drone", "Privacy court", "robot camera 7", "x"])),
                      min_size=1, max_size=4))
def test_replan_equals_scratch_for_any_content_edits(make_site, edits):
    """Chained: each derived plan is the previous one for the next edit, as in a server."""
    from digest.plan import replan

    config = Config(page_size=2, related_count=3)
    overrides: dict[int, dict] = {}
    plan = plan_site(articles_of(make_site(_records(18))), config)
    for index, field, value in edits:
        overrides.setdefault(index, {})[field] = (f"Story {index} {value}" if field == "_title"
                                                  else "fr-fr" if field == "locale" else f'"{value}"')
        articles = articles_of(make_site(_records(18, overrides)))
        fresh = plan_site(articles, config, related_state=plan.related_state)
        derived = replan(plan, articles, config, related_state=plan.related_state)
        assert derived is not None
        _same_plans(derived, fresh)
        plan = derived


def _added(name: str, when: str, url: str | None = None, **fields) -> dict[str, str]:
    """One more record for `_records`' sites (topics and source of theirs unless told)."""
    fields = {"topics": '["AI"]', "provider": "{name: P1, domain: p1.example}",
              "excerpt": '"robot drone privacy court"', "quality": 3, **fields}
    return {f"content/{name}.md": rec(f"Added {name}", when, url=url or name, **fields)}


ADDITIONS = {
    "newest": _added("a1", "2024-01-09T08:00:00Z") | _added("a2", "2024-01-09T09:30:00Z", quality=6),
    "same day": _added("a1", "2024-01-03T23:00:00Z", quality=6, topics='["Robots", "AI"]'),
    "new day between": _added("a1", "2024-01-07T12:00:00Z", provider="{name: P2, domain: p2.example}"),
    "older new month": _added("a1", "2023-12-30T12:00:00Z") | _added("a2", "2024-01-02T01:00:00Z"),
    "curated target": {"content/r14.md": _records(16)["content/r14.md"]},
    "draft": _added("a1", "2024-01-05T12:00:00Z", published="false"),
    "many": {name: text for i in range(7) for name, text in
             _added(f"m{i}", f"2024-01-0{1 + i}T0{i}:15:00Z", topics='["Privacy"]', quality=i).items()},
    "related at once": _added("a1", "2024-01-09T08:00:00Z",
                              related='[{title: "Also", webUrl: "https://news.example.com/a2"}]')
                       | _added("a2", "2024-01-09T07:00:00Z"),
    "new topic": _added("a1", "2024-01-09T08:00:00Z", topics='["Space", "AI"]'),
    "new source": _added("a1", "2024-01-04T08:00:00Z", provider="{name: New, domain: new.example}"),
    "new topics and sources": _added("a1", "2024-01-09T08:00:00Z", topics='["Space"]',
                                     provider="{name: New, domain: new.example}")
                              | _added("a2", "2024-01-02T08:00:00Z", topics='["Mars", "Privacy"]',
                                       provider="{name: Other, domain: other.example}"),
    # "Robots!" is a topic of its own whose name makes the slug "Robots" has: the lighter one,
    # the new one, takes it with a suffix, and "Robots" keeps its pages
    "new topic, slug taken": _added("a1", "2024-01-09T08:00:00Z", topics='["Robots!"]'),
    "new topic of a draft": _added("a1", "2024-01-09T08:00:00Z", topics='["Space"]', published="false"),
    # another record of a story the site has, newer: it wins (same id, another file and date)
    "duplicate story": _added("a1", "2024-01-09T08:00:00Z", url="story-3"),
}


def _base_records(overrides: dict | None = None) -> dict[str, str]:
    """Fourteen of `_records(16)`: record 11's curated coverage names record 14's story."""
    files = _records(16, overrides)
    del files["content/r14.md"], files["content/r15.md"]
    return files


@pytest.mark.parametrize("drafts", [False, True])
@pytest.mark.parametrize("shape", sorted(ADDITIONS))
def test_replan_equals_planning_from_scratch_after_additions(make_site, shape, drafts):
    from digest.plan import replan

    config = Config(page_size=3, feed_items=4)
    before = plan_site(articles_of(make_site(_base_records())), config, drafts=drafts)
    articles = articles_of(make_site(_base_records() | ADDITIONS[shape]))
    fresh = plan_site(articles, config, drafts=drafts, related_state=before.related_state)
    derived = replan(before, articles, config, drafts=drafts, related_state=before.related_state)
    if shape == "draft" and not drafts:
        assert derived is not None  # nothing the site shows was added
    assert derived is not None
    _same_plans(derived, fresh)
    assert derived.editions == fresh.editions and derived.urls == fresh.urls


def test_a_curated_entry_naming_an_added_record_becomes_an_internal_link(make_site):
    from digest.plan import replan

    config = Config(page_size=3)
    before = plan_site(articles_of(make_site(_base_records())), config)
    articles = articles_of(make_site(_base_records() | ADDITIONS["curated target"]))
    derived = replan(before, articles, config, related_state=before.related_state)
    (page,) = [p for p in derived.pages if p.kind == "article" and p.build()["page"]["title"] == "Story 11"]
    assert [link["internal"] for link in page.build()["page"]["curated"]] == [True]


@pytest.mark.parametrize("extra", [
    {name: text for i in range(5)  # "robots" outnumbers "Robots": the topic's name changes
     for name, text in _added(f"a{i}", f"2024-01-09T0{i}:00:00Z", topics='["robots"]').items()},
    {name: text for i in range(4)  # a new topic outnumbers "Privacy" (3) and takes its slug: it moves
     for name, text in _added(f"a{i}", f"2024-01-09T0{i}:00:00Z", topics='["Privacy!"]').items()},
])
def test_replan_declines_additions_that_change_the_structure(make_site, extra):
    from digest.plan import replan

    config = Config(page_size=3)
    before = plan_site(articles_of(make_site(_base_records())), config)
    articles = articles_of(make_site(_base_records() | extra))
    assert replan(before, articles, config, related_state=before.related_state) is None
    assert plan_site(articles, config).pages  # (which plans from scratch)


def _removal_base(overrides: dict | None = None) -> dict[str, str]:
    """All of `_records(16)` (records 1, 6 and 11 name the stories of 4, 9 and 14 in their
    curated coverage), a lone record of its own day, one of its own month and a draft."""
    return (_records(16, overrides) | _added("lone", "2024-01-08T08:00:00Z", topics='["Robots"]')
            | _added("old", "2023-12-20T08:00:00Z", provider="{name: P2, domain: p2.example}")
            | _added("draft", "2024-01-04T12:00:00Z", published="false", topics='["Privacy"]'))


def _unpublished(name: str) -> dict[str, str]:
    return {f"content/{name}.md": _removal_base()[f"content/{name}.md"].replace("---\n", "---\npublished: false\n", 1)}


REMOVALS = {  # (records deleted, records changed or added)
    "newest": (["r11"], {}),
    "oldest": (["old"], {}),
    "oldest of the month": (["r0"], {}),
    "middle": (["r7"], {}),
    "only of its day": (["lone"], {}),
    "curated target": (["r14"], {}),
    "curated target and its curator": (["r9", "r6"], {}),
    "curator": (["r1"], {}),
    "several": (["r2", "r7", "r13", "r10"], {}),
    "draft": (["draft"], {}),
    "with additions and edits": (["r5", "r12"], {
        **_added("a1", "2024-01-09T08:00:00Z"), **_added("a2", "2024-01-03T02:00:00Z", url="story-5b"),
        "content/r3.md": _records(16, {3: {"excerpt": '"a new excerpt about courts"'}})["content/r3.md"],
        "content/r8.md": _records(16, {8: {"_title": "Story eight retitled"}})["content/r8.md"]}),
    "replaced": (["r4"], _added("a1", "2024-01-05T04:00:00Z", url="story-4b", topics='["AI", "Robots"]')),
    "unpublished": ([], _unpublished("r8")),
    "unpublished newest and deleted": (["r2"], _unpublished("r11")),
}


@pytest.mark.parametrize("saved", [False, True])
@pytest.mark.parametrize("drafts", [False, True])
@pytest.mark.parametrize("shape", sorted(REMOVALS))
def test_replan_equals_planning_from_scratch_after_removals(make_site, shape, drafts, saved):
    from digest.plan import dump_plan, load_plan, replan

    config = Config(page_size=3, feed_items=4, related_count=3)
    before = plan_site(articles_of(make_site(_removal_base())), config, drafts=drafts)
    gone, changed = REMOVALS[shape]
    files = _removal_base() | changed
    for name in gone:
        del files[f"content/{name}.md"]
    articles = articles_of(make_site(files))
    fresh = plan_site(articles, config, drafts=drafts)
    previous = load_plan(dump_plan(before), articles) if saved else before
    derived = replan(previous, articles, config, drafts=drafts, related_state=before.related_state)
    if drafts and "unpublished" in shape:  # still shown, as a draft: its listings change
        assert derived is None
        return
    assert derived is not None
    _same_plans(derived, fresh)
    assert derived.editions == fresh.editions and derived.urls == fresh.urls
    assert derived.related_state.results == fresh.related_state.results
    assert derived.reuse.planner.by_web_url == fresh.reuse.planner.by_web_url
    assert derived.reuse.planner.newest == fresh.reuse.planner.newest
    ids = {a.id for a in derived.articles}
    assert all(article_id in ids for spec in derived.pages for article_id in spec.deps)


def test_a_removal_links_its_curators_out_and_leaves_the_sidebars_that_showed_it(make_site):
    from digest.plan import replan

    config = Config(page_size=3, related_count=3)
    before = plan_site(articles_of(make_site(_removal_base())), config)
    target = next(a for a in before.articles if a.title == "Story 14")
    sidebars = [a.id for a in before.articles if target.id in before.reuse.planner.related[a.id][:3]]
    assert sidebars  # (some newer article's computed list shows it)
    files = _removal_base()
    del files["content/r14.md"]
    derived = replan(before, articles_of(make_site(files)), config, related_state=before.related_state)
    pages = {p.build()["page"]["title"]: p.build()["page"] for p in derived.pages if p.kind == "article"}
    assert [link["internal"] for link in pages["Story 11"]["curated"]] == [False]
    assert pages["Story 11"]["curated"][0]["url"] == "https://news.example.com/story-14"
    assert not any(card["title"] == "Story 14" for page in pages.values() for card in page["related"])
    assert not any(p.path.startswith(before.urls[target.id]) for p in derived.pages)
    assert f"api/articles/{target.id}.json" not in {p.path for p in derived.pages}


@pytest.mark.parametrize("saved", [False, True])
@pytest.mark.parametrize("drafts", [False, True])
@pytest.mark.parametrize("gone", [
    ["r0", "r4", "r8", "r12", "lone"],    # every record of the topic Robots
    ["r2", "r5", "r8", "r11", "r14", "old"],     # every record of the source p2.example
    ["solo"],                             # the only record of a topic and a source of its own
])
def test_replan_equals_scratch_after_removals_that_end_a_topic_or_source(make_site, gone, drafts, saved):
    from digest.plan import dump_plan, load_plan, replan

    config = Config(page_size=3, feed_items=4)
    files = _removal_base() | _added("solo", "2024-01-04T12:00:00Z", topics='["Solo"]',
                                     provider="{name: Solo, domain: solo.example}")
    before = plan_site(articles_of(make_site(files)), config, drafts=drafts)
    for name in gone:
        del files[f"content/{name}.md"]
    articles = articles_of(make_site(files))
    previous = load_plan(dump_plan(before), articles) if saved else before
    fresh = plan_site(articles, config, drafts=drafts, related_state=before.related_state)
    assert fresh.topics.keys() < before.topics.keys() or fresh.reuse.planner.providers.keys() < \
        before.reuse.planner.providers.keys()
    derived = replan(previous, articles, config, drafts=drafts, related_state=before.related_state)
    assert derived is not None
    _same_plans(derived, fresh)


def _thumb(name: str, width: int = 640) -> dict:
    """A planned picture as `digest.images` maps one (see `ImageSet.mapping`)."""
    return {"src": f"/thumbs/{name}-{width}.webp", "srcset": f"/thumbs/{name}-{width}.webp {width}w",
            "sizes": "100vw", "sources": [], "largest": f"/thumbs/{name}-{width}.webp", "width": width,
            "height": width // 2}


def _pictured_records(pictures: dict[int, str]) -> dict[str, str]:
    """`_records(14)` where record n shows the picture named ``pictures[n]``."""
    return _records(14, {n: {"images": f'[{{url: "https://img.example/{name}.jpg", width: 800, height: 400, '
                                       'isCached: true}]'} for n, name in pictures.items()})


IMAGE_CHANGES = {  # (pictures by record, planned before, planned now; the records changing or not)
    "cached since": ({3: "a", 5: "b"}, {"b": _thumb("b")}, {"a": _thumb("a"), "b": _thumb("b")}),
    "cached again": ({3: "a"}, {"a": _thumb("a")}, {"a": _thumb("a2", 320)}),
    "gone": ({3: "a", 5: "b"}, {"a": _thumb("a"), "b": _thumb("b")}, {"b": _thumb("b")}),
    "shared by two": ({3: "a", 9: "a", 5: "b"}, {"b": _thumb("b")}, {"a": _thumb("a"), "b": _thumb("b")}),
}


@pytest.mark.parametrize("saved", [False, True])
@pytest.mark.parametrize("with_members", [False, True])
@pytest.mark.parametrize("change", sorted(IMAGE_CHANGES))
def test_replan_equals_scratch_when_planned_pictures_change(make_site, change, with_members, saved):
    """A picture cached after its record was written (a downloader runs apart), cached again or
    gone: the records that show it are planned again, as if they had changed."""
    from digest.plan import dump_plan, load_plan, replan

    pictures, old, new = IMAGE_CHANGES[change]
    config = Config(page_size=3)
    to_map = lambda planned: {f"https://img.example/{k}.jpg": v for k, v in planned.items()}  # noqa: E731
    files = _pictured_records(pictures)
    before = plan_site(articles_of(make_site(files)), config, images=to_map(old))
    if with_members:  # a record added and one removed in the same build
        files = files | _added("a1", "2024-01-09T08:00:00Z")
        del files["content/r7.md"]
    articles = articles_of(make_site(files))
    previous = load_plan(dump_plan(before), articles) if saved else before
    fresh = plan_site(articles, config, images=to_map(new), related_state=before.related_state)
    derived = replan(previous, articles, config, images=to_map(new), related_state=before.related_state)
    assert derived is not None
    _same_plans(derived, fresh)
    shown = {p.build()["page"]["article"]["image"]["src"] for p in derived.pages if p.kind == "article"
             and p.build()["page"]["article"]["image"]}
    assert {v["src"] for v in new.values()} <= shown
    assert not shown & {v["src"] for k, v in old.items() if new.get(k) != v}  # (no picture as it was)


def test_replan_declines_when_most_of_the_site_changed(make_site):
    from digest.plan import replan

    config = Config(page_size=3)
    before = plan_site(articles_of(make_site(_records(14))), config)
    many = {name: text for i in range(70) for name, text in _added(f"m{i}", f"2024-01-0{1 + i % 9}T10:{i % 60:02d}:00Z").items()}
    articles = articles_of(make_site(_records(14) | many))
    assert replan(before, articles, config, related_state=before.related_state) is None


def test_replan_declines_a_removal_that_gives_its_slug_to_another(make_site):
    from digest.plan import replan

    config = Config(page_size=3)
    # "Privacy!" is lighter than "Privacy" and took its slug with a suffix; "Privacy" ends
    files = _removal_base() | _added("bang", "2024-01-08T09:00:00Z", topics='["Privacy!"]')
    before = plan_site(articles_of(make_site(files)), config)
    for name in [n for n, text in files.items() if '"Privacy"' in text]:
        del files[name]
    articles = articles_of(make_site(files))
    assert replan(before, articles, config, related_state=before.related_state) is None
    assert "privacy" in {t.slug for t in plan_site(articles, config).topics.values()}


def test_replan_declines_a_removal_that_renames_a_topic(make_site):
    from digest.plan import replan

    spelled = {0: {"topics": '["robots", "AI"]'}, 4: {"topics": '["robots"]'}}  # 2 "robots", 3 "Robots"
    config = Config(page_size=3)
    before = plan_site(articles_of(make_site(_removal_base(spelled))), config)
    files = _removal_base(spelled)
    del files["content/r8.md"], files["content/lone.md"]  # now "robots" is the more common spelling
    articles = articles_of(make_site(files))
    assert {t.name for t in plan_site(articles, config).topics.values()} >= {"robots"}
    assert replan(before, articles, config, related_state=before.related_state) is None


def _kept(old: dict, new: dict) -> bool:
    """Whether every entry of both ``old`` and ``new`` is the same in both (topics or sources
    kept as they were, some new, some gone)."""
    return all(new[key] == value for key, value in old.items() if key in new)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(0, 9), st.integers(1, 9),
              st.sampled_from(['["AI"]', '["Privacy", "AI"]', "[]", '["Space"]', '["Privacy!"]'])),
    st.tuples(st.just("edit"), st.integers(0, 13), st.sampled_from(["_title", "excerpt"]), st.sampled_from(["drone", "x"])),
    st.tuples(st.sampled_from(["remove", "unpublish"]), st.integers(0, 13)),
), min_size=1, max_size=5), saved=st.booleans(), drafts=st.booleans())
def test_replan_equals_scratch_for_chained_additions_removals_and_edits(make_site, steps, saved, drafts):
    """Each derived plan is the previous one for the next step (as in a server), or, with
    ``saved``, each step starts from the first plan saved and read back (as a command does).
    A step derives unless a topic or source is renamed or its slug moves (to a new one, or
    from one that ends), or an article shown as a draft was unpublished (its listings change)."""
    from digest.plan import dump_plan, load_plan, replan

    config = Config(page_size=2, related_count=3, feed_items=5)
    overrides: dict[int, dict] = {}
    extra: dict[str, str] = {}
    gone: set[int] = set()
    unpublished: set[int] = set()  # since the plan replan starts from
    plan = plan_site(articles_of(make_site(_base_records())), config, drafts=drafts)
    first, reference = dump_plan(plan), plan
    for k, step in enumerate(steps):
        if step[0] == "add":
            _, n, day, topics = step
            extra |= _added(f"n{k}", f"2024-01-0{day}T{n:02d}:40:00Z", topics=topics,
                            related='[{title: "Also", webUrl: "https://news.example.com/story-5"}]')
        elif step[0] == "edit":
            _, index, field, value = step
            overrides.setdefault(index, {})[field] = f"Story {index} {value}" if field == "_title" else f'"{value}"'
        elif step[0] == "remove":
            gone.add(step[1])
        else:
            overrides.setdefault(step[1], {})["published"] = "false"
            unpublished.add(step[1])
        files = _base_records(overrides) | extra
        for index in gone:
            del files[f"content/r{index}.md"]
        articles = articles_of(make_site(files))
        fresh = plan_site(articles, config, drafts=drafts)
        previous = load_plan(first, articles) if saved else plan
        derived = replan(previous, articles, config, drafts=drafts)
        base = reference if saved else plan
        same = (_kept(base.topics, fresh.topics) and _kept(base.reuse.planner.providers, fresh.reuse.planner.providers)
                and not (drafts and unpublished - gone))
        if same:
            assert derived is not None
        if derived is not None:
            _same_plans(derived, fresh)
            if saved:  # the facts saved with it, partly those noted when `first` was read
                from digest.plan import _facts

                assert load_plan(dump_plan(derived), articles).reuse.former == {
                    a.id: _facts(a) for a in fresh.articles}
        plan = derived or fresh
        if saved and derived is None:
            first, reference = dump_plan(fresh), fresh
        if not saved or derived is None:
            unpublished.clear()


@pytest.mark.parametrize("spelling", [
    "https://a.example/x", "http://A.example/x", "//a.example/x", "https://a.example/x#top",
    "https://a.example/x?", "https://a.example/\tx", "https://a.example/x\r\n", " https://a.example/x ",
])
def test_every_spelling_of_a_url_has_one_identity(spelling):
    from digest.text import url_identity

    assert url_identity(spelling) == "https://a.example/x"


def test_years_before_1000_keep_four_digits_in_paths(make_site):
    """``%Y`` writes the year 2 as ``2``; the README promises ``/YYYY/MM/DD/``."""
    site = make_site({"content/a.md": rec("Ancient", "0002-03-04T10:00:00Z")})
    paths = {p.path for p in plan_site(articles_of(site), Config()).pages}
    assert "0002/03/04/ancient-" in next(p for p in paths if p.endswith("index.html") and "ancient" in p)[:19]
    assert "archive/0002/03/index.html" in paths


def test_a_hotlinked_image_is_a_safe_url_or_none(make_site):
    images = ('[{url: "https://img.example.com/a<c>.jpg", width: 10, height: 10, isCached: false}]',
              '[{url: "https://user@img.example.com/x.jpg", width: 10, height: 10, isCached: false}]',
              '[{url: "//img.example.com/y.jpg", width: 10, height: 10, isCached: false}]',
              '[{url: "https://img.example.com/a b.jpg", width: 10, height: 10, isCached: false}]')
    site = make_site({f"content/{n}.md": rec(f"Story {n}", images=value) for n, value in enumerate(images)})
    planner = plan_site(articles_of(site), Config(hotlink_images=True)).reuse.planner
    srcs = {a.title: planner.card(a)["image"]["src"] for a in planner.articles}
    assert srcs == {"Story 0": "https://img.example.com/a%3Cc%3E.jpg", "Story 1": None,
                    "Story 2": "https://img.example.com/y.jpg",
                    "Story 3": "https://img.example.com/a%20b.jpg"}  # (a space is escaped, as browsers do)


def test_a_saved_plan_label_is_its_article_count(make_site):
    from digest.plan import LABEL_SIZE, label_fits, plan_label

    every = articles_of(make_site(_removal_base()))
    label = plan_label(every)
    assert len(label) == LABEL_SIZE and int(label) == len(every) and label_fits(label)
    assert not label_fits("not a label!") and not label_fits(label[:-1]) and not label_fits(label + "0")
