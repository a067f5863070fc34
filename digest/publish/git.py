"""Publish adapter for ``git+file://``, ``git+ssh://`` and ``git+https://`` URLs: a branch.

``git+https://host/user/repo.git#gh-pages`` publishes to branch ``gh-pages`` (the
default when no ``#branch`` is given) of ``https://host/user/repo.git``; every scheme
takes the same path, with the URL after ``git+`` handed to the ``git`` command, so
SSH keys, credential helpers and ``~/.gitconfig`` work as they do for git itself.

The branch tip is fetched (depth 1) into a temporary bare repository and compared
by git blob hash, so only new and changed files are hashed into objects. The new
tree is the old one with those files replaced and (with ``--delete``) stale ones
removed; ``.nojekyll`` is added so GitHub Pages serves folders that start with
``_``, and an existing ``CNAME`` is always kept. One commit on top of the tip
(history kept), or a single parentless commit with ``--squash``, is pushed in one
go: readers see the old site or the new one, and an interrupted publish changes
nothing on the remote. Nothing is pushed when the tree did not change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from digest.publish.common import (
    LocalFile,
    Options,
    Progress,
    PublishError,
    PublishPlan,
    decide,
    redact,
    scrub,
    with_retries,
)

DEFAULT_BRANCH = "gh-pages"
KEPT = ("CNAME",)
"""Target files never deleted: a GitHub Pages custom domain lives in ``CNAME``."""
NOJEKYLL = ".nojekyll"
_TRANSIENT = ("could not resolve host", "connection", "timed out", "early eof",
              "rpc failed", "the remote end hung up", "temporary failure")


def blob_sha(data: bytes) -> str:
    """The git object id of a blob holding ``data``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class _GitFailed(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class GitTarget:
    """A branch of a git repository."""

    def __init__(self, url: str):
        rest = url[len("git+"):]
        remote, _, branch = rest.partition("#")
        self.branch = branch or DEFAULT_BRANCH
        if not remote or not urlsplit(remote).scheme:
            raise PublishError("git target needs a URL, e.g. git+ssh://host/repo.git#gh-pages")
        self.remote = remote
        self.label = f"git+{redact(remote)}#{self.branch}"
        parts = urlsplit(remote)
        # A token may stand in either half of https user-info; ssh user names are not secret.
        userinfo = [parts.password]
        if parts.scheme != "ssh":
            userinfo.append(parts.username)
        self._secrets = [s for s in userinfo if s]
        self._tmp = tempfile.TemporaryDirectory(prefix="digest-publish-git-")
        self.repo = Path(self._tmp.name) / "repo.git"
        self.tip: str | None = None
        self.tip_parents = False
        self._remote_tree: dict[str, str] = {}
        self._blobs: dict[str, str] = {}
        self._git("init", "-q", "--bare", str(self.repo), cwd=self._tmp.name)

    # -- running git --------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
        env.pop("GIT_DIR", None)
        env.pop("GIT_INDEX_FILE", None)
        return env

    def _git(self, *args: str, cwd: str | None = None, stdin: bytes | None = None,
             env: dict[str, str] | None = None, network: bool = False) -> bytes:
        command = ["git", *args] if cwd else ["git", "--git-dir", str(self.repo), *args]

        def run() -> bytes:
            try:
                done = subprocess.run(command, input=stdin, capture_output=True, cwd=cwd,
                                      env=env or self._env(), check=False)
            except FileNotFoundError:
                raise PublishError("git targets need the git command on PATH") from None
            if done.returncode != 0:
                text = done.stderr.decode("utf-8", "replace").strip()
                raise _GitFailed(scrub(text, self._secrets))
            return done.stdout

        def transient(exc: BaseException) -> bool:
            return network and isinstance(exc, _GitFailed) and any(
                t in exc.message.lower() for t in _TRANSIENT)

        try:
            return with_retries(run, transient, attempts=4)
        except _GitFailed as exc:
            raise PublishError(f"{self.label}: git {args[0]} failed: {exc.message}") from None

    # -- reading ------------------------------------------------------------------------------

    def _fetch(self) -> None:
        heads = self._git("ls-remote", "--heads", self.remote, f"refs/heads/{self.branch}",
                          network=True).decode()
        if not heads.strip():
            return  # a new branch
        self._git("fetch", "-q", "--depth=1", "--no-tags", self.remote,
                  f"+refs/heads/{self.branch}:refs/digest/tip", network=True)
        self.tip = self._git("rev-parse", "refs/digest/tip").decode().strip()
        commit = self._git("cat-file", "commit", self.tip).decode("utf-8", "replace")
        self.tip_parents = any(line.startswith("parent ") for line in commit.split("\n\n")[0].splitlines())
        listing = self._git("ls-tree", "-r", "-z", "--full-tree", self.tip)
        for entry in listing.split(b"\0"):
            if not entry:
                continue
            meta, _, path = entry.partition(b"\t")
            mode, kind, sha = meta.decode().split()
            if kind == "blob":
                self._remote_tree[path.decode("utf-8", "surrogateescape")] = sha

    def _same(self, local: LocalFile, remote_sha: str | None) -> bool:
        return self._blobs[local.path] == remote_sha

    def plan(self, files: dict[str, LocalFile], options: Options) -> PublishPlan:
        self._fetch()
        files = self._with_extras(files)
        for path, local in files.items():
            self._blobs[path] = blob_sha(local.source.read_bytes()) if local.size else blob_sha(b"")
        plan = decide(self.label, files, dict(self._remote_tree), self._same, options,
                      keep=lambda path: path in KEPT or path == NOJEKYLL)
        if "CNAME" in self._remote_tree and "CNAME" not in files:
            plan.notes.append("kept CNAME (custom domain)")
        if options.squash and self.tip_parents:
            plan.notes.append("history replaced by one commit (--squash)")
        self._squash = options.squash and self.tip_parents
        self._files = files
        return plan

    def _with_extras(self, files: dict[str, LocalFile]) -> dict[str, LocalFile]:
        if NOJEKYLL in files:
            return files
        marker = Path(self._tmp.name) / NOJEKYLL
        marker.write_bytes(b"")
        extra = LocalFile(NOJEKYLL, marker, 0, hashlib.md5(b"", usedforsecurity=False).hexdigest())
        return {**files, NOJEKYLL: extra}

    # -- writing ------------------------------------------------------------------------------

    def apply(self, plan: PublishPlan, files: dict[str, LocalFile],
              progress: Progress | None) -> None:
        if plan.empty and not self._squash:
            return
        files = self._files
        index = Path(self._tmp.name) / "index"
        env = dict(self._env(), GIT_INDEX_FILE=str(index))
        if self.tip:
            self._git("read-tree", self.tip, env=env)
        else:
            self._git("read-tree", "--empty", env=env)
        sources = "\n".join(str(files[u.path].source) for u in plan.uploads)
        if sources:
            shas = self._git("hash-object", "-w", "--stdin-paths", stdin=sources.encode() + b"\n",
                             env=env).decode().split()
        else:
            shas = []
        lines = [f"100644 {sha}\t{u.path}" for u, sha in zip(plan.uploads, shas, strict=True)]
        lines += [f"0 {'0' * 40}\t{path}" for path in plan.deletes]
        if lines:
            self._git("update-index", "-z", "--index-info",
                      stdin="\0".join(lines).encode() + b"\0", env=env)
        if progress:
            progress("publish", len(plan.uploads) // 2, len(plan.uploads))
        tree = self._git("write-tree", env=env).decode().strip()
        message = (f"digest publish: {len(plan.new)} new, {len(plan.changed)} changed, "
                   f"{len(plan.deletes)} deleted")
        parents = ["-p", self.tip] if self.tip and not self._squash else []
        commit = self._git("commit-tree", tree, *parents, "-m", message,
                           env=self._identity(env)).decode().strip()
        force = "+" if self._squash else ""
        self._git("push", "-q", self.remote, f"{force}{commit}:refs/heads/{self.branch}",
                  network=True)
        if progress:
            progress("publish", len(plan.uploads), len(plan.uploads))

    def _identity(self, env: dict[str, str]) -> dict[str, str]:
        """Commit as the user's git identity, or as ``digest`` if none is configured."""
        env = dict(env)
        for what in ("name", "email"):
            try:
                configured = self._git("config", "--get", f"user.{what}").strip()
            except PublishError:
                configured = b""
            if not configured:
                value = "digest" if what == "name" else "digest@localhost"
                env.setdefault(f"GIT_AUTHOR_{what.upper()}", value)
                env.setdefault(f"GIT_COMMITTER_{what.upper()}", value)
        return env

    def close(self) -> None:
        self._tmp.cleanup()
