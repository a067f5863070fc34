"""The build cache: sharded records (an edit rewrites one shard) and one object reused across builds."""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

import pytest

from digest.cache import CACHE_DIR, SHARDS, BuildCache, shard_name, shard_of, write_blob
from digest.load import load_content
from digest.write import OutputRecord
from tests.conftest import record, write_site

cache_mod = importlib.import_module("digest.cache")  # `digest.cache` the attribute is functools.cache


@pytest.fixture(autouse=True)
def own_key(tmp_path, monkeypatch):
    """A cache key of this test's own (never the developer's)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def site_with(tmp_path: Path, n: int) -> Path:
    return write_site(tmp_path / "site", {
        f"content/r{i:03d}.md": record(f"Story {i}", webUrl=f'"https://news.example.com/{i}"')
        for i in range(n)
    })


def load(site: Path, cache: BuildCache | None = None):
    return load_content(site, site / "content", 1, cache.records if cache else None)


def build_once(site: Path, cache: BuildCache | None = None, outputs=None, state=None):
    """What build.py does with the cache: load through it, then save."""
    cache = cache or BuildCache(site, site / "build")
    cache.begin()
    loaded = load(site, cache)
    cache.save(outputs if outputs is not None else {}, state)
    return cache, loaded


def shard_files(site: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted((site / CACHE_DIR).glob("records-*.pickle"))}


def same(a, b) -> bool:
    return a.articles == b.articles and a.problems == b.problems and a.files == b.files


def test_shard_is_a_stable_hash_of_the_source():
    source = "content/2024/a story.md"
    expected = int.from_bytes(hashlib.blake2b(source.encode(), digest_size=4).digest(), "big") % SHARDS
    assert shard_of(source) == expected
    assert shard_name(31) == "records-1f.pickle"
    assert len({shard_of(f"content/r{i}.md") for i in range(400)}) == SHARDS


def test_records_are_spread_over_shards_and_read_back(tmp_path):
    site = site_with(tmp_path, 60)
    build_once(site)
    files = shard_files(site)
    expected = {shard_name(shard_of(f"content/r{i:03d}.md")) for i in range(60)}
    assert set(files) == expected and len(files) > 1
    fresh = BuildCache(site, site / "build")
    assert set(fresh.records.entries) == {f"content/r{i:03d}.md" for i in range(60)}
    loaded = load(site, fresh)
    assert fresh.records.hits == 60 and not fresh.records.dirty
    assert same(loaded, load(site))


def test_editing_one_record_rewrites_only_its_shard(tmp_path):
    site = site_with(tmp_path, 60)
    build_once(site)
    before = shard_files(site)
    edited = site / "content" / "r017.md"
    edited.write_text(record("Story 17, edited", webUrl='"https://news.example.com/17"'), encoding="utf-8")

    cache, loaded = build_once(site)
    after = shard_files(site)
    changed = {name for name in before if after.get(name) != before[name]}
    assert changed == {shard_name(shard_of("content/r017.md"))}
    assert set(after) == set(before)
    assert any(a.title == "Story 17, edited" for a in loaded.articles)
    fresh = BuildCache(site, site / "build")
    assert same(load(site, fresh), load(site)) and fresh.records.hits == 60


def test_touching_a_record_restamps_its_shard_only(tmp_path):
    site = site_with(tmp_path, 40)
    build_once(site)
    before = shard_files(site)
    path = site / "content" / "r005.md"
    path.write_bytes(path.read_bytes())  # same bytes, new mtime: a hit that is re-stamped
    cache, _ = build_once(site)
    after = shard_files(site)
    assert {n for n in before if after[n] != before[n]} == {shard_name(shard_of("content/r005.md"))}
    fresh = BuildCache(site, site / "build")
    assert fresh.records.entries["content/r005.md"][1] == path.stat().st_mtime_ns


def test_nothing_changed_writes_nothing(tmp_path):
    site = site_with(tmp_path, 30)
    build_once(site)
    before = shard_files(site)
    cache, _ = build_once(site)
    assert cache.records.hits == 0  # reset for the next build by save
    assert shard_files(site) == before


def test_deleted_record_is_dropped_and_an_empty_shard_is_deleted(tmp_path):
    site = site_with(tmp_path, 3)
    sources = [f"content/r{i:03d}.md" for i in range(3)]
    alone = next(s for s in sources if [shard_of(t) for t in sources].count(shard_of(s)) == 1)
    build_once(site)
    assert (site / CACHE_DIR / shard_name(shard_of(alone))).exists()
    (site / alone).unlink()
    build_once(site)
    assert not (site / CACHE_DIR / shard_name(shard_of(alone))).exists()
    fresh = BuildCache(site, site / "build")
    assert set(fresh.records.entries) == set(sources) - {alone}


def test_deleted_record_leaves_the_rest_of_its_shard(tmp_path):
    site = site_with(tmp_path, 80)
    sources = [f"content/r{i:03d}.md" for i in range(80)]
    victim = sources[10]
    mates = [s for s in sources if shard_of(s) == shard_of(victim) and s != victim]
    assert mates
    build_once(site)
    before = shard_files(site)
    (site / victim).unlink()
    build_once(site)
    after = shard_files(site)
    assert {n for n in before if after.get(n) != before[n]} == {shard_name(shard_of(victim))}
    assert set(BuildCache(site, site / "build").records.entries) == set(sources) - {victim}


def test_a_corrupt_shard_means_its_records_are_parsed_again(tmp_path):
    site = site_with(tmp_path, 60)
    build_once(site)
    clean = load(site)
    name = shard_name(shard_of("content/r020.md"))
    path = site / CACHE_DIR / name
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0xFF
    path.write_bytes(bytes(raw))
    in_shard = sum(1 for i in range(60) if shard_name(shard_of(f"content/r{i:03d}.md")) == name)

    cache = BuildCache(site, site / "build")
    loaded = load(site, cache)
    assert same(loaded, clean)
    assert cache.records.hits == 60 - in_shard
    cache.save({})
    fresh = BuildCache(site, site / "build")
    assert len(fresh.records.entries) == 60  # the shard was rewritten, signed again


@pytest.mark.parametrize("junk", [b"", b"not a cache at all", None])
def test_a_foreign_or_misplaced_shard_is_ignored_and_replaced(tmp_path, junk):
    site = site_with(tmp_path, 20)
    build_once(site)
    name = shard_name(shard_of("content/r003.md"))
    path = site / CACHE_DIR / name
    if junk is None:  # validly signed, but holding a record that belongs to another shard
        other = next(f"content/r{i:03d}.md" for i in range(20) if shard_name(shard_of(f"content/r{i:03d}.md")) != name)
        entries = BuildCache(site, site / "build").records.entries
        write_blob(path, {other: entries[other]})
    else:
        path.write_bytes(junk)
    cache, loaded = build_once(site)
    assert same(loaded, load(site))
    fresh = BuildCache(site, site / "build")
    assert len(fresh.records.entries) == 20 and "content/r003.md" in fresh.records.entries


def test_the_old_single_records_file_is_removed(tmp_path):
    site = site_with(tmp_path, 5)
    old = site / CACHE_DIR / "records.pickle"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"format 4 leftovers")
    cache, loaded = build_once(site)
    assert not old.exists()
    assert same(loaded, load(site))


def test_one_object_across_builds_matches_a_fresh_one(tmp_path):
    site = site_with(tmp_path, 50)
    kept = BuildCache(site, site / "build")
    out1 = {"index.html": OutputRecord("d1", 1, 1)}
    build_once(site, kept, out1, {"page_keys": {"index.html": "k1"}})
    assert kept.records.hits == 0 and kept.records.used == {}
    assert set(kept.records.entries) == {f"content/r{i:03d}.md" for i in range(50)}

    (site / "content" / "r007.md").write_text(record("Seven again", webUrl='"https://news.example.com/7"'),
                                              encoding="utf-8")
    (site / "content" / "r008.md").unlink()
    (site / "content" / "new.md").write_text(record("New one", webUrl='"https://news.example.com/new"'),
                                             encoding="utf-8")
    for cache in (kept, BuildCache(site, site / "build")):
        cache.begin()
        loaded = load(site, cache)
        assert same(loaded, load(site))
        assert cache.records.hits == 48  # all but the edited and the new one
        assert cache.outputs == out1 and cache.state == {"page_keys": {"index.html": "k1"}}
    out2 = {"index.html": OutputRecord("d2", 2, 2)}
    kept.save(out2, {"page_keys": {"index.html": "k2"}})

    fresh = BuildCache(site, site / "build")
    assert {s: e[:3] for s, e in kept.records.entries.items()} == \
        {s: e[:3] for s, e in fresh.records.entries.items()}
    assert kept.outputs == fresh.outputs == out2
    assert kept.state == fresh.state == {"page_keys": {"index.html": "k2"}}
    kept.begin()
    assert same(load(site, kept), load(site)) and kept.records.hits == 50
    assert not kept.records.dirty


def test_begin_forgets_a_build_that_never_saved(tmp_path):
    site = site_with(tmp_path, 10)
    kept, _ = build_once(site)
    (site / "content" / "r004.md").unlink()
    kept.begin()
    load(site, kept)  # ... and the build fails before saving
    (site / "content" / "r005.md").unlink()
    kept.begin()
    load(site, kept)
    kept.save({})
    assert set(kept.records.entries) == {f"content/r{i:03d}.md" for i in range(10)} - {
        "content/r004.md", "content/r005.md"}


def test_begin_rereads_what_another_process_rewrote(tmp_path):
    site = site_with(tmp_path, 30)
    kept, _ = build_once(site, outputs={"a.html": OutputRecord("x", 1, 1)})
    (site / "content" / "r012.md").write_text(record("Twelve", webUrl='"https://news.example.com/12"'),
                                              encoding="utf-8")
    build_once(site, BuildCache(site, site / "build"), {"a.html": OutputRecord("y", 2, 2)})  # "digest build"
    kept.begin()
    assert kept.outputs == {"a.html": OutputRecord("y", 2, 2)}
    load(site, kept)
    assert kept.records.hits == 30


def test_unwritable_cache_folder_still_reuses_in_memory(tmp_path):
    site = site_with(tmp_path, 20)
    (site / CACHE_DIR).write_text("a file where the folder should be")  # every write fails
    kept, first = build_once(site, outputs={"a.html": OutputRecord("x", 1, 1)}, state={"k": 1})
    assert (site / CACHE_DIR).is_file()
    assert kept.outputs == {"a.html": OutputRecord("x", 1, 1)} and kept.state == {"k": 1}
    kept.begin()
    second = load(site, kept)
    assert kept.records.hits == 20 and same(first, second)


def test_a_failed_shard_write_is_retried_by_the_next_save(tmp_path, monkeypatch):
    site = site_with(tmp_path, 40)
    kept, _ = build_once(site)
    (site / "content" / "r001.md").write_text(record("One", webUrl='"https://news.example.com/1"'),
                                              encoding="utf-8")
    real = cache_mod.write_blob

    def broken(path, value):
        raise OSError("disk full")

    monkeypatch.setattr(cache_mod, "write_blob", broken)
    build_once(site, kept)
    monkeypatch.setattr(cache_mod, "write_blob", real)
    assert BuildCache(site, site / "build").records.entries["content/r001.md"][3].article.title == "Story 1"
    build_once(site, kept)  # nothing changed this time, but the failed shard is still due
    fresh = BuildCache(site, site / "build")
    assert fresh.records.entries["content/r001.md"][3].article.title == "One"
