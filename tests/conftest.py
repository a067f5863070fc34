"""Shared fixtures: tiny sites made from inline files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


def record(title="A story", when="2024-01-02T10:00:00Z", **fields) -> str:
    """Front matter text of a valid record; ``fields`` add or override keys (YAML values)."""
    lines = ["---", f'title: "{title}"', f"publishedDateTime: {when}"]
    fields.setdefault("webUrl", f'"https://news.example.com/{abs(hash(title)) % 10**8}"')
    for key, value in fields.items():
        if value is None:
            continue
        lines.append(f"{key}: {value}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def write_site(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(body, bytes):
            path.write_bytes(body)
        else:
            path.write_text(textwrap.dedent(body) if body.startswith("\n") else body, encoding="utf-8")
    return root


@pytest.fixture
def make_site(tmp_path):
    """``make_site({"content/a.md": "...", "digest.toml": "..."})`` -> the site folder."""
    counter = {"n": 0}

    def make(files: dict[str, str | bytes]) -> Path:
        counter["n"] += 1
        return write_site(tmp_path / f"site{counter['n']}", files)

    return make


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the repository")
    return SHARED
