"""A copy of another record's ``secured`` value (a scraper mixing up records) is never published:
found after all records are loaded (`digest.load.foreign_secrets`), dropped as a copy of the
record's own secret is, and the plain record comes back when the other one changes."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from digest.build import build
from digest.cache import BuildCache
from digest.cli import main
from digest.load import foreign_secrets, parse_record, run_digest
from tests.test_incremental import _clean_tree, tree

CIPHER = "cGlDX5SSZpzZ0oTt41ly1s0rDdz4sgEfK30nVVqGcrkzRTUACLNV0xeS0G/YHzHVlQ38luG1+CRhqS1IZKn0YPg=="
IV = "McEJcajeV6yMkDIZqjM2fA=="
OTHER = "Zm9vYmFyQmF6cXV4UXV1eENvcmdlR3JhdWx0Mm9vZ2xlOTk=;QmFyYmF6UXV4MTIzNDU2Nzg5MA=="
"""Another secured value, for A after an edit."""
ENTITIES = "".join(f"&#{ord(c)};" for c in IV)

COPIES = {
    "whole": f"{CIPHER};{IV}",
    "iv": IV,
    "inside": f"The key {CIPHER} was in the logs",
    "entities": ENTITIES,
}


def record_a(secured: str = f"{CIPHER};{IV}") -> str:
    return ('---\ntitle: "Record A"\npublishedDateTime: 2024-01-02T10:00:00Z\n'
            'webUrl: "https://news.example.com/a"\nexcerpt: "A plain excerpt"\n'
            f'secured: "{secured}"\n---\n')


def record_b(excerpt: str, note: str = "A note of B.") -> str:
    return ('---\ntitle: "Record B"\npublishedDateTime: 2024-01-03T10:00:00Z\n'
            f'webUrl: "https://news.example.com/b"\nexcerpt: "{excerpt}"\ntopics: ["Privacy"]\n'
            f'secured: "{OTHER}"\n---\n{note}\n')


def documents(out: Path) -> dict[str, dict]:
    docs = (json.loads(p.read_text(encoding="utf-8")) for p in (out / "api" / "articles").glob("*.json"))
    return {doc["title"]: doc for doc in docs}


def leaked(out: Path, runs: list[str]) -> list[str]:
    """Output files (every file, as bytes, and their text with HTML entities decoded) that hold
    one of ``runs``."""
    found = []
    for path in sorted(out.rglob("*")):
        if path.is_file():
            raw = path.read_bytes()
            text = html.unescape(raw.decode("utf-8", "replace"))
            if any(run.encode() in raw or run in text or run.replace("/", "\\/") in text for run in runs):
                found.append(path.relative_to(out).as_posix())
    return found


SECRET_RUNS = [CIPHER.rstrip("="), IV.rstrip("=")]


@pytest.mark.parametrize("copy", COPIES)
def test_a_copy_of_another_records_secret_is_not_published_and_comes_back_when_it_is_no_secret(
        make_site, capsys, tmp_path, copy):
    site = make_site({"digest.toml": 'title = "Site"\nsearch = false\n', "content/a.md": record_a(),
                      "content/b.md": record_b(COPIES[copy])})
    assert main(["build", str(site)]) == 0
    err = capsys.readouterr().err
    assert "content/b.md:5: warning: excerpt: holds the secured value of content/a.md; dropped" in err, err
    assert not any(run in err for run in SECRET_RUNS)  # (never quoted in a problem)
    assert leaked(site / "build", SECRET_RUNS) == []
    b = documents(site / "build")["Record B"]
    assert b["excerpt"] == "" and b["topics"] == ["Privacy"] and "A note of B." in b["note"]
    assert documents(site / "build")["Record A"]["excerpt"] == "A plain excerpt"
    assert "Record B" in (site / "build" / "index.html").read_text(encoding="utf-8")

    again = build(site, jobs=1)  # (nothing changed: nothing is written)
    assert again.written == 0 and again.rendered == 0 and again.removed == 0
    # The parse cache keeps the record as it is alone: the copy is dropped at each build.
    cached = BuildCache(site, site / "build").records.entries["content/b.md"][3]
    assert cached.article.excerpt == html.unescape(COPIES[copy]) and cached.problems == ()

    (site / "content" / "a.md").write_text(record_a(OTHER.replace("Zm9v", "WW9v")), encoding="utf-8")
    assert main(["build", str(site)]) == 0  # A's secret changed: B's copy is no secret any more
    assert "content/a.md" not in capsys.readouterr().err
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean-edited")
    assert documents(site / "build")["Record B"]["excerpt"] == html.unescape(COPIES[copy])

    (site / "content" / "a.md").write_text(record_a(), encoding="utf-8")
    assert main(["build", str(site)]) == 0  # and back
    assert "holds the secured value of content/a.md" in capsys.readouterr().err
    assert leaked(site / "build", SECRET_RUNS) == []
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean-back")

    (site / "content" / "a.md").unlink()
    assert main(["build", str(site)]) == 0  # A gone: B's plain article again
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean-gone")
    assert documents(site / "build")["Record B"]["excerpt"] == html.unescape(COPIES[copy])


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_note_loses_the_copy_and_builds_with_forks_equal_clean_builds(make_site, capsys, tmp_path, jobs):
    site = make_site({"digest.toml": 'title = "Site"\nsearch = false\n', "content/a.md": record_a(),
                      "content/b.md": record_b("Fine", note=f"Leaked: {IV} and {ENTITIES[:-1]}."),
                      "content/c.md": record_b("Also fine", note=f"Only this: {CIPHER}")
                      .replace("/b", "/c").replace("Record B", "Record C")})
    build(site, jobs=jobs)
    assert leaked(site / "build", SECRET_RUNS) == []
    docs = documents(site / "build")
    assert docs["Record B"]["excerpt"] == "Fine" and "note" not in docs["Record B"]  # (written otherwise too)
    assert "Only this:" in docs["Record C"]["note"]
    assert build(site, jobs=jobs).written == 0
    (site / "content" / "a.md").write_text(record_a(OTHER.replace("Zm9v", "WW9v")), encoding="utf-8")
    build(site, jobs=jobs)
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean")
    assert IV in documents(site / "build")["Record B"]["note"]


def test_check_reports_the_copy(make_site, capsys):
    site = make_site({"content/a.md": record_a(), "content/b.md": record_b(IV),
                      "content/c.md": record_b(f"x {CIPHER}", note=IV).replace("/b", "/c")})
    assert main(["check", str(site)]) == 0
    err = capsys.readouterr().err
    assert "content/b.md:5: warning: excerpt: holds the secured value of content/a.md; dropped" in err, err
    assert "content/c.md:5: warning: excerpt: holds the secured value of content/a.md; dropped" in err, err
    assert "content/c.md: warning: the note holds the secured value of content/a.md; it is left out of the note" \
        in err, err
    assert main(["check", str(site), "--strict"]) != 0


def test_a_record_that_fails_still_guards_its_secret_and_a_record_holding_its_own_is_not_told_twice(make_site, capsys):
    broken = record_a().replace('title: "Record A"\n', "")  # (no title: an error, the record is skipped)
    site = make_site({"digest.toml": "search = false\n", "content/a.md": broken,
                      "content/b.md": record_b(IV).replace(OTHER, f"{CIPHER};{IV}")})
    assert main(["check", str(site)]) == 1  # (A's error)
    err = capsys.readouterr().err
    assert "content/b.md:5: warning: excerpt: holds the secured value; dropped" in err  # (its own: said once)
    assert "of content/a.md" not in err
    site = make_site({"digest.toml": "search = false\n", "content/a.md": broken, "content/b.md": record_b(IV)})
    assert main(["check", str(site)]) == 1
    assert "content/b.md:5: warning: excerpt: holds the secured value of content/a.md; dropped" in capsys.readouterr().err


def test_the_digests_a_record_carries():
    a = parse_record(record_a().encode(), "content/a.md")
    assert a.secrets == b"".join(sorted([run_digest(CIPHER.rstrip("=")), run_digest(IV.rstrip("="))]))
    assert a.tokens == b""  # (nothing for most records)
    assert a.article is not None and not hasattr(a.article, "tokens")
    b = parse_record(record_b(f"https://x.example/s/{IV}").encode(), "content/b.md")
    # (glued by "/" to the path, the IV is inside a longer run: not found across records, a limit)
    assert run_digest(IV.rstrip("=")) not in [b.tokens[i:i + 8] for i in range(0, len(b.tokens), 8)]
    b = parse_record(record_b(f"see {IV}, and MixedCaseWordsAreRare").encode(), "content/b.md")
    assert len(b.tokens) == 16 and run_digest(IV.rstrip("=")) in [b.tokens[:8], b.tokens[8:]]
    plain = parse_record(record_b("https://www.example.com/news/2024/01/some-long-article-name").encode(), "b.md")
    assert plain.tokens == b""  # (one case only: no candidate)
    broken = parse_record(record_a().replace('title: "Record A"\n', "").encode(), "content/a.md")
    assert broken.article is None and broken.secrets == a.secrets
    # A record holding a copy of its own secret carries no token for it (dropped as it is parsed).
    own = parse_record(record_b(IV).replace(OTHER, f"{CIPHER};{IV}").encode(), "content/b.md")
    assert own.tokens == b""
    # Matched against another record's secret, and parsed again with it: another content hash.
    plain_b = parse_record(record_b(IV).encode(), "content/b.md")
    found = foreign_secrets([a, plain_b, own], ["content/a.md", "content/b.md", "content/c.md"])
    assert found == {1: {run_digest(IV.rstrip("=")): "content/a.md"}}
    again = parse_record(record_b(IV).encode(), "content/b.md", foreign=found[1])
    assert again.article.excerpt == "" and again.article.content_hash != plain_b.article.content_hash
    assert parse_record(record_b(IV).encode(), "content/b.md", foreign=found[1]) == again  # (pure)
    assert again.tokens == plain_b.tokens and again.secrets == plain_b.secrets
