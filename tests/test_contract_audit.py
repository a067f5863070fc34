"""Hostile input against the contract parts of DESIGN.md (the record format, the image cache,
the site folder and command line), sentence by sentence.

Each test is a broken promise once found, or guards one no earlier sweep covered (see
tests/test_hostile*.py for the earlier sweeps).
"""

from __future__ import annotations

import gzip

import pytest

from digest.build import build

SECRET = "U0VDUkVUQ0lQSEVSVEVYVC0wMTIzNDU2Nzg5"
HEAD = "---\ntitle: {name}\npublishedDateTime: 2024-01-02T10:00:00Z\nwebUrl: https://n.example/{name}\n"


def everything(out) -> bytes:
    """Every output file's bytes, Pagefind's compressed index decompressed."""
    parts = []
    for path in sorted(out.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            parts.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return b"\n".join(parts)


# --------------------------------------------------------------------------- secured


@pytest.mark.parametrize(("front", "field"), [
    # the secret written with an escape, the copy as plain text (the text was never found twice)
    (f'secured: "{SECRET}\\u0041"\nexcerpt: {SECRET}A\n', "excerpt"),
    # a block scalar and its copy as another block scalar (the indented text is no copy of the value)
    (f"secured: |\n  {SECRET}\n  {SECRET}B\nexcerpt: |\n  {SECRET}\n  {SECRET}B\n", "excerpt"),
    # a folded secret, copied on one line (a text field joins lines: the page showed it whole)
    (f"secured: >\n  {SECRET}\n  {SECRET}C\nexcerpt: \"{SECRET} {SECRET}C\"\n", "excerpt"),
    # a quote doubled in the secret, written escaped in the copy
    (f"secured: '{SECRET}''D'\ntopics: [\"{SECRET}'D\", Kept]\n", "topics[0]"),
    # an alias of the secret as a key of an extra field (only values lost copies)
    (f"secured: &s {SECRET}E\nextra: {{*s : 1}}\n", "extra"),
])
def test_a_copy_of_the_secret_written_in_other_characters_is_never_published(make_site, front, field):
    name = "s" + str(abs(hash(front)) % 10**6)
    site = make_site({"content/a.md": HEAD.format(name=name) + front + "---\n", "digest.toml": "search = true\n"})
    result = build(site, jobs=1)
    assert SECRET.encode() not in everything(site / "build")
    warnings = [str(p) for p in result.problems]
    assert len(warnings) == 1 and f": warning: {field}: " in warnings[0] and "holds the secured value" in warnings[0]
    assert result.articles == 1


def test_a_copy_of_the_secret_in_json_front_matter_written_with_an_escape_is_never_published(make_site):
    raw = ('{"title": "J", "publishedDateTime": "2024-01-02T10:00:00Z", "webUrl": "https://n.example/j", '
           f'"secured": "{SECRET}\\u0046", "excerpt": "{SECRET}F"}}\n')
    site = make_site({"content/j.md": raw, "digest.toml": "search = false\n"})
    result = build(site, jobs=1)
    assert SECRET.encode() not in everything(site / "build")
    assert [str(p) for p in result.problems] == ["content/j.md:1: warning: excerpt: holds the secured value; dropped"]


@pytest.mark.parametrize("tag", ["!!float", "!!timestamp", "!!bool"])
def test_a_secured_value_that_does_not_fit_its_tag_is_reported_without_printing_it(make_site, capsys, tag):
    from digest.cli import main

    site = make_site({"content/a.md": HEAD.format(name="t") + f"secured: {tag} {SECRET}\n---\n"})
    assert main(["build", str(site)]) == 0
    printed = capsys.readouterr()
    assert SECRET not in printed.out + printed.err
    assert f"content/a.md:5: secured: invalid YAML: its value is not a valid {tag[2:]}" in printed.out + printed.err
