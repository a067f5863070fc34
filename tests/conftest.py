"""Shared fixtures: tiny sites made from inline files."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


def pytest_configure(config) -> None:
    """Ctrl-C reaches the digest processes the tests start, however the suite was started: a
    suite run in the background of a script (``cmd &``, no job control) inherits SIGINT
    ignored, and so did every process it started (inherited through exec), so the tests of
    Ctrl-C saw builds and servers ignore it. A handler, unlike an ignored signal, is not
    inherited: each process starts with the default again."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


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
