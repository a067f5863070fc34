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


def test_a_field_whose_text_holds_the_secret_is_dropped_and_a_short_secret_matches_only_whole_values(make_site):
    # (a copy was looked for as a whole value only: "Key: <secret>." in a field was published)
    site = make_site({"digest.toml": "search = false\n", "content/a.md": HEAD.format(name="h")
                      + f'secured: {{ct: "{SECRET}", iv: "ab"}}\nexcerpt: "Key: {SECRET}."\ntopics: [about, ab]\n'
                      f'shareText: "see {SECRET}"\n---\n'})
    result = build(site, jobs=1)
    assert SECRET.encode() not in everything(site / "build")
    assert sorted(str(p) for p in result.problems) == [
        f"content/a.md:{line}: warning: {field}: holds the secured value; dropped"
        for line, field in [(6, "excerpt"), (7, "topics[1]"), (8, "shareText")]]
    assert (site / "build" / "topics" / "about" / "index.html").is_file()


def test_a_copy_of_the_secret_in_json_front_matter_written_with_an_escape_is_never_published(make_site):
    raw = ('{"title": "J", "publishedDateTime": "2024-01-02T10:00:00Z", "webUrl": "https://n.example/j", '
           f'"secured": "{SECRET}\\u0046", "excerpt": "{SECRET}F"}}\n')
    site = make_site({"content/j.md": raw, "digest.toml": "search = false\n"})
    result = build(site, jobs=1)
    assert SECRET.encode() not in everything(site / "build")
    assert [str(p) for p in result.problems] == ["content/j.md:1: warning: excerpt: holds the secured value; dropped"]


def test_the_secret_pasted_into_the_note_is_left_out_of_it(make_site):
    site = make_site({"digest.toml": "search = true\n", "content/a.md": HEAD.format(name="n")
                      + f"secured: >-\n  {SECRET}\n  {SECRET}N\n---\nThe key was {SECRET}\n{SECRET}N, kept here.\n"})
    result = build(site, jobs=1)
    assert SECRET.encode() not in everything(site / "build")
    assert b"The key was" in everything(site / "build")
    assert [str(p) for p in result.problems] == [
        "content/a.md: warning: the note holds the secured value; it is left out of the note"]


@pytest.mark.parametrize("key", ["\uff53\uff45\uff43\uff55\uff52\uff45\uff44", "secured\u200b", "\u2060Secured",
                                 "SECURED\ufeff"])
def test_the_secured_field_in_fullwidth_letters_or_with_an_invisible_character_is_never_published(make_site, key):
    # (dropped in any case or spacing, it was kept as an extra field and published in the JSON API)
    site = make_site({"digest.toml": "search = false\n",
                      "content/a.md": HEAD.format(name="w") + f'"{key}": {SECRET}\nexcerpt: {SECRET}\n---\n'})
    result = build(site, jobs=1)
    assert SECRET.encode() not in everything(site / "build")
    assert [str(p) for p in result.problems] == ["content/a.md:6: warning: excerpt: holds the secured value; dropped"]


def test_no_character_is_made_several_letters_of_secured_by_nfkc():
    """`_dropped` skips keys shorter than ``secured`` before NFKC too: true only while no
    character becomes several that occur in the word."""
    import sys
    import unicodedata

    assert not [c for c in range(sys.maxunicode + 1)
                if len(folded := unicodedata.normalize("NFKC", chr(c)).casefold()) > 1 and folded in "secured"]


@pytest.mark.parametrize("tag", ["!!float", "!!timestamp", "!!bool"])
def test_a_secured_value_that_does_not_fit_its_tag_is_reported_without_printing_it(make_site, capsys, tag):
    from digest.cli import main

    site = make_site({"content/a.md": HEAD.format(name="t") + f"secured: {tag} {SECRET}\n---\n"})
    assert main(["build", str(site)]) == 0
    printed = capsys.readouterr()
    assert SECRET not in printed.out + printed.err
    assert f"content/a.md:5: secured: invalid YAML: its value is not a valid {tag[2:]}" in printed.out + printed.err


# --------------------------------------------------------------------------- published: false


@pytest.mark.parametrize(("given", "published"), [
    # Jekyll leaves out a record whose `published` is the boolean false, and its YAML (Ruby's
    # Psych) reads no, false and off in any case as that boolean, and null or ~ in any case as nil
    # (published). PyYAML reads three casings: `fAlSe` was an error, and --drafts lost the record.
    ("false", False), ("False", False), ("NO", False), ("off", False), ("Off", False), ("fAlSe", False),
    ("nO", False), ("oFF", False), ("tRUE", True), ("yES", True), ("On", True), ("nULL", True), ("~", True),
    ("", True),
])
def test_published_reads_every_spelling_jekylls_yaml_reads_as_a_boolean(given, published):
    from digest.load import parse_record

    result = parse_record((HEAD.format(name="p") + f"published: {given}\n---\n").encode(), "content/p.md")
    assert [str(p) for p in result.problems] == []
    assert result.article.is_published is published


def test_a_draft_in_a_spelling_only_jekyll_reads_is_absent_unless_drafts(make_site, tmp_path):
    site = make_site({"content/a.md": HEAD.format(name="a") + "topics: [Shared]\n---\n",
                      "content/d.md": HEAD.format(name="d").replace("title: d", "title: Zebradraft")
                      + "published: fALSE\ntopics: [Shared, Onlydraft]\n---\n"})
    assert list(build(site, jobs=1).problems) == []
    assert b"Zebradraft" not in everything(site / "build") and b"Onlydraft" not in everything(site / "build")
    build(site, tmp_path / "drafts", drafts=True, jobs=1)
    assert b"Zebradraft" in everything(tmp_path / "drafts")


# --------------------------------------------------------------------------- the image cache


def test_an_image_url_ending_in_a_line_break_finds_the_file_named_by_its_exact_value(make_site):
    # `url: |` (a block scalar) ends the value with a line break: the cache file is named by the
    # sha256 of that exact value, and the image was ignored as "no URL" (a control character).
    import hashlib
    import io

    from PIL import Image

    url = "https://i.example/photo.jpg\n"
    data = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(data, "JPEG")
    site = make_site({"digest.toml": "search = false\n",
                      f"content/images/{hashlib.sha256(url.encode()).hexdigest()}.jpg": data.getvalue(),
                      "content/a.md": HEAD.format(name="a")
                      + "images:\n  - url: |\n      https://i.example/photo.jpg\n    isCached: true\n---\n"})
    result = build(site, jobs=1)
    assert [str(p) for p in result.problems] == []
    page = next((site / "build" / "2024").rglob("index.html")).read_text(encoding="utf-8")
    assert "/thumbs/" in page


# --------------------------------------------------------------------------- problem lines


IMAGES = 'images:\n  - url: "https://i.example/a.jpg"\n    isCached: true\n'


@pytest.mark.parametrize(("raw", "line"), [
    # image warnings read the record again to find the entry's line: they gave none for a record
    # saved as UTF-16, or with JSON front matter, and a wrong one after a line separator (U+2028)
    ((HEAD.format(name="u") + IMAGES + "---\n").encode("utf-16"), 6),
    ((b'{\n  "title": "J",\n  "publishedDateTime": "2024-01-02T10:00:00Z",\n  "webUrl": "https://n.example/j",\n'
      b'  "images": [\n    {"url": "https://i.example/a.jpg", "isCached": true}\n  ]\n}\n'), 6),
    (HEAD.format(name="l").replace("title: l", "title: a\u2028b").encode() + (IMAGES + "---\n").encode(), 6),
    (b"\xef\xbb\xbf" + (HEAD.format(name="b") + IMAGES + "...\n").replace("\n", "\r\n").encode(), 6),
])
def test_an_image_warning_names_the_line_of_its_entry_in_every_record_encoding(make_site, raw, line):
    site = make_site({"digest.toml": "search = false\n", "content/a.md": raw})
    result = build(site, jobs=1)
    warnings = [str(p) for p in result.problems if "images[0]" in str(p)]
    assert len(warnings) == 1 and warnings[0].startswith(f"content/a.md:{line}: warning: images[0]: "), warnings


@pytest.mark.parametrize("raw", [b"\xef\xbb\xbf", b"\xef\xbb\xbf \r\n", b"\xff\xfe", "\n".encode("utf-16"),
                                 " \n".encode("utf-32")])
def test_a_file_of_only_a_byte_order_mark_is_an_empty_file(raw):
    # (it was "no front matter" at line 1, or "not valid UTF-8 (byte 0xff at offset 0)")
    from digest.load import parse_record

    assert [str(p) for p in parse_record(raw, "content/x.md").problems] == [
        "content/x.md: empty file: expected YAML front matter between '---' lines"]


# --------------------------------------------------------------------------- the site folder


def test_a_symbolic_link_loop_in_static_is_skipped_not_a_traceback(make_site, capsys):
    import os

    from digest.cli import main

    site = make_site({"content/a.md": HEAD.format(name="a") + "---\n", "static/ok.css": "p{}"})
    os.symlink("loop-b", site / "static" / "loop-a")
    os.symlink("loop-a", site / "static" / "loop-b")
    assert main(["build", str(site)]) == 0
    assert (site / "build" / "static" / "ok.css").is_file()
    assert not (site / "build" / "static" / "loop-a").exists()


def test_a_site_template_that_is_not_utf8_is_an_error_naming_it_not_a_traceback(make_site, capsys):
    from digest.cli import main

    site = make_site({"content/a.md": HEAD.format(name="a") + "---\n", "templates/base.html": b"\xff\xfe{{"})
    assert main(["build", str(site)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "templates/base.html: not a template: not valid UTF-8 (byte 0xff at offset 0)" in err


def test_the_image_of_a_url_is_found_beside_a_side_file_or_a_folder_of_the_same_hash(make_site):
    # The first file by name was taken: `<hash>.headers` (a cache tool's side file) or a folder
    # `<hash>.a/` hid `<hash>.jpg`, and the article showed a placeholder with a warning.
    import hashlib
    import io

    from PIL import Image

    data = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(data, "JPEG")
    files = {"digest.toml": "search = false\n"}
    for name, side in (("h", "headers"), ("d", "a/x")):
        url = f"https://i.example/{name}.jpg"
        stem = hashlib.sha256(url.encode()).hexdigest()
        files[f"content/images/{stem}.jpg"] = data.getvalue()
        files[f"content/images/{stem}.{side}"] = "content-type: image/jpeg\n"
        files[f"content/{name}.md"] = HEAD.format(name=name) + f'images: [{{url: "{url}", isCached: true}}]\n---\n'
    site = make_site(files)
    result = build(site, jobs=1)
    assert [str(p) for p in result.problems] == []
    assert result.thumbnails.sources == 2 and result.thumbnails.failed == 0
