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
nothing on the remote. Nothing is pushed when the tree did not change; a push finding
the branch moved by someone else since it was read (``--squash`` included) is refused.
A branch file in the way of the build (a file where it has a folder, or the reverse) is
deleted only as a stale file is: with ``--delete``, within ``--max-deletes``.

A user name and password (or token) in an http(s) URL, ``git+https://user:TOKEN@host/r.git``,
never reach a command line, where every user of the machine sees them (``ps``): git gets the URL
without them, and asks for them through its credential protocol (see `GitTarget.credentials`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from digest.publish.common import (
    LocalFile,
    Options,
    Progress,
    PublishError,
    PublishPlan,
    decide,
    in_the_way,
    redact,
    refuse_in_the_way,
    scrub,
    shown,
    userinfo_unclear,
    with_retries,
)

DEFAULT_BRANCH = "gh-pages"
KEPT = ("CNAME",)
"""Target files never deleted: a GitHub Pages custom domain lives in ``CNAME``."""
NOJEKYLL = ".nojekyll"
_CREDENTIAL_SCHEMES = ("http", "https", "ftp", "ftps")
"""Transports through which git sends a URL's user name and password (curl's); an ssh URL's user
name is the account to log in as, not a secret, and goes to git as written."""
_CREDENTIAL_HELPER = (
    "!f() { test \"$1\" = get || exit 0; cat >/dev/null; "
    "printf 'username=%s\\npassword=%s\\n' \"$DIGEST_GIT_USERNAME\" \"$DIGEST_GIT_PASSWORD\"; }; f")
"""A git credential helper (a shell snippet, run by git's own shell) that answers ``get`` with the
user name and password from the environment of the git process, and ignores ``store`` and
``erase``: its text holds the names of the variables only."""
_ESCAPE_HINT = "a #, ? or / in a user name or password is written %23, %3F or %2F"
_TRANSIENT = ("could not resolve host", "connection", "timed out", "early eof",
              "rpc failed", "the remote end hung up", "temporary failure")


def _raw(path: str) -> bytes:
    """A path as the bytes the file system has for it (``os.walk`` decoded them so)."""
    return os.fsencode(path)


def blob_sha(data: bytes) -> str:
    """The git object id of a blob holding ``data``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _check_branch(branch: str) -> None:
    """Refuse a ``#branch`` git would refuse (``a..b``, ``x.lock``, a space) or misread
    (``-x`` as an option, ``refs/heads/x`` as ``refs/heads/refs/heads/x``, ``HEAD``) before
    the site is built and sent."""
    bad = branch.startswith(("-", "refs/")) or branch in ("HEAD", "@") or not branch.isprintable()
    if not bad:
        try:
            done = subprocess.run(["git", "check-ref-format", f"refs/heads/{branch}"],
                                  capture_output=True, check=False)
        except FileNotFoundError:
            raise PublishError("git targets need the git command on PATH") from None
        bad = done.returncode != 0
    if bad:
        raise PublishError(f"{shown(branch)!r} is not a branch name git accepts (see git "
                           "check-ref-format): write the name alone after #, e.g. #gh-pages")


def _without_userinfo(remote: str, netloc: str) -> tuple[str, str, str | None]:
    """``remote`` without its user-info (``https://host/r.git``), and the user name and password
    (None when the URL gives none) it held, percent-decoded as git decodes them."""
    userinfo, _, host = netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    found = (unquote(user), unquote(password) if colon else None)
    if any(c in value for value in found if value for c in "\n\r\0"):
        # (git refuses them too: a line break would end the credential protocol's line)
        raise PublishError("the user name or password of the git target holds a line break or a "
                           "NUL character (%0A, %0D, %00); git cannot send it")
    start = remote.index("//") + 2  # (urlsplit's netloc is what follows the first //)
    return remote[:start] + host + remote[start + len(netloc):], *found


class _GitFailed(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class GitTarget:
    """A branch of a git repository."""

    def __init__(self, url: str):
        rest = url[len("git+"):]
        if userinfo_unclear(rest):
            # (`https://u:p@ss/wd@host/r.git` went to host `ss`, and printed `ss/wd`; with `p@ss#wd`
            # the password's end was taken for a branch name and printed in its refusal)
            raise PublishError(f"cannot read the git target {redact(url)!r} as a URL: {_ESCAPE_HINT}")
        remote, _, branch = rest.partition("#")
        self.branch = branch or DEFAULT_BRANCH
        try:
            parts = urlsplit(remote)
        except ValueError:  # (an unclosed IPv6 bracket: a traceback, the URL in its locals)
            raise PublishError(f"cannot read the git target {redact(url)!r} as a URL") from None
        try:
            parts.port  # noqa: B018 - raises on a port that is no number
        except ValueError:
            # (`https://user:pa#ss@host/r.git` gave git `https://user:pa`, password on its command line)
            hint = f": {_ESCAPE_HINT}" if "@" in url and "@" not in parts.netloc else ""
            raise PublishError(f"cannot read the git target {redact(url)!r} as a URL{hint}") from None
        if not remote or not parts.scheme:
            raise PublishError("git target needs a URL, e.g. git+ssh://host/repo.git#gh-pages")
        self.remote = remote
        # A query (`?access_token=...`, as some hosts and proxies take one) is shown as `?***`:
        # git repeats the URL in its messages, and a token there was printed as typed.
        shown_remote = redact(remote) if not parts.query else redact(remote).replace(parts.query, "***", 1)
        self.label = f"git+{shown_remote}#{shown(self.branch)}"
        _check_branch(self.branch)
        # A token may stand alone in the user half of https user-info (`https://TOKEN@host`);
        # beside a password it is a name (`git`, `x-access-token`: blanking those blanked every
        # `git` of every message), and ssh user names are not secret.
        userinfo = [parts.password, parts.query]
        if parts.scheme != "ssh" and parts.password is None:
            userinfo.append(parts.username)
        # Scrubbed as typed and percent-decoded (`p%40ss` and `p@ss`): either may show in messages.
        self._secrets = sorted({v for s in userinfo if s for v in (s, unquote(s))}, key=len, reverse=True)
        self._user: str | None = None
        self._password: str | None = None
        if parts.scheme.lower() in _CREDENTIAL_SCHEMES and "@" in parts.netloc:
            self.remote, self._user, self._password = _without_userinfo(remote, parts.netloc)
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

    def credentials(self) -> tuple[list[str], dict[str, str]]:
        """The git options and environment variables that give git the target URL's user name
        and password, or ``([], {})`` when it has none: never a command line, which every user
        of the machine sees (``ps``), while an environment is seen by its owner only.

        With a password, the options reset git's list of credential helpers (those of the
        user's config would be asked first, and ``store`` would write the token into
        ``~/.git-credentials`` after the push) to one that answers with the user name and
        password from the environment; git runs it whenever the server asks to authenticate
        (ls-remote, fetch, push). (A ``GIT_ASKPASS`` script would need a file on disk and still
        lose to a configured helper.)

        A user name alone (``https://alice@bitbucket.org/...``) is git's ``credential.username``,
        set through the environment (``GIT_CONFIG_COUNT``, git 2.31 and later), so that the
        user's credential helpers (a keychain) still give its password, as they did when it
        stood in the URL; git before 2.31 does not see it."""
        if self._password is not None:
            return (["-c", "credential.helper=", "-c", f"credential.helper={_CREDENTIAL_HELPER}"],
                    {"DIGEST_GIT_USERNAME": self._user or "", "DIGEST_GIT_PASSWORD": self._password})
        if not self._user:
            return [], {}
        count = os.environ.get("GIT_CONFIG_COUNT", "0")
        count = int(count) if count.isascii() and count.isdigit() and len(count) < 6 else 0
        return [], {"GIT_CONFIG_COUNT": str(count + 1), f"GIT_CONFIG_KEY_{count}": "credential.username",
                    f"GIT_CONFIG_VALUE_{count}": self._user}

    def _git(self, *args: str, cwd: str | None = None, stdin: bytes | None = None,
             env: dict[str, str] | None = None, network: bool = False) -> bytes:
        command = ["git", *args] if cwd else ["git", "--git-dir", str(self.repo), *args]
        if network:
            options, secrets = self.credentials()
            command[1:1] = options
            env = dict(env or self._env(), **secrets) if secrets else env

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

    def check(self, site: Path, out: Path) -> None:
        """Nothing to check before the files are known."""

    def _same(self, local: LocalFile, remote_sha: str | None) -> bool:
        return self._blobs[local.path] == remote_sha

    def plan(self, files: dict[str, LocalFile], options: Options) -> PublishPlan:
        self._fetch()
        files = self._with_extras(files)
        for path, local in files.items():
            self._blobs[path] = blob_sha(local.source.read_bytes()) if local.size else blob_sha(b"")
        plan = decide(self.label, files, dict(self._remote_tree), self._same, options,
                      keep=lambda path: path in KEPT or path == NOJEKYLL)
        # A branch file where the build has a folder (or files in a folder where it has a file):
        # the index replaced them silently, deletes without --delete and past --max-deletes.
        refuse_in_the_way(plan, in_the_way(files, self._remote_tree),
                          lambda path: f"{shown(path)} of branch {shown(self.branch)}")
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
        shas = self._hash_objects([files[u.path].source for u in plan.uploads], env)
        # Paths go to git as the bytes they are on disk (a name that is not UTF-8 too), NUL-ended
        # (a newline in a name is a character like any other).
        lines = [b"100644 %s\t%s" % (sha.encode(), _raw(u.path)) for u, sha in zip(plan.uploads, shas, strict=True)]
        lines += [b"0 %s\t%s" % (b"0" * 40, _raw(path)) for path in plan.deletes]
        if lines:
            self._git("update-index", "-z", "--index-info", stdin=b"\0".join(lines) + b"\0", env=env)
        if progress:
            progress("publish", len(plan.uploads) // 2, len(plan.uploads))
        tree = self._git("write-tree", env=env).decode().strip()
        message = (f"digest publish: {len(plan.new)} new, {len(plan.changed)} changed, "
                   f"{len(plan.deletes)} deleted")
        parents = ["-p", self.tip] if self.tip and not self._squash else []
        commit = self._git("commit-tree", tree, *parents, "-m", message,
                           env=self._identity(env)).decode().strip()
        ref = f"refs/heads/{self.branch}"
        # --squash replaces the tip it read, and only that one: a commit another publisher
        # pushed meanwhile was overwritten by a forced push (`+`).
        lease = [f"--force-with-lease={ref}:{self.tip}"] if self._squash else []
        try:
            self._git("push", "-q", *lease, self.remote, f"{commit}:{ref}", network=True)
        except PublishError as exc:
            if "[rejected]" not in str(exc) and "(stale info)" not in str(exc):
                raise
            # (git's own words are eight lines ending in hints to run `git pull`)
            raise PublishError(f"{self.label}: branch {shown(self.branch)} changed on the remote while "
                               "this publish ran (another push); nothing was changed there: run the "
                               "same command again") from None
        if progress:
            progress("publish", len(plan.uploads), len(plan.uploads))

    def _hash_objects(self, sources: list[Path], env: dict[str, str]) -> list[str]:
        """Write each file as a blob; their ids in order. ``--stdin-paths`` reads one path a
        line, so a file whose path holds a newline is sent alone, as its bytes."""
        listed = [source for source in sources if b"\n" not in _raw(str(source))]
        shas = iter(self._git("hash-object", "-w", "--stdin-paths",
                              stdin=b"".join(_raw(str(source)) + b"\n" for source in listed),
                              env=env).decode().split() if listed else [])
        return [next(shas) if b"\n" not in _raw(str(source)) else
                self._git("hash-object", "-w", "--stdin", stdin=source.read_bytes(), env=env).decode().strip()
                for source in sources]

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
