"""An adversarial sweep of the build cache (``SITE/.digest-cache``) and the machine's cache key.

Each cache file kind (record shards, manifest shards, the state file and its chunks, the saved
plan, the build summary), the key file and the build lock are put in odd states the corrupt-file
tests of `tests.test_cache` do not cover: a named pipe, a device, a folder, a link out of the
site, a key of the wrong length.
Whatever is found, a build neither crashes nor waits forever, and makes the site a clean build
makes, with ``-j 1`` and ``-j 2``; and the next builds (an edit after) are not poisoned by it.
"""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest

from digest.build import build, site_lock
from digest.cache import CACHE_DIR, BuildCache, _key
from tests.test_cache import clean_tree, story_site
from tests.test_incremental import tree


@pytest.fixture(autouse=True)
def own_key(tmp_path, monkeypatch):
    """A cache key of this test's own (never the developer's)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


class Hung(BaseException):
    """A build still running at its deadline (no `OSError`, which the cache takes in its stride)."""


@contextmanager
def deadline(seconds: int = 20):
    """Fail (rather than hang the suite) when the block takes longer than ``seconds``."""
    def expired(signum, frame):
        signal.alarm(1)  # (again, until it is out of whatever waits)
        raise Hung(f"still running after {seconds} s")

    before = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)


def edit(site: Path, i: int, words: str) -> None:
    path = site / "content" / f"r{i:03d}.md"
    path.write_text(path.read_text(encoding="utf-8").replace(f"story {i}.", f"story {i}, {words}."),
                    encoding="utf-8")


def cache_files(site: Path, kind: str) -> list[Path]:
    """The cache files of ``kind`` (a few of each sharded kind)."""
    cache = BuildCache(site, site / "build")
    folder = site / CACHE_DIR
    names = {
        "records": sorted(p.name for p in folder.glob("records-*.pickle"))[:3],
        "outputs": sorted(p.name for p in folder.glob(f"outputs-{cache.out_key}-*.pickle"))[:3],
        "state": [f"state-{cache.out_key}.pickle"],
        "chunk": [f"state-{cache.out_key}-related-000.pickle"],
        "plan": [f"plan-{cache.out_key}.pickle"],
        "summary": [f"summary-{cache.out_key}.pickle"],
    }[kind]
    files = [folder / name for name in names]
    assert files and all(f.is_file() for f in files), kind
    return files


def rebuilt_right(site: Path, tmp_path: Path, jobs: int, label: str) -> None:
    """A build (within the deadline) makes what a clean build makes; then an edit, built, too."""
    with deadline():
        build(site, jobs=jobs)
    assert tree(site / "build") == clean_tree(site, tmp_path / f"clean-{label}-1")
    edit(site, 5, "later")
    with deadline():
        build(site, jobs=jobs)
    assert tree(site / "build") == clean_tree(site, tmp_path / f"clean-{label}-2")


# A named pipe where a cache file was: opening it for reading waited for a writer, forever.

KINDS = ["records", "outputs", "state", "chunk", "plan", "summary"]


@pytest.mark.parametrize(("kinds", "jobs"), [*(([kind], 1) for kind in KINDS), (KINDS, 2)])
def test_a_named_pipe_in_place_of_a_cache_file_is_not_waited_for(tmp_path, kinds, jobs):
    site = story_site(tmp_path, 12)
    build(site, jobs=jobs)
    edit(site, 3, "edited")
    for file in [file for kind in kinds for file in cache_files(site, kind)]:
        file.unlink()
        os.mkfifo(file)
    rebuilt_right(site, tmp_path, jobs, "pipes")


@pytest.mark.parametrize("kind", ["records", "state", "summary"])
def test_a_device_in_place_of_a_cache_file_is_not_read(tmp_path, kind):
    site = story_site(tmp_path, 12)
    build(site, jobs=1)
    for file in cache_files(site, kind):
        file.unlink()
        file.symlink_to("/dev/zero")
    rebuilt_right(site, tmp_path, 1, kind)


# The machine's key file (``$XDG_CACHE_HOME/digest/cache-key``).

def key_file(tmp_path: Path) -> Path:
    return tmp_path / "xdg" / "digest" / "cache-key"


@pytest.mark.parametrize("broken", ["folder", "pipe", "empty", "short", "long"])
def test_a_broken_key_file_neither_crashes_nor_hangs_the_build(tmp_path, broken):
    site = story_site(tmp_path, 12)
    build(site, jobs=1)
    path = key_file(tmp_path)
    path.unlink()
    if broken == "folder":
        path.mkdir()
    elif broken == "pipe":
        os.mkfifo(path)
    else:
        path.write_bytes({"empty": b"", "short": b"k" * 5, "long": b"k" * 64}[broken])
    edit(site, 3, "edited")
    rebuilt_right(site, tmp_path, 1, broken)
    if broken != "folder":  # (replaced by a new key: caching works again)
        assert len(path.read_bytes()) == 32
        again = build(site, jobs=1)
        assert again.rendered == 0 and again.written == 0


def test_a_folder_in_place_of_the_key_turns_caching_off(tmp_path):
    path = key_file(tmp_path)
    path.mkdir(parents=True)
    assert _key() == b""


def test_the_key_is_made_once_and_kept(tmp_path):
    first = _key()
    assert len(first) == 32 and _key() == first
    assert key_file(tmp_path).stat().st_mode & 0o777 == 0o600
    assert not [p for p in key_file(tmp_path).parent.iterdir() if p.name != "cache-key"]  # no temporary left


# The build lock (``.digest-cache/build.lock``, taken by the command).

@pytest.mark.parametrize("target", ["outside", "device", "pipe"])
def test_the_build_lock_is_a_file_of_the_cache_whatever_was_in_its_place(tmp_path, target):
    site = story_site(tmp_path, 3)
    lock = site / CACHE_DIR / "build.lock"
    lock.parent.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if target == "outside":  # (followed, it made the file it names, wherever that was)
        lock.symlink_to(elsewhere / "made-by-digest")
    elif target == "device":  # (one lock shared by every site linking it there)
        lock.symlink_to(os.devnull)
    else:
        os.mkfifo(lock)
    with deadline(), site_lock(site) as held:
        assert held
    assert lock.is_file() and not lock.is_symlink()
    assert not list(elsewhere.iterdir())
    with site_lock(site, create=False) as held:
        assert held


# A folder where a cache file was: writing that file failed at every build, and the summary's
# removal failing meant "unwritable cache", so the cache was never saved again.

@pytest.mark.parametrize("kinds", [["summary"], ["records", "outputs", "state", "plan"]])
def test_a_folder_in_place_of_a_cache_file_is_replaced_and_caching_goes_on(tmp_path, kinds):
    site = story_site(tmp_path, 12)
    build(site, jobs=1)
    for file in [file for kind in kinds for file in cache_files(site, kind)]:
        file.unlink()
        file.mkdir()
        (file / "inside").write_bytes(b"x")
    edit(site, 3, "edited")
    rebuilt_right(site, tmp_path, 1, "folders")
    again = build(site, jobs=1)
    assert again.rendered == 0 and again.written == 0
    assert not [p for p in (site / CACHE_DIR).iterdir() if p.is_dir()]
