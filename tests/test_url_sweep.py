"""URL sweep: URLs in the shapes scrapers and news APIs really produce, built and read back.

Records whose ``webUrl``, ``related[].webUrl``, image ``url`` and provider ``domain`` held
spaces and the other characters browsers escape, non-ASCII paths and queries, international
hosts (Unicode and Punycode), upper-case schemes and hosts, white space and line breaks around
and inside, protocol-relative and scheme-less URLs, ``http:/x``, credentials, default ports,
fragments, 10 kB URLs, escapes already there, ampersands copied from HTML (``&amp;``) and
tracking parameters were built with the real
command line; the pages, feeds, sitemap and JSON API were read back and run through
../shared/validate. Each test here is one defect that sweep found, pinned with small records
written inline (see tests/test_scrape_sweep.py for the sweep before it).
"""

from __future__ import annotations

import json
import re

from digest.load import parse_record
from digest.text import safe_url, url_identity
from tests.conftest import record
from tests.test_scrape_sweep import _api, _build


def _page(built, doc: dict) -> str:
    return (built.out / doc["url"].removeprefix("https://example.org/") / "index.html").read_text()


def _outputs(built) -> str:
    """Every text file of the build, one string (to look for what must never be published)."""
    return "\n".join(path.read_text(errors="replace") for path in built.out.rglob("*")
                     if path.is_file() and path.suffix in (".html", ".xml", ".json", ".txt", ".opml"))


def test_a_url_with_spaces_is_escaped_not_refused(make_site):
    """A scraper's ``https://news.example/a story?q=two words`` was refused (a warning, and the
    story lost its source link, the curated entry its link): a browser follows it as
    ``a%20story?q=two%20words``, and so do the page, the feeds and the JSON API now."""
    built = _build(make_site, {
        "content/a.md": record("Spaced", webUrl='"https://news.example/a story?q=two words#a b"',
                               related=json.dumps([{"title": "Rel", "webUrl": "https://r.example/x y"}])),
    })
    assert [str(p) for p in built.problems] == []
    doc = _api(built, "Spaced")
    assert doc["webUrl"] == "https://news.example/a%20story?q=two%20words#a%20b"
    assert doc["related"][0]["webUrl"] == "https://r.example/x%20y"
    page = _page(built, doc)
    assert 'href="https://news.example/a%20story?q=two%20words#a%20b"' in page
    assert 'href="https://r.example/x%20y"' in page
    assert "https://news.example/a%20story?q=two%20words#a%20b" in (built.out / "rss.xml").read_text()
    assert "https://news.example/a%20story" in (built.out / "atom.xml").read_text()
    assert json.loads((built.out / "feed.json").read_text())["items"][0]["external_url"] == doc["webUrl"]
    assert " " not in "".join(re.findall(r'href="([^"]*)"', page))


def test_a_url_with_spaces_is_one_story_with_its_escaped_spelling(make_site):
    """``/a story`` and ``/a%20story`` are one page to a browser: they were two stories (and a
    curated entry in one spelling did not lead to the record in the other); so are ``"`` and
    ``%22``, ``100%`` and ``100%25``, which `safe_url` already wrote one way."""
    for one, other in (("https://n.example/a story", "https://n.example/a%20story"),
                       ('https://n.example/a"b', "https://n.example/a%22b"),
                       ("https://n.example/100%", "https://n.example/100%25"),
                       ("https://n.example/p?q=a b|c", "https://n.example/p?q=a%20b%7Cc")):
        assert url_identity(one) == url_identity(other) == url_identity(safe_url(one)), one
    built = _build(make_site, {
        "content/a.md": record("One", webUrl='"https://n.example/a story"'),
        "content/b.md": record("Two", webUrl='"https://n.example/a%20story"'),
        "content/r.md": record("Review", webUrl='"https://n.example/r"', related=json.dumps(
            [{"title": "S", "webUrl": "https://n.example/a story"}])),
    })
    assert built.articles == 2
    assert [(p.path, p.field, "same story" in p.message) for p in built.problems] == [("content/b.md", "webUrl", True)]
    review = _page(built, _api(built, "Review"))
    assert re.search(r'href="/2024/01/02/one-[0-9a-f]+/"', review)


def test_tabs_and_line_breaks_inside_a_url_are_removed_as_browsers_do():
    """A URL broken over two lines (a scraper's wrapped column, a YAML ``|`` block) was refused
    as holding "a space or a control character": a browser removes tabs and line breaks from a
    link, and so does `safe_url`; other control characters are still refused, and said so."""
    assert safe_url("https://n.example/new\nline") == "https://n.example/newline"
    assert safe_url(" https://n.example/a\tb\r\n ") == "https://n.example/ab"
    assert safe_url("https://n.example/a\x01b") is None
    a = parse_record(record(webUrl='"https://n.example/long\\n  story"').encode(), "content/x.md")
    assert a.article.link == "https://n.example/long%20%20story" and not a.problems
    bad = parse_record(record(webUrl='"https://n.example/a\\x1bb"').encode(), "content/x.md")
    assert [str(p) for p in bad.problems] == [
        "content/x.md:4: warning: webUrl: not a valid URL: it holds a control character; it will not be linked"]


def test_credentials_in_a_provider_domain_or_an_extra_link_are_never_published(make_site):
    """A scraper logged in to a source keeps its URLs with ``user:password@``: a link refused
    them, but a provider's domain written as a URL (``https://user:pass@host/``, or a provider
    given as that text) was published as written in the JSON API (its name on every page, for
    the text), and so was an extra field's http(s) link that is not under a key ending in
    ``url`` (``canonical``, a curated entry's ``shareLink: //token@host/x``). Now the domain is
    its host alone and such links are dropped, each with a warning that does not quote them."""
    built = _build(make_site, {
        "content/a.md": record("Cred", webUrl='"https://n.example/c"',
                               provider='{name: P, domain: "https://user:s3cret@host.example/"}',
                               canonical='"https://user:s3cret@n.example/c"',
                               contact='"mail me@n.example, or see https://medium.com/@n"',
                               related=json.dumps([{"title": "R", "webUrl": "https://r.example/x",
                                                    "provider": {"name": "RP", "domain": "https://me:s3cret@rp.example"},
                                                    "shareLink": "//tok3n@r.example/s"}])),
        "content/b.md": record("Text", webUrl='"https://n.example/t"', provider='"https://user:s3cret@t.example/"'),
    })
    assert sorted((p.path, p.field, p.message) for p in built.problems) == [
        ("content/a.md", "canonical", "a link holding credentials (user@host); dropped"),
        ("content/a.md", "provider.domain", "holds credentials (user@host); only its host name host.example is kept"),
        ("content/a.md", "related[0].provider.domain",
         "holds credentials (user@host); only its host name rp.example is kept"),
        ("content/a.md", "related[0].shareLink", "a link holding credentials (user@host); dropped"),
        ("content/b.md", "provider", "holds credentials (user@host); only its host name t.example is kept"),
    ]
    assert "s3cret" not in _outputs(built) and "tok3n" not in _outputs(built)
    doc = _api(built, "Cred")
    assert doc["provider"]["domain"] == "host.example" and doc["related"][0]["provider"]["domain"] == "rp.example"
    assert doc["contact"] == "mail me@n.example, or see https://medium.com/@n"  # (no credentials: text kept)
    assert _api(built, "Text")["provider"] == {"name": "t.example", "domain": "t.example"}


def test_the_json_api_drops_an_extra_link_holding_credentials_however_it_was_made():
    """The second line of defence (`digest.feeds.public_value`, for extra data load did not see)
    makes the same decision as load."""
    from digest.feeds import public_value

    assert public_value("page", {"a": "https://u:p@h.example/", "b": "//t@h.example/x", "c": " HTTP://u@h.example",
                                 "d": "me@h.example", "e": "https://h.example/@me"}) == {
        "d": "me@h.example", "e": "https://h.example/@me"}


def test_published_links_carry_no_tracking_parameters(make_site):
    """When the copy of a story shared with a campaign tag won de-duplication (updated later), its
    link kept ``utm_source=twitter&fbclid=...`` on the page, in every feed and in the JSON API:
    telling the source and the ad networks where each reader came from, and a click id tying
    them to one person's click. Published links now leave tracking parameters out (the same ones
    `url_identity` ignores), everywhere a link is made: the source link, curated entries, extra
    ``...Url`` fields and links in the note; other parameters and the fragment stay."""
    tagged = "https://news.example/story?utm_source=twitter&id=5&fbclid=IwAR0x#comments"
    built = _build(make_site, {
        "content/a.md": record("Story", webUrl='"https://news.example/story?id=5"'),
        "content/b.md": record("Story shared", webUrl=json.dumps(tagged), updatedDateTime="2024-01-03T10:00:00Z",
                               ampWebUrl='"https://news.example/amp/story?utm_medium=social"',
                               related=json.dumps([{"title": "Rel", "webUrl": "https://r.example/x?gclid=1&utm_campaign=c"}]))
        + "See [the thread](https://forum.example/t?utm_source=digest&page=2).\n",
    })
    assert built.articles == 1
    doc = _api(built, "Story shared")
    clean = "https://news.example/story?id=5#comments"
    assert doc["webUrl"] == clean and doc["ampWebUrl"] == "https://news.example/amp/story"
    assert doc["related"][0]["webUrl"] == "https://r.example/x"
    assert 'href="https://forum.example/t?page=2"' in doc["note"]
    outputs = _outputs(built)
    for tag in ("utm_", "fbclid", "gclid"):
        assert tag not in outputs, tag
    page = _page(built, doc)
    assert 'href="https://news.example/story?id=5#comments"' in page and 'href="https://r.example/x"' in page
    assert f'<source url="{clean}">' in (built.out / "rss.xml").read_text()
    assert f'rel="via" href="{clean}"' in (built.out / "atom.xml").read_text()
    assert json.loads((built.out / "feed.json").read_text())["items"][0]["external_url"] == clean


def test_a_link_and_its_story_agree_and_the_identity_shortcut_answers_as_the_full_reading(monkeypatch):
    """What `safe_url` escapes, removes or leaves out (a space, ``"``, a stray ``%``, tabs and line
    breaks, tracking parameters), `url_identity` reads as the same story: a link and the URL it
    was made from are one story. Its shortcut for plain URLs answers what its full reading does."""
    import random
    import string

    import digest.text as text

    rnd = random.Random(11)
    alphabet = string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%<>\"{}|\\^` \t\né\u00a0"
    starts = ["http://", "https://", "HTTPS://", "//", "https://n.example/", "https://N.example/a?utm_source=x&",
              "https://n.example/s?", "https://xn--bcher-kva.example/", "https://bücher.example/", "https://n.example:443/"]
    urls = [rnd.choice(starts) + "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 24)))
            for _ in range(20000)]
    linked = 0
    for url in urls:
        link = safe_url(url)
        if link is not None:
            linked += 1
            assert url_identity(link) == url_identity(url), url
    assert linked > 5000
    fast = {url: url_identity(url) for url in urls}
    monkeypatch.setattr(text, "_REPARSED", re.compile(""))  # (matches every URL: the full reading each time)
    assert {url: url_identity(url) for url in urls} == fast


def test_an_autolink_holding_credentials_in_a_note_shows_no_password():
    """``<https://user:pass@host/x>`` in a note: its link was refused, and its text, the URL
    itself, published the password. The text now shows the URL without them; other refused
    links keep their text as before, and an ``@`` after the host is no credential."""
    from digest.text import render_note

    html = render_note("A <https://u:p@ss@h.example/b?q=a@b>, [x](https://u:s3cret@h.example/a), "
                       "[https://t0k@h.example/](https://t0k@h.example/), <https://h.example/@me>")
    assert "s3cret" not in html and "p@ss" not in html and "t0k" not in html
    assert "A https://h.example/b?q=a@b, x, https://h.example/, " in html
    assert '<a href="https://h.example/@me" rel="noopener noreferrer">https://h.example/@me</a>' in html


def test_an_image_warning_does_not_print_the_credentials_its_url_holds(make_site):
    """A warning for a cached image quoted its URL whole, password included, in the build's log
    (a CI log others read); the URL is shown without them, as a refused link is not quoted."""
    images = '[{url: "https://user:s3cret@cdn.example/a.jpg", width: 10, height: 10, isCached: true}]'
    built = _build(make_site, {"content/a.md": record("Pic", images=images)})
    assert [(p.field, p.message.split(":", 2)[:2]) for p in built.problems] == [
        ("images[0]", ["https", "//cdn.example/a.jpg"])]
    assert "s3cret" not in built.problems[0].message


def test_an_ampersand_copied_from_html_is_the_ampersand_a_browser_reads(make_site):
    """Scrapers copy an ``href`` as the HTML wrote it: ``?id=5&amp;page=2`` (WordPress writes
    ``&#038;``). The link asked the source for a parameter named ``amp;page`` (a browser reading
    that ``href`` asks for ``page``), and the copy with a plain ``&`` was another story."""
    assert safe_url("https://n.example/s?id=5&amp;page=2&#038;x=1&#x26;y") == "https://n.example/s?id=5&page=2&x=1&y"
    assert url_identity("https://n.example/s?id=5&amp;page=2") == url_identity("https://n.example/s?id=5&page=2")
    assert safe_url("https://n.example/a;b?c=d&e") == "https://n.example/a;b?c=d&e"  # (no entity: as written)
    built = _build(make_site, {
        "content/a.md": record("Plain", webUrl='"https://n.example/s?id=5&page=2"'),
        "content/b.md": record("Copied", webUrl='"https://n.example/s?id=5&amp;page=2"', updatedDateTime="2024-01-03"),
    })
    assert built.articles == 1 and [p.field for p in built.problems] == ["webUrl"]
    doc = _api(built, "Copied")
    assert doc["webUrl"] == "https://n.example/s?id=5&page=2"
    assert 'href="https://n.example/s?id=5&amp;page=2"' in _page(built, doc)  # (HTML's own escape of "&")
