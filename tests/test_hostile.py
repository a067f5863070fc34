"""Hostile input: what a scraper, an API or an attacker can put in a record.

Each test is a defect once found: a hang, a leak or output that breaks its format.
"""

from __future__ import annotations

import re
import time

import pytest

from digest.build import build
from digest.load import parse_record
from digest.text import render_note

from .conftest import record

# Characters that are errors in HTML and XML text: C0/C1 controls (not tab or line
# breaks), DEL, lone surrogates and the noncharacters U+FDD0..U+FDEF, U+FFFE, U+FFFF.
UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")


def article(text: str):
    result = parse_record(text.encode("utf-8"), "content/x.md")
    assert result.article is not None, [str(p) for p in result.problems]
    return result.article, [str(p) for p in result.problems]


# --------------------------------------------------------------------------- notes


HOSTILE_NOTES = {
    # Python-Markdown scans from every "[" or "<" to the end of the block: quadratic.
    "unclosed links": "[a](" * 20_000,
    "image openers": "![" * 30_000,
    "raw html openers": "<a " * 20_000,
    # Every inline item costs the block's length: entities, code spans, emphasis.
    "entities": "&amp;" * 200_000,
    "code spans": "`a` " * 200_000,
}


@pytest.mark.parametrize("note", HOSTILE_NOTES.values(), ids=HOSTILE_NOTES.keys())
def test_a_hostile_note_renders_in_seconds(note):
    start = time.perf_counter()
    html = render_note("[ok](https://example.com/) fine\n\n" + note)
    assert time.perf_counter() - start < 5
    assert "<script" not in html and "<a " not in html.replace('<a href="https://example.com/"', "")


def test_a_defused_note_still_shows_its_text_and_keeps_earlier_links():
    html = render_note("[ok](https://example.com/)\n\n" + "[x" * 5_000 + "\n\n<b>bold</b> & [y](https://e.org/)")
    assert '<a href="https://example.com/" rel="noopener noreferrer">ok</a>' in html
    assert "[x[x[x" in html
    assert "\ufdd0" not in html and "\ufdd1" not in html


def test_a_very_long_note_is_plain_text_paragraphs():
    html = render_note("<script>alert(1)</script> *x*\n\n" + "word " * 20_000)
    assert html.startswith("<p>&lt;script&gt;alert(1)&lt;/script&gt; *x*</p>\n<p>word word")
    assert "<script" not in html


# --------------------------------------------------------------------------- characters


def test_control_characters_and_noncharacters_never_reach_text_fields():
    text = record(title=r"ctl \x01\x02\x1b\x7f\x85\x9b end \uFFFE\uFFFF\uFDD0",
                  excerpt=r'"ex \x07 bell"', topics=r'["t\x01opic"]',
                  provider=r'{name: "P\x08", domain: p.com}') + "note \x01 \x7f \x9b \ufffe x\n"
    a, _ = article(text)
    for value in (a.title, a.excerpt, a.topics[0], a.provider.name, a.body_html):
        assert not UNPRINTABLE.search(value), repr(value)
    assert a.title == "ctl end"
    assert a.topics == ("topic",)


# --------------------------------------------------------------------------- fields


def test_the_secured_field_is_dropped_whatever_its_case_or_spacing():
    text = record(Secured='"SECRET-1"', SECURED='"SECRET-2"', **{'"secured "': '"SECRET-3"'},
                  extra='{" Secured": "SECRET-4", keep: yes}')
    a, _ = article(text)
    assert "SECRET" not in repr(a.extra)
    assert a.extra == {"extra": {"keep": True}}


def test_thousands_of_topics_are_cut_with_a_warning():
    # Every topic is a page listing every card, and every card lists its topics: quadratic.
    topics = "[" + ", ".join(f"t{i}" for i in range(3000)) + "]"
    a, problems = article(record(topics=topics))
    assert a.topics == tuple(f"t{i}" for i in range(50))
    assert problems == ["content/x.md:4: warning: topics: more than 50 topics; the first 50 are kept"]


def test_a_huge_excerpt_is_cut_with_a_warning():
    # Pagefind takes minutes on a multi-megabyte lede; real excerpts are a few hundred characters.
    a, problems = article(record(excerpt="y" * 300_000 + " end"))
    assert len(a.excerpt) <= 5_000 and a.excerpt.endswith("…")
    assert problems == ["content/x.md:4: warning: excerpt: longer than 5000 characters; cut"]


# --------------------------------------------------------------------------- digest.toml


def test_deeply_nested_toml_is_a_config_problem_not_a_traceback():
    from digest.config import parse_config
    from digest.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_config('title = "T"\nnested = ' + "[" * 5000 + "]" * 5000 + "\n")
    assert [str(p) for p in caught.value.problems] == [
        "digest.toml: invalid TOML: nested too deeply to read"]


# --------------------------------------------------------------------------- slugs


def test_two_records_whose_slugs_collide_both_build(make_site):
    # Same title, and URLs whose ids share their first six hex digits (3708 and 7367).
    from digest.load import load_content

    files = {f"content/{n}.md": record("Same", webUrl=f"https://c.example.com/{x}") for n, x in (("a", 3708), ("b", 7367))}
    site = make_site(files)
    loaded = load_content(site, site / "content")
    slugs = {a.source: a.slug for a in loaded.articles}
    assert len(set(slugs.values())) == 2
    assert all(slug == f"same-{a.id}" for a in loaded.articles for slug in [slugs[a.source]])


# --------------------------------------------------------------------------- dates

# HTML's valid global date and time string (what <time datetime> must hold; JSON-LD too).
HTML_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?(Z|[+-]\d\d:\d\d)")


@pytest.mark.parametrize(("given", "instant"), [
    ('"2021-11-30T20:18:00+05:30:15"', "2021-11-30T14:47:45+00:00"),
    ('"2021-11-30T20:18:00.1234567+05:30"', "2021-11-30T20:18:00+05:30"),
    ("2021-11-30 20:18:00.5 -00:00", "2021-11-30T20:18:00+00:00"),
])
def test_odd_offsets_and_fractions_give_valid_html_datetimes(given, instant):
    a, problems = article(record(when=given, updatedDateTime=given))
    assert problems == []
    for value in (a.published, a.updated):
        assert HTML_DATETIME.fullmatch(value.isoformat()), value.isoformat()
        assert value.isoformat() == instant


def test_offsets_beyond_the_real_range_become_utc():
    a, _ = article(record(when='"2024-01-01T00:00:00+23:59"'))
    assert a.published.isoformat() == "2023-12-31T00:01:00+00:00"


def test_text_fields_are_nfc_normalized():
    # Decomposed accents (e + U+0301) in pages are a validator warning; NFC is the same text.
    a, _ = article(record(title="Cafe\u0301 e\u0301\u0301", excerpt='"Re\u0301sume\u0301"'))
    assert (a.title, a.excerpt) == ("Caf\u00e9 \u00e9\u0301", "R\u00e9sum\u00e9")


def test_a_copy_of_the_secret_in_another_field_is_dropped(make_site):
    """A YAML alias (or a scraper's copy) of `secured` in another field is not published."""
    secret = "c2VjcmV0LWNpcGhlcnRleHQtMDEyMzQ1Njc4OQ=="
    text = ("---\ntitle: \"A story\"\npublishedDateTime: 2024-01-02T10:00:00Z\n"
            "webUrl: \"https://news.example.com/leak\"\n"
            f"secured: &s \"{secret}\"\nmirror: *s\nnested:\n  - keep\n  - *s\n---\n")
    site = make_site({"content/a.md": text, "digest.toml": "search = false\n"})
    result = build(site, jobs=1)
    for path in (site / "build").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    warnings = [str(p) for p in result.problems]
    assert any("mirror: holds the secured value" in w for w in warnings)
    assert any("nested[1]: holds the secured value" in w for w in warnings)
    doc = (site / "build" / "api" / "articles").glob("*.json")
    assert '"nested":["keep"]' in next(doc).read_text(encoding="utf-8")


@pytest.mark.parametrize(("url", "kept"), [
    ("https://../x", False), ("https://./", False), ("http://-/", False), ("//../a", False),
    ("https://example.com/x", True), ("http://localhost:8000/", True), ("https://[::1]/x", True),
    ("https://bücher.de/", True),
])
def test_a_link_needs_a_host_that_names_something(url, kept):
    from digest.text import safe_url

    assert (safe_url(url) is not None) is kept
