"""Golden output: a small site builds to exactly the tree in ``tests/golden/site/``.

After an intended change to templates or pages, regenerate and review the diff::

    DIGEST_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py
    git diff tests/golden/site/
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

from digest.build import build

GOLDEN = Path(__file__).resolve().parent / "golden" / "site"
SKIPPED = ("static/", "pagefind/")
"""Copied or tool-made outputs (theme files, the search engine's index) are not compared."""

SITE = {
    "digest.toml": (
        'title = "Golden Digest"\n'
        'description = "A tiny site whose output is checked byte for byte."\n'
        'base_url = "https://golden.example/news/"\n'
        'timezone = "Europe/Berlin"\n'
        'page_size = 2\n'
        'related_count = 2\n'
    ),
    "content/2024/01/facial.md": (
        "---\n"
        'title: "Province to use facial recognition to track journalists"\n'
        'excerpt: "The tender suggests physical intervention & more."\n'
        "publishedDateTime: 2024-01-01T20:18:00Z\n"
        'webUrl: "https://www.biometricupdate.com/2024/facial"\n'
        "type: article\nquality: 33\nheat: 12\nlocale: en-us\n"
        "provider: {name: Biometric Companies, domain: biometricupdate.com}\n"
        "topics: [Computer Vision, AI]\n"
        "images:\n"
        '  - {url: "https://img.example/face.jpg", width: 1600, height: 1109, isCached: false}\n'
        "related:\n"
        '  - title: "Chinese province plans face recognition surveillance"\n'
        '    webUrl: "https://inshorts.example/en/news/face"\n'
        "    publishedDateTime: 2024-01-01T18:07:00Z\n"
        "    provider: {name: Inshorts, domain: inshorts.example}\n"
        'secured: "c2VjcmV0;aXY="\n'
        "---\n"
        "A *curator's* note with [a link](https://example.org/) and <script>alert(1)</script>.\n"
    ),
    "content/2024/01/cameras.md": (
        "---\n"
        'title: "Cities expand facial recognition cameras"\n'
        'excerpt: "More cameras, more questions."\n'
        "publishedDateTime: '2024-01-02T23:30:00+00:00'\n"
        'webUrl: "//wire.example/cameras"\n'
        "quality: 50\n"
        "provider: {name: Wire, domain: www.wire.example}\n"
        "topics: [computer vision, Privacy]\n"
        "related:\n"
        '  - title: "Their earlier story"\n'
        '    webUrl: "https://www.biometricupdate.com/2024/facial"\n'
        "---\n"
    ),
    "content/2024/01/munich.md": (
        "---\n"
        'title: "Über München: Straßenbahn fährt wieder"\n'
        "publishedDateTime: 2024-01-02T08:00:00Z\n"
        'webUrl: "https://de.example/tram"\n'
        "locale: de-de\nquality: 5\n"
        "provider: {name: Lokal, domain: de.example}\n"
        "topics: [Städte]\n"
        "---\n"
    ),
    "content/2024/02/draft.md": (
        "---\n"
        'title: "An unpublished draft"\n'
        "publishedDateTime: 2024-02-01T09:00:00Z\n"
        'webUrl: "https://wire.example/draft"\n'
        "published: false\n"
        "topics: [AI]\n"
        "---\n"
    ),
    "content/2024/02/broken.md": "---\ntitle: Broken\npublishedDateTime: soon\n---\n",
}


def tree(root: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(SKIPPED):
            files[rel] = path.read_bytes()
    return files


def test_small_site_matches_golden_tree(make_site, tmp_path):
    site = make_site(SITE)
    out = tmp_path / "out"
    result = build(site, out=out, jobs=1)
    assert result.articles == 3
    produced = tree(out)
    if os.environ.get("DIGEST_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for rel, data in produced.items():
            target = GOLDEN / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    expected = tree(GOLDEN)
    hint = "regenerate with DIGEST_UPDATE_GOLDEN=1 pytest tests/test_golden.py and review git diff"
    assert sorted(produced) == sorted(expected), hint
    for rel, data in expected.items():
        if produced[rel] != data:
            diff = "\n".join(difflib.unified_diff(
                data.decode("utf-8", "replace").splitlines(), produced[rel].decode("utf-8", "replace").splitlines(),
                f"golden/{rel}", f"built/{rel}", lineterm="", n=2))
            raise AssertionError(f"{rel} differs ({hint}):\n{diff[:4000]}")


def test_build_is_deterministic_across_runs_and_job_counts(make_site, tmp_path):
    site = make_site(SITE)
    build(site, out=tmp_path / "one", jobs=1)
    shutil.rmtree(site / ".digest-cache", ignore_errors=True)
    build(site, out=tmp_path / "two", jobs=2)
    assert tree(tmp_path / "one") == tree(tmp_path / "two")


def test_render_workers_replaced_midway_make_the_same_site(make_site, tmp_path, monkeypatch):
    """A render worker is replaced by a fresh fork after `WORKER_PAGES` pages (what it made
    for many pages must not grow with the archive); its successors render the same bytes."""
    import digest.render
    from tests.conftest import record

    files = {f"content/2024/r{n:03d}.md": record(f"Story {n}", f"2024-0{1 + n % 9}-{1 + n % 27:02d}T10:00:00Z",
                                                 webUrl=f'"https://n{n % 7}.example/{n}"',
                                                 topics=f"[Topic {n % 5}, Shared]")
             for n in range(130)}
    site = make_site({**files, "digest.toml": "search = false\n"})
    one = build(site, out=tmp_path / "one", jobs=1)
    monkeypatch.setattr(digest.render, "WORKER_PAGES", 60)  # (a task is 50 pages here: one task a life)
    shutil.rmtree(site / ".digest-cache")
    two = build(site, out=tmp_path / "two", jobs=2)
    assert one.rendered == two.rendered > 300  # (the pool renders only from 300 pages)
    assert tree(tmp_path / "one") == tree(tmp_path / "two")
