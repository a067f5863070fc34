"""Hostile input against DESIGN.md's contracts, second round (see tests/test_contract_audit.py
for the first): each test is a broken promise found, fixed, and kept fixed."""

from __future__ import annotations

import gzip

import pytest

from digest.build import build
from digest.load import parse_record

SECRET = "QUFBQUFBQUFBQUFBQUFBQUFBQUFB;aXZpdml2"
HEAD = "---\ntitle: {name}\npublishedDateTime: 2024-01-02T10:00:00Z\nwebUrl: https://n.example/{name}\n"


def everything(out) -> bytes:
    """Every output file's bytes, Pagefind's compressed index decompressed."""
    parts = []
    for path in sorted(out.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            parts.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return b"\n".join(parts)


def problems(text: str, source: str = "content/x.md") -> list[str]:
    return [str(p) for p in parse_record(text.encode(), source).problems]


# --------------------------------------------------------------------------- secured


@pytest.mark.parametrize("raw", [
    HEAD.format(name="a") + f"secured: {SECRET}\nsecured: other\nexcerpt: {SECRET}\n---\n",
    HEAD.format(name="b") + f"related:\n  - title: r\n    webUrl: https://r.example/\n    secured: {SECRET}\n"
    f"    secured: other\n    excerpt: {SECRET}\n---\n",
    '{"title": "c", "publishedDateTime": "2024-01-02T10:00:00Z", "webUrl": "https://n.example/c", '
    f'"secured": "{SECRET}", "secured": "other", "excerpt": "{SECRET}"}}\n',
])
def test_a_secured_value_given_twice_is_a_secret_both_times(make_site, raw):
    # YAML and JSON keep the last value of a key given twice: copies of the first secret were
    # not looked for, and the excerpt holding one was published.
    site = make_site({"content/a.md": raw, "digest.toml": "search = false\n"})
    result = build(site, jobs=1)
    assert SECRET.encode() not in everything(site / "build")
    assert any("excerpt: holds the secured value; dropped" in str(p) for p in result.problems)
    assert result.articles == 1


# --------------------------------------------------------------------------- topics


@pytest.mark.parametrize("item", ['""', "'   '", '"\\u00ad"'])
def test_an_empty_topic_is_ignored_with_a_warning(item):
    # (README: "an empty item is ignored, with a warning"; it was ignored silently)
    raw = HEAD.format(name="t") + f"topics: [Kept, {item}]\n---\n"
    assert problems(raw) == ["content/x.md:5: warning: topics[1]: an empty string; ignored"]
    assert parse_record(raw.encode(), "content/x.md").article.topics == ("Kept",)


@pytest.mark.parametrize("spellings", [
    ("İstanbul", "Istanbul", "ISTANBUL"),  # (case folding made İ an i with a combining dot)
    ("AI", "AI\u200b", "\u200dAI", "A\u2060I"),  # (zero-width characters a web page copy carries)
    ("❤️ Health", "❤ Health"),  # (a variation selector)
])
def test_spellings_that_differ_only_in_case_or_invisible_characters_are_one_topic(make_site, spellings):
    files = {"digest.toml": "search = false\n"}
    for index, spelling in enumerate(spellings):
        files[f"content/r{index}.md"] = HEAD.format(name=f"r{index}") + f'topics: ["{spelling}"]\n---\n'
    site = make_site(files)
    result = build(site, jobs=1)
    assert [str(p) for p in result.problems] == []
    pages = [p for p in (site / "build" / "topics").iterdir() if p.is_dir()]
    assert len(pages) == 1, pages
