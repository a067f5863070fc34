"""End-to-end: a tiny site builds, and a second build writes nothing."""

from __future__ import annotations

from digest.build import build
from tests.conftest import record


def test_tiny_site_builds_and_second_build_writes_nothing(make_site):
    site = make_site({
        "content/a.md": record("First story", topics='["AI"]'),
        "content/b.md": record("Second story", when="2024-01-03T09:00:00Z", topics='["ai", "Robots"]'),
    })
    first = build(site)
    assert first.articles == 2
    assert (site / "build" / "index.html").is_file()
    html = (site / "build" / "topics" / "ai" / "index.html").read_text()
    assert "First story" in html and "Second story" in html
    mtimes = {p: p.stat().st_mtime_ns for p in (site / "build").rglob("*") if p.is_file()}
    second = build(site)
    assert second.written == 0 and second.removed == 0
    assert mtimes == {p: p.stat().st_mtime_ns for p in (site / "build").rglob("*") if p.is_file()}
