"""Site search with Pagefind: the search page's plan and the post-write indexing step.

Pagefind comes from PyPI (``pip install 'digest[search]'``: the ``pagefind[bin]``
package ships the binary), so nothing is downloaded at run time. The index is
written beside the output folder first and then swapped in as ``OUT/pagefind/``,
so a failed indexing run never leaves a half-written index. Without Pagefind the
step is skipped with a message; the rest of the site is unaffected.

What is indexed: article pages only (only they are read, see `ARTICLE_GLOB`, and
drafts lack ``data-pagefind-body``), with filters ``topic``, ``source`` and ``month`` and the sort key ``date``.
Everything is indexed as the site's language so one search covers every article.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from digest.background import program_dies_with_parent
from digest.config import Config
from digest.labels import SEARCH_MESSAGES, Labels
from digest.model import PageSpec
from digest.write import remove_tree

BUNDLE = "pagefind"
"""Folder of the index inside the output folder (``pagefind.js`` lives there)."""
_HASHED_INDEX = re.compile(
    rf"{BUNDLE}/(?:(?:filter|fragment|index)/[^/]+_[0-9a-f]{{7,}}\.pf_(?:filter|fragment|index)"
    rf"|pagefind\.[^/]+_[0-9a-f]{{7,}}\.pf_meta)")
"""Files of the index that Pagefind names by a hash of their bytes (``pagefind/index/en_af99a8b.pf_index``,
``pagefind/pagefind.en_3c1e2d4.pf_meta``); its scripts, styles and ``pagefind-entry.json`` keep their names."""


def is_hashed_index_file(path: str) -> bool:
    """True if ``path`` (relative to the output folder) is a file of the search index named by
    its content hash: the bytes at that path never change."""
    return _HASHED_INDEX.fullmatch(path) is not None


ARTICLE_GLOB = "[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]/*/index.html"
"""Only article pages (``YYYY/MM/DD/slug/``) are read: listings would be parsed for nothing."""
TIMEOUT = 1800
"""Seconds one indexing run may take before it is abandoned."""


class _PageMaker(Protocol):
    def page(self, path: str, template: str, kind: str, title: str, description: str,
             **extra: Any) -> PageSpec: ...

    def url(self, path: str) -> str: ...

    def crumbs(self, *trail: tuple[str, str]) -> list[dict]: ...

    words: Labels


def search_page(planner: _PageMaker) -> PageSpec:
    """The ``search/`` page: a form, filters and results filled in by ``static/search.js``."""
    words = planner.words
    return planner.page(
        "search/index.html", "search.html", "search", words["search_title"],
        words["search_description"],
        heading=words["search_title"],
        search={"bundle": planner.url(f"{BUNDLE}/"), "script": planner.url("static/search.js"),
                "messages": {name: words[key] for name, key in SEARCH_MESSAGES.items()}},
        breadcrumbs=planner.crumbs((words["nav_search"], "search/")),
    )


@dataclass(frozen=True, slots=True)
class SearchIndex:
    """What the indexing step did."""

    status: str
    """``indexed``, ``unchanged``, ``skipped`` (no Pagefind), ``cancelled`` or ``failed``."""
    message: str
    """One line for the build summary."""
    seconds: float = 0.0
    """Time the Pagefind run took."""


def pagefind_executable() -> str | None:
    """Path of the Pagefind binary: the ``pagefind_bin`` package's, else one on PATH."""
    try:
        from pagefind_bin import get_executable
    except ImportError:
        get_executable = None
    if get_executable is not None:
        try:
            return str(get_executable())
        except (FileNotFoundError, OSError):
            pass  # the package is there but its binary is not: try PATH below
    return shutil.which("pagefind")


def index_site(out: Path, config: Config, changed: bool, executable: str | None = None,
               cancel: Callable[[], bool] | None = None) -> SearchIndex:
    """Index the built site in ``out`` unless nothing changed and the index is in place.

    ``cancel``, polled while Pagefind runs, stops it when it returns true (a server
    does so when a newer edit waits for a build): the previous index stays in place
    and the result's status is ``cancelled``.
    """
    bundle = out / BUNDLE
    if not changed and (bundle / "pagefind.js").is_file():
        return SearchIndex("unchanged", "search index unchanged")
    executable = executable or pagefind_executable()
    if executable is None:
        remove_tree(bundle)  # (a former build's index: no page uses it now)
        return SearchIndex("skipped", "search index skipped: Pagefind is not installed "
                                      "(pip install 'digest[search]')")
    staging = out.parent / f".{out.name}.pagefind-staging"
    remove_tree(staging)
    language = config.language.split("-")[0].lower()
    command = [executable, "--site", str(out), "--output-path", str(staging),
               "--glob", ARTICLE_GLOB, "--force-language", language, "--silent"]
    start = time.perf_counter()
    try:
        returncode, output = _run(command, cancel)
    except (OSError, subprocess.TimeoutExpired) as exc:
        remove_tree(staging)
        return SearchIndex("failed", f"search index failed: {exc}")
    seconds = time.perf_counter() - start
    if returncode is None:
        remove_tree(staging)
        return SearchIndex("cancelled", "search index update cancelled for a newer build", seconds)
    if returncode != 0 or not (staging / "pagefind.js").is_file():
        remove_tree(staging)
        detail = output.strip().splitlines()
        return SearchIndex("failed", "search index failed: Pagefind exited with "
                                     f"{returncode}: {detail[-1] if detail else 'no output'}", seconds)
    _swap(staging, bundle)
    return SearchIndex("indexed", f"search index built in {seconds:.2f}s", seconds)


def _run(command: list[str], cancel: Callable[[], bool] | None) -> tuple[int | None, str]:
    """Run ``command``: (exit code, or None when ``cancel`` stopped it; its output)."""
    stop = cancel or (lambda: False)
    if stop():  # a newer build already waits: do not start
        return None, ""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   preexec_fn=program_dies_with_parent())  # (a kill -9 of the build: it too)
        deadline = time.monotonic() + TIMEOUT
        try:
            while True:
                try:
                    process.wait(timeout=0.05)
                    break
                except subprocess.TimeoutExpired:
                    if time.monotonic() > deadline:
                        raise subprocess.TimeoutExpired(command, TIMEOUT) from None
                    if stop():
                        return None, ""
        finally:  # cancelled, too late, Ctrl-C or SIGTERM (see `digest.cli`): no Pagefind left running
            if process.poll() is None:
                process.kill()
                process.wait()
        log.seek(0)
        return process.returncode, log.read().decode("utf-8", "replace")


def _swap(new: Path, target: Path) -> None:
    """Put the folder ``new`` at ``target``, replacing what was there with two renames (a link
    there is replaced itself, never followed: see `digest.write.remove_tree`)."""
    old = target.parent / f".{target.name}.old"
    remove_tree(old)
    if os.path.lexists(target):
        os.replace(target, old)
    os.replace(new, target)
    remove_tree(old)
