"""Command line: exit codes 0 / 1 / 2, `check` writes nothing, `init` makes a site that builds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from digest import __version__
from digest.cli import main
from tests.conftest import record

REPO = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m digest ARGS`` in a real process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "digest", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def tree(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_version():
    done = run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"digest {__version__}"


def test_usage_errors_exit_2(make_site):
    assert run().returncode == 2
    assert run("frobnicate").returncode == 2
    assert run("build", "--no-such-flag").returncode == 2
    site = make_site({"content/a.md": record("A", webUrl='"https://c.example/a"')})
    done = run("build", str(site), "--jobs", "0")
    assert done.returncode == 2 and "--jobs" in done.stderr
    assert not (site / "build").exists()


def test_build_exits_0_with_problems_and_1_with_strict(make_site):
    site = make_site({
        "content/good.md": record("Good", webUrl='"https://c.example/good"'),
        "content/bad.md": "---\ntitle: Bad\npublishedDateTime: 2024-01-01\ntopics: AI\n---\n",
    })
    done = run("build", str(site))
    assert done.returncode == 0, done.stderr
    assert "content/bad.md:4: topics: expected a list of strings, got a string" in done.stderr
    assert "Read 2 record files: 1 loaded, 1 skipped (1 errors, 0 warnings)" in done.stdout
    assert "Pages:" in done.stdout and "Time:" in done.stdout
    assert list((site / "build").glob("2024/01/02/good-*/index.html"))
    strict = run("build", str(site), "--strict")
    assert strict.returncode == 1
    assert "content/bad.md:4: topics:" in strict.stderr


def test_strict_build_of_a_clean_site_exits_0(make_site):
    site = make_site({"content/a.md": record("A", webUrl='"https://c.example/a"')})
    assert run("build", str(site), "--strict").returncode == 0


def test_build_in_current_folder_and_output_option(make_site, tmp_path):
    site = make_site({"content/a.md": record("A", webUrl='"https://c.example/a"')})
    assert run("build", cwd=site).returncode == 0
    assert (site / "build" / "index.html").is_file()
    assert run("build", str(site), "-o", str(tmp_path / "elsewhere")).returncode == 0
    assert (tmp_path / "elsewhere" / "index.html").is_file()


def test_bad_config_exits_1_listing_every_key(make_site):
    site = make_site({"digest.toml": "page_size = 0\ntimezone = 'Nowhere'\n",
                      "content/a.md": record("A", webUrl='"https://c.example/a"')})
    for command in ("build", "check"):
        done = run(command, str(site))
        assert done.returncode == 1
        assert "digest.toml:1: page_size: expected an integer from 1 to 1000, got an integer 0" in done.stderr
        assert "digest.toml:2: timezone: expected an IANA timezone name" in done.stderr
    assert not (site / "build").exists()


def test_template_error_exits_1_and_writes_nothing(make_site):
    site = make_site({"content/a.md": record("A", webUrl='"https://c.example/a"'),
                      "templates/base.html": "{{ page.missing.deeper }}"})
    done = run("build", str(site))
    assert done.returncode == 1
    assert done.stderr.startswith("digest: error:") and "base.html" in done.stderr
    assert not (site / "build").exists()


def test_a_template_error_names_the_file_as_content_problems_are(make_site, tmp_path, capsys):
    # It named the absolute path (`/home/.../site/templates/home.html:1: ...`) while content
    # problems and the preview's overlay name `content/x.md:7:` and `templates/home.html:1:`.
    site = make_site({"content/a.md": record(), "digest.toml": "search = false\n",
                      "templates/home.html": '{% extends "base.html" %}{% block main %}{{ 1 / 0 }}{% endblock %}'})
    assert main(["build", str(site)]) == 1
    assert capsys.readouterr().err == ("digest: error: templates/home.html:1: error rendering index.html: "
                                       "ZeroDivisionError: division by zero\n")
    (site / "templates/home.html").write_text("{{ x | nofilter }}")
    done = run("build", os.path.relpath(site, tmp_path), cwd=tmp_path)  # (a relative SITE, another folder)
    assert done.returncode == 1
    assert done.stderr == "digest: error: templates/home.html:1: template syntax error: No filter named 'nofilter'.\n"


def test_check_reports_and_writes_nothing(make_site):
    site = make_site({
        "content/good.md": record("Good", webUrl='"https://c.example/good"'),
        "content/bad.md": "---\ntitle: [x]\npublishedDateTime: 2024-01-01\n---\n",
        "content/warn.md": record("Warn", webUrl='"https://c.example/warn"', quality="lots"),
    })
    before = tree(site)
    done = run("check", str(site))
    assert done.returncode == 1
    assert "content/bad.md:2: title: expected a non-empty string, got a list" in done.stderr
    assert "content/warn.md:5: warning: quality: expected an integer, got the text 'lots'; treated as unknown" in done.stderr
    assert "Checked 3 record files: 2 valid, 1 errors, 1 warnings." in done.stdout
    assert tree(site) == before  # no build/, no cache, nothing touched


def test_check_exit_codes_for_warnings(make_site):
    site = make_site({"content/warn.md": record("Warn", webUrl='"https://c.example/w"', heat="hot")})
    assert run("check", str(site)).returncode == 0
    assert run("check", str(site), "--strict").returncode == 1
    clean = make_site({"content/a.md": record("A", webUrl='"https://c.example/a"')})
    assert run("check", str(clean), "--strict").returncode == 0


def test_init_then_build(tmp_path):
    target = tmp_path / "my-news"
    done = run("init", str(target))
    assert done.returncode == 0, done.stderr
    assert (target / "digest.toml").is_file()
    assert list((target / "content").rglob("*.md")) or list((target / "content").rglob("*.txt"))
    build = run("build", str(target))
    assert build.returncode == 0, build.stderr
    assert "0 skipped (0 errors" in build.stdout
    assert (target / "build" / "index.html").is_file()
    assert len(list((target / "build").glob("20*/*/*/*/index.html"))) >= 40
    assert run("check", str(target)).returncode == 0


def test_init_takes_a_folder_that_holds_only_hidden_entries(tmp_path):
    # `git init site && digest init site` was refused: "exists and is not empty".
    site = tmp_path / "site"
    (site / ".git").mkdir(parents=True)
    (site / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (site / ".gitignore").write_text("build/\n")
    assert main(["init", str(site)]) == 0
    assert (site / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert (site / ".gitignore").read_text() == "build/\n"
    assert main(["build", str(site)]) == 0
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    assert main(["init", str(tmp_path / "other")]) == 1  # (a visible file: not empty)


def test_init_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["init", str(tmp_path)]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_console_script_runs_main_and_keeps_its_exit_code(tmp_path):
    text = (REPO / "pyproject.toml").read_text()
    assert 'digest = "digest.cli:run"' in text
    missing = subprocess.run([sys.executable, "-m", "digest", "build", str(tmp_path / "nope")],
                             capture_output=True, text=True, cwd=REPO)
    assert missing.returncode == 1 and "site folder not found" in missing.stderr
    made = subprocess.run([sys.executable, "-m", "digest", "init", str(tmp_path / "new")],
                          capture_output=True, text=True, cwd=REPO)
    assert made.returncode == 0 and (tmp_path / "new" / "digest.toml").is_file()


def test_missing_site_folder_is_an_error_not_an_empty_site(tmp_path):
    missing = tmp_path / "nowhere"
    for command in ("build", "check"):
        done = run(command, str(missing))
        assert done.returncode == 1
        assert f"site folder not found: {missing}" in done.stderr
    assert not missing.exists()


def test_site_without_content_builds_with_a_warning(make_site):
    site = make_site({"digest.toml": "search = true\n"})
    done = run("build", str(site))
    assert done.returncode == 0
    assert "content: warning: folder not found: the site has no records yet" in done.stderr
    assert (site / "build" / "index.html").is_file()
    assert not (site / "build" / "pagefind").exists()
    assert run("build", str(site), "--strict").returncode == 1


def test_sigterm_unwinds_like_ctrl_c(tmp_path):
    """`timeout` and CI runners send SIGTERM: the command cleans up as for Ctrl-C."""
    import signal
    import time

    ready = tmp_path / "ready"
    script = ("import time, pathlib\n"
              "from digest.cli import interrupt_on_sigterm\n"
              "interrupt_on_sigterm()\n"
              f"pathlib.Path({str(ready)!r}).touch()\n"
              "try:\n    time.sleep(30)\nexcept KeyboardInterrupt:\n    print('unwound')\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert out == "unwound\n" and proc.returncode == 0


def test_forked_children_keep_the_default_sigterm(tmp_path):
    """A pool ends its workers with SIGTERM: they die at once instead of running our handler."""
    script = ("import os, signal, sys\n"
              "from digest.cli import interrupt_on_sigterm\n"
              "interrupt_on_sigterm()\n"
              "pid = os.fork()\n"
              "if pid == 0:\n"
              "    os._exit(0 if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL else 1)\n"
              "_, status = os.waitpid(pid, 0)\n"
              "sys.exit(os.waitstatus_to_exitcode(status))\n")
    assert subprocess.run([sys.executable, "-c", script]).returncode == 0


SLOW_ARTICLE = ('{% extends "base.html" %}{% block main %}<h1>{{ page.title }}</h1>'
                '{% for i in range(500000) %}{% endfor %}{% endblock %}\n')
"""An article template whose pages take a while each (some 60 ms)."""


def test_ctrl_c_stops_a_build_with_status_130_and_one_line(make_site):
    """Ctrl-C reaches the whole process group (the build and its worker processes): the
    command says what it left, exits 130 (128 + SIGINT), and no process prints a traceback."""
    import signal
    import time

    files = {f"content/r{n:03}.md": record(f"Story {n}", when=f"2024-01-{1 + n % 28:02}T10:00:00Z")
             for n in range(200)}
    site = make_site({**files, "templates/article.html": SLOW_ARTICLE, "digest.toml": "search = false\n"})
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "digest", "build", str(site), "-j", "2"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        time.sleep(1.5)  # (its 200 slow pages take some 6 s on two workers)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(20)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines() == [
        "digest: interrupted; the output folder holds the last complete build (the next build finishes the work)"]
    assert not (site / "build").exists()
