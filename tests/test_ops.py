"""Operations: interrupted, concurrent and starved builds, and misuse of the command line.

Each test runs real ``python -m digest`` processes where that is how the fault shows (a
signal, a second process, a full or read-only file system). Tests that need a small
file system of their own mount a tmpfs, and are skipped where that is not allowed.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from digest.build import site_lock
from digest.cli import main
from tests.conftest import record

REPO = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m digest ARGS`` in a real process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "digest", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def corpus(count: int, title: str = "Old Digest", note: str = "") -> dict[str, str]:
    """A site of ``count`` records on a few topics, without a search index (no Pagefind)."""
    files = {"digest.toml": f'title = "{title}"\nsearch = false\n'}
    for i in range(count):
        files[f"content/{i:04d}.md"] = record(
            f"Story number {i}", f"2024-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
            webUrl=f'"https://news.example.com/{i}"', topics=f'["topic {i % 7}", "beat {i % 3}"]',
            provider=f'{{name: "Source {i % 5}", domain: "source{i % 5}.example"}}') + note
    return files


def with_image(files: dict[str, str | bytes]) -> dict[str, str | bytes]:
    """``files`` plus a record whose picture is in the image cache (thumbnails get made)."""
    import hashlib
    import io

    from PIL import Image

    url = "https://img.example.com/picture.png"
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 80, 40)).save(buffer, "PNG")
    files = dict(files)
    files[f"content/images/{hashlib.sha256(url.encode()).hexdigest()}.png"] = buffer.getvalue()
    files["content/pictured.md"] = record(
        "A pictured story", images=f'[{{url: "{url}", width: 640, height: 480, isCached: true}}]')
    return files


def set_title(site: Path, title: str) -> None:
    (site / "digest.toml").write_text(f'title = "{title}"\nsearch = false\n', encoding="utf-8")


def pages(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.html"))


@contextlib.contextmanager
def tmpfs(size: str) -> Path:
    """A fresh tmpfs of ``size`` (e.g. ``"600k"``), unmounted afterwards; skips unless root."""
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    where = Path(tempfile.mkdtemp(prefix="digest-ops-fs-"))
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs: {made.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)
        with contextlib.suppress(OSError):
            where.rmdir()


# --------------------------------------------------------------------------- interrupted builds


INTERRUPT_MID_SWAP = """
import os, signal, sys, types
import digest.write as write
from digest import cli

# Only digest.write's own calls are counted: the third file moved into the output folder
# sends SIGTERM (what `timeout` or a CI runner sends) to this very process.
moved = []
def replace(src, dst, _real=os.replace):
    _real(src, dst)
    moved.append(dst)
    if len(moved) == 3:
        os.kill(os.getpid(), signal.SIGTERM)
write.os = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
write.os.replace = replace
cli.interrupt_on_sigterm()
code = cli.main(sys.argv[1:])
print("moved", len(moved))
sys.exit(code)
"""


def test_sigterm_during_the_swap_finishes_it_and_the_next_build_repairs(make_site, tmp_path):
    """SIGTERM (or Ctrl-C) while staged files were moved in left some pages old and some new
    (2,249 old beside 1,728 new on a 1,500-record site), and said the output was untouched."""
    site = make_site(corpus(30))
    assert main(["build", str(site), "-j", "1"]) == 0
    out = site / "build"
    before = pages(out)
    assert all(b"Old Digest" in p.read_bytes() for p in before)

    set_title(site, "New Digest")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", INTERRUPT_MID_SWAP, "build", str(site), "-j", "1"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "the output folder holds the last complete build" in proc.stderr
    moved = int(proc.stdout.split("moved")[-1])
    assert moved > 3  # the swap went on past the signal ...
    mixed = [p.relative_to(out).as_posix() for p in pages(out) if b"Old Digest" in p.read_bytes()]
    assert mixed == []  # ... to the end: every page is the new site's
    assert len(pages(out)) == len(before)
    assert not (site / ".build.digest-staging").exists()

    # The interrupted build saved no cache: the next one checks everything, rewrites
    # nothing (the bytes are in place) and matches a clean build exactly.
    again = run("build", str(site), "-j", "1")
    assert again.returncode == 0, again.stderr
    assert "Wrote 0 files" in again.stdout
    clean = tmp_path / "clean"
    assert main(["build", str(site), "-o", str(clean), "-j", "1"]) == 0
    assert files_of(out) == files_of(clean)


def test_sigkill_mid_build_then_rebuild_gives_the_clean_site(make_site, tmp_path):
    """SIGKILL cannot be caught: whatever it leaves, the next build makes the exact clean site."""
    site = make_site(corpus(120, note="A note. " * 200))
    assert run("build", str(site), "-j", "2").returncode == 0
    set_title(site, "New Digest")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for delay in (0.3, 0.8):
        proc = subprocess.Popen([sys.executable, "-m", "digest", "build", str(site), "-j", "2"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.kill()
        proc.wait(timeout=30)
    again = run("build", str(site), "-j", "2")
    assert again.returncode == 0, again.stderr
    clean = tmp_path / "clean"
    assert main(["build", str(site), "-o", str(clean), "-j", "1"]) == 0
    assert files_of(site / "build") == files_of(clean)
    assert not (site / ".build.digest-staging").exists()


# --------------------------------------------------------------------------- two builds at once


def test_two_builds_of_one_site_at_once_both_succeed_and_the_output_is_whole(make_site, tmp_path):
    """Two builds at once shared one staging folder: each removed the other's staged files,
    both failed with a FileNotFoundError traceback and the output was left half old, half new."""
    site = make_site(corpus(150, note="A note. " * 100))
    assert main(["build", str(site), "-j", "1"]) == 0
    set_title(site, "New Digest")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    errs = [tmp_path / f"err-{n}" for n in range(2)]
    # Both start while the lock is held here, until each says it waits (on a busy machine the
    # first could otherwise finish before the second starts); then they race for it.
    with site_lock(site):
        procs = [subprocess.Popen([sys.executable, "-m", "digest", "build", str(site), "-j", "1"],
                                  env=env, stdout=subprocess.PIPE, stderr=err.open("w"), text=True)
                 for err in errs]
        deadline = time.monotonic() + 60
        while not all("waiting for it to finish" in err.read_text() for err in errs):
            assert time.monotonic() < deadline, [err.read_text() for err in errs]
            time.sleep(0.05)
    results = [(p.wait(timeout=120), p.communicate()[0], err.read_text()) for p, err in zip(procs, errs, strict=True)]
    for code, _out, err in results:
        assert code == 0, err
        assert "Traceback" not in err
    assert any("another build of" in err and "waiting for it to finish" in err for _, _, err in results)
    clean = tmp_path / "clean"
    assert main(["build", str(site), "-o", str(clean), "-j", "1"]) == 0
    assert files_of(site / "build") == files_of(clean)
    assert not (site / ".build.digest-staging").exists()


def test_a_publish_waits_for_a_running_build_of_the_same_site(make_site, tmp_path):
    """``digest publish`` builds into the same folder: it waits too, and publishes a whole site."""
    site = make_site(corpus(150, note="A note. " * 100))
    assert main(["build", str(site), "-j", "1"]) == 0
    set_title(site, "New Digest")
    www = tmp_path / "www"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    builder = subprocess.Popen([sys.executable, "-m", "digest", "build", str(site), "-j", "1"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    published = run("publish", str(site), "--to", www.as_uri())
    assert builder.wait(timeout=120) == 0, builder.communicate()[1]
    assert published.returncode == 0, published.stderr
    assert files_of(www) == files_of(site / "build")
    assert all(b"New Digest" in p.read_bytes() for p in pages(www))


# --------------------------------------------------------------------------- starved or broken folders


def test_full_disk_during_a_build_is_one_clear_error_and_frees_its_staging(make_site):
    """A full disk under the output folder printed a traceback from a worker process and left
    the staged files behind, holding the very space a retry needs."""
    site = make_site(corpus(60, note="A long note. " * 400))
    with tmpfs("400k") as fs:
        out = fs / "out"
        proc = run("build", str(site), "-o", str(out), "-j", "2")
        assert proc.returncode == 1
        assert "Traceback" not in proc.stderr
        assert "digest: error: " in proc.stderr and "No space left on device" in proc.stderr
        assert str(fs) in proc.stderr  # the file it could not write
        assert sorted(p.name for p in fs.iterdir()) == []  # no staging folder, no output
        # Room again: the same command completes.
        subprocess.run(["mount", "-o", "remount,size=16m", str(fs)], check=True)
        again = run("build", str(site), "-o", str(out), "-j", "2")
        assert again.returncode == 0, again.stderr
        assert len(pages(out)) > 60


def test_read_only_output_folder_is_one_clear_error_and_the_site_stays(make_site):
    site = make_site(corpus(20))
    with tmpfs("8m") as fs:
        out = fs / "out"
        assert main(["build", str(site), "-o", str(out), "-j", "1"]) == 0
        before = files_of(out)
        subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
        set_title(site, "New Digest")
        proc = run("build", str(site), "-o", str(out), "-j", "1")
        assert proc.returncode == 1
        assert "Traceback" not in proc.stderr
        assert f"digest: error: {fs}/.out.digest-staging" in proc.stderr
        assert "Read-only file system" in proc.stderr
        assert files_of(out) == before


def test_a_file_where_the_cache_folder_goes_means_a_build_without_a_cache(make_site, tmp_path):
    """``.digest-cache`` being a file gave a NotADirectoryError traceback: the cache is a
    cache, so the site builds without one (the same as a clean build), every time."""
    files = with_image(corpus(5))
    site = make_site(files)
    (site / ".digest-cache").write_text("not a folder")
    for _ in range(2):
        proc = run("build", str(site), "-j", "1")
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
    assert (site / ".digest-cache").read_text() == "not a folder"
    clean = make_site(files)
    assert run("build", str(clean), "-j", "1").returncode == 0
    assert files_of(site / "build") == files_of(clean / "build")


def test_folder_publish_on_a_full_disk_leaves_no_partial_file_and_a_rerun_completes(make_site):
    site = make_site(corpus(40, note="A long note. " * 300))
    assert main(["build", str(site), "-j", "1"]) == 0
    with tmpfs("300k") as fs:
        www = fs / "www"
        proc = run("publish", str(site), "--no-build", "--to", www.as_uri())
        assert proc.returncode == 1
        assert "Traceback" not in proc.stderr
        assert "No space left on device" in proc.stderr
        leftovers = [p for p in www.rglob(".digest-publish-*")]
        assert leftovers == []  # the partial copy was removed at once
        subprocess.run(["mount", "-o", "remount,size=16m", str(fs)], check=True)
        again = run("publish", str(site), "--no-build", "--to", www.as_uri())
        assert again.returncode == 0, again.stderr
        assert files_of(www) == files_of(site / "build")


# --------------------------------------------------------------------------- command-line misuse


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_serve_with_an_impossible_port_is_a_usage_error(make_site, port):
    """``--port 70000`` (or ``-1``) ended in an OverflowError traceback and exit code 1."""
    site = make_site(corpus(1))
    proc = run("serve", str(site), "--port", port, timeout=30)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "argument --port: invalid port" in proc.stderr


# --------------------------------------------------------------------------- digest serve


def _start_server(site: Path) -> tuple[subprocess.Popen, int]:
    import select
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "digest", "serve", str(site), "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    buffer, end = b"", time.monotonic() + 60
    while b"Serving" not in buffer and proc.poll() is None and time.monotonic() < end:
        if select.select([proc.stderr], [], [], 0.2)[0]:
            buffer += os.read(proc.stderr.fileno(), 65536)
    assert b"Serving" in buffer, buffer.decode()
    return proc, port


def _get(port: int, path: str = "/") -> bytes:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.read()


def test_two_servers_of_one_site_both_keep_building(make_site):
    """Two ``digest serve`` of one site (two terminals, a forgotten one) built into one preview
    folder: each removed the other's staged files, and from then on every build of both
    failed with FileNotFoundError while the pages stayed stale."""
    site = make_site(corpus(40))
    servers = [_start_server(site) for _ in range(2)]
    try:
        for round_ in range(3):
            for i in range(40):
                path = site / "content" / f"{i:04d}.md"
                path.write_text(path.read_text().replace(
                    f'title: "Story number {i}', f'title: "Edit {round_} of story {i}').replace(
                    f'title: "Edit {round_ - 1} of story {i}', f'title: "Edit {round_} of story {i}'))
            want = f"Edit {round_} of story 27<".encode()  # the newest: on the front page
            end = time.monotonic() + 30
            while time.monotonic() < end and not all(want in _get(port) for _, port in servers):
                time.sleep(0.1)
            assert all(want in _get(port) for _, port in servers)
    finally:
        logs = []
        for proc, _ in servers:
            proc.send_signal(2)
            logs.append(proc.communicate(timeout=30)[1].decode())
    for log in logs:
        assert "failed" not in log and "Traceback" not in log, log
    assert (site / ".digest-cache" / "serve").is_dir() and (site / ".digest-cache" / "serve-2").is_dir()


# --------------------------------------------------------------------------- digest init


def test_init_on_a_full_disk_is_one_line_leaves_nothing_and_a_retry_works():
    """``digest init`` on a full disk printed a 30 kB list of every file copytree could not
    copy, and left a half-made site that the retry refused as "exists and is not empty"."""
    with tmpfs("200k") as fs:
        target = fs / "my news ü"
        proc = run("init", str(target))
        assert proc.returncode == 1
        assert proc.stderr == (f"digest: cannot create the site in {target}: No space left on device; "
                               "nothing was left behind\n")
        assert list(fs.iterdir()) == []
        subprocess.run(["mount", "-o", "remount,size=16m", str(fs)], check=True)
        again = run("init", str(target))
        assert again.returncode == 0, again.stderr
        assert sorted(p.name for p in target.iterdir()) == ["content", "digest.toml", "static", "templates"]
        assert [p.name for p in fs.iterdir()] == [target.name]  # no staging folder left


def test_init_into_an_empty_folder_with_spaces_and_unicode_then_build(tmp_path):
    target = tmp_path / "ma revue de presse é"
    target.mkdir()
    made = run("init", str(target))
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]
    assert oct(target.stat().st_mode & 0o777) != oct(0o700)  # not private, as a new folder is
    built = run("build", str(target), "-j", "1")
    assert built.returncode == 0, built.stderr
    assert (target / "build" / "index.html").is_file()


# --------------------------------------------------------------------------- odd files


def test_a_named_pipe_in_static_is_skipped_instead_of_hanging_the_build(make_site):
    """``static/`` holding a FIFO (or a link to nothing) made the build wait forever on it."""
    site = make_site({**corpus(2), "static/site.css": "body{}"})
    os.mkfifo(site / "static" / "pipe.css")
    (site / "static" / "gone.css").symlink_to(site / "static" / "missing.css")
    proc = run("build", str(site), "-j", "1", timeout=60)
    assert proc.returncode == 0, proc.stderr
    built = sorted(p.name for p in (site / "build" / "static").iterdir())
    assert "site.css" in built and "pipe.css" not in built and "gone.css" not in built


@pytest.mark.parametrize("value", ["-5", "-2", "many"])
def test_publish_max_deletes_below_minus_one_is_a_usage_error(make_site, tmp_path, value):
    """``--max-deletes -5`` was taken as "no cap" (as -1 is): the one safety against a mass
    delete was lifted by a typo."""
    site = make_site(corpus(1))
    proc = run("publish", str(site), "--to", (tmp_path / "www").as_uri(), "--delete",
               "--max-deletes", value)
    assert proc.returncode == 2
    assert "argument --max-deletes: invalid count" in proc.stderr
    assert not (tmp_path / "www").exists() and not (site / "build").exists()


def test_publish_whose_build_fills_the_disk_is_one_line_and_frees_the_staging(make_site, tmp_path):
    with tmpfs("400k") as fs:
        site = make_site(corpus(60, note="A long note. " * 400))
        (fs / "out").mkdir()
        (site / "build").symlink_to(fs / "out")  # the output folder is on the small disk
        proc = run("publish", str(site), "--to", (tmp_path / "www").as_uri())
        assert proc.returncode == 1
        assert "Traceback" not in proc.stderr
        assert proc.stderr.startswith(f"digest: error: {fs}/.out.digest-staging/")
        assert proc.stderr.endswith(": No space left on device\n")
        assert [p.name for p in fs.iterdir()] == ["out"]  # no staging folder holding the space
        assert not (tmp_path / "www").exists()


def test_an_output_folder_removed_during_the_build_is_an_error_not_a_partial_site(make_site, monkeypatch):
    """Its unchanged files went with it: committing the staged (changed) files alone left a
    site without them in place."""
    import shutil

    import digest.render as render_module  # (digest.build imports render_all when it renders)
    from digest.build import build
    from digest.errors import BuildError

    site = make_site(corpus(12))
    build(site, jobs=1)
    set_title(site, "New Digest")
    real = render_module.render_all

    def render_then_lose_the_output(*args, **kwargs):
        done = real(*args, **kwargs)
        shutil.rmtree(site / "build")
        return done

    monkeypatch.setattr(render_module, "render_all", render_then_lose_the_output)
    with pytest.raises(BuildError, match="removed during the build"):
        build(site, jobs=1)
    assert not (site / "build").exists()
    assert not any(p.name.endswith("digest-staging") for p in site.iterdir())
    monkeypatch.setattr(render_module, "render_all", real)
    build(site, jobs=1)  # and the next build makes it whole
    clean = make_site(corpus(12))
    set_title(clean, "New Digest")
    build(clean, jobs=1)
    assert files_of(site / "build") == files_of(clean / "build")


def test_a_phase_that_fails_before_the_render_leaves_no_staged_files(make_site, monkeypatch):
    import digest.images as images_module  # (digest.build imports build_images when it makes them)
    from digest.build import build

    site = make_site(corpus(3))

    def failing_images(site_, articles, config, drafts, out, staging, *rest):
        (staging.root / "thumbs").mkdir(parents=True)
        (staging.root / "thumbs" / "x.webp").write_bytes(b"half made")
        raise OSError(28, "No space left on device", str(staging.root / "thumbs" / "y.webp"))

    monkeypatch.setattr(images_module, "build_images", failing_images)
    with pytest.raises(OSError):
        build(site, jobs=1)
    assert not any(p.name.endswith("digest-staging") for p in site.iterdir())  # (nor a build/)
    assert not (site / "build").exists()


def test_a_site_that_is_a_file_is_named_as_such(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    proc = run("build", str(tmp_path / "notes.txt"))
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"digest: error: not a site folder: {tmp_path / 'notes.txt'} is a file"


@pytest.mark.parametrize("command", ["build", "check"])
def test_a_config_that_is_a_named_pipe_is_an_error_not_a_hang(make_site, command):
    site = make_site(corpus(2))
    (site / "digest.toml").unlink()
    os.mkfifo(site / "digest.toml")
    proc = run(command, str(site), timeout=30)  # (it waited for a writer forever, deaf to SIGTERM)
    assert proc.returncode == 1
    assert "digest.toml: not a regular file" in proc.stderr


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_follows_parsing_images_and_rendering(make_site, jobs):
    """Only the render reported progress: a cold 100k build parsed for 40 s in silence."""
    from digest.build import build

    site = make_site(with_image(corpus(450)))
    seen: dict[str, list[tuple[int, int]]] = {}
    build(site, jobs=jobs, progress=lambda phase, done, total: seen.setdefault(phase, []).append((done, total)))
    assert set(seen) == {"parse", "images", "render"}
    for phase, calls in seen.items():
        assert calls[-1][0] == calls[-1][1] and all(a[0] < b[0] for a, b in itertools.pairwise(calls)), phase
    assert seen["parse"][-1] == (451, 451) and seen["images"][-1] == (1, 1)
