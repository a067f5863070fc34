"""Loading: one test per problem message, with its exact text and line, plus discovery rules."""

from __future__ import annotations

import os

import pytest

from digest.load import deduplicate, load_content, parse_record, record_files

GOOD = "title: ok\npublishedDateTime: 2024-01-01T00:00:00Z\n"


def problems(raw: bytes | str, name: str = "content/x.md") -> list[str]:
    """Every problem of one record file, printed as the user sees it."""
    data = raw.encode() if isinstance(raw, str) else raw
    return [str(p) for p in parse_record(data, name).problems]


def loads(raw: bytes | str) -> bool:
    data = raw.encode() if isinstance(raw, str) else raw
    return parse_record(data, "content/x.md").article is not None


# --------------------------------------------------------------------------- file-level problems

FILE_PROBLEMS = [
    ("empty", b"", "content/x.md: empty file: expected YAML front matter between '---' lines"),
    ("blank", b" \n\n\t\n", "content/x.md: empty file: expected YAML front matter between '---' lines"),
    ("binary", b"---\x00\x01\x02PNG", "content/x.md: binary file (contains NUL bytes), not a record"),
    # (bytes that are not UTF-8 are read as Windows-1252, with a warning: tests/test_scrape_sweep.py)
    ("no front matter", b"title: x\npublishedDateTime: 2024-01-01\n",
     "content/x.md:1: no front matter: expected the file to start with a '---' line "
     "and the front matter to end with another"),
    ("unterminated", b"---\ntitle: x\n",
     "content/x.md:1: front matter not closed: expected a '---' (or '...') line after it"),
    ("list", b"---\n- a\n- b\n---\n", "content/x.md:2: front matter must be a mapping of fields, got a list"),
    ("scalar", b"---\njust text\n---\n",
     "content/x.md:2: front matter must be a mapping of fields, got a string"),
    ("empty front matter", b"---\n---\nbody\n",
     "content/x.md:2: front matter must be a mapping of fields, got nothing (null)"),
    ("alias bomb",
     b"---\na: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
     b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
     b"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n---\n",
     "content/x.md: front matter too large to read (more than 20,000 values, counting what YAML aliases repeat)"),
    ("python tag", b"---\ntitle: !!python/object/apply:os.system ['echo pwned']\n---\n",
     "content/x.md:2: title: invalid YAML: could not determine a constructor for the tag "
     "'tag:yaml.org,2002:python/object/apply:os.system'"),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in FILE_PROBLEMS], ids=[c[0] for c in FILE_PROBLEMS])
def test_file_level_problem_is_reported_exactly(raw, expected):
    assert problems(raw) == [expected]
    assert not loads(raw)


def test_too_large_file_is_refused():
    raw = b"---\n" + GOOD.encode() + b"---\n" + b"x" * (4 * 1024 * 1024 + 1)
    assert problems(raw) == [f"content/x.md: file too large for a record ({len(raw)} bytes; at most 4194304)"]


# --------------------------------------------------------------------------- YAML syntax errors: file lines

YAML_ERRORS = [
    # the front matter starts on file line 2; the error must point at the line in the file
    ("flow sequence", "---\ntitle: ok\npublishedDateTime: 2024-01-01T00:00:00Z\ntopics: [a, b\nexcerpt: x\n---\n",
     "content/x.md:5: invalid YAML: while parsing a flow sequence (started on line 4): did not find expected ',' or ']'"),
    ("quoted scalar", "---\ntitle: ok\nfoo: \"unterminated\nbar: 1\n---\n",
     "content/x.md:4: invalid YAML: while scanning a quoted scalar (started on line 3): found unexpected end of stream"),
    ("tab indentation", "---\ntitle: ok\n\tpublishedDateTime: x\n---\n",
     "content/x.md:3: invalid YAML: while scanning a plain scalar (started on line 2): found a tab character that violates indentation"),
    ("bad mapping", "---\ntitle: ok\npublishedDateTime: 2024-01-01\nexcerpt: a: b\n---\n",
     "content/x.md:4: invalid YAML: mapping values are not allowed in this context"),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in YAML_ERRORS], ids=[c[0] for c in YAML_ERRORS])
def test_yaml_syntax_error_points_at_the_file_line(raw, expected):
    assert problems(raw) == [expected]


def test_yaml_error_line_counts_bom_and_crlf_like_plain_text():
    raw = "\ufeff---\r\ntitle: ok\r\nexcerpt: a: b\r\n---\r\n".encode()
    assert problems(raw) == ["content/x.md:3: invalid YAML: mapping values are not allowed in this context"]


# --------------------------------------------------------------------------- field problems (errors: skipped)

FIELD_ERRORS = [
    ("title missing", "---\npublishedDateTime: 2024-01-01T00:00:00Z\n---\n",
     "content/x.md: title: expected a non-empty string, got nothing (null)"),
    ("title empty", "---\ntitle: ''\npublishedDateTime: 2024-01-01T00:00:00Z\n---\n",
     "content/x.md:2: title: expected a non-empty string, got an empty string"),
    ("title list", "---\ntitle: [a]\npublishedDateTime: 2024-01-01T00:00:00Z\n---\n",
     "content/x.md:2: title: expected a non-empty string, got a list"),
    ("date missing", "---\ntitle: ok\n---\n",
     "content/x.md: publishedDateTime: expected an ISO 8601 date-time such as 2021-11-30T20:18:00Z, got nothing (null)"),
    ("date words", "---\ntitle: ok\npublishedDateTime: yesterday\n---\n",
     "content/x.md:3: publishedDateTime: expected an ISO 8601 date-time such as 2021-11-30T20:18:00Z, got 'yesterday'"),
    ("date integer", "---\ntitle: ok\npublishedDateTime: 20241301\n---\n",
     "content/x.md:3: publishedDateTime: expected an ISO 8601 date-time such as 2021-11-30T20:18:00Z, got an integer"),
    ("date impossible", "---\ntitle: ok\npublishedDateTime: '2024-02-30T10:00:00Z'\n---\n",
     "content/x.md:3: publishedDateTime: expected an ISO 8601 date-time such as 2021-11-30T20:18:00Z, got '2024-02-30T10:00:00Z' (day is out of range for month)"),
    ("date impossible, unquoted", "---\ntitle: ok\npublishedDateTime: 2021-13-45T00:00:00Z\n---\n",
     "content/x.md:3: publishedDateTime: expected an ISO 8601 date-time such as 2021-11-30T20:18:00Z, got '2021-13-45T00:00:00Z' (month must be in 1..12)"),
    ("date past year 9999 in UTC", "---\ntitle: ok\npublishedDateTime: '9999-12-31T23:59:59-05:00'\n---\n",
     "content/x.md:3: publishedDateTime: expected an ISO 8601 date-time such as 2021-11-30T20:18:00Z, got '9999-12-31T23:59:59-05:00' (a year out of range: years 0002 to 9998 are read)"),
    ("topics string", "---\n" + GOOD + "topics: AI\n---\n",
     "content/x.md:4: topics: expected a list of strings, got a string"),
    ("topics with a mapping", "---\n" + GOOD + "topics:\n  - a\n  - {x: 1}\n---\n",
     "content/x.md:4: topics: expected a list of strings, got a list with a mapping"),
    ("published string", "---\n" + GOOD + "published: 'no'\n---\n",
     "content/x.md:4: published: expected true or false, got a string"),
    ("provider list", "---\n" + GOOD + "provider: [a]\n---\n",
     "content/x.md:4: provider: expected a mapping with name and domain, got a list"),
    ("excerpt mapping", "---\n" + GOOD + "excerpt: {a: 1}\n---\n",
     "content/x.md:4: excerpt: expected a string, got a mapping"),
    ("category list", "---\n" + GOOD + "category: [news]\n---\n",
     "content/x.md:4: category: expected a string, got a list"),
    ("type boolean", "---\n" + GOOD + "type: true\n---\n",
     "content/x.md:4: type: expected a string, got a boolean (true)"),
    ("webUrl integer", "---\n" + GOOD + "webUrl: 5\n---\n",
     "content/x.md:4: webUrl: expected a URL string, got an integer"),
    ("originalUrl list", "---\n" + GOOD + "originalUrl: [a]\n---\n",
     "content/x.md:4: originalUrl: expected a URL string, got a list"),
    ("images string", "---\n" + GOOD + "images: x\n---\n",
     "content/x.md:4: images: expected a list of images, got a string"),
    ("related string", "---\n" + GOOD + "related: x\n---\n",
     "content/x.md:4: related: expected a list of related articles, got a string"),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in FIELD_ERRORS], ids=[c[0] for c in FIELD_ERRORS])
def test_field_error_skips_the_record(raw, expected):
    assert problems(raw) == [expected]
    assert not loads(raw)


def test_every_field_error_is_reported_in_one_pass():
    raw = "---\ntitle: [a]\npublishedDateTime: soon\ntopics: AI\npublished: 3\n---\n"
    assert problems(raw) == [
        "content/x.md:2: title: expected a non-empty string, got a list",
        "content/x.md:3: publishedDateTime: expected an ISO 8601 date-time such as 2021-11-30T20:18:00Z, got 'soon'",
        "content/x.md:5: published: expected true or false, got an integer",
        "content/x.md:4: topics: expected a list of strings, got a string",
    ]


def test_nested_field_lines_point_into_the_file():
    raw = ("---\n" + GOOD + "images:\n  - 5\n  - {width: 3}\n"
           "  - {url: u, width: -1, height: x, isCached: maybe}\n---\n")
    assert problems(raw) == [
        "content/x.md:5: warning: images[0]: expected a mapping with url, width, height, got an integer; image ignored",
        "content/x.md:6: warning: images[1].url: expected a URL string, got nothing (null); image ignored",
        "content/x.md:7: warning: images[2].width: expected a positive integer, got -1",
        "content/x.md:7: warning: images[2].height: expected a positive integer, got the text 'x'",
        "content/x.md:7: warning: images[2].isCached: expected true or false, got a string",
    ]
    assert loads(raw)


# --------------------------------------------------------------------------- warnings: the record still builds

WARNINGS = [
    ("provider without name or domain", "provider: {}",
     "content/x.md:4: warning: provider: has neither a name nor a domain; ignored"),
    ("javascript webUrl", "webUrl: 'javascript:alert(1)'",
     "content/x.md:4: warning: webUrl: not an http(s) URL; it will not be linked"),
    ("field given twice", "title: again",
     "content/x.md:4: warning: title: given twice (first on line 2); the last one is used"),
    ("quality word", "quality: high",
     "content/x.md:4: warning: quality: expected an integer, got the text 'high'; treated as unknown"),
    ("heat list", "heat: []",
     "content/x.md:4: warning: heat: expected an integer, got a list; treated as unknown"),
    ("bad updatedDateTime", "updatedDateTime: nope",
     "content/x.md:4: warning: updatedDateTime: expected an ISO 8601 date-time such as 2021-11-30T20:18:00Z, "
     "got 'nope'; ignored"),
    ("bad locale", "locale: '<x>'",
     "content/x.md:4: warning: locale: expected a language tag such as en-us, got '<x>'; ignored"),
    ("locale list", "locale: [en]",
     "content/x.md:4: warning: locale: expected a language tag such as en-us, got a list; ignored"),
    ("related not a mapping", "related:\n  - 5",
     "content/x.md:5: warning: related[0]: expected a mapping with title and webUrl, got an integer; entry ignored"),
    ("related without title", "related:\n  - {excerpt: x}",
     "content/x.md:5: warning: related[0].title: expected a non-empty string, got nothing (null); entry ignored"),
    ("non-string field name", "5: x", "content/x.md: warning: field name 5 is not a string; ignored"),
]


@pytest.mark.parametrize(("line", "expected"), [c[1:] for c in WARNINGS], ids=[c[0] for c in WARNINGS])
def test_warning_keeps_the_record(line, expected):
    raw = "---\n" + GOOD + line + "\n---\n"
    assert problems(raw) == [expected]
    assert loads(raw)


# --------------------------------------------------------------------------- encodings and values


def test_a_nested_field_given_twice_is_a_warning_with_both_lines():
    raw = ("---\n" + GOOD + "provider:\n  name: First\n  domain: a.example\n  name: Second\n"
           "images:\n  - url: https://a.example/i.jpg\n    width: 10\n    width: 20\n"
           "extra:\n  \"k\\u001b[2J\": 1\n  \"k\\u001b[2J\": 2\n---\n")
    result = parse_record(raw.encode(), "content/x.md")
    assert [str(p) for p in result.problems] == [
        "content/x.md:7: warning: provider.name: given twice (first on line 5); the last one is used",
        "content/x.md:11: warning: images[0].width: given twice (first on line 10); the last one is used",
        "content/x.md:14: warning: extra.'k\\x1b[2J': given twice (first on line 13); the last one is used",
        "content/x.md:14: warning: extra.k[2J: the field name holds control characters; they are removed",
    ]
    assert result.article.provider.name == "Second" and result.article.images[0].width == 20


def test_top_level_fields_given_twice_are_reported_once():
    raw = "---\n" + GOOD + "topics: [a]\ntopics: [b]\n---\n"
    assert problems(raw) == [
        "content/x.md:5: warning: topics: given twice (first on line 4); the last one is used"]


def test_bom_and_crlf_load_like_plain_utf8():
    plain = "---\ntitle: Café ok\npublishedDateTime: 2024-01-01T00:00:00Z\n---\nA *note*.\n"
    crlf_bom = ("\ufeff" + plain.replace("\n", "\r\n")).encode()
    a = parse_record(plain.encode(), "content/a.md").article
    b = parse_record(crlf_bom, "content/a.md").article
    assert a is not None and b is not None
    assert (a.title, a.published, a.body_html) == (b.title, b.published, b.body_html) == (
        "Café ok", a.published, "<p>A <em>note</em>.</p>")


def test_old_mac_line_endings_load():
    assert loads(b"---\rtitle: ok\rpublishedDateTime: 2024-01-01T00:00:00Z\r---\rbody")


def test_secured_is_dropped_and_unknown_fields_kept():
    raw = "---\n" + GOOD + "secured: 'c2VjcmV0;aXY='\nfeaturedContent: '<iframe src=x>'\nlocale: en_us\n---\n"
    article = parse_record(raw.encode(), "content/x.md").article
    assert "secured" not in article.extra
    assert "c2VjcmV0" not in repr(article)
    assert article.extra == {"featuredContent": "<iframe src=x>"}
    assert article.locale == "en-us"


def test_secured_is_dropped_at_any_depth_of_extra_fields():
    raw = ("---\n" + GOOD + "featured:\n  secured: 'c2VjcmV0'\n  items:\n    - {secured: 'aXY=', ok: 1}\n---\n")
    article = parse_record(raw.encode(), "content/x.md").article
    assert article.extra == {"featured": {"items": [{"ok": 1}]}}


def test_dates_naive_is_utc_offsets_kept():
    naive = parse_record(b"---\ntitle: a\npublishedDateTime: 2024-01-01T10:00:00\n---\n", "x").article
    assert naive.published.utcoffset().total_seconds() == 0
    offset = parse_record(b"---\ntitle: a\npublishedDateTime: '2024-01-01T10:00:00+05:30'\n---\n", "x").article
    assert offset.published.utcoffset().total_seconds() == 5.5 * 3600
    day = parse_record(b"---\ntitle: a\npublishedDateTime: 2024-01-01\n---\n", "x").article
    assert day.published.isoformat() == "2024-01-01T00:00:00+00:00"


def test_numbers_are_coerced_and_html_entities_decoded():
    raw = "---\ntitle: 'Tom &amp; Jerry&#8217;s'\npublishedDateTime: 2024-01-01\nquality: '42'\nheat: 7.6\n---\n"
    article = parse_record(raw.encode(), "x").article
    assert (article.title, article.quality, article.heat) == ("Tom & Jerry\u2019s", 42, 8)


def test_topics_deduplicated_by_case_and_unicode_form():
    raw = "---\n" + GOOD + "topics: ['Café', 'CAFÉ', 'Cafe\u0301', ' café ', 'Other']\n---\n"
    article = parse_record(raw.encode(), "x").article
    assert article.topics == ("Café", "Other")


def test_note_is_sanitized():
    body = ("<script>alert(1)</script>\n\n[x](javascript:alert(2)) [y](//evil.example/p) "
            "<img src=x onerror=alert(3)> <a href=\"https://ok.example/\" onclick=\"alert(4)\">ok</a>\n")
    article = parse_record(("---\n" + GOOD + "---\n" + body).encode(), "x").article
    html = article.body_html
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html
    assert "onclick" not in html and "<img" not in html
    assert 'href="https://evil.example/p"' in html or "evil.example" not in html
    assert 'href="https://ok.example/"' in html and 'rel="noopener noreferrer"' in html


def test_refused_links_in_notes_keep_only_their_text():
    body = "[click](javascript:alert(1)) <a href=\"vbscript:x\" title=\"t\">v</a> [ok](https://a.example/)\n"
    html = parse_record(("---\n" + GOOD + "---\n" + body).encode(), "x").article.body_html
    assert html == '<p>click v <a href="https://a.example/" rel="noopener noreferrer">ok</a></p>'


# --------------------------------------------------------------------------- slugs


def test_slug_is_transliterated_and_bounded():
    def slug(title: str) -> str:
        raw = f"---\ntitle: {title!r}\npublishedDateTime: 2024-01-01\nwebUrl: https://a.example/1\n---\n"
        return parse_record(raw.encode(), "x").article.slug

    assert slug("Über Größe: Москва и 東京").startswith("uber-grosse-moskva-i-dongjing-")
    for hostile in ("../../etc/passwd", "..", ".", "/", "\\\\server\\share", "\u200b", "🙂🙂", "a/b\\c"):
        value = slug(hostile)
        assert value and "/" not in value and "\\" not in value and value not in (".", "..")
        assert not value.startswith(".")
    long = slug("word " * 500)
    assert len(long.encode()) <= 80


def test_slug_depends_only_on_the_record():
    one = parse_record(b"---\ntitle: Same\npublishedDateTime: 2024-01-01\nwebUrl: https://a.example/1\n---\n", "a")
    two = parse_record(b"---\ntitle: Same\npublishedDateTime: 2024-01-01\nwebUrl: https://a.example/2\n---\n", "b")
    again = parse_record(b"---\ntitle: Same\npublishedDateTime: 2024-01-01\nwebUrl: https://a.example/1\n---\n", "c")
    assert one.article.slug != two.article.slug
    assert one.article.slug == again.article.slug


# --------------------------------------------------------------------------- duplicates


def test_duplicate_weburl_warns_and_winner_is_deterministic(make_site):
    files = {
        "content/a.md": "---\ntitle: Older copy\npublishedDateTime: 2024-01-01\nwebUrl: https://s.example/1\n---\n",
        "content/b.md": ("---\ntitle: Newer copy\npublishedDateTime: 2024-01-01\n"
                         "updatedDateTime: 2024-01-02\nwebUrl: https://s.example/1\n---\n"),
        "content/c.md": ("---\ntitle: Draft copy\npublishedDateTime: 2024-01-05\n"
                         "published: false\nwebUrl: https://s.example/1\n---\n"),
    }
    site = make_site(files)
    result = load_content(site, site / "content")
    assert [a.title for a in result.articles] == ["Newer copy"]
    assert [str(p) for p in result.problems] == [
        "content/a.md:4: warning: webUrl: same story as content/b.md; this copy is skipped",
        "content/c.md:5: warning: webUrl: same story as content/b.md; this copy is skipped",
    ]
    # the winner does not depend on the order the files were read in
    reversed_order, _ = deduplicate(reversed(result.articles + tuple(
        parse_record(files[n].encode(), n).article for n in ("content/a.md", "content/c.md"))))
    assert [a.title for a in reversed_order] == ["Newer copy"]


def test_duplicate_tie_goes_to_first_path(make_site):
    same = "---\ntitle: T{}\npublishedDateTime: 2024-01-01\nwebUrl: https://s.example/1\n---\n"
    site = make_site({"content/z.md": same.format(1), "content/m/a.md": same.format(2)})
    result = load_content(site, site / "content")
    assert [a.source for a in result.articles] == ["content/m/a.md"]


# --------------------------------------------------------------------------- discovery


def test_discovery_skips_images_hidden_and_other_suffixes(make_site):
    rec = "---\n" + GOOD + "---\n"
    site = make_site({
        "content/a.md": rec, "content/deep/er/b.markdown": rec, "content/c.TXT": rec,
        "content/images/x.md": rec, "content/.hidden.md": rec, "content/.git/y.md": rec,
        "content/notes.html": rec, "content/backup.md~": rec,
    })
    files, found = record_files(site, site / "content")
    assert [source for _, source in files] == [
        "content/a.md", "content/c.TXT", "content/deep/er/b.markdown"]
    assert found == []


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_symlinks_outside_the_site_are_not_followed(make_site, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("---\ntitle: Secret\npublishedDateTime: 2024-01-01\n---\n")
    site = make_site({"content/a.md": "---\n" + GOOD + "---\n", "shared/in.md": "---\ntitle: In\npublishedDateTime: 2024-01-01\n---\n"})
    os.symlink(outside, site / "content" / "linked-dir")
    os.symlink(outside / "secret.md", site / "content" / "linked.md")
    os.symlink(site / "shared" / "in.md", site / "content" / "inside.md")
    os.symlink(site / "content", site / "content" / "loop")
    result = load_content(site, site / "content")
    assert sorted(a.title for a in result.articles) == ["In", "ok"]
    assert [str(p) for p in result.problems] == [
        "content/linked-dir: warning: symbolic link points outside the site; not followed",
        "content/linked.md: warning: symbolic link points outside the site; not followed",
    ]


def test_unreadable_file_is_a_problem_not_a_crash(make_site):
    if os.geteuid() == 0:
        pytest.skip("root reads everything")
    site = make_site({"content/a.md": "---\n" + GOOD + "---\n"})
    (site / "content" / "a.md").chmod(0)
    result = load_content(site, site / "content")
    assert [str(p) for p in result.problems] == ["content/a.md: cannot read: Permission denied"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_skipped_not_read(make_site):
    site = make_site({"content/a.md": "---\n" + GOOD + "---\n"})
    os.mkfifo(site / "content" / "pipe.md")
    result = load_content(site, site / "content")  # reading the pipe would block forever
    assert [a.source for a in result.articles] == ["content/a.md"]
    assert [str(p) for p in result.problems] == ["content/pipe.md: warning: not a regular file; skipped"]


def test_dangling_symlink_is_a_problem(make_site):
    site = make_site({"content/a.md": "---\n" + GOOD + "---\n"})
    os.symlink(site / "content" / "gone.md", site / "content" / "dangling.md")
    result = load_content(site, site / "content")
    assert [str(p) for p in result.problems] == ["content/dangling.md: warning: not a regular file; skipped"]


def test_one_bad_file_does_not_stop_the_others(make_site):
    site = make_site({
        "content/bad.md": b"\xff\xfe\x00garbage",
        "content/good.md": "---\n" + GOOD + "---\n",
        "content/also-bad.md": "---\ntitle: [\n---\n",
    })
    result = load_content(site, site / "content")
    assert [a.source for a in result.articles] == ["content/good.md"]
    assert len(result.problems) == 2 and result.files == 3


def test_a_record_file_is_read_whole_or_refused_past_the_limit(tmp_path):
    from digest.load import MAX_RECORD_BYTES, read_record

    path = tmp_path / "x.md"
    path.write_bytes(("---\n" + GOOD + "---\n").encode() + b"note " * 1000)
    assert read_record(path, "content/x.md").article.body_html.count("note") == 1000
    path.write_bytes(("---\n" + GOOD + "---\n").encode() + b"x" * MAX_RECORD_BYTES)
    (problem,) = read_record(path, "content/x.md").problems
    assert "file too large for a record" in problem.message


def test_two_stories_whose_ids_collide_both_build(make_site):
    """The first 10 hex digits of the SHA-256 of these two URLs are equal (b9bc9eacf1)."""
    from digest.build import build
    from tests.conftest import record

    urls = ["https://news.example.com/c/710857", "https://news.example.com/c/824363"]
    site = make_site({f"content/{n}.md": record("Same title", webUrl=f'"{url}"') for n, url in enumerate(urls)}
                     | {"digest.toml": "search = false\n"})
    result = build(site, jobs=1)
    assert result.articles == 2 and not result.problems
    ids = sorted(p.stem for p in (site / "build" / "api" / "articles").glob("*.json"))
    assert ids[0] == "b9bc9eacf1" and ids[1].startswith("b9bc9eacf1") and len(ids[1]) == 64
    assert len(list((site / "build" / "2024" / "01" / "02").iterdir())) == 2  # two article pages


def test_no_shorter_key_can_fold_to_secured():
    """`_dropped` skips keys shorter than ``secured``: true only while no character folds to
    several that occur in the word (folding never drops one)."""
    import sys

    from digest.load import _DROPPED

    for word in _DROPPED:
        assert not [c for c in range(sys.maxunicode + 1)
                    if len(chr(c).casefold()) > 1 and chr(c).casefold() in word]
