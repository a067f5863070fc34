"""Cross-record sweep: records that meet on the site (one story spelled two ways, sources
that share a page, ...) and what the built site makes of them."""

from __future__ import annotations

import json

import pytest

from digest.build import build
from digest.text import url_identity
from tests.conftest import record


def _build(make_site, files: dict[str, str]):
    site = make_site({"digest.toml": 'search = false\nbase_url = "https://example.org/"\n', **files})
    return build(site, jobs=1)


@pytest.mark.parametrize(("spelling", "other"), [
    ("https://news.example/wiki/Bücher", "https://news.example/wiki/B%C3%BCcher"),
    ("https://news.example/wiki/B%c3%bccher", "https://news.example/wiki/B%C3%BCcher"),
    ("https://bücher.example/x", "https://xn--bcher-kva.example/x"),
    ("http://BÜCHER.example.:80/x/#top", "https://xn--bcher-kva.example/x"),
    ("https://news.example/%7Euser/a%2db", "https://news.example/~user/a-b"),
    ("https://news.example/s?q=café", "https://news.example/s?q=caf%c3%a9"),
])
def test_one_url_written_with_escapes_or_an_international_host_is_one_story(spelling, other):
    """A URL's path written with its letters (``/wiki/Bücher``) or their %-escapes, escapes in
    either case, an escaped ``~``, and an international host in Unicode or Punycode name one
    resource (RFC 3986, 6.2.2; a browser asks for the same), but each was a story of its own:
    two records of one story (one scraper writes the URL as a browser shows it, another as it
    sends it) were two pages, and a ``related`` entry in the other spelling linked away."""
    assert url_identity(spelling) == url_identity(other)


@pytest.mark.parametrize(("one", "other"), [
    ("https://news.example/a%2Fb", "https://news.example/a/b"),  # (an escaped / is no path separator)
    ("https://news.example/a?x=%26", "https://news.example/a?x=&"),
    ("https://news.example/B%C3%BCcher", "https://news.example/b%C3%BCcher"),
])
def test_escapes_that_change_the_url_still_make_another_story(one, other):
    """Only escapes of unreserved characters are decoded: ``%2F`` and ``%26`` stay, the path's case counts."""
    assert url_identity(one) != url_identity(other)


def test_two_records_of_one_story_in_two_url_spellings_make_one_page(make_site):
    """Each spelling was a story of its own: the site showed the story twice, with no warning."""
    built = _build(make_site, {
        "content/a.md": record("Bücher", webUrl='"https://bücher.example/wiki/Bücher"'),
        "content/b.md": record("Bücher again", webUrl='"https://xn--bcher-kva.example/wiki/B%c3%bccher"'),
        "content/r.md": record("Review", webUrl='"https://n.example/r"',
                               related=json.dumps([{"title": "B", "webUrl": "https://bücher.example/wiki/B%C3%BCcher"}])),
    })
    assert built.articles == 2
    assert [(p.path, p.field) for p in built.problems] == [("content/b.md", "webUrl")]
    assert "same story as content/a.md" in built.problems[0].message
    review = next(built.out.glob("2024/01/02/review-*/index.html")).read_text()
    page = next(built.out.glob("2024/01/02/bucher-*/")).name
    assert f'href="/2024/01/02/{page}/"' in review


def test_a_source_known_by_its_name_alone_claims_no_domain(make_site):
    """A source without a domain is known by its name, folded (``the guardian``): that key was
    shown as its domain, in the JSON API's list of sources, on its page and in its feeds
    ("from The Guardian (the guardian)"), and a name with a dot (``Yahoo.News``) got a made-up
    home page, ``https://yahoo.news/``, as its feed entries' author. A source that a record
    names by its domain keeps it, even when the first record (by path) gave none."""
    built = _build(make_site, {
        "content/a.md": record("Guardian story", provider='{"name": "The Guardian"}'),
        "content/b.md": record("Yahoo story", provider='{"name": "Yahoo.News"}'),
        "content/c.md": record("Reuters first", provider='{"name": "reuters.com"}'),
        "content/d.md": record("Reuters second", provider='{"name": "Reuters", "domain": "www.reuters.com"}'),
    })
    assert built.problems == []
    sources = {s["name"]: s for s in json.loads((built.out / "api/index.json").read_text())["sources"]}
    assert "domain" not in sources["The Guardian"] and "domain" not in sources["Yahoo.News"]
    assert sources["Reuters"]["domain"] == "reuters.com"  # (c.md's name, d.md's domain: one source)
    guardian = (built.out / "sources/the-guardian/index.html").read_text()
    assert "The latest curated stories from The Guardian." in guardian
    assert "(the guardian)" not in guardian
    assert "The latest curated stories from Reuters (reuters.com)." in (built.out / "sources/reuters-com/index.html").read_text()
    atom = (built.out / "atom.xml").read_text()
    assert "yahoo.news/" not in atom
    assert "<uri>https://reuters.com/</uri>" in atom
    yahoo = next(built.out.glob("2024/01/02/yahoo-story-*/index.html")).read_text()
    assert "yahoo.news/" not in yahoo  # (its JSON-LD author)
    assert '"url":"https://reuters.com/"' in next(built.out.glob("2024/01/02/reuters-first-*/index.html")).read_text()


def test_two_sources_of_one_name_are_told_apart_by_their_domain(make_site):
    """Two sources named alike at two domains (Reuters at reuters.com and reuters.co.uk) had
    two pages of one title and heading, two links of one text in the list of sources, and
    one value of the search's source filter (which then found the stories of both)."""
    built = _build(make_site, {
        "content/a.md": record("Story one", provider='{"name": "Reuters", "domain": "www.reuters.com"}'),
        "content/b.md": record("Story two", provider='{"name": "REUTERS", "domain": "reuters.co.uk"}'),
        "content/c.md": record("Story three", provider='{"name": "Reuters"}'),
        "content/d.md": record("Story four", provider='{"name": "AP", "domain": "apnews.com"}'),
    })
    assert built.problems == []
    index = (built.out / "sources/index.html").read_text()
    assert ">Reuters (reuters.com)</a>" in index and ">REUTERS (reuters.co.uk)</a>" in index
    assert ">Reuters</a>" in index and ">AP</a>" in index  # (known by its name alone; no other AP)
    assert "<h1" in (page := (built.out / "sources/reuters-co-uk/index.html").read_text())
    assert "REUTERS (reuters.co.uk)" in page[page.index("<h1"):]
    story = next(built.out.glob("2024/01/02/story-two-*/index.html")).read_text()
    assert 'data-pagefind-filter="source" dir="auto">REUTERS (reuters.co.uk)</a>' in story
    titles = {s["name"] for s in json.loads((built.out / "api/index.json").read_text())["sources"]}
    assert titles == {"Reuters (reuters.com)", "REUTERS (reuters.co.uk)", "Reuters", "AP"}
