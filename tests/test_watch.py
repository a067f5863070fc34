"""``digest build --watch``: a real watching process, real file changes, compared with clean builds."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import record

TIMEOUT = 60.0
SETTLE = 1.0
CONFIG = 'title = "Watched"\nbase_url = "https://watch.example.org/"\nsearch = false\n'


class Watching:
    """``digest build --watch SITE`` in a child process; its stdout lines, read as they come."""

    def __init__(self, site: Path, *args: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "digest", "build", "--watch", str(site), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        self.pumps = [threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines.put), daemon=True),
                      threading.Thread(target=self._pump, args=(self.proc.stderr, self.err.append), daemon=True)]
        for pump in self.pumps:
            pump.start()

    @staticmethod
    def _pump(stream, put) -> None:
        for line in stream:
            put(line.rstrip("\n"))

    def settled(self) -> str:
        """The line of the next build, or of the last of those that follow it closely (a change
        seen in two halves, on a busy machine, is two builds)."""
        try:
            line = self.lines.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"no build line; stderr: {self.err}") from None
        while True:
            try:
                line = self.lines.get(timeout=SETTLE)
            except queue.Empty:
                assert line.startswith("build "), line
                return line

    def said(self, text: str, times: int = 1) -> bool:
        """Whether stderr has ``times`` lines holding ``text`` (waited for: stdout and stderr are
        read by two threads, and a build's line may come in before the problems printed before it)."""
        deadline = time.monotonic() + TIMEOUT
        while sum(text in line for line in self.err) < times:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self) -> int:
        """SIGTERM; the exit status, once all it printed is read."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=TIMEOUT)
        finally:
            self.proc.kill()
            for pump in self.pumps:
                pump.join(TIMEOUT)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def watching():
    started: list[Watching] = []

    def start(site: Path, *args: str) -> Watching:
        started.append(Watching(site, *args))
        return started[-1]

    yield start
    for watch in started:
        watch.close()


def save(path: Path, text: str) -> None:
    """Write ``path`` as editors do, whole at once (a build never sees it half written)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def clean_build(site: Path, tmp_path: Path) -> Path:
    """The output of a clean build of a copy of ``site``'s sources."""
    copy = tmp_path / "clean"
    shutil.rmtree(copy, ignore_errors=True)
    copy.mkdir()
    for name in ("content", "templates", "static", "digest.toml"):
        source = site / name
        if source.is_dir():
            shutil.copytree(source, copy / name)
        elif source.is_file():
            shutil.copy2(source, copy / name)
    assert subprocess.run([sys.executable, "-m", "digest", "build", str(copy)], capture_output=True).returncode == 0
    return copy / "build"


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_watching_build_follows_edits_additions_and_removals_as_a_clean_build_would(make_site, watching, tmp_path):
    site = make_site({"digest.toml": CONFIG,
                      "content/a.md": record("Alpha", topics='["Robots"]'),
                      "content/b.md": record("Beta", when="2024-01-03T10:00:00Z", topics='["Robots"]'),
                      "content/c.md": record("Gamma", when="2024-01-04T10:00:00Z")})
    watch = watching(site)
    first = watch.settled()
    assert "0 errors, 0 warnings" in first
    assert tree(site / "build") == tree(clean_build(site, tmp_path))

    save(site / "content" / "a.md", record("Alpha edited", topics='["Robots"]'))
    watch.settled()
    assert "Alpha edited" in (site / "build" / "topics" / "robots" / "index.html").read_text(encoding="utf-8")
    assert tree(site / "build") == tree(clean_build(site, tmp_path))

    save(site / "content" / "d.md", record("Delta", when="2024-01-05T10:00:00Z", topics='["Drones"]'))
    watch.settled()
    assert (site / "build" / "topics" / "drones" / "index.html").is_file()
    assert tree(site / "build") == tree(clean_build(site, tmp_path))

    (site / "content" / "c.md").unlink()
    watch.settled()
    assert tree(site / "build") == tree(clean_build(site, tmp_path))

    assert watch.stop() == 130
    assert any("stopped" in line for line in watch.err)
    # The last plan is saved for the next command (the watch saved none before), which finds
    # nothing to do.
    assert len(list((site / ".digest-cache").glob("plan-*.pickle"))) == 1
    after = subprocess.run([sys.executable, "-m", "digest", "build", str(site)], capture_output=True, text=True)
    assert after.returncode == 0 and "Wrote 0 files" in after.stdout and "(0 pages rendered)" in after.stdout


def test_a_change_made_during_the_first_build_is_built(make_site, watching, tmp_path):
    # The watcher starts once the first build is done (so that it forks its helpers as a
    # command does): a change made meanwhile is found by comparing the sources around it.
    files = {"digest.toml": CONFIG}
    files.update({f"content/r{n:03d}.md": record(f"Story {n}", when=f"2024-01-{1 + n % 28:02d}T10:00:00Z",
                                                 topics=f'["Topic {n % 7}"]') for n in range(150)})
    site = make_site(files)
    watch = watching(site)
    time.sleep(0.8)  # (the process starts, then builds: the edit lands before, during or after build 1)
    save(site / "content" / "r000.md", record("Story zero, edited", when="2024-02-01T10:00:00Z", topics='["Topic 0"]'))
    line = watch.settled()
    if "Story zero, edited" not in (site / "build" / "index.html").read_text(encoding="utf-8"):  # (the newest)
        line = watch.settled()  # (the first build was done before the edit: the next one)
    assert "0 errors" in line
    assert tree(site / "build") == tree(clean_build(site, tmp_path))


def test_records_renamed_and_folders_made_moved_and_removed_are_built_as_a_clean_build(make_site, watching,
                                                                                     tmp_path):
    # A watching build looks up only the files its events name; a folder's events name no file
    # in it, so they make it walk every record file again.
    site = make_site({"digest.toml": CONFIG,
                      "content/a.md": record("Alpha", topics='["Robots"]'),
                      "content/b.md": record("Beta", when="2024-01-03T10:00:00Z", topics='["Robots"]')})
    content = site / "content"
    watch = watching(site)
    watch.settled()
    steps = [
        lambda: os.replace(content / "a.md", content / "renamed.md"),
        lambda: (content / "2024").mkdir(),
        lambda: save(content / "2024" / "c.md", record("Gamma", when="2024-01-04T10:00:00Z")),
        lambda: os.replace(content / "2024", content / "moved"),
        lambda: shutil.move(str(content / "moved"), str(tmp_path / "away")),
        lambda: shutil.move(str(tmp_path / "away"), str(content / "back")),
        lambda: shutil.rmtree(content / "back"),
    ]
    for step in steps:
        step()
        assert "0 errors" in watch.settled()
        assert tree(site / "build") == tree(clean_build(site, tmp_path))


def test_an_output_file_changed_behind_a_watching_build_is_made_again(make_site, watching, tmp_path):
    # A server trusts its private folder; a watching build writes the user's, which anyone may
    # change meanwhile (a deploy script, a person): each build checks what it did not just write.
    site = make_site({"digest.toml": CONFIG, "content/a.md": record("Alpha"), "content/b.md": record("Beta")})
    watch = watching(site)
    watch.settled()
    (site / "build" / "index.html").unlink()
    save(site / "build" / "404.html", "defaced")
    save(site / "content" / "b.md", record("Beta edited"))
    watch.settled()
    assert tree(site / "build") == tree(clean_build(site, tmp_path))


def test_a_broken_config_keeps_the_last_good_site_and_the_watch_goes_on(make_site, watching):
    site = make_site({"digest.toml": CONFIG, "content/a.md": record("Alpha")})
    watch = watching(site)
    watch.settled()
    before = tree(site / "build")
    save(site / "digest.toml", CONFIG + "page_size = 'many'\n")
    assert "failed" in watch.settled()
    assert tree(site / "build") == before
    assert watch.said("page_size")
    save(site / "digest.toml", CONFIG + "page_size = 'many' # still\n")  # (the error again, said again)
    assert "failed" in watch.settled()
    assert watch.said("page_size", times=2)
    save(site / "digest.toml", CONFIG)
    save(site / "content" / "a.md", record("Alpha again"))
    assert "0 errors" in watch.settled()
    assert "Alpha again" in (site / "build" / "index.html").read_text(encoding="utf-8")


def test_a_problem_is_printed_once_not_at_every_build(make_site, watching):
    site = make_site({"digest.toml": CONFIG, "content/a.md": record("Alpha"), "content/bad.md": "---\ntitle: [\n---\n"})
    watch = watching(site)
    assert "1 errors" in watch.settled()
    save(site / "content" / "a.md", record("Alpha edited"))
    assert "1 errors" in watch.settled()
    assert watch.stop() == 130
    assert len([line for line in watch.err if line.startswith("content/bad.md")]) == 1


def test_a_command_build_while_watching_takes_its_turn(make_site, watching):
    site = make_site({"digest.toml": CONFIG, "content/a.md": record("Alpha")})
    watch = watching(site)
    watch.settled()
    other = subprocess.run([sys.executable, "-m", "digest", "build", str(site)], capture_output=True, text=True,
                           timeout=TIMEOUT)
    assert other.returncode == 0
    save(site / "content" / "a.md", record("Alpha edited"))
    watch.settled()
    assert "Alpha edited" in (site / "build" / "index.html").read_text(encoding="utf-8")


def test_watch_with_strict_is_refused_and_a_bad_output_folder_is_an_error(make_site, tmp_path):
    site = make_site({"digest.toml": CONFIG, "content/a.md": record("Alpha")})
    strict = subprocess.run([sys.executable, "-m", "digest", "build", "--watch", "--strict", str(site)],
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert strict.returncode == 2 and "--strict and --watch do not go together" in strict.stderr
    (tmp_path / "a-file").write_text("x")
    bad = subprocess.run([sys.executable, "-m", "digest", "build", "--watch", "-o", str(tmp_path / "a-file"),
                          str(site)], capture_output=True, text=True, timeout=TIMEOUT)
    assert bad.returncode == 1 and "a file, not a folder" in bad.stderr and "Traceback" not in bad.stderr
