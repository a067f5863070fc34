"""Hostile input against DESIGN.md's contracts, fourth round (special files and odd
file-system states under content/, in cold and incremental builds; dates and times; mutations
of real records; messages naming file:line:field; see tests/test_contract_audit.py ..
tests/test_contract_audit3.py for the earlier rounds): each test is a broken promise found,
fixed, and kept fixed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from digest.cli import main
from tests.conftest import record


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _same_as_a_clean_build(site: Path, out: Path, tmp_path: Path) -> None:
    """The incremental output ``out`` is byte for byte what a build without a cache makes."""
    clean_site = tmp_path / "clean-site"
    shutil.copytree(site, clean_site, symlinks=True, ignore=shutil.ignore_patterns(".digest-cache", "build"))
    assert main(["build", str(clean_site), "-o", str(tmp_path / "clean-out")]) == 0
    assert _files(out) == _files(tmp_path / "clean-out")


SITE = {"digest.toml": "search = false\n",
        "content/a.md": record("Alpha", topics="[t]"),
        "content/b.md": record("Beta", "2024-01-03T10:00:00Z", topics="[t]")}


# --------------------------------------------------------------------------- file system


def test_a_folder_whose_name_is_not_utf8_builds_cold_and_again(make_site, tmp_path, capsys):
    # The walk that tells a rebuild nothing changed hashed the folder's name as UTF-8: a
    # folder named in Latin-1 (`caf\xe9/`, copied off an old disk) stopped every build with a
    # UnicodeEncodeError traceback, its good records and all the others with it.
    site = make_site(SITE)
    folder = os.path.join(os.fsencode(site / "content"), b"caf\xe9")
    os.mkdir(folder)
    with open(os.path.join(folder, b"c.md"), "w", encoding="utf-8") as handle:
        handle.write(record("Gamma", topics="[t]"))
    out = site / "build"
    assert main(["build", str(site)]) == 0
    assert len(list(out.glob("2024/*/*/*/index.html"))) == 3
    (site / "content" / "b.md").write_text(record("Beta 2", "2024-01-03T10:00:00Z", topics="[t]"))
    assert main(["build", str(site)]) == 0
    assert "Traceback" not in capsys.readouterr().err
    _same_as_a_clean_build(site, out, tmp_path)
