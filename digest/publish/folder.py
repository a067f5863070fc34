"""Publish adapter for ``file:///path``: a folder such as a web server's document root.

Each file is written beside its destination and moved into place with ``os.replace``,
so a reader (or the web server) sees the old bytes or the new ones, never half a
file. Files are compared by size, then MD5; a re-run after an interruption finds the
files already copied and sends only the rest, and removes the copies it left
(``.digest-publish-<pid>-<n>`` files the build does not have; a build file may bear such a
name, and is published like any other).

A target file in the way of the build (where it has a folder, or inside a folder where it has
a file) goes only as a stale file does (``--delete``, ``--max-deletes``); an empty folder where
the build has a file is replaced by it.
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import suppress
from pathlib import Path
from urllib.parse import unquote, urlsplit

from digest.cache import CACHE_DIR
from digest.publish.common import (
    LocalFile,
    Options,
    Progress,
    PublishError,
    PublishPlan,
    decide,
    file_md5,
    in_the_way,
    redact,
    refuse_in_the_way,
    shown,
)

TEMP_PREFIX = ".digest-publish-"
"""Name prefix of a file being copied (``.digest-publish-<pid>-<n>``)."""
_LEFTOVER = re.compile(re.escape(TEMP_PREFIX) + r"[0-9]+-")
"""A target file named so that the build does not have is a copy a killed publish left: removed."""


class FolderTarget:
    """A folder on this machine (or a mounted share)."""

    def __init__(self, url: str):
        try:
            parts = urlsplit(url)
        except ValueError:
            raise PublishError(f"cannot read the target {redact(url)!r} as a URL") from None
        if "@" in parts.netloc or redact(url) != url:
            raise PublishError(f"{redact(url)}: a file:// target holds no user name or password")
        if parts.netloc not in ("", "localhost"):
            host = parts.netloc.rpartition("@")[2]  # (never a password given before the host)
            tilde = " (~ is not expanded: write the full path)" if host.startswith("~") else ""
            raise PublishError(f"file:// targets must be local (file:///path), got host {shown(host)!r}{tilde}")
        if parts.query or parts.fragment or url.endswith(("?", "#")):
            # `file:///srv/my#site` published into /srv/my: a URL ends its path at # and ?.
            raise PublishError(f"{shown(url)}: a # or ? in a folder name is written %23 or %3F "
                               "(a URL's path ends at either)")
        path = unquote(parts.path)
        if not parts.path or "\x00" in path:
            raise PublishError("file:// target needs a path, e.g. file:///var/www/site")
        if not path.startswith("/"):
            # `file:~/www` and `file:www` published into `./~/www` and `./www` of the current
            # folder (whatever the site's), a folder named `~` among them.
            raise PublishError(f"{shown(url)}: a file: target needs an absolute path, e.g. "
                               "file:///var/www/site (~ is not expanded)")
        self.root = Path(path)
        self.label = shown(f"file://{self.root}")
        self._sizes: dict[str, int] = {}
        self._folders: set[str] = set()
        """Folders of the target (not links to folders), relative to its root."""
        self._leftovers: list[Path] = []
        self._blocking: dict[str, str] = {}
        """Target files in the way of a build file (see `in_the_way`) -> that build file."""
        self._folders_in_the_way: list[str] = []
        """Folders of the target where the build has a file, removed (once emptied) before the uploads."""
        self._build_paths: set[str] = set()
        self._temps = 0

    def _remote(self, files: dict[str, LocalFile]) -> dict[str, str | None]:
        """Target files by path; the hash is computed lazily (``None`` here). Copies an
        interrupted publish left (see `_LEFTOVER`) are set aside, to be removed by `apply`."""
        found: dict[str, str | None] = {}
        if not self.root.exists():
            return found
        if not self.root.is_dir():
            raise PublishError(f"{shown(self.root)} exists and is not a folder")
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            for name in dirnames:
                if not os.path.islink(os.path.join(dirpath, name)):
                    self._folders.add(Path(dirpath, name).relative_to(self.root).as_posix())
            for name in filenames:
                full = Path(dirpath, name)
                rel = full.relative_to(self.root).as_posix()
                if _LEFTOVER.match(name) and rel not in files:
                    self._leftovers.append(full)  # removed by apply, never by a dry run
                    continue
                if full.is_file() and not full.is_symlink():
                    found[rel] = None
                    self._sizes[rel] = full.stat().st_size
        return found

    def _same(self, local: LocalFile, _unknown: str | None) -> bool:
        if self._sizes.get(local.path) != local.size:
            return False
        try:
            return file_md5(self.root / local.path) == local.md5
        except OSError:
            return False

    def check(self, site: Path, out: Path) -> None:
        """A target that is, holds or sits inside the build would copy or delete the site's own
        files; one inside the site's sources (``content/``, ``static/``, ``templates/``) would
        be read back by the next build (its pages taken for records, its files copied again),
        and one inside its build cache pruned by it."""
        out = out.resolve()
        root = self.root.resolve()
        if root == out or root in out.parents or out in root.parents:
            raise PublishError(f"refusing to publish {shown(out)} into {shown(root)}: one holds the other")
        site = site.resolve()
        for name in ("content", "static", "templates"):
            sources = (site / name).resolve()  # (content/ may be a link to the records elsewhere)
            if root == sources or sources in root.parents:
                raise PublishError(f"refusing to publish into {shown(root)}: it is inside the site's "
                                   f"{name}/ folder, which the next build would read back")
        cache = (site / CACHE_DIR).resolve()
        if root == cache or cache in root.parents:  # (the next build's thumbnail pruning deleted
            # every page published into `.digest-cache/thumbs`; and the cache is safe to delete)
            raise PublishError(f"refusing to publish into {shown(root)}: it is inside the site's "
                               f"build cache ({CACHE_DIR}/), which digest prunes and which is safe to delete")

    def plan(self, files: dict[str, LocalFile], options: Options) -> PublishPlan:
        self._build_paths = set(files)
        remote = self._remote(files)
        plan = decide(self.label, files, remote, self._same, options)
        self._blocking = in_the_way(files, remote)
        # A file of the target where the build has a folder (or files in a folder where it
        # has a file): the copy failed with "Is a directory" or "File exists" every time.
        refuse_in_the_way(plan, self._blocking, lambda path: shown(self.root / path))
        # A folder where the build has a file, holding no file (or only files `--delete` removes
        # first): replaced; git has no empty folders. It failed every publish with "Is a directory".
        self._folders_in_the_way = sorted(path for path in files if path in self._folders)
        empty = [path for path in self._folders_in_the_way if self._only_folders_in(path)]
        if empty:
            plan.notes.append(f"{len(empty)} empty folder(s) of the target where the build has a file "
                              f"replaced by the file, e.g. {shown(self.root / empty[0])}")
        if self._leftovers:
            plan.notes.append(f"{len(self._leftovers)} temporary file(s) left by an interrupted publish "
                              f"removed (not by a dry run), e.g. {shown(self._leftovers[0])}")
        return plan

    def _only_folders_in(self, path: str) -> bool:
        """True if the target's folder ``path`` holds nothing but folders and leftovers; False
        if it holds files the plan deletes first. Anything else in it (a symbolic link, a named
        pipe) is digest's to neither replace nor delete: refused."""
        folder = self.root / path
        leftovers = set(self._leftovers)
        only = True
        for dirpath, dirnames, filenames in os.walk(folder):
            for name in [*filenames, *(d for d in dirnames if os.path.islink(os.path.join(dirpath, d)))]:
                full = Path(dirpath, name)
                if full in leftovers:
                    continue
                if full.relative_to(self.root).as_posix() not in self._blocking:
                    raise PublishError(f"{shown(folder)} is a folder where the build has a file, and holds "
                                       f"{shown(full)}, which is no file digest publishes; remove it "
                                       "(nothing was published)")
                only = False
        return only

    def apply(self, plan: PublishPlan, files: dict[str, LocalFile],
              progress: Progress | None) -> None:
        for leftover in self._leftovers:
            leftover.unlink(missing_ok=True)
        for path in sorted(self._blocking):  # (stale files in the way go first, not last)
            (self.root / path).unlink(missing_ok=True)
            self._prune_empty((self.root / path).parent)
        for path in self._folders_in_the_way:
            self._remove_empty_folders(self.root / path)
        total = len(plan.uploads) + len(plan.deletes)
        done = 0
        for upload in plan.uploads:
            self._copy(files[upload.path].source, upload.path)
            done += 1
            if progress:
                progress("publish", done, total)
        for path in plan.deletes:
            if path in self._blocking:  # (removed before the uploads: a folder may stand there now)
                done += 1
                continue
            target = self.root / path
            try:
                target.unlink(missing_ok=True)
            except OSError as exc:
                raise PublishError(f"cannot delete {shown(target)}: {exc.strerror or exc}") from exc
            self._prune_empty(target.parent)
            done += 1
            if progress:
                progress("publish", done, total)

    def _remove_empty_folders(self, folder: Path) -> None:
        """Remove ``folder`` and the empty folders in it (never a file: `plan` checked there are none)."""
        if not folder.is_dir() or folder.is_symlink():
            return
        for dirpath, _dirnames, _filenames in os.walk(folder, topdown=False):
            try:
                os.rmdir(dirpath)
            except OSError as exc:
                raise PublishError(f"cannot replace the folder {shown(folder)} with a file: "
                                   f"{shown(dirpath)}: {exc.strerror or exc}") from exc

    def _temp_name(self, path: str) -> str:
        """A name for the copy of ``path`` beside it: short (a long file name plus a prefix was
        too long for the file system), and never a build file's name."""
        folder = path.rpartition("/")[0]
        while True:
            self._temps += 1
            name = f"{TEMP_PREFIX}{os.getpid()}-{self._temps}"
            if (f"{folder}/{name}" if folder else name) not in self._build_paths:
                return name

    def _copy(self, source: Path, path: str) -> None:
        dest = self.root / path
        temp = dest.parent / self._temp_name(path)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            real_root = self.root.resolve()
            folder = dest.parent.resolve()
            if folder != real_root and real_root not in folder.parents:
                # A folder of the target that is a link elsewhere (`static -> /etc`): never
                # write through it.
                raise PublishError(f"cannot write {shown(dest)}: {shown(dest.parent)} leads out of "
                                   f"the target folder (to {shown(folder)})")
            shutil.copyfile(source, temp)
            os.replace(temp, dest)
        except OSError as exc:
            # A partial copy (a full disk) is removed at once: it held space the rerun needs.
            with suppress(OSError):
                temp.unlink(missing_ok=True)
            raise PublishError(f"cannot write {shown(dest)}: {exc.strerror or exc}") from exc

    def _prune_empty(self, folder: Path) -> None:
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def close(self) -> None:
        """Nothing to release."""
