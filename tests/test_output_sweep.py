"""Defects left open around the output folder and the cache, each a fix with its test:
symbolic links in and around the output folder (never written, replaced or removed
through), the caches of other output folders (pruned), a bare git repository as output
folder (refused), worker processes of a killed build (stopped with it)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from digest.build import build
from digest.cli import main
from digest.search import pagefind_executable
from tests.conftest import record


def small_site(make_site, search: bool = False, **files: str) -> Path:
    return make_site({"content/a.md": record("Alpha story", webUrl='"https://news.example/a"', topics='["AI"]'),
                      "content/b.md": record("Beta story", webUrl='"https://news.example/b"', topics='["Energy"]'),
                      "digest.toml": f"search = {'true' if search else 'false'}\n", **files})


def elsewhere_folder(tmp_path: Path, name: str = "elsewhere") -> Path:
    """A folder outside the site holding one file of someone else's."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "precious.txt").write_text("keep")
    return folder


def untouched(folder: Path) -> bool:
    return sorted(p.name for p in folder.iterdir()) == ["precious.txt"] and \
        (folder / "precious.txt").read_text() == "keep"


# --------------------------------------------------------------------------- links


@pytest.mark.parametrize("cold", [True, False])
def test_a_link_in_place_of_the_staging_folder_is_never_written_through(make_site, tmp_path, cold):
    # `shutil.rmtree` leaves a link standing (it refuses links): every staged file was written
    # into the folder the link named, and a cold build renamed the link itself into place, so
    # build/ became a link to that folder, the site mixed with what it held.
    site = small_site(make_site)
    if not cold:
        build(site, jobs=1)
        (site / "content" / "c.md").write_text(record("Gamma story", webUrl='"https://news.example/c"'))
    elsewhere = elsewhere_folder(tmp_path)
    (site / ".build.digest-staging").symlink_to(elsewhere)
    result = build(site, jobs=1)
    assert result.written > 0
    assert untouched(elsewhere)
    out = site / "build"
    assert out.is_dir() and not out.is_symlink() and (out / "index.html").is_file()
    assert not (site / ".build.digest-staging").exists() and not (site / ".build.digest-staging").is_symlink()


def test_a_folder_of_the_output_linked_out_of_it_stops_the_build_naming_the_link(make_site, tmp_path, capsys):
    site = small_site(make_site)
    assert main(["build", str(site), "-j", "1"]) == 0
    out = site / "build"
    elsewhere = tmp_path / "elsewhere"
    (out / "topics").rename(elsewhere)
    (out / "topics").symlink_to(elsewhere)
    before = {p: p.read_bytes() for p in elsewhere.rglob("*") if p.is_file()}
    (site / "content" / "b.md").write_text(record("Beta story", webUrl='"https://news.example/b"', topics='["Solar"]'))
    capsys.readouterr()
    assert main(["build", str(site), "-j", "1"]) == 1
    err = capsys.readouterr().err
    assert f"{out.resolve()}/topics is a symbolic link to {elsewhere.resolve()}; replace it with a folder" in err
    assert {p: p.read_bytes() for p in elsewhere.rglob("*") if p.is_file()} == before  # nothing written nor pruned


def test_a_page_replaced_by_a_link_to_a_file_outside_is_replaced_not_written_through(make_site, tmp_path):
    site = small_site(make_site)
    build(site, jobs=1)
    outside = tmp_path / "outside.html"
    outside.write_text("someone else's page")
    page = site / "build" / "index.html"
    page.unlink()
    page.symlink_to(outside)
    (site / "content" / "c.md").write_text(record("Gamma story", webUrl='"https://news.example/c"'))
    build(site, jobs=1)
    assert outside.read_text() == "someone else's page"
    assert not page.is_symlink() and "Gamma story" in page.read_text()


def test_an_output_folder_that_is_a_link_is_built_and_pruned_where_it_leads(make_site, tmp_path):
    # The user's own choice (build/ on another disk): the build writes into the folder the link
    # leads to, stages beside that folder, and prunes there only what it made itself.
    site = small_site(make_site)
    real = tmp_path / "disk" / "www"
    real.mkdir(parents=True)
    (real / "mine.txt").write_text("mine")
    (site / "build").symlink_to(real)
    build(site, jobs=1)
    assert (real / "topics" / "energy" / "index.html").is_file()
    (site / "content" / "b.md").unlink()
    build(site, jobs=1)
    assert not (real / "topics" / "energy").exists()  # pruned: a previous build made it
    assert (real / "mine.txt").read_text() == "mine" and (site / "build").is_symlink()
    assert sorted(p.name for p in real.parent.iterdir()) == ["www"]  # no staging left beside it


@pytest.mark.skipif(pagefind_executable() is None, reason="Pagefind is not installed")
def test_links_in_place_of_the_search_index_or_its_staging_are_never_written_through(make_site, tmp_path):
    # As with the build's staging folder: Pagefind wrote its index into the folder a link in
    # place of `.build.pagefind-staging` named, and the swap renamed the link into build/pagefind.
    site = small_site(make_site, search=True)
    elsewhere = elsewhere_folder(tmp_path)
    (site / ".build.pagefind-staging").symlink_to(elsewhere)
    assert build(site, jobs=1).search.startswith("search index built")
    assert untouched(elsewhere)
    bundle = site / "build" / "pagefind"
    assert bundle.is_dir() and not bundle.is_symlink()
    # build/pagefind itself a link out: replaced by the new index, what it named left as it was
    other = elsewhere_folder(tmp_path, "other")
    bundle.rename(tmp_path / "old-index")
    bundle.symlink_to(other)
    (site / "content" / "c.md").write_text(record("Gamma story", webUrl='"https://news.example/c"'))
    assert build(site, jobs=1).search.startswith("search index built")
    assert untouched(other)
    assert bundle.is_dir() and not bundle.is_symlink() and (bundle / "pagefind.js").is_file()
    assert not (site / "build" / ".pagefind.old").exists() and not (site / "build" / ".pagefind.old").is_symlink()


# --------------------------------------------------------------------------- caches of other output folders


def key_files(site: Path, out: Path) -> dict[str, list[str]]:
    """The cache files of the output folder ``out``, by kind."""
    from digest.cache import CACHE_DIR, BuildCache

    key = BuildCache(site, out).out_key
    found: dict[str, list[str]] = {}
    for path in (site / CACHE_DIR).iterdir():
        if f"-{key}" in path.name:
            found.setdefault(path.name.split(f"-{key}")[0], []).append(path.name)
    return found


def age(site: Path, out: Path, days: float) -> None:
    """Make every cache file of ``out`` look last written ``days`` ago."""
    import os
    import time

    from digest.cache import CACHE_DIR

    when = time.time() - days * 86_400
    for names in key_files(site, out).values():
        for name in names:
            os.utime(site / CACHE_DIR / name, (when, when))


def test_the_cache_of_an_output_folder_since_deleted_is_pruned(make_site, tmp_path):
    # `digest build -o /tmp/x` left its manifest, state, plan and summary in .digest-cache/ for
    # good (hundreds of megabytes at 100,000 records), and so did every --drafts or temp build.
    site = small_site(make_site)
    other = tmp_path / "x"
    assert main(["build", str(site), "-o", str(other), "-j", "1"]) == 0
    assert {"outputs", "plan", "state", "summary", "folder", "lock"} <= set(key_files(site, other))
    import shutil

    shutil.rmtree(other)
    assert main(["build", str(site), "-j", "1"]) == 0
    assert key_files(site, other)  # gone only for a moment (a disk unmounted?): not forgotten at once
    age(site, other, 2)
    assert main(["build", str(site), "-j", "1"]) == 0
    assert key_files(site, other) == {}
    assert {"outputs", "plan", "state", "summary"} <= set(key_files(site, site / "build"))  # its own kept
    assert main(["build", str(site), "-o", str(other), "-j", "1"]) == 0  # and a build there again is whole
    assert (other / "topics" / "energy" / "index.html").is_file()


def test_an_output_folder_unused_for_a_month_keeps_only_its_manifest_and_summary(make_site, tmp_path):
    site = small_site(make_site)
    other = tmp_path / "x"
    build(site, other, jobs=1)
    age(site, other, 31)
    build(site, jobs=1)
    assert set(key_files(site, other)) == {"outputs", "summary", "folder", "lock"}
    (site / "content" / "b.md").unlink()
    build(site, other, jobs=1)  # the manifest is what lets this build prune the folder
    assert not (other / "topics" / "energy").exists() and (other / "topics" / "ai" / "index.html").is_file()


def test_an_older_digests_cache_of_another_folder_is_pruned_by_its_age(make_site, tmp_path):
    from digest.cache import CACHE_DIR

    site = small_site(make_site)
    other = tmp_path / "x"
    build(site, other, jobs=1)
    for kind in ("folder", "lock"):  # (what an older digest did not write)
        for name in key_files(site, other)[kind]:
            (site / CACHE_DIR / name).unlink()
    age(site, other, 29)
    build(site, jobs=1)
    assert {"plan", "state"} <= set(key_files(site, other))
    age(site, other, 31)
    build(site, jobs=1)
    assert set(key_files(site, other)) == {"outputs", "summary"}


def test_the_cache_of_a_folder_a_build_or_server_uses_is_never_pruned(make_site, tmp_path):
    # A server (or a build into another folder) running while a build prunes: what it holds
    # stays, however old its files look and even though its folder is not there yet.
    import gc

    from digest.cache import BuildCache

    site = small_site(make_site)
    other = tmp_path / "x"
    build(site, other, jobs=1)
    import shutil

    shutil.rmtree(other)
    running = BuildCache(site, other)
    running.begin()
    age(site, other, 40)
    build(site, jobs=1)
    assert {"outputs", "plan", "state", "summary"} <= set(key_files(site, other))
    running = None  # (the server stops: its lock is let go of with it)
    gc.collect()
    build(site, jobs=1)
    assert key_files(site, other) == {}


# --------------------------------------------------------------------------- bare repositories, sources


def bare_repository(folder: Path) -> Path:
    """A bare git repository as ``git init --bare`` lays it out (no git needed)."""
    (folder / "objects" / "pack").mkdir(parents=True)
    (folder / "refs" / "heads").mkdir(parents=True)
    (folder / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / "config").write_text("[core]\n\tbare = true\n")
    return folder


@pytest.mark.parametrize("inside", ["", "www", "objects/www"])
def test_a_bare_repository_is_refused_as_output_folder(make_site, tmp_path, capsys, inside):
    # `.git` was refused by its name, but `site.git` (a bare repository, named as its owner
    # likes) was filled with pages beside its objects and refs, and would be pruned there.
    site = small_site(make_site)
    repository = bare_repository(tmp_path / "site.git")
    before = sorted(p.relative_to(repository) for p in repository.rglob("*"))
    target = repository / inside if inside else repository
    assert main(["build", str(site), "-o", str(target), "-j", "1"]) == 1
    assert capsys.readouterr().err == (
        f"digest: error: refusing to build into {target.resolve()}: it is in {repository.resolve()}, the "
        "database of a version-control repository, which a build would fill with pages and prune; "
        "choose another folder (such as build or public)\n")
    assert sorted(p.relative_to(repository) for p in repository.rglob("*")) == before


def test_a_folder_named_like_a_repository_or_holding_a_working_tree_is_an_output_folder(make_site, tmp_path):
    # (a clone of the gh-pages branch is a usual output folder: its .git is left alone)
    site = small_site(make_site)
    assert main(["build", str(site), "-o", str(tmp_path / "site.git"), "-j", "1"]) == 0
    clone = tmp_path / "pages"
    bare_repository(clone / ".git")
    assert main(["build", str(site), "-o", str(clone), "-j", "1"]) == 0
    assert (clone / "index.html").is_file() and (clone / ".git" / "HEAD").is_file()


@pytest.mark.parametrize("where", ["data", "data/content", "data/content/x"])
def test_an_output_folder_holding_the_sites_linked_content_is_refused(make_site, tmp_path, capsys, where):
    # content/ a link to the records elsewhere (content -> /data/content): -o /data was accepted,
    # and the build wrote its pages among the site's records.
    site = small_site(make_site)
    data = tmp_path / "data"
    (site / "content").rename(data / "content") if data.mkdir() is None else None
    (site / "content").symlink_to(data / "content")
    assert main(["build", str(site), "-o", str(tmp_path / where), "-j", "1"]) == 1
    assert "it holds the site's own files" in capsys.readouterr().err
    assert sorted(p.name for p in data.iterdir()) == ["content"]
    assert sorted(p.name for p in (data / "content").iterdir()) == ["a.md", "b.md"]


# --------------------------------------------------------------------------- workers of a killed build

needs_linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
REPO = Path(__file__).resolve().parent.parent


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its new parent, does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(n) for n in (task / "children").read_text().split()]
    return found


def gone(pids: list[int], within: float = 10) -> bool:
    deadline = time.monotonic() + within
    while any(alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _dying_children(script: Path, body: str) -> Path:
    """``script``, written: ``body`` run with the repository's digest importable and
    `digest.background.children_die_with_parent` turned on, as the ``digest`` command does."""
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from digest.background import children_die_with_parent
        assert children_die_with_parent()
        """) + textwrap.dedent(body))
    return script


@needs_linux
def test_a_forked_child_dies_with_its_parent_killed(tmp_path):
    # `digest.background.children_die_with_parent`, which the `digest` command turns on: a
    # `Pending` child (and any worker) ends when the process that forked it is killed.
    script = _dying_children(tmp_path / "parent.py", f"""
        import os, time
        from digest.background import Pending
        def forever(path):
            open(path, "w").write(str(os.getpid()))
            time.sleep(120)
        job = Pending(forever, ({str(tmp_path / "child")!r},))
        time.sleep(120)
        """)
    parent = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "child").is_file() or not (tmp_path / "child").read_text():
            assert time.monotonic() < deadline and parent.poll() is None
            time.sleep(0.02)
        child = int((tmp_path / "child").read_text())
        assert alive(child)
    finally:
        parent.kill()
        parent.wait()
    assert gone([child]), "the child outlived its killed parent"


@needs_linux
def test_a_pool_that_replaces_its_workers_still_finishes(tmp_path):
    # A multiprocessing pool with ``maxtasksperchild`` (the render pool's) forks replacement
    # workers from its worker-handler thread. Asked to die when *that thread* ended, they were
    # SIGKILLed as the pool closed, one of them holding the task queue's lock, and the pool's
    # `terminate` waited for that lock forever: a 100,000-record build hung in `render_all`.
    script = _dying_children(tmp_path / "pool.py", """
        import multiprocessing
        def square(n):
            return n * n
        for _ in range(5):
            with multiprocessing.get_context("fork").Pool(2, maxtasksperchild=1) as pool:
                assert sum(pool.imap(square, range(40))) == sum(n * n for n in range(40))
        print("done")
        """)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.stdout == "done\n", done.stderr


@needs_linux
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_build_leaves_no_worker_behind(make_site, signum):
    # A build killed (kill -9) while its workers parsed records left them waiting on their
    # queue for good (each holding its share of the build's memory); render workers printed a
    # BrokenPipeError traceback each on the terminal. SIGTERM stops them with the build.
    note = "A paragraph of the curator's note, *with* some [markup](https://example.org/). " * 40
    site = make_site({f"content/{n:04}.md": record(f"Story {n}", webUrl=f'"https://news.example/{n}"',
                                                  topics='["AI", "Energy"]') + note
                      for n in range(2500)} | {"digest.toml": "search = false\n"})
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    build_process = subprocess.Popen([sys.executable, "-m", "digest", "build", str(site), "-j", "2"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    workers: list[int] = []
    deadline = time.monotonic() + 60
    while len(workers) < 2:  # (the parse workers: the first time two children run at once)
        assert build_process.poll() is None and time.monotonic() < deadline, "no workers seen"
        workers = [pid for pid in children(build_process.pid) if alive(pid)]
        time.sleep(0.01)
    build_process.send_signal(signum)
    build_process.wait(timeout=60)
    try:
        assert gone(workers), f"workers {workers} outlived the build"
    finally:
        for pid in workers:  # (what is left holds the build's stderr open: reading it waited)
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
    stderr = build_process.stderr.read().decode()
    build_process.stderr.close()
    assert "Traceback" not in stderr


@needs_linux
@pytest.mark.skipif(pagefind_executable() is None, reason="Pagefind is not installed")
def test_pagefind_dies_with_a_killed_build(make_site):
    # Pagefind, started with subprocess (which runs no fork hook), went on writing its index
    # beside the output folder after a kill -9 of the build: into the folder the next build's
    # Pagefind writes in.
    note = "Words of a note the search index holds, each one a term. " * 60
    site = make_site({f"content/{n:04}.md": record(f"Story {n}", webUrl=f'"https://news.example/{n}"') + note
                      for n in range(1500)} | {"digest.toml": "search = true\n"})
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    build_process = subprocess.Popen([sys.executable, "-m", "digest", "build", str(site), "-j", "2"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    indexer = None
    while indexer is None and build_process.poll() is None:
        for pid in children(build_process.pid):
            with contextlib.suppress(OSError):
                if b"pagefind" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]:
                    indexer = pid
        time.sleep(0.005)
    if indexer is None:
        pytest.skip("the build ended before Pagefind was seen running")
    build_process.kill()
    build_process.wait()
    try:
        assert gone([indexer], within=0.5), "Pagefind outlived the killed build"  # (it indexes for seconds)
    finally:
        if alive(indexer):
            os.kill(indexer, signal.SIGKILL)
