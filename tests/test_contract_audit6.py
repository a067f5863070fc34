"""Hostile input against DESIGN.md's contracts, sixth round (extra fields on their way to the JSON
API: control characters, links of other schemes, curated entries the page does not show; see
tests/test_contract_audit.py .. tests/test_contract_audit5.py for the earlier rounds): each test is
a broken promise found, fixed, and kept fixed."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from digest.cli import main


def _documents(out: Path) -> dict[str, dict]:
    """The JSON API's article documents of a built site, by title."""
    docs = (json.loads(p.read_text(encoding="utf-8")) for p in (out / "api" / "articles").glob("*.json"))
    return {doc["title"]: doc for doc in docs}


def _api_texts(out: Path) -> dict[str, str]:
    """Every JSON API file of a built site, as text, by path."""
    return {str(p.relative_to(out)): p.read_text(encoding="utf-8") for p in (out / "api").rglob("*.json")}


def _build_and_check(site: Path, capsys) -> tuple[str, str]:
    """(the build's problems, `digest check`'s problems) of ``site``; both exit 0."""
    assert main(["build", str(site)]) == 0
    built = capsys.readouterr().err
    assert main(["check", str(site)]) == 0
    return built, capsys.readouterr().err


_OTHER = '---\ntitle: "Other"\npublishedDateTime: 2024-01-01T10:00:00Z\nwebUrl: "https://news.example.com/o"\n---\n'
"""A plain record beside the hostile one: the rest of the site still builds."""


# --------------------------------------------------------------------------- control characters


_CONTROLS_RECORD = r'''---
title: "Controls"
publishedDateTime: 2024-01-02T10:00:00Z
webUrl: "https://news.example.com/a"
featuredContent: "<iframe>\u0000</iframe>"
path: "a\x01b\u007fc\u0085d\u009fe\tf\ng"
"bad\u0000key": 1
tags: ["ok", "x\by"]
provider:
  name: P
  domain: p.example
  motto: "in\u0000side"
related:
  - title: R
    webUrl: "https://r.example/1"
    type: "arti\u0000cle"
---
'''


def test_control_characters_in_extra_fields_are_removed_with_a_warning(make_site, capsys):
    """A record's extra fields (its own, its provider's, a curated entry's) went to the JSON API
    with the control characters their strings and keys held: valid JSON (``\\u0000``), but
    PostgreSQL's ``jsonb`` refuses it, and no field means them. They are removed (tab and line
    breaks kept), each with a warning naming file, line and field, by the build and by check."""
    site = make_site({"digest.toml": "search = false\n", "content/a.md": _CONTROLS_RECORD,
                      "content/o.md": _OTHER})
    built, checked = _build_and_check(site, capsys)
    for err in (built, checked):
        assert "content/a.md:5: warning: featuredContent: holds control characters (such as U+0000); removed" in err
        assert "content/a.md:6: warning: path: holds control characters" in err
        assert "content/a.md:7: warning: badkey: the field name holds control characters; they are removed" in err
        assert "content/a.md:8: warning: tags[1]: holds control characters (such as U+0008); removed" in err
        assert "content/a.md:12: warning: provider.motto: holds control characters" in err
        assert "content/a.md:16: warning: related[0].type: holds control characters" in err
        assert "\x00" not in err and "\x01" not in err  # (never printed)
    docs = _documents(site / "build")
    assert set(docs) == {"Controls", "Other"}
    doc = docs["Controls"]
    assert doc["featuredContent"] == "<iframe></iframe>"
    assert doc["path"] == "abcde\tf\ng"  # (a tab and a line break are no controls to remove)
    assert doc["badkey"] == 1 and doc["tags"] == ["ok", "xy"]
    assert doc["provider"]["motto"] == "inside"
    assert doc["related"][0]["type"] == "article"
    controls = re.compile(r"\\u00[01][0-9a-f]|\\u007f|\\u00[89][0-9a-f]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
    for path, text in _api_texts(site / "build").items():
        assert not controls.search(text.replace("\\t", "").replace("\\n", "")), path


def test_control_characters_in_json_front_matter_extra_fields_are_removed_too(make_site, capsys):
    site = make_site({
        "digest.toml": "search = false\n",
        "content/a.md": '{"title": "J", "publishedDateTime": "2024-01-02T10:00:00Z",'
                        ' "webUrl": "https://news.example.com/j", "code": "a\\u0000b\\u001bc"}\n',
    })
    built, checked = _build_and_check(site, capsys)
    assert "content/a.md:1: warning: code: holds control characters (such as U+0000); removed" in built
    assert "code: holds control characters" in checked
    assert _documents(site / "build")["J"]["code"] == "abc"


def test_a_field_name_that_becomes_another_with_its_control_characters_removed_is_dropped(make_site, capsys):
    site = make_site({
        "digest.toml": "search = false\n",
        "content/a.md": '---\ntitle: "K"\npublishedDateTime: 2024-01-02T10:00:00Z\n'
                        'webUrl: "https://news.example.com/k"\nkey: 1\n"k\\u0000ey": 2\n---\n',
    })
    built, _ = _build_and_check(site, capsys)
    assert "content/a.md:6: warning: key: the field name holds control characters; they are removed " \
           "(then it is another field's name: dropped)" in built
    assert _documents(site / "build")["K"]["key"] == 1


# --------------------------------------------------------------------------- links of other schemes


_LINKS_RECORD = '''---
title: "Links"
publishedDateTime: 2024-01-02T10:00:00Z
webUrl: "https://news.example.com/l"
shareUrl: "ftp://files.example/x"
homeUrl: "//cdn.example/x"
onclick: "javascript: alert(1)"
embed: "data:text/html,<script>alert(1)</script>"
notice: "Note: fine"
links:
  - "https://ok.example/"
  - " vbscript:msgbox(1)"
emptyUrl: ""
provider:
  name: P
  domain: p.example
  logoUrl: "javascript:alert(1)"
related:
  - title: R
    webUrl: "https://r.example/1"
    ampWebUrl: "javascript:alert(2)"
    cdnAmpWebUrl: "https://cdn.example/amp"
---
'''


def test_an_extra_fields_link_of_another_scheme_is_dropped_with_a_warning(make_site, capsys):
    """Strings of extra fields that are links of another scheme than http(s) (``javascript:``,
    ``data:``..., and anything but an http(s) URL under a key ending in ``Url``) were left out of
    the JSON API without a word to the curator: now they are dropped as the record is read, with a
    warning naming file, line and field (so `digest check` says so too); the JSON writer still
    checks. Text such as ``Note: fine`` and an empty ``""`` are no links to warn of."""
    site = make_site({"digest.toml": "search = false\n", "content/a.md": _LINKS_RECORD, "content/o.md": _OTHER})
    built, checked = _build_and_check(site, capsys)
    for err in (built, checked):
        assert "content/a.md:5: warning: shareUrl: not an http(s) URL; dropped" in err
        assert "content/a.md:7: warning: onclick: a javascript: link (only http(s) links are published); dropped" in err
        assert "content/a.md:8: warning: embed: a data: link" in err
        assert "content/a.md:12: warning: links[1]: a vbscript: link" in err
        assert "content/a.md:17: warning: provider.logoUrl: not an http(s) URL; dropped" in err
        assert "content/a.md:21: warning: related[0].ampWebUrl: not an http(s) URL; dropped" in err
        assert "homeUrl" not in err and "notice" not in err and "emptyUrl" not in err and "cdnAmpWebUrl" not in err
    docs = _documents(site / "build")
    assert set(docs) == {"Links", "Other"}
    doc = docs["Links"]
    for key in ("shareUrl", "onclick", "embed", "emptyUrl"):
        assert key not in doc
    assert doc["homeUrl"] == "https://cdn.example/x" and doc["notice"] == "Note: fine"
    assert doc["links"] == ["https://ok.example/"]
    assert "logoUrl" not in doc["provider"]
    assert "ampWebUrl" not in doc["related"][0] and doc["related"][0]["cdnAmpWebUrl"] == "https://cdn.example/amp"
    for path, text in _api_texts(site / "build").items():
        assert "script:" not in text and "data:" not in text and "ftp:" not in text, path


# --------------------------------------------------------------------------- the secured value as a key


_CIPHER = "cGlDX5SSZpzZ0oTt41ly1s0rDdz4sgEfK30nVVqGcrkzRTUACLNV0xeS0G/YHzHVlQ38luG1+CRhqS1IZKn0YPg=="
_IV = "McEJcajeV6yMkDIZqjM2fA=="


def test_a_top_level_key_holding_the_secured_value_is_warned_of_on_its_line(make_site, capsys):
    """The warning for a top-level key that is the secured value had no line (its field is the
    record itself): it has the key's line now, and still never prints the key."""
    site = make_site({
        "digest.toml": "search = false\n",
        "content/a.md": f'---\ntitle: "S"\npublishedDateTime: 2024-01-02T10:00:00Z\n'
                        f'webUrl: "https://news.example.com/s"\nsecured: "{_CIPHER};{_IV}"\n'
                        f'"{_CIPHER}": 1\nnested:\n  "{_IV}": 2\n  kept: 3\n---\n',
        "content/o.md": _OTHER,
    })
    built, checked = _build_and_check(site, capsys)
    for err in (built, checked):
        assert "content/a.md:6: warning: a key holds the secured value; dropped" in err
        assert "content/a.md:8: warning: nested: a key holds the secured value; dropped" in err
        assert _CIPHER[:16] not in err and _IV[:16] not in err
    docs = _documents(site / "build")
    assert set(docs) == {"S", "Other"} and docs["S"]["nested"] == {"kept": 3}
    for path, text in _api_texts(site / "build").items():
        assert _CIPHER[:16] not in text and _IV[:16] not in text, path


# --------------------------------------------------------------------------- curated entries the page does not show


_CURATED = '''---
title: "Curated"
publishedDateTime: 2024-01-02T10:00:00Z
webUrl: "https://news.example.com/c"
related:
  - title: "Elsewhere"
    webUrl: "https://elsewhere.example/1"
    ampWebUrl: "https://elsewhere.example/amp/1"
  - title: "Nowhere"
    webUrl: "urn:story:42"
    type: article
  - title: "Again"
    webUrl: "https://elsewhere.example/1"
---
'''
_TARGET = '---\ntitle: "Target"\npublishedDateTime: 2024-01-01T10:00:00Z\nwebUrl: "urn:story:42"\n---\n'


def _curated_titles(out: Path) -> tuple[list[str], list[str], list[str]]:
    """(the titles of Curated's related coverage on its page, in its JSON document, in the
    latest collection's copy of it)."""
    page = next((out / "2024/01/02").glob("curated*/index.html")).read_text(encoding="utf-8")
    coverage = page.split('id="coverage"', 1)[1].split("</section>", 1)[0] if 'id="coverage"' in page else ""
    shown = re.findall(r'dir="auto">([^<]*)</a>', coverage)
    listed = json.loads((out / "api/latest/index.json").read_text(encoding="utf-8"))["value"]
    copy = next(doc for doc in listed if doc["title"] == "Curated")
    return shown, [r["title"] for r in _documents(out)["Curated"]["related"]], [r["title"] for r in copy["related"]]


def test_the_json_api_lists_the_curated_entries_the_page_shows_and_no_others(make_site, capsys):
    """A curated entry whose webUrl is no http(s) link is shown on its page only when it is a story
    of this site, but the JSON API listed it all the same (a title leading nowhere); it lists the
    entries the page shows now (a story or link given twice is shown once), in both directions as
    articles come and go, in an incremental build as in a new one."""
    site = make_site({"digest.toml": "search = false\n", "content/c.md": _CURATED})
    assert main(["build", str(site)]) == 0
    out = site / "build"
    assert _curated_titles(out) == (["Elsewhere"], ["Elsewhere"], ["Elsewhere"])
    assert _documents(out)["Curated"]["related"][0]["ampWebUrl"] == "https://elsewhere.example/amp/1"
    assert "related[1].webUrl: not an http(s) URL; shown only if it is a story of this site" in \
        capsys.readouterr().err

    (site / "content/t.md").write_text(_TARGET, encoding="utf-8")  # the story of urn:story:42 joins
    assert main(["build", str(site)]) == 0
    assert _curated_titles(out) == (["Elsewhere", "Target"], ["Elsewhere", "Nowhere"], ["Elsewhere", "Nowhere"])
    assert _documents(out)["Curated"]["related"][1]["type"] == "article"
    incremental = _api_texts(out)
    shutil.rmtree(site / ".digest-cache", ignore_errors=True)  # (a build from nothing agrees)
    assert main(["build", str(site), "-o", str(site / "cold")]) == 0
    assert _api_texts(site / "cold") == incremental

    (site / "content/t.md").unlink()  # and leaves again
    assert main(["build", str(site)]) == 0
    assert _curated_titles(out) == (["Elsewhere"], ["Elsewhere"], ["Elsewhere"])
