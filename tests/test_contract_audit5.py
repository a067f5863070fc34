"""Hostile input against DESIGN.md's contracts, fifth round (text written by JSON encoders
into YAML, curated coverage as the seed record carries it; see tests/test_contract_audit.py ..
tests/test_contract_audit4.py for the earlier rounds): each test is a broken promise found,
fixed, and kept fixed."""

from __future__ import annotations

import json
from pathlib import Path

from digest.cli import main


def _documents(out: Path) -> dict[str, dict]:
    """The JSON API's article documents of a built site, by title."""
    docs = (json.loads(p.read_text(encoding="utf-8")) for p in (out / "api" / "articles").glob("*.json"))
    return {doc["title"]: doc for doc in docs}


# --------------------------------------------------------------------------- record text


def test_half_an_emoji_escaped_in_a_yaml_string_is_a_replacement_character_not_a_lost_record(
        make_site, capsys):
    # A double-quoted YAML string is often written by a JSON encoder, and JavaScript's
    # `substring` cuts an emoji in two: `excerpt: "Great news \ud83d"`. YAML refuses the lone
    # half ("found invalid Unicode character escape code"), so the whole record was skipped as
    # invalid YAML, while the same record as JSON front matter was read (the half as U+FFFD).
    site = make_site({
        "digest.toml": "search = false\n",
        "content/a.md": '---\ntitle: "Cut \\ud83d"\npublishedDateTime: 2024-01-02T10:00:00Z\n'
                        'webUrl: "https://news.example.com/a"\n'
                        'excerpt: "\\ud83d\\ude00 whole, half \\udc00, escaped \\\\ud800, long \\U0000dfff."\n'
                        'topics: ["Tech \\ud83d", "\\\\ud83d"]\n---\n',
        "content/b.md": '{"title": "Cut \\ud83d", "publishedDateTime": "2024-01-03T10:00:00Z",'
                        ' "webUrl": "https://news.example.com/b"}\n',
    })
    assert main(["build", str(site), "--strict"]) == 0, capsys.readouterr()
    docs = sorted((json.loads(p.read_text(encoding="utf-8")) for p in (site / "build/api/articles").glob("*.json")),
                  key=lambda doc: doc["publishedDateTime"])
    assert [doc["title"] for doc in docs] == ["Cut \ufffd", "Cut \ufffd"]  # (YAML as JSON reads it)
    assert docs[0]["excerpt"] == "\U0001f600 whole, half \ufffd, escaped \\ud800, long \ufffd."
    assert docs[0]["topics"] == ["Tech \ufffd", "\\ud83d"]  # (an escaped backslash is no escape)
    page = next((site / "build/2024/01/02").glob("*/index.html")).read_text(encoding="utf-8")
    assert "Cut \ufffd" in page and "\U0001f600 whole" in page


# --------------------------------------------------------------------------- related


SEED_RELATED = """\
related:
  - title: "Chinese province plans face recognition surveillance for journalists"
    excerpt: "Security officials commissioned a surveillance system."
    publishedDateTime: 2021-11-30T18:07:00Z
    webUrl: "https://inshorts.com/en/news/plans-1638295667513"
    ampWebUrl: "https://inshorts.com/m/en/amp_news/plans-1638295667513"
    cdnAmpWebUrl: "https://inshorts-com.cdn.ampproject.org/c/s/inshorts.com/m/en/amp_news/plans-1638295667513"
    type: article
    provider:
      name: Inshorts
      domain: www.Inshorts.com
    quality: 59
    images:
      - url: "https://static.inshorts.com/img_1638292436536_567.jpg?"
        width: 960
        height: 564
        isCached: true
  - title: "Hostile"
    webUrl: "https://other.example/h"
    ampWebUrl: "javascript:alert(1)"
    secured: "c2VjcmV0c2VjcmV0c2VjcmV0MTIz;aXZpdml2aXZpdml2"
    nested: {Secured: "c2VjcmV0c2VjcmV0c2VjcmV0MTIz;aXZpdml2aXZpdml2", keep: 1}
    provider: {name: Other, domain: "javascript:alert(2)"}
  - title: "Only an AMP link"
    ampWebUrl: "https://amp.example/only"
  - title: "Only a link no browser may follow"
    originalUrl: "javascript:alert(3)"
"""


def test_a_related_entry_keeps_every_field_of_the_seed_record_in_the_json_api(make_site, capsys):
    # The JSON API serves "the record's fields, in the shape the records' original site served",
    # but a `related` entry kept only its title, excerpt, date, webUrl and provider name: the
    # seed record's coverage lost its ampWebUrl, cdnAmpWebUrl, type, quality, images and
    # provider domain. Its other fields are now kept as a record's extra fields are: public
    # (http(s) URLs only, no `secured` at any depth).
    site = make_site({"digest.toml": "search = false\n",
                      "content/a.md": "---\ntitle: Seed\npublishedDateTime: 2021-11-30T20:18:00Z\n"
                                      "webUrl: https://www.biometricupdate.com/202111/x\n" + SEED_RELATED + "---\n"})
    assert main(["build", str(site)]) == 0
    problems = capsys.readouterr().err
    related = _documents(site / "build")["Seed"]["related"]
    assert related[0] == {
        "title": "Chinese province plans face recognition surveillance for journalists",
        "excerpt": "Security officials commissioned a surveillance system.",
        "publishedDateTime": "2021-11-30T18:07:00+00:00",
        "webUrl": "https://inshorts.com/en/news/plans-1638295667513",
        "provider": {"name": "Inshorts", "domain": "www.Inshorts.com"},
        "ampWebUrl": "https://inshorts.com/m/en/amp_news/plans-1638295667513",
        "cdnAmpWebUrl": "https://inshorts-com.cdn.ampproject.org/c/s/inshorts.com/m/en/amp_news/plans-1638295667513",
        "type": "article",
        "quality": 59,
        "images": [{"url": "https://static.inshorts.com/img_1638292436536_567.jpg?", "width": 960, "height": 564,
                    "isCached": True}],
    }
    assert related[1] == {"title": "Hostile", "excerpt": "", "webUrl": "https://other.example/h",
                          "provider": {"name": "Other"}, "nested": {"keep": 1}}
    # An entry the build says it ignores (no link it may follow) is in no output: it was still in
    # the JSON, a title leading nowhere.
    assert len(related) == 2
    assert "related[2].webUrl: expected a URL string, got nothing (null); entry ignored" in problems
    assert "related[3].originalUrl: not an http(s) URL; entry ignored" in problems
    for path in (site / "build").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"c2VjcmV0c2Vj" not in data and b"aXZpdml2" not in data and b"javascript:" not in data, path
            assert b"Only an AMP link" not in data, path
    # Collections repeat each article's document in its short form: the entries' fields read
    # (a render worker kept every document it made, and the other fields cost 270 MB at 100k).
    latest = json.loads((site / "build/api/latest/index.json").read_text(encoding="utf-8"))
    entry = latest["value"][0]["related"][0]
    assert "ampWebUrl" not in entry and entry["webUrl"] == "https://inshorts.com/en/news/plans-1638295667513"
    assert entry["provider"] == {"name": "Inshorts", "domain": "www.Inshorts.com"}


# --------------------------------------------------------------------------- provider


def test_the_providers_other_fields_of_the_real_records_are_kept_in_the_json_api(make_site):
    # Every real record (../shared/real-records) gives its provider a logo: `provider.images`.
    # The JSON API kept only `{name, domain}`: the rest was lost. It is now kept, public as a
    # record's extra fields are (http(s) URLs only, no `secured` at any depth).
    provider = ('provider:\n  name: Microsoft\n  domain: microsoft.com\n  images:\n'
                '    - url: "https://everyday-cc.github.io/powerapps/assets/images/organizations/microsoft.com-50x50.jpg"\n'
                '      width: 50\n      height: 50\n'
                '    - url: "javascript:alert(1)"\n'
                '  secured: "c2VjcmV0c2VjcmV0c2VjcmV0MTIz;aXZpdml2aXZpdml2"\n')
    site = make_site({"digest.toml": "search = false\n",
                      "content/a.md": "---\ntitle: Logo\npublishedDateTime: 2024-01-02T10:00:00Z\n"
                                      "webUrl: https://news.example.com/logo\n" + provider + "---\n",
                      "content/b.md": "---\ntitle: Plain\npublishedDateTime: 2024-01-03T10:00:00Z\n"
                                      "webUrl: https://news.example.com/plain\n"
                                      "provider: {name: Microsoft, domain: www.microsoft.com}\n---\n"})
    assert main(["build", str(site)]) == 0
    docs = _documents(site / "build")
    assert docs["Logo"]["provider"] == {
        "name": "Microsoft", "domain": "microsoft.com",
        "images": [{"url": "https://everyday-cc.github.io/powerapps/assets/images/organizations/microsoft.com-50x50.jpg",
                    "width": 50, "height": 50}, {}]}
    assert docs["Plain"]["provider"] == {"name": "Microsoft", "domain": "www.microsoft.com"}
    assert len(list((site / "build" / "sources").glob("*/index.html"))) == 1  # (still one source)
    for path in (site / "build").rglob("*"):
        if path.is_file():
            assert b"aXZpdml2" not in path.read_bytes() and b"javascript:" not in path.read_bytes(), path


def test_articles_with_curated_entries_and_provider_fields_stay_hashable():
    """Extra fields of a related entry or a provider (dicts) are left out of the hash: an
    article, frozen, is still hashable like any value."""
    from datetime import UTC, datetime

    from digest.model import Article, Provider, RelatedRef, pack_extra

    ref = RelatedRef(title="T", web_url="https://a.example/x", link="https://a.example/x", provider_name="A",
                     published=None, extra_packed=pack_extra({"images": [{"url": "https://a.example/i.png"}]}))
    assert ref.extra == {"images": [{"url": "https://a.example/i.png"}]}
    provider = Provider(key="a.example", name="A", domain="a.example", extra={"images": [{"url": "x"}]})
    article = Article(id="0123456789", source="content/a.md", title="T", published=datetime(2024, 1, 1, tzinfo=UTC),
                      updated=None, excerpt="", category="", type="", web_url="https://b.example/", link=None,
                      quality=None, heat=-1, is_published=True, provider=provider, topics=(), images=(),
                      related=(ref,), locale="", body_html="", slug="t-012345")
    assert hash(article) == hash(article) and hash(ref) == hash(ref) and hash(provider) == hash(provider)


# --------------------------------------------------------------------------- the image cache


def test_a_cached_image_named_by_its_hash_alone_is_found(make_site, capsys):
    """A cache tool that drops extensions (`content/images/<sha256>`): the bytes decide the format,
    so the file is used; it was reported as "no file <hash>.*" while it was there."""
    import hashlib
    import io

    from PIL import Image

    url = "https://img.example.com/photo"
    picture = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 200)).save(picture, "PNG")
    site = make_site({
        "digest.toml": "search = false\n",
        "content/a.md": f'---\ntitle: "Pictured"\npublishedDateTime: 2024-01-02T10:00:00Z\n'
                        f'webUrl: "https://news.example.com/a"\n'
                        f'images:\n  - url: "{url}"\n    width: 640\n    height: 480\n    isCached: true\n---\n',
        f"content/images/{hashlib.sha256(url.encode()).hexdigest()}": picture.getvalue(),
    })
    assert main(["build", str(site), "--strict"]) == 0, capsys.readouterr()
    assert "no file" not in capsys.readouterr().err
    assert list((site / "build" / "thumbs").rglob("*.webp"))  # thumbnails made from it


def test_a_date_with_invisible_characters_or_fullwidth_digits_is_read(make_site, capsys):
    """A scraper's zero-width space or byte order mark around a date, or a date in fullwidth
    digits (CJK sites): the date the text shows is read; the record was skipped as having no
    valid date."""
    site = make_site({
        "digest.toml": "search = false\n",
        "content/a.md": '---\ntitle: "Zero width"\npublishedDateTime: "\\u200b2024-01-02T10:00:00Z\\ufeff"\n'
                        'webUrl: "https://news.example.com/a"\n---\n',
        "content/b.md": '---\ntitle: "Fullwidth"\npublishedDateTime: "２０２４-０１-０３T１０:００:００+09:00"\n'
                        'updatedDateTime: "\\u2060Wed, 03 Jan 2024 12:00:00 +0000"\n'
                        'webUrl: "https://news.example.com/b"\n---\n',
        "content/c.md": '---\ntitle: "Nothing but"\npublishedDateTime: "\\u200b"\n'
                        'webUrl: "https://news.example.com/c"\n---\n',
    })
    assert main(["build", str(site)]) == 0  # (c has no date: an error; the rest builds)
    err = capsys.readouterr().err
    assert "content/c.md" in err and "content/a.md" not in err and "content/b.md" not in err
    docs = _documents(site / "build")
    assert docs["Zero width"]["publishedDateTime"] == "2024-01-02T10:00:00+00:00"
    assert docs["Fullwidth"]["publishedDateTime"] == "2024-01-03T10:00:00+09:00"
    assert docs["Fullwidth"]["updatedDateTime"] == "2024-01-03T12:00:00+00:00"


# --------------------------------------------------------------------------- the command line


def test_an_empty_folder_argument_is_a_usage_error(tmp_path, monkeypatch, capsys):
    """`digest build "$SITE"` with SITE unset built the shell's current folder (writing `build/`
    and a cache there), and `-o ""` built into the default folder: both are usage errors now."""
    import pytest

    monkeypatch.chdir(tmp_path)
    for argv in (["build", ""], ["build", ".", "-o", ""], ["check", ""], ["serve", ""], ["init", ""],
                 ["publish", "", "--to", f"file://{tmp_path}/www"]):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2, argv
        assert "empty path: name a folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere


def test_check_reports_the_image_problems_of_drafts_too(make_site, capsys):
    """`digest check` reported a draft's record problems but not its missing cached image,
    which the build that publishes it (or a --drafts preview) reports."""
    site = make_site({
        "content/a.md": '---\ntitle: "Draft"\npublishedDateTime: 2024-01-02T10:00:00Z\npublished: false\n'
                        'webUrl: "https://news.example.com/a"\n'
                        'images:\n  - url: "https://img.example.com/a.jpg"\n    isCached: true\n---\n',
    })
    main(["check", str(site)])
    assert "content/a.md:7: warning: images[0]: https://img.example.com/a.jpg: isCached is true but there is no file" in \
        capsys.readouterr().err


# --------------------------------------------------------------------------- the secured payload


_CIPHER = "cGlDX5SSZpzZ0oTt41ly1s0rDdz4sgEfK30nVVqGcrkzRTUACLNV0xeS0G/YHzHVlQ38luG1+CRhqS1IZKn0YPg=="
_IV = "McEJcajeV6yMkDIZqjM2fA=="


def test_a_copy_of_the_secured_value_written_otherwise_is_never_published(make_site, capsys):
    """A copy of the `secured` payload (or of its ciphertext or IV) written so that a reader still
    gets it: HTML entities, %-escapes (in a URL, in the note's link), a soft hyphen or a
    zero-width space splitting it, the base64 padding left off. Each was published as it was
    (the check compared the text as written); the field, or the note, is left out with a warning."""
    import html
    from urllib.parse import quote

    entities = "".join(f"&#{ord(c)};" for c in _CIPHER)
    half = len(_IV) // 2
    site = make_site({
        "digest.toml": "search = false\n",
        "content/a.md": "---\n"
                        'title: "Leaky"\npublishedDateTime: 2024-01-02T10:00:00Z\n'
                        f'webUrl: "https://news.example.com/a?c={quote(_CIPHER, safe="")}"\n'
                        f'excerpt: "{entities}"\n'
                        f'category: "{_IV[:half]}\\u00ad{_IV[half:]}"\n'
                        f'type: "{_IV[:half]}\\u200b{_IV[half:]}"\n'
                        f'featuredContent: "{_CIPHER.rstrip("=")}"\n'
                        f'secured: "{_CIPHER};{_IV}"\n'
                        "---\n"
                        f"See [the source](https://x.example/?k={quote(_IV, safe='')}) for {html.escape('more')}.\n",
        "content/b.md": '---\ntitle: "Clean"\npublishedDateTime: 2024-01-03T10:00:00Z\n'
                        'webUrl: "https://news.example.com/b"\n---\n',
    })
    assert main(["build", str(site)]) == 0
    err = capsys.readouterr().err
    assert err.count("holds the secured value") >= 5, err
    assert "the whole note is left out" in err
    forms = {_CIPHER, _CIPHER.rstrip("="), _IV, _IV.rstrip("="), quote(_CIPHER, safe=""), quote(_IV, safe=""),
             entities, _IV[:half], _CIPHER[:40]}
    for path in (site / "build").rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            bare = html.unescape(text).replace("\u00ad", "").replace("\u200b", "")
            assert not any(form in text or form in bare for form in forms), path
    assert {"Leaky", "Clean"} <= set(_documents(site / "build"))  # both still built


def test_long_category_type_image_title_and_curated_excerpt_are_cut(make_site, capsys):
    """A 100 kB `type` was printed on every card of its article (every listing that shows it),
    an image title became 100 kB of alt text on each: these are cut, with a warning, as a title,
    an excerpt and a name already were."""
    huge = "x" * 100_000
    site = make_site({
        "digest.toml": "search = false\n",
        "content/a.md": '---\ntitle: "Long"\npublishedDateTime: 2024-01-02T10:00:00Z\n'
                        f'webUrl: "https://news.example.com/a"\ncategory: "{huge}"\ntype: "{huge}"\n'
                        f'images:\n  - url: "https://img.example.com/a.jpg"\n    title: "{huge}"\n'
                        f'related:\n  - title: "Elsewhere"\n    webUrl: "https://other.example/x"\n    excerpt: "{huge}"\n'
                        "---\n",
    })
    assert main(["build", str(site)]) == 0
    err = capsys.readouterr().err
    for field in ("category", "type", "images[0].title", "related[0].excerpt"):
        assert f"warning: {field}: longer than" in err, (field, err)
    assert all(path.stat().st_size < 60_000 for path in (site / "build").rglob("*.html"))
    doc = _documents(site / "build")["Long"]
    assert len(doc["type"]) == 200 and len(doc["category"]) == 200 and len(doc["related"][0]["excerpt"]) == 5000


def test_the_one_pass_secret_check_finds_every_copy_the_value_by_value_check_finds():
    """`_secret_copies` first looks for the secrets in all the record's texts `_bare` at once
    (one pass, where it made one per value). It must still find each copy, wherever the other
    texts put escapes, spaces or invisible characters that could join with it."""
    import html
    from urllib.parse import quote

    from digest.load import _secret_copies

    secured = f"{_CIPHER};{_IV}"
    copies = [_IV, _IV.rstrip("="), quote(_CIPHER, safe=""), "".join(f"&#{ord(c)};" for c in _IV),
              f"{_IV[:5]}\u00ad{_IV[5:]}", f"{_IV[:5]}\u200b\u2066{_IV[5:]}", f"see {_CIPHER} there",
              html.escape(f"<{_IV}>"), f"{_IV[:8]}&#x200b;{_IV[8:]}"]
    neighbours = ["", "&", "&#", "%", "%2", "&amp", "  ", "\u00ad", "\u200b", "caf\u00e9 \u201cquoted\u201d", "="]
    for copy in copies:
        for before in neighbours:
            for after in neighbours:
                data = {"title": before, "excerpt": copy, "type": after, "secured": secured,
                        "provider": {"name": f"{before}x{after}"}, "topics": [after, before]}
                assert _secret_copies(data), (copy, before, after)
    clean = {"title": "A story", "excerpt": "caf\u00e9 &amp; 100% \u200b", "secured": secured}
    assert _secret_copies(clean) == frozenset()
    assert _secret_copies(clean, note=f"a note quoting {_CIPHER}")  # (the note is still looked in)
