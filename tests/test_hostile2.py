"""Hostile input, second sweep: defects found by building sites from odd records through the CLI.

Each test is a defect once found (see tests/test_hostile.py for the first sweep).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from digest.build import build
from digest.load import load_content, parse_record
from digest.text import safe_url

from .conftest import record


def article(text: str):
    result = parse_record(text.encode("utf-8"), "content/x.md")
    assert result.article is not None, [str(p) for p in result.problems]
    return result.article, [str(p) for p in result.problems]


# --------------------------------------------------------------------------- duplicates


def test_one_story_in_different_spellings_of_its_web_url_is_kept_once(make_site):
    # `webUrl` is the story's identity: scheme, host case, `//` and a fragment do not change it.
    spellings = ["https://news.example.com/same", "http://News.Example.com/same#top", "//news.example.com/same"]
    site = make_site({f"content/{n}.md": record(f"Copy {n}", webUrl=f'"{url}"')
                      for n, url in enumerate(spellings)})
    loaded = load_content(site, site / "content")
    assert [a.source for a in loaded.articles] == ["content/0.md"]
    assert [str(p) for p in loaded.problems] == [
        f"content/{n}.md:4: warning: webUrl: same story as content/0.md; this copy is skipped" for n in (1, 2)]


# --------------------------------------------------------------------------- links


@pytest.mark.parametrize(("given", "link"), [
    # Characters a URL may not hold (the Nu checker: "Illegal character in query"): escaped.
    ('https://a.example/x?a=1&b=<2>"x', "https://a.example/x?a=1&b=%3C2%3E%22x"),
    ("https://a.example/p[1]/{x}|^`?q=[a]", "https://a.example/p%5B1%5D/%7Bx%7D%7C%5E%60?q=%5Ba%5D"),
    ("https://a.example/100%/x?d=5%&e=%41", "https://a.example/100%25/x?d=5%25&e=%41"),
    ("https://a.example/x#a#b<", "https://a.example/x#a%23b%3C"),
    ("https://a.example/a\\b", "https://a.example/a%5Cb"),
    ("https://[::1]:8080/x", "https://[::1]:8080/x"),
    ("https://bücher.de/é?q=ü", "https://bücher.de/é?q=ü"),
    # Credentials (`https://bank.example@evil.example/`) and hosts that are no domain name: refused.
    ("https://user:pw@a.example/", None), ("https://bank.example@evil.example/", None),
    ("https://a.example\\@evil.example/", None), ("https://a..example/", None),
    ("https://a%20b.example/", None), ("https://a!b.example/", None), ("https://[zz]/", None),
])
def test_links_are_valid_urls_or_refused(given, link):
    assert safe_url(given) == link


def test_mailto_links_in_notes_are_valid_urls():
    from digest.text import render_note

    html = render_note('[m](mailto:a@b.example?subject=a|b{c}) [n](mailto:a@b.example?x=%zz) [p](mailto:a"b@c.example)')
    assert 'href="mailto:a@b.example?subject=a%7Cb%7Bc%7D"' in html
    assert 'href="mailto:a@b.example?x=%25zz"' in html
    assert 'href="mailto:a%22b@c.example"' in html


def test_an_odd_web_url_becomes_a_valid_link_on_the_page_and_in_the_feeds(make_site):
    site = make_site({"content/a.md": record("Odd", webUrl='"https://a.example/x?a=1&b=<2>\\"x"'),
                      "digest.toml": "search = false\n"})
    build(site, jobs=1)
    pages = [p.read_text(encoding="utf-8") for p in (site / "build").rglob("*") if p.suffix in (".html", ".xml", ".json")]
    assert any("https://a.example/x?a=1&amp;b=%3C2%3E%22x" in text for text in pages)
    assert not any("b=<2>" in text or "b=&lt;2&gt;" in text for text in pages)


# --------------------------------------------------------------------------- locale


@pytest.mark.parametrize(("given", "lang"), [
    ("en-us", "en-us"), ("pt_BR", "pt-BR"), ("zh-Hant-TW", "zh-Hant-TW"), ("es-419", "es-419"),
    ("fil", "fil"), ("de", "de"),
    # Shaped like a tag but no language (the Nu checker: "not a valid ISO language part"): ignored.
    ("zz", None), ("xx-yy", None), ("en-ZZZZZZZZ", None), ("english", None), ("en-999", None),
    ("en-a-bbb", None), ("eng", None),
])
def test_a_locale_becomes_the_page_language_only_when_it_is_a_real_language_tag(given, lang):
    a, problems = article(record(locale=f'"{given}"'))
    assert a.locale == (lang or "")
    assert problems == ([] if lang else [f"content/x.md:4: warning: locale: expected a language tag such as en-us, "
                                         f"got {given!r}; ignored"])


# --------------------------------------------------------------------------- numbers


def test_huge_quality_and_heat_are_unknown_with_a_warning_and_the_site_builds(make_site):
    # A 400-digit quality stopped the whole build (no float holds it: OverflowError in ranking),
    # and a 5,000-digit one (past Python's int conversion limit) made the record "invalid YAML".
    numbers = {"q400": ("9" * 400, "5"), "h400": ("5", "-" + "9" * 400), "q5000": ("9" * 5000, "1"),
               "text": ('"1e308"', '"-1e20"')}
    site = make_site({"digest.toml": "search = false\n", **{
        f"content/{name}.md": record(name, quality=quality, heat=heat) for name, (quality, heat) in numbers.items()}})
    result = build(site, jobs=1)
    warnings = sorted(str(p) for p in result.problems)
    assert warnings == sorted([
        "content/q400.md:4: warning: quality: expected an integer, got an integer out of range; treated as unknown",
        "content/h400.md:5: warning: heat: expected an integer, got an integer out of range; treated as unknown",
        "content/q5000.md:4: warning: quality: expected an integer, got an integer out of range; treated as unknown",
        "content/text.md:4: warning: quality: expected an integer, got a number out of range; treated as unknown",
        "content/text.md:5: warning: heat: expected an integer, got a number out of range; treated as unknown",
    ])
    assert len(list((site / "build" / "2024").glob("*/*/*/index.html"))) == 4


def test_an_image_size_written_as_text_is_not_printed_as_a_300_digit_number():
    _, problems = article(record(images='[{url: "https://i.example/a.jpg", width: "1e300", height: 2e9}]'))
    assert problems == ["content/x.md:4: warning: images[0].width: expected a positive integer, got a number out of range",
                        "content/x.md:4: warning: images[0].height: expected a positive integer, got 2000000000"]


# --------------------------------------------------------------------------- command line


def test_an_absurd_job_count_is_capped_not_forked(make_site, monkeypatch, capsys):
    # `-j 100000` forked processes until memory ran out, and left thousands of orphans.
    import os

    import digest.build
    from digest.cli import main
    from digest.errors import DigestError

    seen = {}

    def fake_build(site, out=None, drafts=False, jobs=None, progress=None):
        seen["jobs"] = jobs
        raise DigestError("stop here")

    monkeypatch.setattr(digest.build, "build", fake_build)
    site = make_site({"content/a.md": record("A")})
    assert main(["build", str(site), "-j", "100000"]) == 1
    cap = 4 * (os.cpu_count() or 1)
    assert seen["jobs"] == cap
    assert f"-j 100000: using {cap} worker processes (4 per core at most)" in capsys.readouterr().err
    # (publish's -j counts upload threads, not processes: not capped)
    import digest.publish.command

    monkeypatch.setattr(digest.publish.command, "run", lambda args, *_: seen.update(jobs=args.jobs) or 0)
    assert main(["publish", str(site), "--to", "x", "-j", str(cap + 1)]) == 0
    assert seen["jobs"] == cap + 1


# --------------------------------------------------------------------------- characters

# What the Nu checker calls "Forbidden code point" or "Astral non-character" in HTML text.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
                       + "".join(chr(plane * 0x10000 + 0xFFFE) + chr(plane * 0x10000 + 0xFFFF) for plane in range(1, 17))
                       + "]")


def test_character_references_in_a_note_never_make_forbidden_characters():
    # Python-Markdown decodes &#xFFFF; and &#11; itself, after load removed such characters.
    a, _ = article(record() + "a &#xFFFF; &#xFFFE; &#x1FFFE; &#x10FFFF; &#11; &#127; &#x85; &#1; b\n")
    assert not FORBIDDEN.search(a.body_html), repr(a.body_html)
    assert a.body_html.startswith("<p>a ") and a.body_html.endswith(" b</p>")


def test_astral_noncharacters_never_reach_text_fields():
    a, _ = article(record(title=r"x \U0001FFFE y \U0010FFFF", excerpt=r'"e \U0002FFFF"',
                          topics=r'["t\U0001FFFF"]') + "note \U0001fffe \U000effff\n")
    for value in (a.title, a.excerpt, a.topics[0], a.body_html):
        assert not FORBIDDEN.search(value), repr(value)
    assert (a.title, a.excerpt, a.topics) == ("x y", "e", ("t",))


def test_a_related_entry_with_an_empty_title_says_so():
    _, problems = article(record(related='[{title: "  ", webUrl: "https://r.example/1"}, {webUrl: "https://r.example/2"}]'))
    assert problems == [
        "content/x.md:4: warning: related[0].title: expected a non-empty string, got an empty string; entry ignored",
        "content/x.md:4: warning: related[1].title: expected a non-empty string, got nothing (null); entry ignored",
    ]


# --------------------------------------------------------------------------- digest.toml


@pytest.mark.parametrize("url", ["https://example.org/my news/", "https://example.org/<x>/",
                                 "https://user:pw@example.org/", "https://exa mple.org/", "https://example.org/100%/"])
def test_a_base_url_that_would_make_every_link_invalid_is_a_config_problem(url):
    # Its path prefixes every link of the site: a space or '<' made every page invalid HTML.
    from digest.config import parse_config
    from digest.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_config(f'base_url = "{url}"\n')
    assert [str(p) for p in caught.value.problems] == [
        "digest.toml:1: base_url: expected a URL without credentials, with a host name, and with spaces and "
        "other characters a URL may not hold percent-escaped (%20), e.g. https://example.org/my%20news/, "
        f"got a string '{url}'"]


def test_a_percent_escaped_base_url_is_fine():
    from digest.config import parse_config

    assert parse_config('base_url = "https://example.org/my%20news/"\n').base_url == "https://example.org/my%20news/"


# --------------------------------------------------------------------------- dates


def test_an_early_year_is_written_with_four_digits_in_feeds_and_sitemap(make_site):
    # strftime("%Y") writes year 2 as "2": every Atom, JSON Feed and sitemap date of it was invalid.
    from digest.feeds import rfc3339

    assert rfc3339(datetime(2, 1, 1, 0, 0, tzinfo=UTC)) == "0002-01-01T00:00:00Z"
    site = make_site({"digest.toml": "search = false\n",
                      "content/a.md": record("Old", when='"0002-01-01T00:00:00Z"', topics="[t]")})
    build(site, jobs=1)
    for name in ("atom.xml", "feed.json", "sitemap.xml", "topics/t/atom.xml"):
        text = (site / "build" / name).read_text(encoding="utf-8")
        assert "0002-01-01T00:00:00Z" in text and '"2-01-01' not in text and ">2-01-01" not in text, name


# --------------------------------------------------------------------------- sizes


def test_megabyte_names_are_cut_with_a_warning():
    # A 3 MB title is on every listing, feed and sidebar that shows its card: a 59 MB site from 20 records.
    big = "word " * 200_000
    a, problems = article(record(title=big, topics=f'["{big}", "short"]', provider=f'{{name: "{big}"}}',
                                 related=f'[{{title: "{big}", webUrl: "https://r.example/1"}}]'))
    assert len(a.title) <= 1000 and a.title.endswith("…")
    assert [len(t) <= 200 for t in a.topics] == [True, True] and a.topics[1] == "short"
    assert len(a.provider.name) <= 200 and len(a.provider.key) < 210  # (NFKC makes "…" "...")
    assert len(a.related[0].title) <= 1000
    assert problems == [
        "content/x.md:2: warning: title: longer than 1000 characters; cut",
        "content/x.md:5: warning: provider.name: longer than 200 characters; cut",
        "content/x.md:4: warning: topics[0]: longer than 200 characters; cut",
        "content/x.md:6: warning: related[0].title: longer than 1000 characters; cut",
    ]


def test_init_over_a_file_is_a_clear_error_not_a_traceback(tmp_path, capsys):
    from digest.cli import main

    (tmp_path / "taken").write_text("x")
    assert main(["init", str(tmp_path / "taken")]) == 1
    assert main(["init", str(tmp_path / "taken" / "sub")]) == 1
    err = capsys.readouterr().err
    assert f"digest: {tmp_path / 'taken'} exists and is not a folder; choose a new folder" in err
    assert f"digest: cannot create {tmp_path / 'taken' / 'sub'}: Not a directory" in err
    assert (tmp_path / "taken").read_text() == "x"


# --------------------------------------------------------------------------- note markup


@pytest.mark.parametrize(("note", "html"), [
    # Allowed tags in places HTML does not allow them (the Nu checker: "not allowed as child"):
    # the misplaced tag is dropped, its text kept; a list's stray content gets its own item.
    ("<li>x</li>", "x"),
    ("<pre><p>x</p></pre>", "<pre>x</pre>"),
    ("<pre><pre>x</pre></pre>", "<pre>x</pre>"),
    ("<h3><p>x</p></h3>", "<h3>x</h3>"),
    ("<table><tr><th><h4>x</h4></th></tr></table>", "<table><tbody><tr><th>x</th></tr></tbody></table>"),
    ("<ul><p>x</p></ul>", "<ul><li><p>x</p></li></ul>"),
    ("<ul>text<li>y</li></ul>", "<ul><li>text</li><li>y</li></ul>"),
    ("<ol><ol><li>x</li></ol></ol>", "<ol><li><ol><li>x</li></ol></li></ol>"),
    ("<table><li>x</li></table>", "x<table></table>"),
    ("<em>a <b>b</b> &amp; &lt;c&gt; &#169;</em>", "<p><em>a <b>b</b> &amp; &lt;c&gt; ©</em></p>"),
])
def test_raw_html_in_a_note_is_nested_as_html_allows(note, html):
    from digest.text import render_note

    assert render_note(note + "\n") == html


def test_an_output_folder_that_is_a_file_is_a_clear_error(make_site, tmp_path, capsys):
    from digest.cli import main

    site = make_site({"content/a.md": record("A")})
    (tmp_path / "taken").write_text("x")
    assert main(["build", str(site), "-o", str(tmp_path / "taken"), "-j", "1"]) == 1
    assert main(["build", str(site), "-o", str(tmp_path / "taken" / "sub"), "-j", "1"]) == 1
    err = capsys.readouterr().err
    assert err.count(f"digest: error: cannot build into {tmp_path / 'taken'}: it is a file, not a folder") == 1
    assert f"digest: error: cannot build into {tmp_path / 'taken' / 'sub'}: {tmp_path / 'taken'} is a file, not a folder" in err
    assert (tmp_path / "taken").read_text() == "x"


def test_an_output_dir_setting_that_is_a_file_is_a_clear_error(make_site, capsys):
    from digest.cli import main

    site = make_site({"content/a.md": record("A"), "digest.toml": 'output_dir = "out.txt"\n', "out.txt": "x"})
    assert main(["build", str(site), "-j", "1"]) == 1
    assert f"digest: error: cannot build into {site / 'out.txt'}: it is a file, not a folder" in capsys.readouterr().err
    assert (site / "out.txt").read_text() == "x"


def test_images_and_related_lists_are_cut_at_a_hundred_entries_with_a_warning():
    images = "[" + ", ".join(f'{{url: "https://i.example.com/{n}.jpg"}}' for n in range(150)) + "]"
    related = "[" + ", ".join(f'{{title: "R{n}", webUrl: "https://r.example.com/{n}"}}' for n in range(120)) + "]"
    result = parse_record(record("Many", images=images, related=related).encode(), "content/x.md")
    assert len(result.article.images) == 100 and len(result.article.related) == 100
    assert [str(p) for p in result.problems] == [
        "content/x.md:4: warning: images: 150 entries; the first 100 are kept",
        "content/x.md:5: warning: related: 120 entries; the first 100 are kept",
    ]


def test_an_image_warning_names_the_entry_as_the_record_numbers_it(make_site):
    images = ('[{url: 5}, {url: "https://i.example.com/missing.jpg", width: 10, height: 10, isCached: true}]')
    site = make_site({"content/a.md": record("A", images=images), "digest.toml": "search = false\n"})
    messages = [str(p) for p in build(site, jobs=1).problems]
    assert any("images[1]" in m and "missing.jpg" in m for m in messages), messages
    assert not any("images[0]" in m and "missing.jpg" in m for m in messages)


def test_the_build_function_caps_its_worker_processes_too(make_site, monkeypatch):
    """Serve and other callers reach `build` without the command's check."""
    import os

    import digest.render  # (digest.build imports it when it builds: the patched one)

    seen = {}
    real = digest.render.render_all

    def spy(*args):
        seen["jobs"] = args[7]
        return real(*args)

    monkeypatch.setattr(digest.render, "render_all", spy)
    site = make_site({"content/a.md": record("A"), "digest.toml": "search = false\n"})
    build(site, jobs=100000)
    assert seen["jobs"] == 4 * (os.cpu_count() or 1)


def test_the_common_url_shortcut_answers_as_the_full_check(monkeypatch):
    """`safe_url` takes a shortcut for plain ``http(s)://host/...`` URLs (three times faster,
    a few percent of reading every record): over URLs shaped like real ones and random
    ones, it answers exactly what the full check answers, for every set of schemes."""
    import random
    import string

    import digest.text as text

    rnd = random.Random(7)
    alphabet = string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%<>\"{}|\\^` \té\u0430."
    starts = ["http://", "https://", "HTTP://", "//", "ftp://", "http:///", "https://a", "http://a.b",
              "https://x.example", "https://x.example:8080", "http://user@x.example", "https://x-.example"]
    urls = [rnd.choice(starts) + "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 24)))
            for _ in range(20000)]
    urls += ["https://news.example.com/2024/01/a-story?id=1&x=%41#top", "http://a.b.", "https://a..b/",
             "https://x.example/a#b#c", "https://x.example/%zz", "https://x.example/é"]
    fast = {(url, schemes): text.safe_url(url, schemes)
            for url in urls for schemes in (text.LINK_SCHEMES, text.NOTE_SCHEMES, frozenset({"https"}))}

    class Never:
        def match(self, url):
            return None

    monkeypatch.setattr(text, "_PLAIN_HTTP", Never())
    assert {key: text.safe_url(*key) for key in fast} == fast
    assert sum(value is not None for value in fast.values()) > 1000  # (both kinds of answer occur)
