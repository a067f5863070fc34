"""The interface every publish adapter implements, and what all adapters share.

An adapter (one module per kind of target) is opened on a target URL, then::

    plan = adapter.plan(files, options)   # read the target, decide; changes nothing
    adapter.apply(plan, files, progress)  # upload in `plan.uploads` order, then delete

Shared here: the local file scan (`scan_folder`), the plan (`PublishPlan`) and how
it is ordered so a reader never meets a page pointing at a missing file (new files
first, assets before pages, deletes last), the cache header a file is served with
(`cache_control`; its type is `digest.mediatypes.content_type`), retries with backoff, and `redact` so that
credentials in a URL never reach output.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import SplitResult, urlsplit, urlunsplit

from digest.errors import DigestError

Progress = Callable[[str, int, int], None]
"""Callback ``(phase, done, total)``, the same shape the build uses."""

T = TypeVar("T")


class PublishError(DigestError):
    """The publish cannot go on (target unreachable, refused, misconfigured)."""


@dataclass(frozen=True, slots=True)
class LocalFile:
    """One file of the built site."""

    path: str
    """Path relative to the output folder, with ``/`` separators (the object key)."""
    source: Path
    """Where the bytes are on disk."""
    size: int
    """Size in bytes."""
    md5: str
    """MD5 hex digest of the bytes (what S3 ETags and folder targets compare)."""


@dataclass(frozen=True, slots=True)
class Options:
    """What the user asked for; adapters read only what applies to them."""

    delete: bool = False
    """Delete files on the target that the build no longer has."""
    max_deletes: int = 256
    """More stale files than this and no file is deleted (negative: no cap)."""
    force: bool = False
    """Delete even past ``max_deletes``."""
    squash: bool = False
    """git: replace the branch history with one commit."""
    endpoint_url: str | None = None
    """s3: an S3-compatible endpoint instead of AWS."""
    jobs: int = 8
    """Concurrent uploads where the target allows them."""


@dataclass(frozen=True, slots=True)
class Upload:
    """One file to put on the target."""

    path: str
    """Target path relative to the site root."""
    size: int
    """Bytes that will be sent."""
    new: bool
    """True if the target has no file at this path yet (else: changed bytes)."""


@dataclass
class PublishPlan:
    """What a publish will do, decided before anything is changed."""

    target: str
    """The target, credentials removed, for messages."""
    uploads: list[Upload] = field(default_factory=list)
    """New and changed files in the order they are sent (see `order_uploads`)."""
    deletes: list[str] = field(default_factory=list)
    """Stale target files that will be deleted, after every upload."""
    withheld: list[str] = field(default_factory=list)
    """Stale files not deleted: ``--delete`` not given, or more than ``--max-deletes``."""
    capped: bool = False
    """True if deletes were withheld because of ``--max-deletes``."""
    unchanged: int = 0
    """Files already on the target with the same bytes."""
    notes: list[str] = field(default_factory=list)
    """Adapter remarks for the user (e.g. ``kept CNAME``)."""

    @property
    def new(self) -> list[Upload]:
        return [u for u in self.uploads if u.new]

    @property
    def changed(self) -> list[Upload]:
        return [u for u in self.uploads if not u.new]

    @property
    def bytes_to_send(self) -> int:
        return sum(u.size for u in self.uploads)

    @property
    def empty(self) -> bool:
        """Nothing to upload and nothing to delete."""
        return not self.uploads and not self.deletes


class Adapter(Protocol):
    """One kind of target (``file://``, ``git+...://``, ``s3://``)."""

    def plan(self, files: dict[str, LocalFile], options: Options) -> PublishPlan:
        """Compare the target with ``files``; change nothing."""
        ...

    def apply(self, plan: PublishPlan, files: dict[str, LocalFile],
              progress: Progress | None) -> None:
        """Carry out ``plan``: every upload in order, then the deletes."""
        ...

    def check(self, site: Path, out: Path) -> None:
        """Refuse, before anything is read or sent, a target that cannot take ``out`` of ``site``."""
        ...

    def close(self) -> None:
        """Release anything the adapter holds (temporary folders, connections)."""
        ...


# -- the local side ---------------------------------------------------------------------------

def file_md5(path: Path | str) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def shown(text: object) -> str:
    """``text`` for a message or a listing: unprintable characters (a newline or an escape
    sequence in a file name) escaped as ``\\n``, so one file is one line and a listing
    cannot be forged."""
    text = str(text)
    return text if text.isprintable() else "".join(
        c if c.isprintable() else ascii(c)[1:-1] for c in text)


def _hashed(root: str, rel: str) -> LocalFile | None:
    source = os.path.join(root, rel)
    try:
        with open(source, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > 8 << 20:
                handle.close()
                digest = file_md5(source)
            else:
                digest = hashlib.md5(handle.read(), usedforsecurity=False).hexdigest()
    except IsADirectoryError:
        return None
    except OSError as exc:
        raise PublishError(f"cannot read {shown(source)}: {exc.strerror or exc}") from exc
    return LocalFile(rel.replace(os.sep, "/"), Path(source), size, digest)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _walk(base: str) -> list[str]:
    """Paths (relative to ``base``) of the regular files to publish.

    A symbolic link is followed only while it stays inside the output folder: one leading
    out (to a secret, to ``/``) is refused before anything is sent, and so is a folder link
    back to a folder it sits in (it made the walk endless: the publish hung). Named pipes,
    sockets and devices are skipped (opening a pipe waits forever). ``.git`` is skipped.
    """
    real_base = os.path.realpath(base)
    rels: list[str] = []

    def refuse(rel: str, why: str) -> PublishError:
        return PublishError(f"{shown(os.path.join(base, rel))} {why}; nothing was published "
                            "(remove it from the output folder, or rebuild into a clean one)")

    def visit(folder: str, rel_folder: str, ancestors: tuple[str, ...]) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            raise PublishError(f"cannot read {shown(folder)}: {exc.strerror or exc}") from exc
        for entry in entries:
            rel = entry.name if not rel_folder else os.path.join(rel_folder, entry.name)
            try:
                link = entry.is_symlink()
                if link:
                    real = os.path.realpath(entry.path)
                    is_dir = os.path.isdir(real)
                    is_file = not is_dir and os.path.isfile(real)
                else:  # (no system call: a real folder's real path is its parent's plus its name)
                    real = os.path.join(ancestors[-1], entry.name)
                    is_dir = entry.is_dir(follow_symlinks=False)
                    is_file = not is_dir and entry.is_file(follow_symlinks=False)
            except OSError:
                continue
            if link and not _inside(real, real_base):
                raise refuse(rel, f"is a symbolic link to {shown(real)}, outside the output folder")
            if is_dir:
                if entry.name == ".git":
                    continue
                if link and real in ancestors:
                    raise refuse(rel, "is a symbolic link to a folder that holds it (a loop)")
                visit(entry.path, rel, (*ancestors, real))
            elif is_file:
                rels.append(rel)
            elif link and not os.path.exists(real):
                raise refuse(rel, "is a symbolic link to nothing")

    visit(base, "", (real_base,))
    return rels


def scan_folder(root: Path) -> dict[str, LocalFile]:
    """Every regular file under ``root``, by path (see `_walk` for links; ``.git`` skipped).

    Hashing runs on a few threads: ``hashlib`` and file reads release the GIL.
    """
    if not root.is_dir():
        raise PublishError(f"{root} is not a folder; build the site first (or drop --no-build)")
    base = str(root)
    rels = _walk(base)
    with ThreadPoolExecutor(4) as pool:
        found = pool.map(lambda rel: _hashed(base, rel), rels, chunksize=64)
        return {f.path: f for f in found if f is not None}


# -- deciding ---------------------------------------------------------------------------------

PAGE_SUFFIXES = (".html", ".htm", ".xml", ".json", ".txt", ".rss", ".atom", ".opml",
                 ".webmanifest")
"""Files that link to other files; they go after the assets they may reference."""


def is_page(path: str) -> bool:
    return path.lower().endswith(PAGE_SUFFIXES)


def order_uploads(uploads: Iterable[Upload]) -> list[Upload]:
    """The safe order: new files (nothing live links to them yet) before changed ones;
    within each, assets before pages; pages deeper in the tree before the listings
    above them; the front page last. Deletes come after all of these."""
    def key(u: Upload) -> tuple:
        depth = u.path.count("/")
        return (not u.new, is_page(u.path), -depth, u.path == "index.html", u.path)
    return sorted(uploads, key=key)


def in_the_way(files: dict[str, LocalFile], remote: dict[str, str | None]) -> dict[str, str]:
    """Target files in the way of build files: a file where the build needs a folder
    (``static/x`` for ``static/x/y.css``), or a file inside a folder where the build has a
    file (``static/z/w`` for ``static/z``); each -> the build file it blocks."""
    inside: dict[str, list[str]] = {}
    for path in remote:
        parts = path.split("/")
        for end in range(1, len(parts)):
            inside.setdefault("/".join(parts[:end]), []).append(path)
    found: dict[str, str] = {}
    for path in files:
        parts = path.split("/")
        for end in range(1, len(parts)):
            folder = "/".join(parts[:end])
            if folder in remote:
                found[folder] = path
        for other in inside.get(path, ()):
            found[other] = path
    return found


def refuse_in_the_way(plan: PublishPlan, blocking: dict[str, str], where: Callable[[str], str]) -> None:
    """Stop, before anything is sent, a publish whose build files need target files out of the
    way (``blocking``, see `in_the_way`) that ``plan`` does not delete: without ``--delete``, or
    past ``--max-deletes``. ``where(path)`` names a target path in the message."""
    left = sorted(set(blocking) - set(plan.deletes))
    if not left:
        return
    stale, wanted = left[0], blocking[left[0]]
    what = (f"{where(stale)} is a file where the build has a folder"
            if wanted.startswith(stale + "/") else
            f"{where(wanted)} is a folder where the build has a file")
    how = (f"--max-deletes {len(plan.withheld)} or --force" if plan.capped else "--delete")
    raise PublishError(f"{what} ({len(left)} target file(s) in the way); publish with {how} "
                       "to replace them (nothing was published)")


def decide(target: str, files: dict[str, LocalFile], remote: dict[str, str | None],
           same: Callable[[LocalFile, str | None], bool], options: Options,
           keep: Callable[[str], bool] = lambda path: False) -> PublishPlan:
    """The plan from the local files and the target's ``path -> hash`` (``None``: unknown).

    ``same(local, remote_hash)`` says whether the target already holds the bytes;
    ``keep(path)`` protects target files from deletion (e.g. a GitHub Pages ``CNAME``).
    """
    plan = PublishPlan(target)
    uploads = []
    for path, local in files.items():
        if path not in remote:
            uploads.append(Upload(path, local.size, True))
        elif same(local, remote[path]):
            plan.unchanged += 1
        else:
            uploads.append(Upload(path, local.size, False))
    plan.uploads = order_uploads(uploads)
    stale = sorted(p for p in remote if p not in files and not keep(p))
    if not options.delete:
        plan.withheld = stale
    elif 0 <= options.max_deletes < len(stale) and not options.force:
        plan.withheld = stale
        plan.capped = True
    else:
        plan.deletes = stale
    return plan


# -- how files are served ---------------------------------------------------------------------

IMMUTABLE = "public, max-age=31536000, immutable"
"""Files digest names by a hash of their content: the name changes when the bytes do."""
SHORT = "public, max-age=300, must-revalidate"
"""Pages and feeds: readers see a publish within minutes."""
MEDIUM = "public, max-age=3600"
"""Assets whose name does not change with their bytes (e.g. ``static/style.css``)."""


def is_fingerprinted(path: str) -> bool:
    """True if digest named the file by a hash of its content: a thumbnail
    (``thumbs/3f/3fa2...-640.webp``, see `digest.images.is_thumbnail`) or a hashed file of the
    search index (``pagefind/index/en_af99a8b.pf_index``, see `digest.search.is_hashed_index_file`).

    Only those: a name that merely holds hex digits (``report-20240101.pdf``,
    ``2024010112/photo.jpg``, ``static/logo.deadbeef1.png``) is one someone may reuse for new
    bytes, and a year's ``immutable`` kept the old ones in every browser and CDN."""
    from digest.images import is_thumbnail
    from digest.search import is_hashed_index_file

    return is_thumbnail(path) or is_hashed_index_file(path)


def cache_control(path: str) -> str:
    """The ``Cache-Control`` header for ``path``: long and immutable only for names digest
    makes from a content hash (`is_fingerprinted`)."""
    if is_page(path):
        return SHORT
    return IMMUTABLE if is_fingerprinted(path) else MEDIUM


# -- safety -----------------------------------------------------------------------------------

def redact(url: str) -> str:
    """``url`` without a password or token in its user-info part (``https://***@host/...``).

    Where the user-info ends is unclear when the password holds a ``#``, ``?`` or ``/`` not
    written ``%23``, ``%3F``, ``%2F`` (see `userinfo_unclear`): everything from ``//`` to the
    last ``@`` is hidden then (the part after the first of those characters was printed,
    ``https://***@ss/wd@host/`` for the password ``p@ss/wd``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if userinfo_unclear(url):
        start, at = url.find("//"), url.rfind("@")
        return url[:start + 2] + "***" + url[at:]
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


def userinfo_unclear(url: str) -> bool:
    """True if a password in ``url`` may go on past what a URL parser reads as the host: an
    ``@`` after the host when the user-info holds a password (``https://u:p@ss/wd@host/``: the
    host read is ``ss``), or after a host whose port is no number (``https://u:pa#ss@host/``:
    the host read is ``u:pa``), or is followed by a ``#`` or ``?`` (``https://u:1234#pw@host/``). A password holding ``@`` alone (``https://u:p@ss@host/``) is
    clear: the user-info ends at the host's last ``@``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    start = url.find("//")
    if start < 0 or start + 2 + len(parts.netloc) > len(url):
        return False
    after = url[start + 2 + len(parts.netloc):]
    if "@" not in after:
        return False
    if "@" in parts.netloc:
        return ":" in parts.netloc.rsplit("@", 1)[0]
    # (`https://u:1234#pw@host/`: a password of digits up to its `#` or `?` read as a port)
    return not _port_is_a_number(parts) or (":" in parts.netloc and after[0] in "#?")


def _port_is_a_number(parts: SplitResult) -> bool:
    try:
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        return False
    return True


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every non-empty secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def with_retries(action: Callable[[], T], transient: Callable[[BaseException], bool],
                 attempts: int = 5, delay: float = 0.5) -> T:
    """Run ``action``; on an error ``transient`` accepts, wait (0.5 s, 1 s, 2 s, ...) and retry."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Exception as exc:
            if attempt == attempts or not transient(exc):
                raise
            time.sleep(delay * 2 ** (attempt - 1))
    raise AssertionError("unreachable")
