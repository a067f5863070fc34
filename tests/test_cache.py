"""The build cache: sharded records, manifest and page keys, chunked state (an edit rewrites only
what it changed), and one object reused across builds."""

from __future__ import annotations

import hashlib
import importlib
import os
import pickle
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from digest.build import build
from digest.cache import (
    CACHE_DIR,
    KEPT,
    OUTPUT_SHARDS,
    SHARDS,
    BuildCache,
    dump_records,
    read_blob,
    shard_name,
    shard_of,
    write_blob,
)
from digest.load import load_content
from digest.write import OutputRecord
from tests.conftest import record, write_site
from tests.test_incremental import tree

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


def test_articles_read_back_unpack_their_fields_on_first_use(tmp_path):
    site = site_with(tmp_path, 3)
    (site / "content" / "r000.md").write_text(
        record("One", webUrl='"https://news.example.com/1"', topics='["AI"]', extra_field='"x"')
        + "A *note*.\n", encoding="utf-8")
    build_once(site)
    original = load(site).articles
    entry = BuildCache(site, site / "build").records.entries["content/r000.md"]
    article = entry[3].article
    assert "_packed" in vars(article) and "title" not in vars(article)  # packed as read
    assert article.id and article.slug and article.images == original[0].images  # there at once
    assert "_packed" in vars(article)
    assert article.title == "One" and "_packed" not in vars(article)  # the rest, on first read
    assert article == next(a for a in original if a.id == article.id)
    assert article.extra == {"extra_field": "x"} and "<em>note</em>" in article.body_html
    assert not hasattr(article, "no_such_field")
    other = BuildCache(site, site / "build").records.entries["content/r001.md"][3].article
    packed = vars(other)["_packed"]
    again = pickle.loads(dump_records(other))  # re-saved unread: the very same packed bytes
    assert vars(again)["_packed"] == packed and again == other
    assert pickle.loads(pickle.dumps(other)) == other  # plain pickling (to a child) keeps it packed


def test_loading_read_back_records_unpacks_none_of_them(tmp_path):
    """What a build reads of every article, loading (`load_content`: the duplicates, the slugs, the
    dates in the future), reads no packed field: `future_dates` read ``updated``, then packed, and
    so unpacked every article of the site at every edit (300 MB and 3 s more at 100,000 records)."""
    site = site_with(tmp_path, 20)
    (site / "content" / "r003.md").write_text(
        record("Updated", updatedDateTime="2024-02-01T10:00:00Z"), encoding="utf-8")
    build_once(site)
    loaded = load(site, BuildCache(site, site / "build"))
    assert len(loaded.articles) == 20
    assert all("_packed" in vars(article) for article in loaded.articles)


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
    for path in (site / "content").iterdir():  # (written long before: see `digest.cache.racy`)
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns - 60 * 10**9))
    build_once(site)
    before = shard_files(site)
    path = site / "content" / "r005.md"
    path.write_bytes(path.read_bytes())  # same bytes, new mtime: a hit that is re-stamped
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns - 30 * 10**9))  # (not lately)
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
    if junk is None:  # validly signed, but another shard's (copied over this one)
        other = next(f"content/r{i:03d}.md" for i in range(20) if shard_name(shard_of(f"content/r{i:03d}.md")) != name)
        entries = BuildCache(site, site / "build").records.entries
        write_blob(path, (shard_of(other), {other: entries[other]}))
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

    def broken(path, value, dumps=None):
        raise OSError("disk full")

    monkeypatch.setattr(cache_mod, "write_blob", broken)
    build_once(site, kept)
    monkeypatch.setattr(cache_mod, "write_blob", real)
    assert BuildCache(site, site / "build").records.entries["content/r001.md"][3].article.title == "Story 1"
    build_once(site, kept)  # nothing changed this time, but the failed shard is still due
    fresh = BuildCache(site, site / "build")
    assert fresh.records.entries["content/r001.md"][3].article.title == "One"


# The output manifest and page keys (sharded by output path), and the chunked state.


def manifest_files(site: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted((site / CACHE_DIR).glob("outputs-*.pickle"))}


def state_files(site: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted((site / CACHE_DIR).glob("state-*.pickle"))}


def changed(before: dict, after: dict) -> set[str]:
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


def manifest_name(cache: BuildCache, path: str) -> str:
    return f"outputs-{cache.out_key}-{shard_of(path, OUTPUT_SHARDS):02x}.pickle"


@dataclass
class Positions:
    """Stands for `digest.related.RelatedState`: lists by position, and a scalar."""

    own: list = field(default_factory=list)
    results: list = field(default_factory=list)
    count: int = 0


def test_manifest_shard_is_a_stable_hash_of_the_output_path():
    path = "articles/2024/a-story/index.html"
    digest = hashlib.blake2b(path.encode(), digest_size=4).digest()
    assert shard_of(path, OUTPUT_SHARDS) == int.from_bytes(digest, "big") % OUTPUT_SHARDS


def test_a_few_changed_outputs_rewrite_only_their_shards(tmp_path):
    site = site_with(tmp_path, 1)
    paths = [f"page/{i}/index.html" for i in range(2000)]
    outputs = {p: OutputRecord(f"d{i}", i, i) for i, p in enumerate(paths)}
    keys = {p: f"k{i}" for i, p in enumerate(paths)}
    cache, _ = build_once(site, outputs=outputs, state={"page_keys": keys, "images": {}})
    before = manifest_files(site)
    assert len(before) == OUTPUT_SHARDS

    new_outputs = dict(outputs)
    new_outputs[paths[3]] = OutputRecord("changed", 3, 3)
    del new_outputs[paths[10]]
    new_outputs["page/new/index.html"] = OutputRecord("new", 1, 1)
    new_keys = {p: k for p, k in keys.items() if p in new_outputs} | {"page/new/index.html": "kn"}
    new_keys[paths[20]] = "rekeyed"
    cache.begin()
    cache.save(new_outputs, {"page_keys": new_keys, "images": {}})
    touched = {paths[3], paths[10], paths[20], "page/new/index.html"}
    assert changed(before, manifest_files(site)) == {manifest_name(cache, p) for p in touched}
    fresh = BuildCache(site, site / "build")
    assert fresh.outputs == cache.outputs == new_outputs
    assert fresh.state == cache.state == {"page_keys": new_keys, "images": {}}

    before = manifest_files(site)
    cache.begin()
    cache.save(dict(new_outputs), {"page_keys": dict(new_keys), "images": {}})  # equal, not the same
    assert manifest_files(site) == before


def test_the_old_single_manifest_file_is_removed(tmp_path):
    site = site_with(tmp_path, 2)
    cache = BuildCache(site, site / "build")
    old = site / CACHE_DIR / f"outputs-{cache.out_key}.pickle"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"format 5 leftovers")
    build_once(site, cache, {"a.html": OutputRecord("x", 1, 1)})
    assert not old.exists()
    assert BuildCache(site, site / "build").outputs == {"a.html": OutputRecord("x", 1, 1)}


@pytest.mark.parametrize("junk", [b"", b"garbage", None])
def test_an_unusable_manifest_shard_means_unknown_outputs(tmp_path, junk):
    site = site_with(tmp_path, 1)
    outputs = {f"p{i}.html": OutputRecord(f"d{i}", i, i) for i in range(200)}
    cache, _ = build_once(site, outputs=outputs, state={"page_keys": {p: "k" for p in outputs}})
    victim = manifest_name(cache, "p7.html")
    path = site / CACHE_DIR / victim
    if junk is None:  # validly signed, but holding an output that belongs to another shard
        stray = next(p for p in outputs if manifest_name(cache, p) != victim)
        write_blob(path, ({stray: outputs[stray]}, {stray: "k"}))
    else:
        path.write_bytes(junk)
    lost = {p for p in outputs if manifest_name(cache, p) == victim}
    fresh = BuildCache(site, site / "build")
    assert fresh.outputs == {p: r for p, r in outputs.items() if p not in lost}
    assert fresh.state["page_keys"] == {p: "k" for p in outputs if p not in lost}
    fresh.save(outputs, {"page_keys": {p: "k" for p in outputs}})  # the shard is written again
    assert BuildCache(site, site / "build").outputs == outputs


def test_chunked_state_rewrites_only_changed_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_mod, "CHUNK", 4)
    site = site_with(tmp_path, 1)
    first = Positions(own=list(range(10)), results=[(i,) for i in range(10)], count=3)
    cache, _ = build_once(site, state={"related": first, "images": {"a": 1}})
    names = set(state_files(site))
    assert len(names) == 4  # the state file and three chunks of four positions
    assert BuildCache(site, site / "build").state["related"] == first

    before = state_files(site)
    second = Positions(own=list(first.own), results=list(first.results), count=3)
    second.results[5] = (99,)
    cache.begin()
    cache.save({}, {"related": second, "images": {"a": 1}})
    chunk = f"state-{cache.out_key}-related-001.pickle"
    assert changed(before, state_files(site)) == {chunk, f"state-{cache.out_key}.pickle"}
    assert BuildCache(site, site / "build").state == {"related": second, "images": {"a": 1}}

    before = state_files(site)
    cache.begin()
    cache.save({}, {"related": second, "images": {"a": 1}})  # unchanged: nothing written
    assert state_files(site) == before

    third = Positions(own=first.own[:6], results=first.results[:6], count=3)  # shorter: a chunk goes
    cache.begin()
    cache.save({}, {"related": third, "images": {"a": 2}})
    assert len(state_files(site)) == 3
    assert BuildCache(site, site / "build").state == {"related": third, "images": {"a": 2}}


def test_a_chunk_the_state_file_does_not_name_drops_the_value(tmp_path, monkeypatch):
    """A save interrupted between a chunk and the state file never mixes two builds' state."""
    monkeypatch.setattr(cache_mod, "CHUNK", 4)
    site = site_with(tmp_path, 1)
    value = Positions(own=list(range(10)), results=[(i,) for i in range(10)], count=3)
    cache, _ = build_once(site, state={"related": value, "images": {}})
    chunk = site / CACHE_DIR / f"state-{cache.out_key}-related-001.pickle"
    write_blob(chunk, ("another save", {"own": [0, 0, 0, 0], "results": [(), (), (), ()]}))
    fresh = BuildCache(site, site / "build")
    assert fresh.state == {"images": {}}  # no related state: it is computed again
    fresh.save({}, {"related": value, "images": {}})
    assert BuildCache(site, site / "build").state["related"] == value
    chunk.unlink()
    assert "related" not in BuildCache(site, site / "build").state


def test_a_value_saved_early_is_kept_by_the_save_after(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_mod, "CHUNK", 4)
    site = site_with(tmp_path, 1)
    first = Positions(own=list(range(10)), results=[(i,) for i in range(10)], count=3)
    cache, _ = build_once(site, state={"related": first, "images": {"a": 1}})
    second = Positions(own=list(first.own), results=list(first.results), count=3)
    second.results[9] = (99,)
    cache.begin()
    before = state_files(site)
    cache.save_early("related", second)
    assert changed(before, state_files(site)) == {f"state-{cache.out_key}-related-002.pickle",
                                                  f"state-{cache.out_key}.pickle"}
    assert BuildCache(site, site / "build").state["related"] == second  # written, whatever comes next
    before = state_files(site)
    cache.save({}, {"related": KEPT, "images": {"a": 2}})
    assert changed(before, state_files(site)) == {f"state-{cache.out_key}.pickle"}
    assert BuildCache(site, site / "build").state == {"related": second, "images": {"a": 2}}
    assert cache.state == {"related": second, "images": {"a": 2}}  # read back, never `KEPT`
    cache.begin()
    cache.save({}, {"related": first, "images": {"a": 2}})  # and a later save replaces it as usual
    assert BuildCache(site, site / "build").state["related"] == first


def chunked_site(tmp_path: Path, monkeypatch, images: dict) -> tuple[Path, Positions]:
    """A site whose state holds a value of ten positions in chunks of four (``related``) and ``images``."""
    monkeypatch.setattr(cache_mod, "CHUNK", 4)
    site = site_with(tmp_path, 1)
    value = Positions(own=list(range(10)), results=[(i,) for i in range(10)], count=3)
    build_once(site, state={"related": value, "images": images})
    return site, value


def test_a_deferred_value_stays_on_disk_until_asked_for(tmp_path, monkeypatch):
    site, value = chunked_site(tmp_path, monkeypatch, {"a": 1})
    cache = BuildCache(site, site / "build")
    cache.defer("related")
    read = []
    monkeypatch.setattr(cache_mod, "read_blob", lambda path: read.append(path.name) or real_read(path))
    assert cache.state == {"related": KEPT, "images": {"a": 1}} and cache.has_kept("related")
    assert not any("-related-" in name for name in read)  # no chunk read
    assert cache.load_kept("related") == value and not cache.has_kept("related")
    assert cache.state == {"related": value, "images": {"a": 1}}
    before = state_files(site)
    cache.save({}, {"related": value, "images": {"a": 1}})  # as read: nothing written
    assert state_files(site) == before


real_read = read_blob


def test_a_deferred_value_that_cannot_be_read_is_none(tmp_path, monkeypatch):
    site, _ = chunked_site(tmp_path, monkeypatch, {})
    (site / CACHE_DIR / f"state-{BuildCache(site, site / 'build').out_key}-related-001.pickle").write_bytes(b"junk")
    cache = BuildCache(site, site / "build")
    cache.defer("related")
    assert cache.has_kept("related") and cache.load_kept("related") is None
    assert cache.state == {"images": {}}
    cache.save({}, {"images": {}})  # the state file that named it is written again
    assert BuildCache(site, site / "build").state == {"images": {}}
    assert not any("-related-" in name for name in state_files(site))


def test_a_value_saved_by_another_process_is_adopted(tmp_path, monkeypatch):
    """What a command does (see `digest.build._relate_apart`): a fork of its cache object reads
    the deferred value, saves the next one early and hands back its head; the command adopts it
    and saves the rest of the state around it."""
    site, first = chunked_site(tmp_path, monkeypatch, {"a": 1})
    parent = BuildCache(site, site / "build")
    parent.defer("related")
    assert parent.state["images"] == {"a": 1}
    child = BuildCache(site, site / "build")  # (a fork: the same state, as read from disk)
    child.defer("related")
    assert child.state["images"] == {"a": 1}
    second = Positions(own=first.own[:6], results=[(7,)] * 6, count=3)  # shorter: a chunk goes
    assert child.load_kept("related") == first
    child.save_early("related", second)
    parent.adopt("related", child.head("related"))
    assert BuildCache(site, site / "build").state["related"] == second
    parent.save({}, {"related": KEPT, "images": {"a": 2}})
    assert BuildCache(site, site / "build").state == {"related": second, "images": {"a": 2}}
    assert len(state_files(site)) == 3  # the state file and two chunks, no stale third


def test_unwritable_cache_folder_keeps_chunked_state_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_mod, "CHUNK", 4)
    site = site_with(tmp_path, 3)
    (site / CACHE_DIR).write_text("a file where the folder should be")
    value = Positions(own=list(range(9)), results=[()] * 9, count=1)
    outputs = {f"p{i}.html": OutputRecord("d", i, i) for i in range(50)}
    kept, _ = build_once(site, outputs=outputs, state={"page_keys": {"p1.html": "k"}, "related": value})
    assert kept.outputs == outputs
    assert kept.state == {"page_keys": {"p1.html": "k"}, "related": value}
    kept.begin()
    assert kept.state["related"] is value


# Whole builds: a one-record edit, a corrupt cache file, a kept cache object.


def story_site(tmp_path: Path, n: int = 30) -> Path:
    topics = ["Chips", "Robots", "Energy", "Space"]
    return write_site(tmp_path / "site", {"digest.toml": 'title = "Site"\nsearch = false\n'} | {
        f"content/r{i:03d}.md": record(
            f"Story {i} about {topics[i % 4]}", when=f"2024-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
            webUrl=f'"https://news.example.com/{i}"', excerpt=f'"The {topics[i % 4].lower()} story {i}."',
            topics=f"[{topics[i % 4]}, {topics[(i * 7) % 4]}]")
        for i in range(n)
    })


def clean_tree(site: Path, where: Path) -> dict[str, bytes]:
    shutil.copytree(site, where, ignore=shutil.ignore_patterns("build", CACHE_DIR))
    build(where, jobs=1)
    return tree(where / "build")


def test_a_one_record_edit_rewrites_only_the_shards_of_changed_outputs(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_mod, "CHUNK", 8)
    site = story_site(tmp_path)
    build(site, jobs=1)
    cache = BuildCache(site, (site / "build"))
    old_outputs, old_keys = dict(cache.outputs), dict(cache.state["page_keys"])
    before = manifest_files(site)
    path = site / "content" / "r012.md"
    path.write_text(path.read_text(encoding="utf-8").replace("story 12.", "story 12, edited."), encoding="utf-8")
    result = build(site, jobs=1)
    assert 0 < result.rendered < len(old_outputs)
    fresh = BuildCache(site, site / "build")
    new_outputs, new_keys = fresh.outputs, fresh.state["page_keys"]
    moved = {p for p in old_outputs.keys() | new_outputs.keys() if old_outputs.get(p) != new_outputs.get(p)}
    moved |= {p for p in old_keys.keys() | new_keys.keys() if old_keys.get(p) != new_keys.get(p)}
    assert moved
    assert changed(before, manifest_files(site)) == {manifest_name(fresh, p) for p in moved}
    assert tree(site / "build") == clean_tree(site, tmp_path / "clean")


@pytest.mark.parametrize("victim", ["manifest", "state", "chunk"])
def test_a_corrupt_cache_file_still_builds_the_right_site(tmp_path, monkeypatch, victim):
    monkeypatch.setattr(cache_mod, "CHUNK", 8)
    site = story_site(tmp_path)
    build(site, jobs=1)
    folder = site / CACHE_DIR
    cache = BuildCache(site, site / "build")
    if victim == "manifest":
        files = [folder / manifest_name(cache, "index.html"), folder / manifest_name(cache, "404.html")]
    elif victim == "state":
        files = [folder / f"state-{cache.out_key}.pickle"]
    else:
        files = [folder / f"state-{cache.out_key}-related-001.pickle"]
    assert all(f.exists() for f in files)
    for f in files:
        raw = bytearray(f.read_bytes())
        raw[-5] ^= 0xFF
        f.write_bytes(bytes(raw))
    for i in (3, 17):
        path = site / "content" / f"r{i:03d}.md"
        path.write_text(path.read_text(encoding="utf-8").replace(f"story {i}.", f"story {i}, again."),
                        encoding="utf-8")
    (site / "content" / "r021.md").unlink()
    build(site, jobs=1)
    assert tree(site / "build") == clean_tree(site, tmp_path / "clean")
    assert all(read_blob(f) is not None for f in files)  # written again, signed
    again = build(site, jobs=1)
    assert again.rendered == 0 and again.written == 0


def test_a_kept_cache_across_builds_matches_fresh_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_mod, "CHUNK", 8)
    site = story_site(tmp_path)
    kept = BuildCache(site, site / "build")
    build(site, jobs=1, cache=kept)
    for step, i in enumerate((4, 9, 4)):
        path = site / "content" / f"r{i:03d}.md"
        path.write_text(path.read_text(encoding="utf-8").replace("story", f"tale {step}", 1), encoding="utf-8")
        result = build(site, jobs=1, cache=kept)
        assert result.rendered < 40
        fresh = BuildCache(site, site / "build")
        assert kept.outputs == fresh.outputs
        assert kept.state == fresh.state
        assert tree(site / "build") == clean_tree(site, tmp_path / f"clean{step}")


def test_a_saved_plan_is_read_back_only_signed_and_by_the_same_program(tmp_path, monkeypatch):
    import digest.cache as cache_module
    from digest.cache import read_signed, write_signed

    cache = BuildCache(tmp_path, tmp_path / "build")
    cache.save_plan("shown-1", b"plan bytes")
    raw, start = cache.saved_plan(7, "shown-1".__eq__)
    assert raw[start:] == b"plan bytes"
    monkeypatch.setattr(cache_module, "_stamp", lambda name="": b"digest-cache 6 another program")
    assert cache.saved_plan(7, "shown-1".__eq__) is None  # another version of digest made it
    monkeypatch.undo()
    assert cache.saved_plan(7, "shown-2".__eq__) is None  # for other articles
    assert cache.saved_plan(6, lambda label: True) is None  # a label of another size
    (saved,) = (tmp_path / ".digest-cache").glob("plan-*.pickle")
    raw = bytearray(saved.read_bytes())
    raw[-1] ^= 1
    saved.write_bytes(bytes(raw))
    assert cache.saved_plan(7, "shown-1".__eq__) is None  # changed since it was signed
    write_signed(tmp_path / "x", [b"ab", b"", b"cd"])
    raw, start = read_signed(tmp_path / "x")
    assert raw[start:] == b"abcd"
    assert read_signed(tmp_path / "missing") is None
    # A part written as a stream (a plan, as it is pickled) is signed like one given as bytes.
    write_signed(tmp_path / "y", [b"ab", lambda out: [out.write(b"c" * 70_000), out.write(b"d")], b"e"])
    raw, start = read_signed(tmp_path / "y")
    assert raw[start:] == b"ab" + b"c" * 70_000 + b"de"


def test_a_plan_saved_as_it_is_pickled_reads_back_as_the_plan(make_site):
    """A command writes its plan into the cache file as it is pickled (`write_plan`), never
    whole in memory; the next command reads it back and derives its plan from it."""
    from functools import partial

    from digest.plan import LABEL_SIZE, dump_plan, label_fits, load_plan, plan_label, write_plan

    site = make_site({"content/a.md": record("One"), "content/b.md": record("Two", webUrl='"https://e.example/2"'),
                      "digest.toml": "search = false\n"})
    plan = build(site, jobs=1).cache.memory["plan"]
    cache = BuildCache(site, site / "build")
    cache.save_plan(plan_label(plan.articles), partial(write_plan, plan))
    raw, start = cache.saved_plan(LABEL_SIZE, label_fits)
    assert bytes(raw[start:]) == dump_plan(plan)
    again = load_plan(raw, plan.articles, start)
    assert [spec.path for spec in again.pages] == [spec.path for spec in plan.pages]


def test_folder_links_that_loop_are_walked_once(make_site):
    """The no-change check walks content/ as the loader does: a link to a parent folder
    (a loop) used to be walked again at every depth, and the build never finished."""
    import os

    site = make_site({"content/a.md": record("One"), "content/deep/b.md": record("Two"),
                      "digest.toml": "search = false\n"})
    os.symlink("..", site / "content" / "deep" / "up")
    os.symlink(".", site / "content" / "self")
    first = build(site, jobs=1)
    assert first.articles == 2
    assert build(site, jobs=1).written == 0  # and the check still sees nothing changed
    (site / "content" / "deep" / "b.md").write_text(record("Two, again"), encoding="utf-8")
    assert build(site, jobs=1).rendered > 0


def test_after_an_upgrade_the_build_still_removes_what_the_old_program_made(make_site, tmp_path, monkeypatch):
    """The output manifest outlives a change of program (its other caches do not): a page
    the new program no longer makes is removed, as a clean build would not have it."""
    import digest.build as build_module
    import digest.cache as cache_module
    import digest.plan as plan_module

    site = make_site({"content/a.md": record("First title"), "content/b.md": record("Other"),
                      "digest.toml": "search = false\n"})
    build(site, jobs=1)
    before = set(tree(site / "build"))
    for module in (build_module, cache_module, plan_module):  # another version of digest
        monkeypatch.setattr(module, "toolchain", lambda: "digest 99 (upgraded)")
    path = site / "content" / "a.md"
    path.write_text(path.read_text(encoding="utf-8").replace("First title", "New title"), encoding="utf-8")
    result = build(site, jobs=1)
    assert result.removed > 0 and not any("first-title" in p for p in tree(site / "build"))
    clean = tmp_path / "clean"
    shutil.copytree(site, clean, ignore=shutil.ignore_patterns("build", ".digest-cache"))
    build(clean, jobs=1)
    assert tree(site / "build") == tree(clean / "build")
    assert any("first-title" in p for p in before)


def test_another_programs_page_keys_are_dropped_as_they_are_read_and_its_manifest_kept(make_site, monkeypatch):
    """After an upgrade every page is made again (each key holds the program's digest), so the
    old keys are dropped as they are read: at 100,000 records they were 43 MB that the build
    process and every render worker carried. The manifest beside them is kept (stale files
    are still removed), and a build by the same program keeps its keys."""
    import digest.build as build_module
    import digest.plan as plan_module

    site = make_site({"content/a.md": record("First title"), "content/b.md": record("Other"),
                      "digest.toml": "search = false\n"})
    build(site, jobs=1)
    out = (site / "build").resolve()
    same = BuildCache(site, out)
    assert same.outputs and len(same.state["page_keys"]) > 10
    programs = {module: module.toolchain for module in (build_module, cache_mod, plan_module)}
    for module in programs:  # another version of digest
        monkeypatch.setattr(module, "toolchain", lambda: "digest 99 (upgraded)")
    upgraded = BuildCache(site, out)
    assert upgraded.outputs == same.outputs
    assert upgraded.state.get("page_keys", {}) == {}
    # A manifest file written before the files named their program (three fields): its keys
    # are another program's too.
    parts = {path.name: cache_mod.read_blob(path) for path in sorted((site / CACHE_DIR).glob("outputs-*.pickle"))}
    assert all(len(part) == 4 for part in parts.values())
    name, part = next((name, part) for name, part in parts.items() if part[1])  # (one with page keys)
    for module, toolchain in programs.items():  # (this program again)
        monkeypatch.setattr(module, "toolchain", toolchain)
    cache_mod.write_blob(site / CACHE_DIR / name, part[:3])
    older = BuildCache(site, out)
    assert older.outputs == same.outputs
    assert not older.state["page_keys"].keys() & part[1].keys()
    assert older.state["page_keys"].keys() == same.state["page_keys"].keys() - part[1].keys()
    for summary in (site / CACHE_DIR).glob("summary-*.pickle"):  # (not the shortcut: a build)
        summary.unlink()
    result = build(site, jobs=1)  # (its pages are made again, bytes unchanged: nothing written)
    assert result.rendered == len(part[1]) and result.written == 0
    assert len(cache_mod.read_blob(site / CACHE_DIR / name)) == 4


def test_a_manifest_an_older_program_wrote_is_still_read(make_site, monkeypatch):
    """Manifests hold `OutputRecord` tuples now; older programs pickled a slotted dataclass as a
    dict of its fields, stamped with the layout alone. The first build after the upgrade reads
    those: it removes the pages of a record deleted meanwhile and rewrites nothing unchanged
    (without them it knew of no file it had made, and removed none)."""
    import dataclasses
    import hmac

    import digest.write as write_module

    site = make_site({"content/a.md": record("First title"), "content/b.md": record("Other"),
                      "digest.toml": "search = false\n"})
    build(site, jobs=1)
    out = (site / "build").resolve()
    current = BuildCache(site, out).outputs

    @dataclasses.dataclass(frozen=True, slots=True)
    class OlderRecord:  # (the class as older programs had it, under its name)
        digest: str
        size: int
        mtime_ns: int

        def __getstate__(self):
            return {"digest": self.digest, "size": self.size, "mtime_ns": self.mtime_ns}

    OlderRecord.__qualname__ = OlderRecord.__name__ = "OutputRecord"
    OlderRecord.__module__ = "digest.write"
    shards = sorted((site / CACHE_DIR).glob("outputs-*.pickle"))
    stamp = f"digest-cache {cache_mod.FORMAT} lasting digest,size,mtime_ns".encode()
    for path in shards:
        outputs, keys, index, _ = cache_mod.read_blob(path)
        older = {name: OlderRecord(*record) for name, record in outputs.items()}
        with monkeypatch.context() as patched:
            patched.setattr(write_module, "OutputRecord", OlderRecord)
            body = stamp + pickle.dumps((older, keys, index, "older"), protocol=pickle.HIGHEST_PROTOCOL)
        path.write_bytes(hmac.new(cache_mod._key(), body, hashlib.sha256).digest() + body)
    assert b"tuple:" not in shards[0].read_bytes()[:200]
    read = BuildCache(site, out).outputs
    assert read == current and all(type(record) is OutputRecord for record in read.values())

    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in out.rglob("*") if path.is_file()}
    (site / "content" / "a.md").unlink()
    result = build(site, jobs=1)
    assert result.removed == 2 and not any("first-title" in p for p in tree(site / "build"))  # (page, JSON)
    kept = [path for path, (data, _) in before.items() if path.is_file() and path.read_bytes() == data]
    assert kept and all(path.stat().st_mtime_ns == before[path][1] for path in kept)
    # (every shard left is written again as this program writes them: read as they were, each
    # would cost a Python call per output at every build)
    left = [shard for shard in shards if shard.exists()]
    assert left and all(shard.read_bytes()[32:].startswith(cache_mod._stamp(shard.name)) for shard in left)


def test_the_lasting_manifest_is_stamped_with_its_record_layout():
    """It outlives program changes, so a change to `OutputRecord` itself must not be misread."""
    from digest.cache import _stamp

    assert b"digest,size,mtime_ns" in _stamp("outputs-abc-00.pickle")
    assert _stamp("outputs-abc-00.pickle") != _stamp("records-00.pickle")


def test_a_huge_foreign_cache_file_is_not_read_whole(tmp_path):
    # A cache file is read only once its first bytes say it is one of ours (the stamp): a
    # 400 MB file of zeros in place of a shard cost 400 MB of memory before it was refused.
    import subprocess
    import sys

    site = site_with(tmp_path, 3)
    build_once(site)
    with open(site / CACHE_DIR / shard_name(0), "wb") as handle:
        handle.truncate(400 * 2**20)  # (sparse: no disk used)
    code = ("import resource, sys; from pathlib import Path; from digest.cache import read_blob; "
            f"assert read_blob(Path({str(site / CACHE_DIR / shard_name(0))!r})) is None; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    peak_kib = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True).stdout)
    assert peak_kib < 200 * 1024, peak_kib


def test_a_folder_of_links_is_another_input_than_a_link_to_the_folder(tmp_path):
    """``content/images`` linked out of the site is not read (warnings); made a real folder of
    links to the very same files, it is read: the walk that tells a build nothing changed
    must see the difference (the files' sizes, times and inodes are the same)."""
    from digest.cache import inputs_fingerprint

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.jpg").write_bytes(b"x" * 10)
    content = tmp_path / "site" / "content"
    content.mkdir(parents=True)
    (content / "images").symlink_to(outside, target_is_directory=True)
    before = inputs_fingerprint([content], [], "")
    (content / "images").unlink()
    (content / "images").mkdir()
    (content / "images" / "a.jpg").symlink_to(outside / "a.jpg")
    assert inputs_fingerprint([content], [], "") != before


def _check_site(tmp_path: Path) -> Path:
    return write_site(tmp_path / "site", {
        "content/a.md": record("Alpha", webUrl='"https://c.example/a"', topics="[AI]"),
        "content/b.md": record("Beta", webUrl='"https://c.example/b"', heat="hot"),
        "content/c.md": record("Gamma", webUrl='"https://c.example/c"', published="false"),
    })


def _parsed_by_check(site: Path, monkeypatch) -> tuple[list[str], list[str]]:
    """What `check` says of ``site`` (its problems as printed) and the records it parsed."""
    from digest import load
    from digest.build import check

    real, parsed = load.parse_parallel, []

    def counting(items, *args, **kwargs):
        parsed.extend(source for _, source in items)
        return real(items, *args, **kwargs)

    monkeypatch.setattr(load, "parse_parallel", counting)
    problems, _, _ = check(site)
    monkeypatch.setattr(load, "parse_parallel", real)
    return sorted(map(str, problems)), sorted(parsed)


def test_check_after_a_build_parses_only_the_records_changed_since(tmp_path, monkeypatch):
    """`digest check` reads the records the last build parsed (18 s at 10,000 records when it
    parsed them all again, under 1 s now) and says the same as a check that parses every one."""
    site = _check_site(tmp_path)
    fresh, parsed = _parsed_by_check(site, monkeypatch)
    assert parsed == ["content/a.md", "content/b.md", "content/c.md"]  # no cache yet
    assert any("heat" in line for line in fresh)
    build(site)
    assert _parsed_by_check(site, monkeypatch) == (fresh, [])

    (site / "content/a.md").write_text("---\ntitle: [x]\npublishedDateTime: 2024-01-01\n---\n", encoding="utf-8")
    said, parsed = _parsed_by_check(site, monkeypatch)
    assert parsed == ["content/a.md"]
    assert "content/a.md:2: title: expected a non-empty string, got a list" in said
    shutil.rmtree(site / CACHE_DIR)
    assert _parsed_by_check(site, monkeypatch)[0] == said


def test_check_reads_the_cache_and_writes_nothing(tmp_path, monkeypatch):
    """A check after a build writes nothing in the site, its cache included, and no cache key
    where there is none: without one the saved records cannot be trusted, and all are parsed."""
    import subprocess
    import sys

    site = _check_site(tmp_path)
    build(site)
    before = tree(site)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run([sys.executable, "-m", "digest", "check", str(site)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Checked 3 record files: 3 valid, 0 errors, 1 warnings." in done.stdout
    assert tree(site) == before

    key = tmp_path / "xdg" / "digest" / "cache-key"
    key.unlink()
    from digest.cache import saved_records

    assert saved_records(site) is None
    _, parsed = _parsed_by_check(site, monkeypatch)
    assert len(parsed) == 3
    assert not key.exists()
    assert tree(site) == before


def test_check_reads_the_records_with_the_collector_paused(tmp_path, monkeypatch):
    """The cyclic collector's passes over 100,000 records read back cost a check 8-10 s of its
    14-17 s; it is paused while they load, as for a build, and left as it was."""
    import gc

    from digest import load
    from digest.build import check

    site = _check_site(tmp_path)
    build(site)
    real, seen = load.load_content, []

    def noting(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(load, "load_content", noting)
    assert gc.isenabled()
    check(site)
    assert seen == [False]
    assert gc.isenabled()


@pytest.mark.parametrize("cut", ["whole", "cut short", "grown", "stamp only"])
def test_a_signed_file_is_read_whole_or_not_at_all(tmp_path, cut):
    """`read_blob` and `read_signed` read a file in one piece (see ``cache._whole``): a file cut
    short or grown since it was signed (bytes appended after its signature was made) is no
    cache file, whatever part of it the stamp check read first."""
    from digest.cache import read_signed, write_signed

    value = {"n": list(range(5000)), "text": "x" * 70_000}
    blob, signed = tmp_path / "records-00.pickle", tmp_path / "plan-x.pickle"
    write_blob(blob, value)
    write_signed(signed, [b"head", pickle.dumps(value)])
    for path in (blob, signed):
        raw = path.read_bytes()
        if cut == "cut short":
            path.write_bytes(raw[:-1])
        elif cut == "grown":
            path.write_bytes(raw + b"\0")
        elif cut == "stamp only":
            path.write_bytes(raw[:40])
    if cut == "whole":
        assert read_blob(blob) == value
        raw, start = read_signed(signed)
        assert raw[start:start + 4] == b"head" and pickle.loads(raw[start + 4:]) == value
    else:
        assert read_blob(blob) is None
        assert read_signed(signed) is None
