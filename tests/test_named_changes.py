"""Builds told what changed (a watcher's events): the listing brought up to date without a walk,
records not named taken as they were, and every case where only a walk can say."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from digest.cache import RecordCache
from digest.load import load_content, record_files, relisted
from digest.serve import NAMED_LIMIT, Preview, Watcher
from tests.conftest import record

SITE = {
    "content/a.md": record("Alpha"),
    "content/a/z.md": record("Zed", when="2024-01-03T10:00:00Z"),
    "content/b.md": record("Beta", when="2024-01-04T10:00:00Z"),
}


def walked(site: Path) -> list[tuple[str, str]]:
    files, found = record_files(site, site / "content")
    assert found == []
    return files


def test_the_listing_follows_additions_and_removals_in_the_walks_order(make_site):
    site = make_site(SITE)
    content = site / "content"
    listing = walked(site)
    assert [source for _, source in listing] == ["content/a/z.md", "content/a.md", "content/b.md"]
    (content / "b.md").unlink()
    for name in ("a/y.md", "a.markdown", "0.TXT", ".hidden.md", "a/.x.md", "c.md~", "images/x.md",
                 "notes.html"):
        (content / name).parent.mkdir(exist_ok=True)
        (content / name).write_text(record("New " + name))
    changed = [str(content / name) for name in ("b.md", "a/y.md", "a.markdown", "0.TXT", ".hidden.md",
                                                 "a/.x.md", "c.md~", "images/x.md", "notes.html")]
    changed += [str(site / "templates" / "base.html"), str(site / "digest.toml")]  # (not records)
    items, named = relisted(site, content, listing, changed)
    assert items == walked(site)
    assert named == {"content/b.md", "content/a/y.md", "content/a.markdown", "content/0.TXT"}
    assert relisted(site, content, items, changed) == (items, named)  # (applied twice: the same)
    assert [source for _, source in listing] == ["content/a/z.md", "content/a.md", "content/b.md"]


@pytest.mark.parametrize("kind", ["folder", "link", "pipe", "folder named like a record"])
def test_a_folder_link_or_special_file_among_the_changes_needs_a_walk(make_site, kind):
    site = make_site(SITE)
    content = site / "content"
    listing = walked(site)
    path = content / ("c.md" if kind in ("link", "pipe", "folder named like a record") else "c")
    if kind == "link":
        os.symlink(content / "a.md", path)
    elif kind == "pipe":
        os.mkfifo(path)
    else:
        path.mkdir()
        (path / "d.md").write_text(record("Delta"))
    assert relisted(site, content, listing, [str(path)]) is None


def test_random_changes_named_give_the_walks_listing(make_site):
    site = make_site(SITE)
    content = site / "content"
    folders = [content, content / "a", content / "a" / "deep", content / "b"]
    for folder in folders:
        folder.mkdir(exist_ok=True)
    names = ["x.md", "x.markdown", "y.txt", "z.MD", "a.md", "deep.md", "b", "note.html"]
    listing = walked(site)
    rng = random.Random(7)
    for _ in range(300):
        changed = []
        for _ in range(rng.randint(1, 4)):
            path = rng.choice(folders) / rng.choice(names)
            if path.is_dir():
                continue
            if path.exists() and rng.random() < 0.5:
                path.unlink()
            else:
                path.write_text(record(f"R {rng.random()}"))
            changed.append(str(path))
        answer = relisted(site, content, listing, changed)
        assert answer is not None
        listing = answer[0]
        assert listing == walked(site)


def test_a_load_told_what_changed_reads_that_and_takes_the_rest_as_it_was(make_site):
    site = make_site(SITE)
    content = site / "content"
    cache = RecordCache()
    (site / "cache").mkdir()
    load_content(site, content, 1, cache)
    assert cache.listing is None and cache.tally is None  # (no load follows: nothing kept for one)
    first = load_content(site, content, 1, cache, again=True)
    assert sorted(a.title for a in first.articles) == ["Alpha", "Beta", "Zed"]
    assert cache.listing == walked(site) and cache.tally is not None
    cache.save(site / "cache")  # (what it used becomes what it holds, as after a build)
    (content / "a.md").write_text(record("Alpha edited"))
    (content / "b.md").write_text(record("Beta edited, unsaid", when="2024-01-04T10:00:00Z"))
    (content / "c.md").write_text(record("Gamma", when="2024-01-05T10:00:00Z"))
    told = load_content(site, content, 1, cache, changed=[str(content / "a.md"), str(content / "c.md")], again=True)
    # b.md was not named: taken as the cache holds it, with no stat (a watcher names every change).
    assert sorted(a.title for a in told.articles) == ["Alpha edited", "Beta", "Gamma", "Zed"]
    assert cache.hits == 2
    cache.save(site / "cache")
    walked_again = load_content(site, content, 1, cache, again=True)
    assert sorted(a.title for a in walked_again.articles) == ["Alpha edited", "Beta edited, unsaid", "Gamma", "Zed"]


def test_a_walk_that_met_a_link_keeps_no_listing_and_the_next_load_walks_again(make_site):
    site = make_site(SITE)
    content = site / "content"
    os.symlink(content / "a", content / "linked")
    cache = RecordCache()
    (site / "cache").mkdir()
    load_content(site, content, 1, cache, again=True)
    assert cache.listing is None
    cache.save(site / "cache")
    (content / "b.md").write_text(record("Beta edited", when="2024-01-04T10:00:00Z"))
    told = load_content(site, content, 1, cache, changed=[], again=True)
    assert "Beta edited" in [a.title for a in told.articles]


def edited(preview: Preview, title: str) -> bool:
    return title in (preview.out / "index.html").read_text(encoding="utf-8")


def test_a_failed_build_hands_what_it_was_told_to_the_next(make_site, tmp_path):
    site = make_site({**SITE, "digest.toml": 'title = "T"\nbase_url = "https://t.example.org/"\nsearch = false\n'})
    preview = Preview(site, out=tmp_path / "out", jobs=1)
    assert preview.build_once().ok  # (walked: the listing is kept from here)
    config = (site / "digest.toml").read_text()
    (site / "content" / "a.md").write_text(record("Alpha edited"))
    preview.note([str(site / "content" / "a.md")])
    (site / "digest.toml").write_text(config + "page_size = 'many'\n")
    assert not preview.build_once().ok
    (site / "digest.toml").write_text(config)
    assert preview.build_once().ok  # told nothing new: the failed build's paths are looked up
    assert edited(preview, "Alpha edited")
    preview.stop()


def test_a_change_before_the_watcher_started_is_found_by_a_walk(make_site, tmp_path):
    site = make_site({**SITE, "digest.toml": 'title = "T"\nbase_url = "https://t.example.org/"\nsearch = false\n'})
    preview = Preview(site, out=tmp_path / "out", jobs=1)
    assert preview.build_once().ok
    preview.note([])
    (site / "content" / "b.md").write_text(record("Beta edited", when="2024-01-04T10:00:00Z"))
    watcher = Watcher(preview)
    watcher.start()
    try:
        assert preview.build_once().ok
        assert edited(preview, "Beta edited")
        (site / "content" / "a.md").write_text(record("Alpha edited"))
        deadline = time.monotonic() + 30
        while not preview.change_waiting() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert preview.build_once().ok  # (named by its event)
        assert edited(preview, "Alpha edited")
    finally:
        watcher.stop()
        preview.stop()


def test_too_many_events_mean_a_walk(make_site, tmp_path):
    site = make_site({**SITE, "digest.toml": 'title = "T"\nbase_url = "https://t.example.org/"\nsearch = false\n'})
    preview = Preview(site, out=tmp_path / "out", jobs=1)
    preview.note(None)
    assert preview.build_once().ok
    (site / "content" / "b.md").write_text(record("Beta edited", when="2024-01-04T10:00:00Z"))
    for _ in range(NAMED_LIMIT + 1):  # (b.md's own event among those a full queue lost)
        preview.note([str(site / "content" / "a.md")])
    assert preview.build_once().ok
    assert edited(preview, "Beta edited")
    preview.stop()


def test_a_load_told_what_changed_equals_a_whole_load_through_random_changes(make_site):
    # Told what changed, a load brings the last one's articles up to date by key (`_retallied`)
    # when nothing across records is to be said; else it passes over them all. Either way its
    # answer is a whole load's: stories told twice, ids and slugs shared, dates ahead, problems.
    site = make_site({f"content/r{n:02d}.md": record(f"Story {n}", when=f"2024-01-{1 + n:02d}T10:00:00Z",
                                                     webUrl=f'"https://news.example.com/{n}"')
                      for n in range(20)})
    content = site / "content"
    (site / "cache").mkdir()
    cache = RecordCache()
    load_content(site, content, 1, cache, again=True)
    rng = random.Random(11)
    fast, hazard = 0, None
    for step in range(200):
        # (A hazard is mended at the next step, as a curator would: else one is always there.)
        n = hazard if hazard is not None else rng.randrange(24)
        path = content / f"r{n:02d}.md"
        kind = "edit" if hazard is not None else rng.choice(
            ["edit", "edit", "edit", "story", "future", "broken", "remove", "draft", "same title"])
        hazard = n if kind in ("story", "future", "broken", "same title") else None
        url = f'"https://news.example.com/{rng.randrange(30) if kind == "story" else n}"'
        if kind == "remove":
            path.unlink(missing_ok=True)
        elif kind == "broken":
            path.write_text("---\ntitle: [unclosed\n---\n")
        else:
            path.write_text(record("Same" if kind == "same title" else f"Story {n} v{step}",
                                   when="2099-01-01T10:00:00Z" if kind == "future" else f"2024-02-{1 + n:02d}T10:00:00Z",
                                   webUrl=url, published="false" if kind == "draft" else None))
        before = cache.tally
        told = load_content(site, content, 1, cache, changed=[str(path)], again=True)
        fast += before is not None and cache.tally is before
        cache.save(site / "cache")
        whole = load_content(site, content)
        assert [(a.source, a.id, a.slug, a.title, a.is_published) for a in told.articles] == [
            (a.source, a.id, a.slug, a.title, a.is_published) for a in whole.articles], (step, kind)
        assert [str(p) for p in told.problems] == [str(p) for p in whole.problems], (step, kind)
    assert fast > 20  # (the by-key way was taken, not only the whole one)
