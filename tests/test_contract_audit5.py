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
