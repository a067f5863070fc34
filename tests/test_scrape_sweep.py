"""Scrape sweep: records as scrapers and APIs really leave them, built and read back.

Copies of the real records (kept outside the repository) were mutated the way scrapers write
them: HTML and entities in text fields, mojibake, Windows-1252 bytes, byte order marks, CR and
CRLF line endings, tabs and Unicode spaces in names, zero-width and bidirectional controls;
relative, protocol-relative, fragment-only, ``javascript:``/``data:``, spaced, Unicode, very long,
AMP and tracking variants of URLs; epoch, RFC 2822, naive, future and out-of-range dates; topics
and sources that differ only by case, accents, punctuation, spaces or emoji, or that slug to
nothing or to a reserved name; huge values and empty strings everywhere. The site was built and
run through ../shared/validate. Each test here is one defect that sweep found, pinned with small
records written inline (see tests/test_hostile*.py, test_mutation_sweep.py,
test_output_audit*.py and test_cross_sweep.py for the earlier sweeps).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from digest.build import build
from digest.load import future_dates, load_content
from digest.text import strip_markup, url_identity
from tests.conftest import record


def _build(make_site, files: dict[str, str]):
    site = make_site({"digest.toml": 'search = false\nbase_url = "https://example.org/"\n', **files})
    return build(site, jobs=1)


def _api(built, title: str) -> dict:
    for path in (built.out / "api/articles").glob("*.json"):
        doc = json.loads(path.read_text())
        if doc["title"] == title:
            return doc
    raise AssertionError(f"no article {title!r}")


def test_urls_that_name_no_story_have_no_identity():
    """``#top``, ``#comments``, ``?page=2``, ``http://`` and ``javascript:void(0)`` all name no
    story: their identity was ``""`` (or the pseudo-URL itself), shared by every record that
    had one."""
    for url in ("#", "#top", "?page=2", "http://", "https://", "https:///x", "//",
                "javascript:void(0)", "data:text/html,hi", "about:blank"):
        assert url_identity(url) == "", url
    assert url_identity("/news/x") == "/news/x"  # (a path of the scraper's own site: kept as written)
    assert url_identity("https://news.example/x#top") == "https://news.example/x"


def test_records_whose_url_names_no_story_are_not_one_story(make_site):
    """A scraper that cannot resolve a link leaves ``#`` or ``javascript:void(0)``: every such
    record was "the same story" as the first one, and skipped with that warning."""
    built = _build(make_site, {
        "content/a.md": record("One", webUrl='"#top"'),
        "content/b.md": record("Two", webUrl='"#main-content"'),
        "content/c.md": record("Three", webUrl='"javascript:void(0)"'),
        "content/d.md": record("Four", webUrl='"javascript:void(0)"'),
        "content/e.md": record("Five", webUrl='"http://"'),
        "content/f.md": record("Six", webUrl='"https://"'),
    })
    assert built.articles == 6
    assert not [p for p in built.problems if "same story" in p.message]


def test_a_related_entry_with_a_fragment_url_links_to_no_other_record(make_site):
    """A curated entry whose ``webUrl`` is ``#frag`` linked to the page of whichever record had a
    fragment-only ``webUrl`` (its title on the entry in the JSON API, another story's on the page)."""
    built = _build(make_site, {
        "content/a.md": record("Fragment story", webUrl='"#top"'),
        "content/b.md": record("Review", webUrl='"https://n.example/r"',
                               related=json.dumps([{"title": "Rel frag", "webUrl": "#frag"}])),
    })
    assert _api(built, "Review")["related"] == []
    page = next(built.out.glob("2024/01/02/review-*/index.html")).read_text()
    assert "fragment-story" not in page and "Rel frag" not in page


def test_html_markup_in_text_fields_is_removed_with_a_warning(make_site):
    """Scrapers copy an RSS description or a headline's markup as it is: the pages showed the tags
    as text (``<b>Power Apps</b> news<br>second line``, a ``<p>`` excerpt with its ``<img onerror>``),
    on every card, in feeds and in the JSON API, and a title's slug held ``b-power-apps-b``."""
    built = _build(make_site, {
        "content/a.md": record("<b>Power Apps</b> news<br>second line",
                               excerpt=json.dumps('<p>First</p><p>Second <a href="javascript:x()">link</a>'
                                                  '<img src=x onerror=alert(1)><script>alert(2)</script></p>'),
                               related=json.dumps([{"title": "<i>Rel</i> one", "webUrl": "https://r.example/1"}]),
                               topics='["<b>Cloud</b>"]', provider='{"name": "<span>Reuters</span>"}'),
        "content/b.md": record("Why <div> soup is bad", excerpt='"AT&amp;amp;T: &lt;b&gt; is a tag"'),
    })
    warned = sorted((p.path, p.field, p.line) for p in built.problems)
    assert warned == [("content/a.md", f, line) for f, line in
                      (("excerpt", 4), ("provider.name", 7), ("related[0].title", 5), ("title", 2), ("topics[0]", 6))]
    assert all("HTML markup removed" in p.message for p in built.problems)
    doc = _api(built, "Power Apps news second line")
    assert doc["excerpt"] == "First Second link"
    assert doc["related"][0]["title"] == "Rel one"
    assert doc["topics"] == ["Cloud"] and doc["provider"]["name"] == "Reuters"
    assert "/power-apps-news-second-line-" in doc["url"]
    page = (built.out / doc["url"].removeprefix("https://example.org/") / "index.html").read_text()
    assert "&lt;b&gt;" not in page and "onerror" not in page and "alert" not in page
    # Text that only looks like markup is text: an element the text never closes, an escaped tag.
    other = _api(built, "Why <div> soup is bad")
    assert other["excerpt"] == "AT&T: <b> is a tag"


def test_a_comment_or_script_the_text_never_ends_is_text_not_markup():
    """A headline about HTML names its tags: a comment or a script, style, title... was markup up
    to the end of the text when nothing ended it, so ``The <title> tag explained`` was read as
    ``The``. Ended, they go with what they hold, in any case; unended, the text stays as written."""
    for headline in ("The <title> tag explained", "How <script> tags slow your site", "Use an <iframe> well",
                     "Why <!-- comments --> matter", "x <svg> y"):
        assert strip_markup(headline) in (None, headline.replace("<!-- comments -->", " ")), headline
    assert strip_markup("a <!-- unended") is None
    assert strip_markup("<SCRIPT src=x>bad()</Script >ok") == " ok"
    assert strip_markup("one <!-- a --> two <!-- b") == "one   two <!-- b"
    assert strip_markup("<style>p{}</style>" + "<script>" * 1000 + "x") == " " + "<script>" * 1000 + "x"


def test_tracking_and_amp_cache_variants_of_one_url_are_one_story(make_site):
    """One story reached a scraper twice: from the feed, and shared with a campaign tag
    (``?utm_source=twitter``) or as the AMP cache's copy; each was a story of its own, the site
    showed it twice and a ``related`` entry in the other spelling linked away."""
    same = [
        ("https://news.example/story", "https://news.example/story?utm_source=twitter&utm_medium=social"),
        ("https://news.example/story?id=5", "https://news.example/story?fbclid=IwAR0x&id=5&gclid=abc"),
        ("https://news.example/amp/story", "https://news-example.cdn.ampproject.org/c/s/news.example/amp/story"),
        ("https://news.example/amp/story", "https://www.google.com/amp/s/news.example/amp/story"),
        ("http://news.example/x", "https://news-example.cdn.ampproject.org/c/news.example/x"),
    ]
    for one, other in same:
        assert url_identity(one) == url_identity(other), other
    for one, other in [("https://news.example/story", "https://news.example/story?id=5"),
                       ("https://news.example/s?autm_source=1", "https://news.example/s"),
                       ("https://news.example/amp/story", "https://news.example/story")]:
        assert url_identity(one) != url_identity(other), other  # (other parameters and paths still count)
    built = _build(make_site, {
        "content/a.md": record("Story", webUrl='"https://news.example/story"'),
        "content/b.md": record("Story shared", webUrl='"https://news.example/story?utm_source=twitter"'),
        "content/r.md": record("Review", webUrl='"https://news.example/r"', related=json.dumps(
            [{"title": "S", "webUrl": "https://news.example/story?utm_campaign=x&fbclid=y"}])),
    })
    assert built.articles == 2
    assert [(p.path, p.field) for p in built.problems] == [("content/b.md", "webUrl")]
    review = next(built.out.glob("2024/01/02/review-*/index.html")).read_text()
    page = next(built.out.glob("2024/01/02/story-*/")).name
    assert f'href="/2024/01/02/{page}/"' in review


def test_a_record_dated_in_the_future_is_a_warning(make_site):
    """A scraper's wrong clock, zone or epoch unit dates a story in 2099: it headed the front page,
    its edition and every feed, with no word (an update time in 2030 was every feed's and the
    sitemap's). Now a warning at its line (drafts, scheduled, and a
    date within a day of the build's clock, as zones differ, are not)."""
    built = _build(make_site, {
        "content/a.md": record("Future", when="2099-06-03T10:00:00Z"),
        "content/b.md": record("Scheduled", when="2099-06-03T10:00:00Z", published="false"),
        "content/c.md": record("Today", when="2024-06-03T10:00:00Z", updatedDateTime="1917408800"),
    })
    assert [(p.path, p.line, p.field, p.severity) for p in built.problems] == [
        ("content/a.md", 3, "publishedDateTime", "warning"), ("content/c.md", 4, "updatedDateTime", "warning")]
    assert "2099-06-03T10:00:00+00:00 is in the future" in built.problems[0].message
    site = make_site({"content/a.md": record("Soon", when=(datetime.now(UTC) + timedelta(hours=20))
                                             .strftime("%Y-%m-%dT%H:%M:%SZ"))})
    assert future_dates(load_content(site, site / "content").articles) == []


def test_a_title_that_shows_nothing_once_read_says_what_it_was(make_site):
    """A title of ``&nbsp;`` or ``<br>`` (a scraper's empty headline cell) was reported as "got an
    empty string", which the file plainly does not hold."""
    built = _build(make_site, {
        "content/a.md": record("&nbsp;"),
        "content/b.md": record("<br>"),
        "content/c.md": record(""),
    })
    assert [(p.path, p.message) for p in built.problems if p.severity == "error"] == [
        ("content/a.md", "expected a non-empty string, got text that shows nothing once read "
                         "(only spaces, entities such as &nbsp; or markup such as <br>)"),
        ("content/b.md", "expected a non-empty string, got text that shows nothing once read "
                         "(only spaces, entities such as &nbsp; or markup such as <br>)"),
        ("content/c.md", "expected a non-empty string, got an empty string"),
    ]


def test_windows_1252_bytes_are_read_as_such_with_a_warning(make_site):
    """A scraper that saved Windows-1252 (``Caf\\xe9``, ``\\x93quoted\\x94``, ``it\\x92s``) lost the
    whole record: "not valid UTF-8 (byte 0xe9 at offset 30)", skipped. Each byte that is not UTF-8
    is now read as Windows-1252, with a warning at the first one's line and field; the rest of
    the file is read as UTF-8, as it is."""
    built = _build(make_site, {
        "content/a.md": b'---\ntitle: "Caf\xe9 \x93quoted\x94 it\x92s"\npublishedDateTime: 2024-01-02T10:00:00Z\n'
                        b'webUrl: "https://n.example/a"\ntopics: ["' + "Caf\u00e9\", \"\u2019".encode() + b'"]\n'
                        b'images: [{url: "https://i.example/x.jpg", isCached: true}]\n---\nNote \x96 dash.\n',
        "content/b.md": b"\xef\xbb\xbf---\r\ntitle: T\r\npublishedDateTime: 2024-01-02T10:00:00Z\r\nprovider:\r\n"
                        b"  name: M\xfcller\r\n---\r\n",
    })
    assert built.articles == 2
    assert [str(p) for p in built.problems if "UTF-8" in p.message] == [
        "content/a.md:2: warning: title: not valid UTF-8 (byte 0xe9 at offset 15, and 4 more); "
        "read as Windows-1252 (\u00e9); save the file as UTF-8",
        "content/b.md:5: warning: provider: not valid UTF-8 (byte 0xfc at offset 79); "
        "read as Windows-1252 (\u00fc); save the file as UTF-8",
    ]
    doc = _api(built, "Caf\u00e9 \u201cquoted\u201d it\u2019s")
    assert doc["note"] == "<p>Note \u2013 dash.</p>"
    assert doc["topics"] == ["Caf\u00e9", "\u2019"]  # (its UTF-8 is UTF-8)
    assert _api(built, "T")["provider"]["name"] == "M\u00fcller"
    # The image warning found after loading is at its line too (the file is read again so).
    assert [p.line for p in built.problems if p.field == "images[0]"] == [6]
