"""Atomic, skip-identical writes into the output folder, and pruning of stale outputs.

A build stages every changed file in a sibling folder first; only when the whole
build succeeded does `commit` move them into place (``os.replace``, one rename per
file; a cold build renames the whole folder). Identical bytes are never rewritten,
so unchanged files keep their mtimes. Files this build did not make are removed
only if a previous build made them (the manifest says so); anything else in the
output folder is left alone.

Nothing is ever written, replaced or removed through a symbolic link: a folder of the
output that is a link leading out of it stops the build (naming the link) before anything
moves, a stale file behind one is left alone, a file that is a link is replaced by the new
file (the link itself, never what it names), and a link in place of the staging folder (or
of Pagefind's, see `digest.search`) is removed, not written through (`remove_tree`). An
output folder that is itself a link is the user's choice: the build writes, and prunes, in
the folder it leads to (`digest.build.resolve_out` resolves it), staging beside that folder.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import signal
import stat
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no lock (see `exclusive`)
    fcntl = None

from digest.errors import BuildError

LOCKING = fcntl is not None
"""Whether this system has the locks of `exclusive` and `hold`."""


class OutputRecord(tuple):
    """What the manifest remembers of one output file: ``(digest, size, mtime_ns)``.

    A tuple, pickled as one (`tuple.__new__` and its three values, no Python code run to
    read it back): a build reads one per output, 220,000 at 100,000 records, and a slotted
    dataclass rebuilt field by field from a dict made the manifest three times as dear to
    read as its page keys. (`digest.cache` still reads manifests that older programs wrote
    with the dataclass, see ``_LEGACY_STAMP`` there.)
    """

    __slots__ = ()

    digest = property(itemgetter(0), doc="BLAKE2b-128 hex digest of the bytes.")
    size = property(itemgetter(1), doc="Size in bytes when written.")
    mtime_ns = property(itemgetter(2), doc="Modification time when written (a changed mtime means: "
                                         "compare bytes again).")

    def __new__(cls, digest: str, size: int, mtime_ns: int) -> OutputRecord:
        return tuple.__new__(cls, (digest, size, mtime_ns))

    def __reduce__(self) -> tuple[Callable[..., OutputRecord], tuple]:
        return tuple.__new__, (OutputRecord, tuple(self))

    def __repr__(self) -> str:
        return f"OutputRecord(digest={self[0]!r}, size={self[1]!r}, mtime_ns={self[2]!r})"


MANIFEST_LAYOUT = "tuple:digest,size,mtime_ns"
"""How an `OutputRecord` is pickled, for the manifest's stamp (see ``digest.cache._LASTING``):
a change to it must never be misread."""


def digest_bytes(data: bytes) -> str:
    """The content digest used for outputs."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def staging_dir(out: Path) -> Path:
    """The sibling folder a build of ``out`` stages changed files in."""
    return out.parent / f".{out.name}.digest-staging"


def remove_tree(path: Path | str) -> None:
    """Remove whatever is at ``path``, never what a link in its place leads to: a link (or any
    other file) is unlinked, a folder removed with all it holds (``shutil.rmtree`` does not
    follow the links in it). ``shutil.rmtree(path, ignore_errors=True)`` on a link did nothing:
    a link in place of the staging folder stayed, every staged file was written through it into
    the folder it named, and a cold build renamed the link itself into place as the output."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


@dataclass(frozen=True, slots=True)
class Staging:
    """Where a build stages its changed files before `commit` moves them into ``out``.

    A cold build (no output folder yet) stages a tree shaped like the site, renamed into
    place as a whole. Any other build stages flat: one file per output, named by a hash
    of its path, with no folders. A folder made and removed per page (an article's page
    is ``YYYY/MM/DD/slug/index.html``) doubled the inodes a build made and freed; on
    ext4 a new inode skips every recently freed one, so a template edit that rewrote
    9,000 pages spent more time in the file system than in rendering.
    """

    root: Path
    """The staging folder (see `staging_dir`)."""
    flat: bool
    """Files are named by path hash (True) or laid out as in the output (False)."""

    @classmethod
    def for_output(cls, out: Path) -> Staging:
        """Flat unless ``out`` does not exist yet."""
        return cls(staging_dir(out), out.is_dir())

    def clear(self) -> None:
        """Remove the staging folder and whatever stands in its place (see `remove_tree`)."""
        remove_tree(self.root)

    def place(self, path: str) -> str:
        """Where the output ``path`` is staged."""
        if self.flat:
            name = hashlib.blake2b(path.encode("utf-8", "surrogateescape"), digest_size=15).hexdigest()
            return os.path.join(self.root, name)
        return os.path.join(self.root, path)


_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
"""``open(path, "wb")``'s flags (`stage` writes with one ``os.write``, no buffer object)."""


def stage(out: Path, staging: Staging, path: str, data: bytes,
          previous: OutputRecord | None, made: set[str] | None = None) -> tuple[str, bool]:
    """Stage ``data`` for ``out/path`` unless the file already holds it; (digest, changed).

    ``made``, when given, holds folders known to exist in a tree ``staging`` (this call
    adds the ones it makes or finds): a caller staging many files passes one set for all
    of them, kept only while ``staging`` stands, so each folder is made with one system call.
    """
    digest = digest_bytes(data)
    target = os.path.join(out, path)  # strings: Path objects cost more than the system calls
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        st = None
    if st is not None and st.st_size == len(data):
        if previous is not None and previous.digest == digest and previous.size == st.st_size \
                and previous.mtime_ns == st.st_mtime_ns:
            return digest, False
        try:
            with open(target, "rb") as handle:
                if handle.read() == data:
                    return digest, False
        except OSError:
            pass
    dest = staging.place(path)
    folder = os.path.dirname(dest)
    if made is None or folder not in made:
        _make_folder(folder, made)
    fd = os.open(dest, _WRITE_FLAGS, 0o666)
    try:
        written = os.write(fd, data)
        if written < len(data):  # a short write (rare): write the rest
            view = memoryview(data)
            while written < len(data):
                written += os.write(fd, view[written:])
    except OSError as exc:  # (a full disk): say which file, as every other error does
        if exc.filename is None:
            raise OSError(exc.errno, exc.strerror, dest) from exc
        raise
    finally:
        os.close(fd)
    return digest, True


def _make_folder(folder: str, made: set[str] | None) -> None:
    """``Path(folder).mkdir(parents=True, exist_ok=True)``, on strings; records it in ``made``."""
    try:
        os.mkdir(folder)
    except FileNotFoundError:
        parent = os.path.dirname(folder)
        if parent == folder:
            raise
        _make_folder(parent, made)
        try:
            os.mkdir(folder)
        except OSError:
            if not os.path.isdir(folder):
                raise
    except OSError:
        if not os.path.isdir(folder):
            raise
    if made is not None:
        made.add(folder)


@dataclass(frozen=True, slots=True)
class CommitResult:
    """What `commit` did."""

    written: int
    removed: int


class _Inside:
    """Output paths as targets inside ``out``, refusing any that would leave it (a ``..``,
    or a folder in ``out`` that is a link to elsewhere). Each folder is looked at once
    (``lstat``), not resolved again for every file in it."""

    def __init__(self, out: Path, doomed: frozenset[str] = frozenset()):
        self.out = str(out)
        self.doomed = doomed
        """Files this commit removes before it writes: where one is a folder to be, no error."""
        self.root = os.path.realpath(out)
        self.real: set[str] = set()
        """Folders (relative to ``out``) known to be real folders, not links."""

    def target(self, path: str) -> str:
        """``out/path`` to write, checked; a file where one of its folders goes is an error."""
        found = self._check(path, writing=True)
        assert found is not None  # (writing: an error instead)
        return found

    def old(self, path: str) -> str | None:
        """``out/path`` to remove, checked; None when one of its folders is a file (so it
        is not there)."""
        return self._check(path, writing=False)

    def _check(self, path: str, writing: bool) -> str | None:
        parts = path.split("/")
        if "" in parts or "." in parts or ".." in parts:
            return self._resolved(path, writing)
        folder = ""
        for part in parts[:-1]:
            folder = f"{folder}/{part}" if folder else part
            if folder in self.real:
                continue
            try:
                mode = os.lstat(os.path.join(self.out, folder)).st_mode
            except (FileNotFoundError, NotADirectoryError):
                break  # the rest is made by the commit, as real folders
            if stat.S_ISLNK(mode):
                return self._resolved(path, writing, folder)
            if not stat.S_ISDIR(mode):
                if not writing:
                    return None
                if folder in self.doomed:
                    break
                raise BuildError(f"cannot write {path} into {self.out}: {folder} is a file there "
                                 "that this site does not make; move it away")
            self.real.add(folder)
        return os.path.join(self.out, path)

    def _resolved(self, path: str, writing: bool, link: str | None = None) -> str | None:
        parent = os.path.realpath(os.path.dirname(os.path.join(self.out, path)))
        if parent != self.root and not parent.startswith(self.root.rstrip("/") + "/"):
            if not writing:  # (not ours to remove, and the new files are in place by then)
                return None
            if link is not None:  # (name the link: the path alone left the user guessing why)
                where = os.path.join(self.out, link)
                raise BuildError(f"refusing to write {path} outside the output folder: {where} is a "
                                 f"symbolic link to {os.path.realpath(where)}; replace it with a folder "
                                 "(or remove it: the build makes it)")
            raise BuildError(f"refusing to write outside the output folder: {path}")
        return os.path.join(self.out, path)


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while the block runs, then deliver them.

    A swap stopped halfway would leave a mix of the old site and the new one (Ctrl-C
    once left 2,249 old pages beside 1,728 new ones, and said the folder was untouched):
    once the first staged file is in place, the others follow, and the interrupt is
    handled when the output holds the new site whole. (Only the main thread can set
    handlers; a build in another thread, such as a server's, is not interrupted by
    signals anyway. SIGKILL cannot be held back: the next build repairs what it leaves.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    saved: dict[int, object] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)
        if previous in (signal.SIG_IGN, None):
            continue
        saved[signum] = previous
        signal.signal(signum, lambda number, frame: held.append(number))
    try:
        yield
    finally:
        for signum, previous in saved.items():
            signal.signal(signum, previous)
        for signum in dict.fromkeys(held):
            handler = saved[signum]
            if callable(handler):
                handler(signum, None)
            else:  # SIG_DFL: the default action, now that the swap is done
                signal.raise_signal(signum)


def commit(out: Path, staging: Staging, changed: list[str], stale: list[str]) -> CommitResult:
    """Move staged files into ``out`` and remove ``stale`` ones; remove the staging folder.

    Ctrl-C and SIGTERM wait until the swap is done (see `_interrupts_deferred`).
    """
    with _interrupts_deferred():
        return _commit(out, staging, changed, stale)


def _commit(out: Path, staging: Staging, changed: list[str], stale: list[str]) -> CommitResult:
    if not staging.flat and not out.exists():
        if changed:
            out.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging.root, out)
        else:
            out.mkdir(parents=True, exist_ok=True)
        staging.clear()
        return CommitResult(len(changed), 0)
    out.mkdir(parents=True, exist_ok=True)
    # A stale file where a folder of this build goes (``static/a`` is now ``static/a/b.css``)
    # is removed first: moving the new file in would fail on it, build after build.
    folders = {path[:cut] for path in changed for cut in _slashes(path)}
    doomed = frozenset(path for path in stale if path in folders)
    inside = _Inside(out, doomed)
    # Every target is checked before anything moves (a file in the way that this site did not
    # make stops the build with the output untouched). Assets (anything not HTML) go first,
    # so that a page never points at a file not yet there.
    ordered = sorted(changed, key=lambda p: (p.endswith(".html"), p))
    targets = [inside.target(path) for path in ordered]
    _refuse_foreign_folders(out, ordered, targets, set(stale))
    removed = 0
    for path in sorted(doomed):
        found = inside.old(path)
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            if found is not None:
                os.unlink(found)
                removed += 1
    for path, target in zip(ordered, targets, strict=True):
        source = staging.place(path)
        try:
            os.replace(source, target)
        except FileNotFoundError:  # a new folder
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(source, target)
        except IsADirectoryError:  # a folder where the file goes now
            shutil.rmtree(target)
            os.replace(source, target)
    for path in stale:
        found = inside.old(path)
        if found is None:
            continue
        target = Path(found)
        try:
            if target.is_file() or target.is_symlink():
                target.unlink()
                removed += 1
        except OSError:
            continue
        parent = target.parent
        while parent != out and parent.is_dir():
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent
    staging.clear()
    return CommitResult(len(changed), removed)


def _refuse_foreign_folders(out: Path, paths: list[str], targets: list[str], stale: set[str]) -> None:
    """A folder where a file of this build goes is removed when it holds only files an earlier
    build made (``static/a/b.css`` is now ``static/a``); one holding a file this site does not
    make stops the build, before anything moves (it was removed with the folder, unasked)."""
    for path, target in zip(paths, targets, strict=True):
        try:
            if not stat.S_ISDIR(os.lstat(target).st_mode):
                continue
        except OSError:
            continue
        for dirpath, _dirnames, filenames in os.walk(target):
            for name in sorted(filenames):
                inner = os.path.relpath(os.path.join(dirpath, name), out).replace(os.sep, "/")
                if inner not in stale:
                    raise BuildError(f"cannot write {path} into {out}: {path} is a folder there holding "
                                     f"{inner}, which this site does not make; move it away")


def _slashes(path: str) -> Iterator[int]:
    """Where each ``/`` in ``path`` is (the ends of its folders)."""
    at = path.find("/")
    while at > 0:
        yield at
        at = path.find("/", at + 1)


def intact(out: Path, path: str, record: OutputRecord | None) -> bool:
    """True when ``out/path`` still has the size and mtime the manifest ``record`` noted."""
    if record is None:
        return False
    try:
        st = os.stat(f"{out}/{path}")  # a string join: Path objects cost more than the stat
    except OSError:
        return False
    return st.st_size == record.size and st.st_mtime_ns == record.mtime_ns


def damaged(out: Path, outputs: Mapping[str, OutputRecord]) -> frozenset[str]:
    """The paths of ``outputs`` whose file in ``out`` no longer has the size and mtime noted
    (changed, replaced or gone; all of them when ``out`` cannot be opened): `intact` for each,
    a stat relative to the folder opened once (a third cheaper than 25,000 full paths)."""
    if os.stat not in os.supports_dir_fd:  # (Windows)
        return frozenset(path for path, record in outputs.items() if not intact(out, path, record))
    try:
        folder = os.open(out, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return frozenset(outputs)
    found = []
    try:
        for path, record in outputs.items():
            try:
                st = os.stat(path, dir_fd=folder)
            except OSError:
                found.append(path)
                continue
            if st.st_size != record.size or st.st_mtime_ns != record.mtime_ns:
                found.append(path)
    finally:
        os.close(folder)
    return frozenset(found)


def record_of(out: Path, path: str, digest: str) -> OutputRecord:
    """Manifest record for a file just committed."""
    st = os.stat(out / path)
    return OutputRecord(digest=digest, size=st.st_size, mtime_ns=st.st_mtime_ns)


def static_files(folders: list[Path]) -> dict[str, Path]:
    """Static files by output path (``static/...``); later folders override earlier ones."""
    files: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                path = Path(dirpath) / name
                if path.is_symlink():
                    try:
                        real = path.resolve()
                    except (RuntimeError, OSError):  # a loop (a -> b -> a): it stopped the build
                        continue
                    if folder.resolve() not in real.parents:
                        continue
                try:  # only regular files: reading a named pipe (a FIFO) waited forever
                    if not stat.S_ISREG(os.stat(path).st_mode):
                        continue
                except OSError:  # a link to nothing
                    continue
                rel = path.relative_to(folder).as_posix()
                files["static/" + rel] = path
    _refuse_file_and_folder(files, folders)
    return files


def _refuse_file_and_folder(files: dict[str, Path], folders: list[Path]) -> None:
    """A static file whose path is a folder of another (the site's ``static/style.css/a.txt``
    over the theme's ``static/style.css``): one output cannot be both. The build failed on it
    while staging, with ``.../static/style.css: File exists`` and nothing more."""
    for path in sorted(files):
        parts = path.split("/")
        for cut in range(2, len(parts)):
            folder = "/".join(parts[:cut])
            if folder in files:
                raise BuildError(f"{_shown(files[path], folders)} and {_shown(files[folder], folders)}: "
                                 f"{folder} cannot be both a folder and a file in the output; rename one")


def _shown(path: Path, folders: list[Path]) -> str:
    """A static file as the user knows it: ``static/x.css`` of the site, or of the built-in theme."""
    for index, folder in enumerate(folders):
        if folder in path.parents:
            rel = "static/" + path.relative_to(folder).as_posix()
            return rel if index == len(folders) - 1 else f"the built-in theme's {rel}"
    return str(path)


_LOCK_FLAGS = (os.O_RDWR | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_NONBLOCK", 0))


def _open_lock(lock_file: Path, create: bool) -> int:
    """A descriptor of the regular file ``lock_file`` (made if missing, with ``create``), for
    `exclusive`; -1 when there is none. A link, a named pipe or a device in its place is
    replaced by a file (with ``create``; else no lock): the link was followed, and the file it
    named made, wherever it pointed, and a link to ``/dev/null`` was one lock shared by every
    site holding such a link (each build "waiting for another build" of its own site)."""
    flags = _LOCK_FLAGS | (os.O_CREAT if create else 0)
    for _attempt in range(2):
        try:
            fd = os.open(lock_file, flags, 0o600)
        except OSError as exc:
            if not (create and exc.errno == errno.ELOOP):  # (a link, refused by O_NOFOLLOW)
                return -1
        else:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                return fd
            os.close(fd)
            if not create:
                return -1
        lock_file.unlink()  # (the link itself, not what it names)
    return -1


def hold(lock_file: Path, shared: bool) -> int:
    """A descriptor holding a lock on ``lock_file`` (made if missing): shared (waiting for an
    exclusive holder to finish) or exclusive (never waiting); -1 when it cannot be taken now
    (exclusive, and another holds it) or there are no locks here. A lock file removed by its
    exclusive holder while another process waited on it is opened again, so that the lock
    taken is always on the file the name stands for (two holders of one name on two files
    would not see each other). Closing the descriptor lets go of the lock."""
    if fcntl is None:
        return -1
    for _attempt in range(8):
        try:
            fd = _open_lock(lock_file, create=True)
        except OSError:
            return -1
        if fd < 0:
            return -1
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held by another (exclusive, not waiting), or no locks on this file system
            os.close(fd)
            return -1
        try:
            if os.fstat(fd).st_ino == os.stat(lock_file).st_ino:
                return fd
        except FileNotFoundError:  # removed by the exclusive holder this one waited for: again
            pass
        os.close(fd)
    return -1


@contextlib.contextmanager
def exclusive(lock_file: Path, waiting: Callable[[], None] | None = None,
              create: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on ``lock_file`` (made if missing) for the block; yields whether
    it could be taken.

    Two builds of one site at once used to share a staging folder and a cache: each removed
    the other's staged files, both failed with a traceback and the output was left half old,
    half new. The second now waits for the first (``waiting`` is called once, when it has to
    wait). The lock is the kernel's (``flock``): a killed build never leaves it held. Where
    the file cannot be made (an unwritable site), there is no lock and the build goes on.
    With ``create`` false, a missing file means no lock (a build always makes it: none is
    running), so a caller that only reads the output writes nothing.
    """
    fd = -1
    if fcntl is not None:
        try:
            if create:
                lock_file.parent.mkdir(exist_ok=True)
            fd = _open_lock(lock_file, create)
        except OSError:
            fd = -1
    try:
        if fd >= 0:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if waiting is not None:
                    waiting()
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:  # a file system without locks
                os.close(fd)
                fd = -1
        yield fd >= 0
    finally:
        if fd >= 0:
            os.close(fd)
