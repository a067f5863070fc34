"""Packaging: the wheel carries the theme and sample content; installed outside the repo, init + build work."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _run(args: list, cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600, **kw)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from the working tree without network (hatchling comes with the test extra)."""
    pytest.importorskip("build")
    pytest.importorskip("hatchling")
    outdir = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", outdir, REPO], cwd=outdir)
    (found,) = outdir.glob("digest-*.whl")
    return found


def test_wheel_contains_theme_and_sample_content(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("digest/__init__.py", "digest/__main__.py", "digest/cli.py",
                     "digest/theme/templates/base.html", "digest/theme/templates/article.html",
                     "digest/theme/static/style.css"):
        assert required in names, required
    samples = [n for n in names if n.startswith("digest/theme/sample-content/") and n.endswith((".md", ".txt"))]
    assert len(samples) >= 41
    assert any(n.startswith("digest/theme/sample-content/images/") for n in names)
    assert not any("__pycache__" in n or n.startswith(("tests/", "build/")) for n in names)
    assert any(n.endswith("entry_points.txt") for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "digest = digest.cli:run" in zipfile.ZipFile(wheel).read(entry).decode()


def test_installed_wheel_inits_and_builds_outside_the_repo(wheel, tmp_path):
    home = tmp_path / "elsewhere"
    home.mkdir()
    env_dir = home / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    _run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--disable-pip-version-check", wheel],
         cwd=home)
    # Third-party dependencies come from the test environment (no network in tests); digest itself
    # comes only from the wheel: a .pth path entry does not activate the repository's editable hook.
    site_packages = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              cwd=home).stdout.strip())
    (site_packages / "zz_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = _run([py, "-c", "import digest, digest.render as r; print(digest.__file__); print(r.theme_dir())"],
                 cwd=home).stdout.split()
    assert all(Path(p).is_relative_to(env_dir) for p in where), where
    digest_cmd = env_dir / "bin" / "digest"
    version = _run([digest_cmd, "--version"], cwd=home).stdout
    assert version.startswith("digest ")
    _run([digest_cmd, "init", "my-news"], cwd=home)
    built = _run([digest_cmd, "build", "my-news"], cwd=home)
    assert "0 skipped (0 errors" in built.stdout
    out = home / "my-news" / "build"
    assert (out / "index.html").is_file() and (out / "static" / "style.css").is_file()
    assert len(list(out.glob("20*/*/*/*/index.html"))) >= 40
    _run([py, "-m", "digest", "check", "my-news"], cwd=home)
