"""All incremental state of a site and its on-disk format (``SITE/.digest-cache/``).

The cache holds parsed records (keyed by path, checked by stat and then by
content hash; spread over `SHARDS` files so that an edit rewrites one of them),
the manifest of the output folder (what each output file's bytes were) with the
key of each page (over `OUTPUT_SHARDS` files, by output path), and other state
(a positional dataclass such as the related-articles state in chunks of `CHUNK`),
and the last plan a command saved (`BuildCache.save_plan`, see `digest.plan.write_plan`).
A `BuildCache` can be kept in memory across builds (see `BuildCache.begin`). What it keeps
for output folders other than its own is pruned once no build uses it, and so are the spare
preview folders of servers that ended (`BuildCache.prune_others`).
It is versioned, safe to delete, and never trusted blindly: a file that is
corrupt, from another program version, or not signed with this machine's cache
key (a cache committed by someone else could otherwise run code when unpickled)
is ignored and what it held is rebuilt.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import io
import os
import pickle
import re
import secrets
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from digest import toolchain
from digest.background import Pending, Resident, delta
from digest.files import MAX_RECORD_BYTES, open_regular, read_regular
from digest.model import Article, FileResult, pack_article
from digest.write import (
    LOCKING,
    MANIFEST_LAYOUT,
    OutputRecord,
    damaged,
    digest_bytes,
    hold,
    remove_tree,
    staging_dir,
)

CACHE_DIR = ".digest-cache"
FORMAT = 7
"""Bump when the layout of cached data changes."""


KEY_BYTES = 32
"""The length of the machine's cache key (see `_key`)."""


def _key() -> bytes:
    """This machine's secret cache key (created once, mode 0600; empty when there can be none:
    caching is then off). A key file that is no regular file of `KEY_BYTES` (a folder, a named
    pipe, an empty or cut file) is replaced by a new key: it signed nothing this program can
    trust. Made whole in a temporary file before it takes the name, so no build reads a key
    half written."""
    path = _key_path()
    base = path.parent
    key = _read_key(path)
    if key is not None:
        return key
    try:
        base.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=base, prefix=".tmp-key-")  # (mode 0600)
        try:
            key = secrets.token_bytes(KEY_BYTES)
            with os.fdopen(fd, "wb") as handle:
                handle.write(key)
            try:
                os.link(tmp, path)  # a missing key: the first of two builds making one wins
            except FileExistsError:  # one made meanwhile is taken; a broken one is replaced
                theirs = _read_key(path)
                if theirs is not None:
                    return theirs
                os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return key
    except OSError:
        return b""  # no writable home, or a key path that cannot be replaced: caching is simply off


def _key_path() -> Path:
    """Where this machine's cache key is kept (see `_key`)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "digest" / "cache-key"


def _read_key(path: Path) -> bytes | None:
    """The key in ``path`` if it is a regular file of `KEY_BYTES`, else None."""
    try:
        handle, _ = open_regular(path)
        with handle:
            key = handle.read(KEY_BYTES + 1)
    except OSError:  # (`NotRegular` too)
        return None
    return key if len(key) == KEY_BYTES else None


_LASTING = "outputs-"
"""Cache files whose name starts so hold the output manifest: facts about files on disk
(their paths, sizes, mtimes and digests), true whatever program wrote them. They are
stamped with the format only, so that after an upgrade of digest (or of a library) the
next build still knows which files it made, and removes those no longer produced. The
page keys beside them are the program's own (each holds its digest, and the file names
the program, see `_program`): another program's are dropped as they are read, so every
page is made again, and no process of that build carries them (220,000 of them were 43 MB
at 100,000 records, in the build process and in each render worker forked from it)."""


def _program() -> str:
    """What a manifest file names as the program that made its page keys (see `_LASTING`)."""
    return hashlib.blake2b(toolchain().encode(), digest_size=8).hexdigest()


def _stamp(name: str = "") -> bytes:
    """What a cache file named ``name`` is stamped with: the format and this program
    (see `digest.toolchain`), or the format only for `_LASTING` files."""
    if name.startswith(_LASTING):  # (the manifest's record layout, so that a change to it is never misread)
        return f"digest-cache {FORMAT} lasting {MANIFEST_LAYOUT}".encode()
    return f"digest-cache {FORMAT} {toolchain()}".encode()


_LEGACY_STAMP = f"digest-cache {FORMAT} lasting digest,size,mtime_ns".encode()
"""The stamp of the manifests programs before `OutputRecord` was a tuple wrote (a slotted
dataclass, pickled as a dict of its fields): still read (`_legacy_manifest`), so that the
first build after an upgrade still knows which files it made (it removes those no longer
produced, and does not read every unchanged file to compare its bytes)."""


class _LegacyRecord:
    """An `OutputRecord` as older programs pickled it, read back (`_legacy_manifest`)."""

    __slots__ = ("digest", "size", "mtime_ns")

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.digest, self.size, self.mtime_ns = state["digest"], state["size"], state["mtime_ns"]


class _LegacyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("digest.write", "OutputRecord"):
            return _LegacyRecord
        return super().find_class(module, name)


class _OlderShard(tuple):
    """A manifest shard read from a file stamped `_LEGACY_STAMP`: `BuildCache` writes it again
    in the current layout at its next save."""

    __slots__ = ()


def _legacy_manifest(body: bytes) -> _OlderShard | None:
    """A manifest shard stamped `_LEGACY_STAMP` (``(outputs, page keys, index[, program])``),
    its records made `OutputRecord` tuples; None when it is not one."""
    part = _LegacyUnpickler(io.BytesIO(body)).load()
    if isinstance(part, tuple) and part and isinstance(part[0], dict):
        outputs = {path: OutputRecord(record.digest, record.size, record.mtime_ns)
                   for path, record in part[0].items() if type(record) is _LegacyRecord}
        if len(outputs) == len(part[0]):
            return _OlderShard((outputs, *part[1:]))
    return None


def read_blob(path: Path) -> Any | None:
    """Unpickle ``path`` if it is a regular file signed with this machine's key and version;
    else None (a named pipe, a device or a folder in its place is not read at all)."""
    key = _key()
    if not key:
        return None
    stamp = _stamp(path.name)
    legacy = _LEGACY_STAMP if path.name.startswith(_LASTING) else stamp
    try:
        handle, st = open_regular(path)
        with handle:  # the stamp first: a file of another kind is not read on
            head = handle.read(32 + max(len(stamp), len(legacy)))
            if not head.startswith(stamp, 32) and not head.startswith(legacy, 32):
                return None
            raw = _whole(handle, st)
    except OSError:
        return None
    body = memoryview(raw)[32:]  # (slices of a view: the bytes are never copied)
    if not hmac.compare_digest(raw[:32], hmac.new(key, body, hashlib.sha256).digest()):
        return None
    try:
        if not raw.startswith(stamp, 32):
            return _legacy_manifest(body[len(legacy):])
        return pickle.loads(body[len(stamp):])
    except Exception:  # noqa: BLE001 - a corrupt cache means a clean build, whatever broke
        return None


def _whole(handle: BinaryIO, st: os.stat_result) -> bytes:
    """The whole file open in ``handle`` (whose stat is ``st``), read in one system call into
    one bytes object. Its first bytes, read already to check the stamp, and the rest joined
    made two more copies of every cache file a build reads (``head + handle.read()``, and
    ``read_blob`` sliced the result twice more): at 10,000 records an edit's 60 MB became
    200 MB of fresh memory, a fifth of the page faults of the build process. A file that grew
    since its stat is read as long as it was then (its signature then fails: a clean build)."""
    return os.pread(handle.fileno(), st.st_size, 0)


class _RecordsPickler(pickle.Pickler):
    """Pickles articles with most fields packed (see `digest.model.pack_article`)."""

    def reducer_override(self, obj: Any) -> Any:
        return pack_article(obj) if type(obj) is Article else NotImplemented


def dump_records(value: Any) -> bytes:
    """``pickle.dumps(value)``, articles as `_RecordsPickler` packs them (for record shards)."""
    buffer = io.BytesIO()
    _RecordsPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def _dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _take_name(tmp: str, path: Path) -> None:
    """``os.replace(tmp, path)``; a folder in ``path``'s place (no file of this program) is
    removed first: left, it failed every write of that file, and `write_parts` stops at the
    first failure, so one folder kept the cache from being saved at every build after."""
    try:
        os.replace(tmp, path)
    except IsADirectoryError:
        shutil.rmtree(path, ignore_errors=True)
        os.replace(tmp, path)


def write_blob(path: Path, value: Any, dumps: Callable[[Any], bytes] = _dumps) -> None:
    """Pickle ``value`` (with ``dumps``) to ``path`` atomically, signed with this machine's key."""
    key = _key()
    if not key:
        return
    stamp, data = _stamp(path.name), dumps(value)
    mac = hmac.new(key, stamp, hashlib.sha256)
    mac.update(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    # (In pieces: joined, the signature, stamp and pickle made two more copies of each file,
    # 740 MB of fresh memory for the record shards of a 100,000-record first build.)
    _write_atomic(path, mac.digest(), stamp, data)


def _write_atomic(path: Path, *parts: bytes) -> None:
    """Write ``parts`` one after the other to ``path`` atomically: whole in a temporary file
    beside it, then renamed (`write_blob`'s signed files, and `BuildCache._in_use`'s unsigned note)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            for part in parts:
                handle.write(part)
        _take_name(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


Part = bytes | Callable[[BinaryIO], object]
"""A part of a `write_signed` file: bytes, or a function that writes it into the stream it is
given (a plan's pickle is written so as it is made: it is never whole in memory)."""


class _Signing:
    """A file's ``write`` that also feeds the signature (for parts written by a function)."""

    __slots__ = ("handle", "mac")

    def __init__(self, handle: BinaryIO, mac: hmac.HMAC):
        self.handle, self.mac = handle, mac

    def write(self, data: bytes) -> int:
        self.mac.update(data)
        return self.handle.write(data)


def write_signed(path: Path, parts: list[Part]) -> None:
    """Write ``parts`` to ``path`` atomically, signed and stamped as `write_blob` does (bytes as
    they are: nothing is pickled or joined); `read_signed` gives them back as one view. The
    signature, which comes first, is written last, over the space left for it."""
    key = _key()
    if not key:
        return
    stamp = _stamp()
    mac = hmac.new(key, stamp, hashlib.sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(mac.digest_size))
            handle.write(stamp)
            signing = _Signing(handle, mac)
            for part in parts:
                if callable(part):
                    part(signing)
                else:
                    signing.write(part)
            handle.seek(0)
            handle.write(mac.digest())
        _take_name(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_signed(path: Path, head: int = 0,
                accept: Callable[[bytes], bool] | None = None) -> tuple[bytes, int] | None:
    """What `write_signed` wrote to ``path``: the file's bytes and where the parts start in
    them (no copy is made), if it is signed with this machine's key and stamped with this
    program's version; else None. When ``accept`` refuses the first ``head`` bytes of its
    parts, the rest of the file is not even read."""
    key = _key()
    if not key:
        return None
    stamp = _stamp()
    try:
        handle, st = open_regular(path)
        with handle:  # (not a named pipe: see `read_blob`)
            start = handle.read(32 + len(stamp) + head)
            found = start[32 + len(stamp):]
            if start[32: 32 + len(stamp)] != stamp or len(found) != head or (accept and not accept(found)):
                return None
            raw = _whole(handle, st)
    except OSError:
        return None
    view = memoryview(raw)
    if not hmac.compare_digest(view[:32], hmac.new(key, view[32:], hashlib.sha256).digest()):
        return None
    return raw, 32 + len(stamp)


def write_parts(folder: Path, parts: list[tuple[str, Any]], write: bool = True,
                dumps: Callable[[Any], bytes] = _dumps) -> int:
    """Write ``(file name, value)`` parts into ``folder`` in order (a None value deletes the
    file) until one cannot be written; how many were done (none when ``write`` is false).

    A failure stops the rest: it is most likely an unwritable folder, and pickling
    the rest would be in vain.
    """
    if not write:
        return 0
    for done, (name, value) in enumerate(parts):
        try:
            if value is None:
                (folder / name).unlink(missing_ok=True)
            else:
                write_blob(folder / name, value, dumps)
        except OSError:
            return done
    return len(parts)


SHARDS = 32
"""Parsed records are kept in this many files (``records-00.pickle`` ..), by a stable hash of
the source path, so that editing one record rewrites one shard rather than every record."""
_OLD_RECORDS = "records.pickle"
"""The single records file of format 4 and earlier, removed when saving."""


_GONE: Any = object()
"""Marks a removed entry."""

KEPT: Any = object()
"""Stands in `BuildCache.save`'s state for a value written already by `BuildCache.save_early`."""

CHUNK = 512
"""A dataclass in the state whose fields are lists by position (the related-articles state) is
kept in files of this many positions each, so that an edit rewrites the chunks it changed."""


def _layout(value: Any) -> tuple[type, dict[str, Any], dict[str, list]] | None:
    """``(class, other fields, list fields)`` of a dataclass instance with list fields, made
    again by ``class(**other, **lists)``; None for any other value (stored whole)."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return None
    fields = dataclasses.fields(value)
    if not all(f.init for f in fields):
        return None
    scalars: dict[str, Any] = {}
    lists: dict[str, list] = {}
    for f in fields:
        item = getattr(value, f.name)
        (lists if type(item) is list else scalars)[f.name] = item
    return (type(value), scalars, lists) if lists else None


OUTPUT_SHARDS = 128
"""The output manifest and page keys are kept in this many files, by a stable hash of the
output path. More than `SHARDS`: an edit changes some twenty outputs with unrelated paths
(article, API, topic, source, edition pages and feeds), which land in a dozen of 32 shards."""


def shard_of(source: str, shards: int = SHARDS) -> int:
    """The shard of a record or output (BLAKE2b of its path: stable across runs and machines)."""
    digest = hashlib.blake2b(source.encode("utf-8", "surrogateescape"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % shards


def _memo_shard(memo: dict[str, int], key: str, shards: int) -> int:
    """`shard_of` through a caller's memo (paths repeat in every build)."""
    index = memo.get(key)
    if index is None:
        index = memo[key] = shard_of(key, shards)
    return index


def shard_name(index: int) -> str:
    return f"records-{index:02x}.pickle"


class RecordCache:
    """Parsed records by path: reused when the stat matches, or when the bytes hash the same.

    ``entries`` is what the previous build saved; ``used`` is what this build
    looked up or stored (saved in place of ``entries``: vanished records drop out).
    Which shards differ between the two is tracked as the build goes, so that
    saving rewrites only those.
    """

    def __init__(self, entries: dict[str, tuple] | None = None):
        self.entries: dict[str, tuple] = entries or {}
        """source -> (size, mtime_ns, content digest, FileResult)."""
        self.used: dict[str, tuple] = {}
        self.hits = 0
        self.changed = False
        """An entry was added, replaced or re-stamped this build."""
        self._dirty: set[int] = set()
        """Shards with an entry added, replaced or re-stamped this build."""
        self._unsaved: set[int] = set()
        """Shards whose last write failed: rewritten with the next save."""
        self._shards: dict[str, int] = {}
        """Memo of `shard_of`."""
        self.stats: dict[str, os.stat_result] = {}
        """Stats this build already took of record files, by path (from `inputs_fingerprint`,
        moments earlier): `lookup` uses them instead of asking again."""
        self.began_ns = time.time_ns()
        """When this build began (before it read any record): see `racy`."""
        self.listing: list[tuple[str, str]] | None = None
        """The record files (path, source) as the last load found them, when its walk met no
        link and no problem (see `digest.load.relisted`); kept in memory only."""
        self.tally: Any = None
        """The last load's `digest.load.Tally`, if any; kept in memory only."""

    def shard(self, source: str) -> int:
        return _memo_shard(self._shards, source, SHARDS)

    def begin(self) -> None:
        """Forget this build's bookkeeping (``used``, ``hits``, dirty shards); keep ``entries``."""
        self.used = {}
        self.hits = 0
        self.changed = False
        self._dirty = set()
        self.stats = {}
        self.began_ns = time.time_ns()

    def _entry(self, size: int, mtime_ns: int, digest: str, result: FileResult) -> tuple:
        """The entry kept for a record read this build: with its mtime, unless that is `racy`
        (then with none, so that the next build compares the bytes' digest, not the stat)."""
        return (size, -1 if racy(mtime_ns, self.began_ns) else mtime_ns, digest, result)

    def lookup(self, path: str, source: str) -> FileResult | None:
        entry = self.entries.get(source)
        if entry is None:
            return None
        st = self.stats.get(path)
        if st is None:
            try:
                st = os.stat(path)
            except OSError:
                return None
        size, mtime_ns, digest, result = entry
        if st.st_size == size and st.st_mtime_ns == mtime_ns:
            self.used[source] = entry
            self.hits += 1
            return result
        if content_digest(path) == digest:  # (None when unreadable or no regular file: `read_record` says so)
            self.used[source] = renewed = self._entry(st.st_size, st.st_mtime_ns, digest, result)
            if renewed != entry:
                self.changed = True
                self._dirty.add(self.shard(source))
            self.hits += 1
            return result
        return None

    def reuse(self, sources: list[str], named: set[str]) -> list[FileResult | None]:
        """The result held for each of ``sources`` as it is, without a stat, but for those in
        ``named`` (None: to be looked up) and those it holds none of (None: to be parsed). For
        a listing that a watcher's events say changed only in ``named`` (see
        `digest.load.load_content`'s ``changed``): a dict copy and one pass, where a lookup each
        took a third of a second at 100,000 records."""
        entries = self.entries
        used = dict(entries)  # (every source held is listed: those gone are named, so dropped here)
        for source in named:
            used.pop(source, None)
        self.used = used
        results = [None if entry is None else entry[3]
                   for entry in map(used.get, sources)]
        self.hits += len(used)
        return results

    def store(self, path: str, source: str, result: FileResult) -> None:
        if result.stamp is not None:
            self.used[source] = self._entry(*result.stamp, result)
            self.changed = True
            self._dirty.add(self.shard(source))
        # Without a stamp (unreadable file) nothing is kept: an old entry drops out on save.

    def dirty_shards(self) -> set[int]:
        """Shards whose saved content differs from what this build used."""
        gone = self.entries.keys() - self.used.keys()
        return self._dirty | self._unsaved | {self.shard(source) for source in gone}

    @property
    def dirty(self) -> bool:
        """True when what this build used differs from what was loaded."""
        return bool(self.dirty_shards())

    def save(self, folder: Path, write: bool = True) -> list[Path]:
        """Write the dirty shards of ``used`` to ``folder`` (an empty shard's file is deleted),
        then make ``used`` the new ``entries``, as if just read back: ready for the next build.

        Nothing is raised: a shard that cannot be written (or every dirty shard,
        when ``write`` is false) is tried again by the next save. Returns the
        shard files written or deleted.
        """
        dirty, parts = self.shard_parts(write)
        return self.saved(folder, dirty, write_parts(folder, parts, write, dump_records))

    def shard_parts(self, write: bool = True) -> tuple[list[int], list[tuple[str, dict | None]]]:
        """The dirty shards and, for `write_parts`, their file names and contents (None: delete)."""
        dirty = sorted(self.dirty_shards())
        parts: dict[int, dict[str, tuple]] = {index: {} for index in dirty}
        if parts and write:
            for source, entry in self.used.items():
                part = parts.get(self.shard(source))
                if part is not None:
                    part[source] = entry
        return dirty, [(shard_name(index), (index, parts[index]) if parts[index] else None) for index in dirty]

    def saved(self, folder: Path, dirty: list[int], done: int) -> list[Path]:
        """After the first ``done`` of the ``dirty`` shards were written: the bookkeeping of `save`."""
        self._unsaved = set(dirty[done:])
        self.entries = self.used
        self.begin()
        return [folder / shard_name(index) for index in dirty[:done]]


RACY_NS = 2_000_000_000
"""A file modified this close before a build began (or later) may be written again within
the same tick of its file system's clock (a jiffy on Linux, a second on HFS+ or ext3, two
on FAT) with the same size, leaving its size and mtime as the build saw them: the next build
must not trust them (git calls such index entries "racily clean")."""


def racy(mtime_ns: int, began_ns: int) -> bool:
    """Whether a file with ``mtime_ns`` read by a build that began at ``began_ns`` may have
    changed since without its stat showing it (see `RACY_NS`)."""
    return mtime_ns >= began_ns - RACY_NS


def content_digest(path: str) -> str | None:
    """Digest of a record file's bytes as `digest.load.read_record` takes it (its first
    ``MAX_RECORD_BYTES + 1``; None when it cannot be read as a regular file): for the records
    whose stat a build's summary does not trust (see `racy`)."""
    try:
        raw = read_regular(path, MAX_RECORD_BYTES + 1)[0]
    except OSError:  # (`NotRegular` too)
        return None
    return digest_bytes(raw)


def inputs_fingerprint(roots: list[Path], files: list[Path], extra: str,
                       stats: dict[str, os.stat_result] | None = None,
                       confined: tuple[Path, Path] | None = None) -> str:
    """Digest of every input's path, size and mtime, and whether it is a link (plus ``extra``):
    equal means nothing changed.

    ``roots`` are walked recursively (hidden entries skipped, links followed as
    the loader does); ``files`` are single files that may be missing. ``stats``, when
    given, receives the stat of every file under the roots, by path (see `RecordCache.stats`).
    ``confined`` is ``(root, site)``: under that root (the content folder), a link to a folder
    outside the site is not walked (the loader never follows it; `content/usr -> /usr` made every
    build walk all of /usr), only its target is noted.
    """
    h = hashlib.blake2b(extra.encode(), digest_size=16)
    seen: set[str] = set()
    site_real = os.path.realpath(confined[1]) if confined else ""

    def walk(folder: Path, confine: bool = False) -> None:
        # Each real folder once, as the loader does: a link to a parent (a loop) would
        # otherwise be walked again at every depth until the system's link limit.
        real = os.path.realpath(folder)
        if real in seen:
            h.update(f"seen\0{folder}\0{real}\0".encode("utf-8", "surrogateescape"))
            return
        seen.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            h.update(b"\0missing\0" + os.fsencode(folder))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                # (a link or not: a folder of links to the same files is not the same input)
                if entry.is_dir():
                    h.update(f"d\0{entry.path}\0{entry.is_symlink():d}\0".encode("utf-8", "surrogateescape"))
                    if confine and entry.is_symlink():
                        target = os.path.realpath(entry.path)
                        if target != site_real and not target.startswith(site_real + os.sep):
                            h.update(f"out\0{target}\0".encode("utf-8", "surrogateescape"))
                            continue
                    walk(Path(entry.path), confine)
                    continue
                st = entry.stat()
            except OSError:  # a link to nothing: no stat, but its name counts (the loader warns of it)
                h.update(f"x\0{entry.path}\0".encode("utf-8", "surrogateescape"))
                continue
            if stats is not None:
                stats[entry.path] = st
            h.update(f"f\0{entry.path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\0{entry.is_symlink():d}\n".encode(
                "utf-8", "surrogateescape"))

    for root in roots:
        h.update(f"root\0{root}\0".encode("utf-8", "surrogateescape"))
        walk(root, confined is not None and root == confined[0])
    for path in files:
        try:
            st = os.stat(path)
            h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode("utf-8", "surrogateescape"))
        except OSError:
            h.update(f"{path}\0missing\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def saved_records(site: Path) -> RecordCache | None:
    """The records the last build of ``site`` parsed, read back for a command that writes
    nothing (`digest check`): each is used as a build uses it, when its file's stat or bytes
    are as they were, so that a check after a build parses only the records changed since.
    None when there is nothing to read: no cache folder, or no cache key on this machine
    (reading would make one). Nothing is written, and the records are the same whatever
    the output folder."""
    if not (site / CACHE_DIR).is_dir() or _read_key(_key_path()) is None:
        return None
    return BuildCache(site, site / "build").records


DAY = 86_400
"""Seconds in a day."""

GONE_DAYS = 1
"""What the cache holds for an output folder that no longer exists is removed once no build
used it for this long (a folder gone for a moment, a disk unmounted for the night, is not
forgotten at once: the manifest is what lets the next build into it prune it)."""

UNUSED_DAYS = 30
"""What the cache holds for an output folder no build used for this long, and that can be made
again (the saved plan and state, most of it), is removed; its manifest and last build's summary
are kept (they are facts about files on disk: what a later build there prunes, what ``publish
--no-build`` judges)."""

_KEYED = re.compile(r"(outputs|state|plan|summary|search-pending|folder|lock)-([0-9a-f]{16})(?:[-.].*)?")
"""The cache files of one output folder: kind and output key (see `BuildCache.out_key`)."""

_REMADE = ("plan", "state")
"""Kinds of `_KEYED` files that a build makes again when they are missing (see `UNUSED_DAYS`)."""

SPARE_PREVIEW = re.compile(r"serve(?:-drafts)?-[0-9]+")
"""The preview folders in the cache folder that `digest serve` builds into when another server
of the site holds the first (``serve-2``, ``serve-drafts-3``...: see `digest.serve._claim_folder`).
Each is removed once no server or build holds it (see `BuildCache.prune_others`); the first,
``serve`` and ``serve-drafts``, stays for the next server to build into incrementally."""


class BuildCache:
    """The cache folder of one site, for one output folder; each part is read on first use.

    The output manifest and the page keys are kept together in `OUTPUT_SHARDS` files
    (``outputs-<key>-NN.pickle``, by a stable hash of the output path, each
    holding ``(manifest part, page keys part, index, program)``), so that an edit rewrites the
    shards of the few outputs it changed; the rest of the state (related lists,
    image facts) is one file, rewritten only when it changed.

    One object can serve many builds in one process (the dev server keeps one):
    call `begin` at the start of each build. After `save` the object holds
    exactly what was saved, as if read back from disk, so the next build reads
    no cache file at all; a part whose file another process rewrote since is read
    again by `begin`. What `outputs` and `state` return must be treated as read-only.
    """

    def __init__(self, site: Path, out: Path, owns_output: bool = True):
        self.dir = site / CACHE_DIR
        self.owns_output = owns_output
        """Kept across builds (a server's), whether this process is the only writer of the output
        folder: a build that derives its plan from this process's last one then trusts the files
        it wrote itself and checks none (`digest serve`'s private folder). False for
        ``digest build --watch``, which writes the user's folder: others may change it meanwhile."""
        self._checker: Resident[frozenset[str]] | None = None
        """The child that checks the output folder at each build (`ask_damaged`)."""
        self.out_key = hashlib.sha256(os.fsencode(out.resolve())).hexdigest()[:16]
        self._records: RecordCache | None = None
        self._outputs: dict[str, OutputRecord] | None = None
        """The manifest, all shards merged (None: not read yet)."""
        self._keys: dict[str, str] = {}
        """The page keys, all shards merged (read with `_outputs`)."""
        self._parts: list[tuple[dict[str, OutputRecord], dict[str, str]]] = []
        """Per manifest shard, its ``(outputs, page keys)`` as read or last saved."""
        self._rest: dict[str, Any] | None = None
        """The state other than the page keys (None: not read yet)."""
        self._has_keys = False
        """Whether the saved state had page keys (`state` then shows them)."""
        self._state: dict[str, Any] | None = None
        """The state as `state` returns it (made from `_rest` and `_keys`)."""
        self._old_outputs_name = f"outputs-{self.out_key}.pickle"
        """The single manifest file of format 5 and earlier, removed when saving."""
        self._state_name = f"state-{self.out_key}.pickle"
        self._heads: dict[str, tuple] = {}
        """State name -> (class, other fields, list lengths, chunk tokens) of a value kept in chunks."""
        self._rest_files: list[str] = []
        """The chunk files `_rest` was read from or written to (checked by `begin`)."""
        self._sweep = False
        """The state file was unusable: chunk files it no longer names are removed by the next save."""
        self._seen: dict[str, tuple[int, int, int] | None] = {}
        """File name -> its stat when this object last read or wrote it."""
        self._unsaved: set[str] = set()
        """Parts (file names) whose last write failed or that could not be read: written by the next save."""
        self._out_shards: dict[str, int] = {}
        """Memo of `shard_of` for output paths."""
        self._for = (site.resolve(), out.resolve())
        self.memory: dict[str, Any] = {}
        """What a build leaves for the next build in this process only (never saved), such
        as the last plan for `digest.plan.replan`."""
        self._early: tuple[list[int], Pending[int]] | None = None
        """The dirty record shards and the child writing them (see `save_records_early`)."""
        self._deferred: set[str] = set()
        """Chunked state values left on disk when the state is read (see `defer`)."""
        self._lock = -1
        """A descriptor holding ``lock-<key>`` shared while this object lives, once it `begin`s a
        build (or a server says so: `in_use`): what this cache holds for its output folder is in
        use (see `prune_others`); let go of by `release`, or when this object is."""
        self._let_go: Callable[[], Any] = lambda: None
        """Closes `_lock` once (a `weakref.finalize`: when this object is collected, or `release`)."""

    def serves(self, site: Path, out: Path) -> bool:
        """True when this object is the cache of ``site`` building into ``out``."""
        return self._for == (site.resolve(), out.resolve())

    def _stat(self, name: str) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.dir / name)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _read(self, name: str) -> Any | None:
        self._seen[name] = self._stat(name)  # before reading: a later change is noticed by `begin`
        return read_blob(self.dir / name)

    def _moved(self, name: str) -> bool:
        """Whether ``name`` changed on disk since this object last read or wrote it."""
        return self._seen.get(name) != self._stat(name)

    def _shard_name(self, index: int) -> str:
        return f"outputs-{self.out_key}-{index:02x}.pickle"

    def _out_shard(self, path: str) -> int:
        return _memo_shard(self._out_shards, path, OUTPUT_SHARDS)

    def save_records_early(self, fork: bool = True) -> None:
        """Start writing the changed record shards in a forked child, once the records are
        loaded (they do not change after that), so that the parent goes on planning; `save`
        waits for it. Without a child (``fork`` false, or see `digest.background`), `save`
        writes them."""
        if not fork or self._records is None or not self._records.dirty or self._early is not None:
            return
        write = self._start_writing()
        dirty, parts = self._records.shard_parts(write)
        self._early = (dirty, Pending(write_parts, (self.dir, parts, write, dump_records)))

    @property
    def _summary_path(self) -> Path:
        """The file of the last build's summary into this output folder (`save_summary`)."""
        return self.dir / f"summary-{self.out_key}.pickle"

    def _start_writing(self) -> bool:
        """Remove the last build's summary (the cache is about to change); False when the
        cache folder cannot be written (a read-only site still builds, just not incrementally)."""
        summary = self._summary_path
        try:
            summary.unlink(missing_ok=True)
        except IsADirectoryError:  # (a folder in its place, no file of ours: see `_take_name`)
            shutil.rmtree(summary, ignore_errors=True)
            return not summary.exists()
        except OSError:
            return False
        return True

    def _settle_records(self) -> list[Path] | None:
        """Wait for an early save of the records and do its bookkeeping; the shard files
        written, or None when there was none."""
        if self._early is None:
            return None
        (dirty, pending), self._early = self._early, None
        return self._records.saved(self.dir, dirty, pending.result())  # type: ignore[union-attr]

    def begin(self) -> None:
        """Start a build with this object: reset the per-build bookkeeping of `records`
        (what was looked up, hits, dirty shards) and drop any part whose files were
        rewritten by someone else since (it is read again on first use).
        Not needed for a fresh object, harmless on one.

        Also marks this output folder's part of the cache in use (see `in_use`)."""
        self.in_use()
        for path in self._settle_records() or ():  # a build that failed after saving early
            self._seen[path.name] = self._stat(path.name)
        if self._records is not None:
            if any(self._moved(shard_name(index)) for index in range(SHARDS)):
                self._records = None
            else:
                self._records.begin()
        if self._outputs is not None:
            names = [self._shard_name(index) for index in range(OUTPUT_SHARDS)]
            if any(self._moved(name) for name in names):
                self._outputs = None
                self._keys, self._parts = {}, []
                self._state = None
                self._unsaved.difference_update(names)
        if self._rest is not None and any(
                self._moved(name) for name in (self._state_name, *self._rest_files)):
            self._rest = None
            self._state = None
            self._unsaved.discard(self._state_name)
            self._unsaved.difference_update(self._rest_files)

    def in_use(self) -> None:
        """Hold ``lock-<key>`` shared for this object's life (a server's too, from its start and
        between its builds: see `digest.serve.Preview`) and note in ``folder-<key>`` the output
        folder, now (its time is when a build last used this part of the cache): see
        `prune_others`. An unwritable cache notes nothing."""
        if self._lock < 0:
            with contextlib.suppress(OSError):
                self.dir.mkdir(exist_ok=True)
            self._lock = hold(self.dir / f"lock-{self.out_key}", shared=True)
            if self._lock >= 0:  # (let go of when this object is, or by `release`)
                self._let_go = weakref.finalize(self, os.close, self._lock)
        with contextlib.suppress(OSError):
            _write_atomic(self.dir / f"folder-{self.out_key}", os.fsencode(self._for[1]))

    def release(self) -> None:
        """Let go of ``lock-<key>`` (a server that stopped: its output folder is no longer in
        use); a later `begin` holds it again."""
        self._let_go()
        self._lock = -1

    def prune_others(self, now: float | None = None) -> list[str]:
        """Remove what this cache holds for other output folders and no longer needs; the names
        of the files removed.

        Each build into another folder (``-o /tmp/x``, a ``--drafts`` preview) left its
        manifest, state, plan and summary here for good (hundreds of megabytes at 100,000
        records). Now, for each other output folder, unless a build or server using it holds
        its ``lock-<key>`` (see `_in_use`; the lock is taken exclusively, without waiting,
        while its files are removed, so a build starting then waits for it and finds none):

        - its folder (named in ``folder-<key>``) no longer exists and no build used it for
          `GONE_DAYS`: every file of it goes;
        - no build used it for `UNUSED_DAYS` (or an older digest's files, with no
          ``folder-<key>``: by the newest of them): its plan and state go (made again by
          the next build there), its manifest and summary stay;
        - it is a spare preview folder of `digest serve` in this cache folder (`SPARE_PREVIEW`:
          ``serve-2``, made when another server held ``serve``) whose server ended: the folder,
          its staging folder and every file of it go, at once (no age: nothing builds there
          but a server, and each server that ended left one, up to 100,000 pages each). Its
          server holds ``lock-<key>`` from its start (see `in_use`) and its claim,
          ``serve-2.lock``, for its life: both are taken exclusively, without waiting, while
          they are removed, and the claim's file is left (a server may be opening it).

        Temporary files a killed build left (``.tmp-*``, older than `GONE_DAYS`) go too.
        """
        now = time.time() if now is None else now
        try:
            names = os.listdir(self.dir)
        except OSError:
            return []
        by_key: dict[str, list[tuple[str, str]]] = {}
        for name in names:
            found = _KEYED.fullmatch(name)
            if found is not None and found[2] != self.out_key:
                by_key.setdefault(found[2], []).append((found[1], name))
        removed: list[str] = []
        for name in names:  # what a killed build was writing (a plan: tens of megabytes)
            if name.startswith(".tmp-"):
                with contextlib.suppress(OSError):
                    if now - os.lstat(self.dir / name).st_mtime > GONE_DAYS * DAY:
                        (self.dir / name).unlink()
                        removed.append(name)
        for key, files in sorted(by_key.items()):
            kinds = {kind for kind, _ in files}
            used = self._last_used(key, files)
            if used is None:
                continue
            folder = self._folder_of(key) if "folder" in kinds else None
            spare = self._spare_preview(folder)
            if spare is not None:
                removed += self._remove_unless_used(key, [name for _, name in files], "lock" in kinds, spare)
                continue
            if folder is not None and not os.path.lexists(folder) and now - used > GONE_DAYS * DAY:
                doomed = [name for _, name in files]
            elif now - used > UNUSED_DAYS * DAY:
                doomed = [name for kind, name in files if kind in _REMADE]
            else:
                continue
            if doomed:
                removed += self._remove_unless_used(key, doomed, "lock" in kinds)
        return removed

    def _spare_preview(self, folder: str | None) -> Path | None:
        """``folder`` when it is a spare preview folder of this cache folder (`SPARE_PREVIEW`),
        else None."""
        if folder is None or not SPARE_PREVIEW.fullmatch(os.path.basename(folder)):
            return None
        here = self._for[0] / CACHE_DIR  # (resolved, as `folder-<key>` names it)
        return Path(folder) if os.path.dirname(folder) == os.fspath(here) else None

    def _last_used(self, key: str, files: list[tuple[str, str]]) -> float | None:
        """When a build last used the output key ``key`` of these ``files``: the time of its
        ``folder-<key>`` note, else (an older digest's files) of the newest of them."""
        notes = [name for kind, name in files if kind == "folder"] or [name for _, name in files]
        times = []
        for name in notes:
            with contextlib.suppress(OSError):
                times.append(os.lstat(self.dir / name).st_mtime)
        return max(times) if times else None

    def _folder_of(self, key: str) -> str | None:
        """The output folder ``folder-<key>`` names, or None when it cannot be read."""
        try:
            raw = read_regular(self.dir / f"folder-{key}", 1 << 16)[0]
        except OSError:
            return None
        folder = os.fsdecode(raw)
        return folder if os.path.isabs(folder) and "\0" not in folder else None

    def _remove_unless_used(self, key: str, names: list[str], had_lock: bool,
                            preview: Path | None = None) -> list[str]:
        """Remove ``names`` of the output key ``key`` unless a build holds it (see `in_use`);
        those removed. Where there are no locks, they are removed (their age alone said so).
        A lock file made here (an older digest's files had none) is removed again.

        With ``preview`` (a spare preview folder, see `prune_others`), that folder and its
        staging folder go first, unless its server's claim (``<folder>.lock``) is held or
        there are no locks to tell (then nothing goes); its files go once it is gone."""
        lock = self.dir / f"lock-{key}"
        fd = hold(lock, shared=False)
        if fd < 0 and (LOCKING or preview is not None):  # (held by a build; or no locks: kept, to be safe)
            return []
        removed = []
        try:
            if preview is not None and not self._remove_preview(preview):
                return []
            for name in sorted(names, key=lambda name: name.startswith("lock-")):  # (the lock last)
                try:
                    (self.dir / name).unlink()
                except OSError:  # (gone meanwhile, or a folder in a cache file's place: see `_take_name`)
                    continue
                removed.append(name)
            if fd >= 0 and not had_lock:
                with contextlib.suppress(OSError):
                    lock.unlink(missing_ok=True)
        finally:
            if fd >= 0:
                os.close(fd)
        return removed

    @staticmethod
    def _remove_preview(folder: Path) -> bool:
        """Remove the spare preview folder ``folder`` and its staging folder unless its server's
        claim is held; whether the folder is gone."""
        claim = hold(folder.with_name(folder.name + ".lock"), shared=False)
        if claim < 0:  # (its server runs)
            return False
        try:
            remove_tree(staging_dir(folder))
            remove_tree(folder)
        finally:
            os.close(claim)
        return not os.path.lexists(folder)

    @property
    def records(self) -> RecordCache:
        """Parsed records of the previous build (every shard is read on first use)."""
        if self._records is None:
            records = RecordCache()
            entries = records.entries
            for index in range(SHARDS):
                name = shard_name(index)
                part = self._read(name)
                # Signed, so made by this program: only a file copied over another shard's
                # (its index says so) is refused, not each entry checked.
                if not (isinstance(part, tuple) and len(part) == 2 and part[0] == index
                        and isinstance(part[1], dict)):
                    if self._seen[name] is not None:
                        records._unsaved.add(index)  # unusable: rewritten (or deleted) by the next save
                    continue
                entries.update(part[1])
            self._records = records
        return self._records

    def _load_outputs(self) -> None:
        """Read every manifest shard; an unusable one counts as empty (those outputs are
        unknown, so rendered again) and is rewritten (or deleted) by the next save."""
        outputs: dict[str, OutputRecord] = {}
        keys: dict[str, str] = {}
        program = _program()
        self._parts = []
        for index in range(OUTPUT_SHARDS):
            name = self._shard_name(index)
            part = self._read(name)
            # (outputs, page keys, index, program): a format 7 file of an older program has no
            # program, and its page keys are another program's too.
            usable = (isinstance(part, tuple) and len(part) in (3, 4) and part[2] == index
                      and isinstance(part[0], dict) and isinstance(part[1], dict))
            if not usable and self._seen[name] is not None or type(part) is _OlderShard:
                self._unsaved.add(name)  # (signed: only a shard's file copied over another's fails)
            mine: tuple[dict, dict] = (({}, {}) if not usable else (part[0], part[1]) if part[3:] == (program,)
                                       else (part[0], {}))
            self._parts.append(mine)
            outputs.update(mine[0])
            keys.update(mine[1])
        self._outputs, self._keys, self._state = outputs, keys, None

    def _chunk_name(self, name: str, index: int) -> str:
        return f"state-{self.out_key}-{name}-{index:03x}.pickle"

    def _load_rest(self) -> None:
        """Read the state other than the page keys, with the chunks of each chunked value.

        An unusable state file means no state; a chunk that is missing, unusable, or not
        the one the state file names (a save interrupted between the two) means no value
        for its name (it is computed again). Either is rewritten by the next save.
        """
        saved = self._read(self._state_name)
        self._rest, self._has_keys, self._heads, self._rest_files = {}, False, {}, []
        self._state = None
        if not (isinstance(saved, tuple) and len(saved) == 3
                and isinstance(saved[0], dict) and isinstance(saved[2], dict)):
            if self._seen[self._state_name] is not None:
                self._unsaved.add(self._state_name)
                self._sweep = True
            return
        plain, self._has_keys, heads = saved[0], bool(saved[1]), saved[2]
        self._rest = dict(plain)
        for name, head in heads.items():
            chunks = self._chunks_of(name, head) if name in self._deferred else None
            if chunks is not None:
                self._rest[name] = KEPT  # (read by `load_kept`, if at all)
                self._heads[name] = head
                for chunk in chunks:
                    self._rest_files.append(chunk)
                    self._seen[chunk] = self._stat(chunk)
                continue
            value = self._load_chunks(name, head)
            if value is None:
                self._unsaved.add(self._state_name)
                self._sweep = True
            else:
                self._rest[name] = value
                self._heads[name] = head

    def _chunks_of(self, name: str, head: Any) -> list[str] | None:
        """The chunk files a state value's ``head`` names; None for a head that is not one."""
        try:
            _cls, _scalars, lengths, tokens = head
            if len(tokens) != -(-max(lengths.values(), default=0) // CHUNK):
                return None
        except Exception:  # noqa: BLE001 - whatever is wrong with it, the value is computed again
            return None
        return [self._chunk_name(name, index) for index in range(len(tokens))]

    def _load_chunks(self, name: str, head: Any) -> Any | None:
        chunks = self._chunks_of(name, head)
        if chunks is None:
            return None
        try:
            cls, scalars, lengths, tokens = head
            lists: dict[str, list] = {field: [] for field in lengths}
            for chunk, token in zip(chunks, tokens, strict=True):
                if chunk not in self._rest_files:  # (a deferred value's are listed already)
                    self._rest_files.append(chunk)
                part = self._read(chunk)
                if not (isinstance(part, tuple) and len(part) == 2 and part[0] == token
                        and isinstance(part[1], dict) and part[1].keys() == lists.keys()):
                    return None
                for field, items in part[1].items():
                    lists[field].extend(items)
            if any(len(items) != lengths[field] for field, items in lists.items()):
                return None
            if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
                return None
            return cls(**scalars, **lists)
        except Exception:  # noqa: BLE001 - whatever is wrong with it, the value is computed again
            return None

    @property
    def outputs(self) -> dict[str, OutputRecord]:
        """The output manifest of the previous build into this output folder."""
        if self._outputs is None:
            self._load_outputs()
        return self._outputs  # type: ignore[return-value]

    @property
    def state(self) -> dict[str, Any]:
        """Other incremental state (page keys, related lists, image facts)."""
        if self._outputs is None:
            self._load_outputs()
        if self._rest is None:
            self._load_rest()
        if self._state is None:
            self._state = dict(self._rest)
            if self._has_keys:
                self._state["page_keys"] = self._keys
        return self._state

    def last_build(self, fingerprint: str, damaged: Callable[[], frozenset[str]]) -> Any | None:
        """The summary saved by the previous build if its inputs had ``fingerprint``
        and every output it made is still in place, unmodified (``damaged()`` is empty:
        see `damaged`); else None."""
        saved = self._summary()
        if saved is None or saved[0] != fingerprint:
            return None
        # (inputs it read moments after they were written: their contents must be as then too)
        if any(content_digest(path) != digest for path, digest in saved[3].items()) or damaged():
            return None
        return saved[2]

    def last_summary(self) -> tuple[Any, int] | None:
        """The result the previous build into this output folder saved, and when (ns since the
        epoch: as file times count), whatever its inputs; None when none was saved (no build
        yet, one that failed or was interrupted once it began to change the cache, or one
        whose summary could not be saved: see `digest.build._named_inputs`)."""
        path = self._summary_path
        try:
            when = path.stat().st_mtime_ns
        except OSError:
            return None
        saved = self._summary()
        return None if saved is None else (saved[2], when)

    def _summary(self) -> tuple | None:
        saved = read_blob(self._summary_path)
        return saved if isinstance(saved, tuple) and len(saved) == 4 else None

    def damaged(self, out: Path) -> frozenset[str]:
        """The outputs in the manifest that are no longer as it noted them in ``out`` (changed,
        replaced or gone): a stat each. (A build runs it in a child, see `digest.build`.)"""
        return damaged(out, self.outputs)

    def ask_damaged(self, out: Path) -> Callable[[], frozenset[str]]:
        """`damaged`, asked of a child that this object keeps between builds (`Resident`:
        forked once, at the first build's start, before any record is read; told only the
        manifest's changes), for a process that builds again and again into a folder not its
        own (``digest build --watch``): a function that waits for the answer. A fork per build
        cost a 100,000-record watching process more than the stats, in the faults of every
        page it wrote afterwards. `close` ends the child."""
        if self._checker is None:
            self._checker = Resident(damaged)
        return self._checker.ask(self.outputs, out)

    def close(self) -> None:
        """End the child of `ask_damaged`, if any."""
        if self._checker is not None:
            self._checker.close()
            self._checker = None

    def save(self, outputs: dict[str, OutputRecord], state: dict[str, Any] | None = None) -> None:
        """Persist what this build used (entries for vanished records are dropped).

        Only what changed is written: the dirty record shards, the manifest shards
        holding an output or page key that changed, and the rest of the state when
        it differs from the previous one. Afterwards this object holds what was
        saved, ready for the next build, even when the cache folder is unwritable
        (then nothing is written and nothing is raised).
        """
        write = self._start_writing()
        if write:
            for old in (_OLD_RECORDS, self._old_outputs_name):  # format 4's and 5's single files
                with contextlib.suppress(OSError):
                    (self.dir / old).unlink(missing_ok=True)
        written = self._settle_records()
        for path in self.records.save(self.dir, write) if written is None else written:
            self._seen[path.name] = self._stat(path.name)

        if self._outputs is None:
            self._load_outputs()
        if self._rest is None:
            self._load_rest()
        outputs = dict(outputs)
        if state is None:
            keys, has_keys, rest = self._keys, self._has_keys, self._rest
        else:
            keys = state.get("page_keys", {})
            has_keys = "page_keys" in state
            rest = {name: value for name, value in state.items() if name != "page_keys"}
        changes: dict[int, tuple[dict, dict]] = {
            index: ({}, {}) for index in range(OUTPUT_SHARDS) if self._shard_name(index) in self._unsaved}
        self._changes(self._outputs, outputs, 0, changes)  # type: ignore[arg-type]
        self._changes(self._keys, keys, 1, changes)
        self._write_shards(changes, write)
        self._outputs, self._keys = outputs, keys

        if state is not None:
            self._save_rest(rest, has_keys, write)
            self._state = dict(state) if self._rest is not None else None

    def defer(self, name: str) -> None:
        """Leave the chunked state value ``name`` on disk when the state is read: `state` shows
        `KEPT` for it until `load_kept` reads it. For a value another process reads, brings up
        to date and saves (`save_early` there, then `adopt` here), so that this one never reads
        it (the related lists of a command: see `digest.build`). Call before the state is read."""
        self._deferred.add(name)

    def load_kept(self, name: str) -> Any | None:
        """The state value ``name`` (None when there is none), read now if it was left on disk
        (see `defer` and `save_early`); an unusable one is none, and is written by the next save."""
        if self._rest is None:
            self._load_rest()
        value = self._rest.get(name)  # type: ignore[union-attr]
        if value is KEPT:
            value = self._load_chunks(name, self._heads[name]) if name in self._heads else None
            if value is None:
                self._rest.pop(name, None)  # type: ignore[union-attr]
                self._heads.pop(name, None)
                self._unsaved.add(self._state_name)
                self._sweep = True
            else:
                self._rest[name] = value  # type: ignore[index]
            self._state = None
        return value

    def has_kept(self, name: str) -> bool:
        """Whether the state value ``name`` is on disk, unread (see `defer`)."""
        return self.state.get(name) is KEPT and name in self._heads

    def head(self, name: str) -> tuple | None:
        """How the chunked state value ``name`` was last read or saved (for `adopt`)."""
        return self._heads.get(name)

    def adopt(self, name: str, head: tuple) -> None:
        """Take the chunked state value ``name`` as another process saved it with `save_early`
        (a fork of this object, whose `head` it was; see `defer`): this object then holds
        it as `KEPT`, as after its own `save_early`."""
        if self._rest is None:
            self._load_rest()
        old = set(self._chunks_of(name, self._heads[name]) or ()) if name in self._heads else set()
        new = self._chunks_of(name, head) or []
        self._rest_files = sorted((set(self._rest_files) - old) | set(new))
        for file in (self._state_name, *new):
            self._seen[file] = self._stat(file)
        self._heads[name] = head
        self._rest[name] = KEPT  # type: ignore[index]
        self._state = None

    def save_early(self, name: str, value: Any) -> None:
        """Write the state value ``name`` now (as `save` would: the chunks that changed and
        the state file) and let go of it, and of the value it replaces: `save` is then
        given `KEPT` for it. For a large value that a build no longer reads once it is
        made (the related lists, hundreds of megabytes at 100,000 records), so that the
        processes forked after (each render worker) do not carry it.

        A value that cannot be written is simply not there for the next build (made again).
        """
        if self._outputs is None:
            self._load_outputs()
        if self._rest is None:
            self._load_rest()
        rest = dict(self._rest)  # type: ignore[arg-type]
        rest[name] = value
        self._save_rest(rest, self._has_keys, self._start_writing())
        if name in self._heads:  # (a value kept in chunks; a small one stays as it is)
            self._rest[name] = KEPT  # type: ignore[index]
        self._state = None

    def _save_rest(self, rest: dict[str, Any], has_keys: bool, write: bool) -> None:
        """Write the state other than the page keys: the changed chunks of each chunked
        value (new tokens), then the state file naming them, if anything changed. A value
        that is `KEPT` stays as `save_early` wrote it."""
        old_rest = self._rest or {}
        plain: dict[str, Any] = {}
        heads: dict[str, tuple] = {}
        writes: list[tuple[str, tuple]] = []
        keep: set[str] = set()
        for name, value in rest.items():
            if value is KEPT:
                if name in self._heads:
                    heads[name] = self._heads[name]
                    keep.update(self._chunk_name(name, index) for index in range(len(heads[name][3])))
                continue
            layout = _layout(value) if name.isidentifier() else None
            if layout is None:
                plain[name] = value
                continue
            cls, scalars, lists = layout
            before = _layout(old_rest.get(name)) if name in self._heads else None
            old_lists = before[2] if before and before[0] is cls and before[2].keys() == lists.keys() else None
            old_tokens = self._heads[name][3] if old_lists is not None else []
            tokens = []
            for index in range(-(-max(map(len, lists.values())) // CHUNK)):
                chunk = self._chunk_name(name, index)
                keep.add(chunk)
                start, stop = index * CHUNK, (index + 1) * CHUNK
                if (index < len(old_tokens) and chunk not in self._unsaved
                        and all(items[start:stop] == old_lists[field][start:stop]  # type: ignore[index]
                                for field, items in lists.items())):
                    tokens.append(old_tokens[index])
                    continue
                token = secrets.token_hex(8)
                tokens.append(token)
                writes.append((chunk, (token, {field: items[start:stop] for field, items in lists.items()})))
            heads[name] = (cls, scalars, {field: len(items) for field, items in lists.items()}, tokens)
        old_plain = {name: value for name, value in old_rest.items() if name not in self._heads}
        changed = (writes or has_keys != self._has_keys or heads != self._heads
                   or old_plain.keys() != plain.keys()
                   or any(value is not old_plain[name] and value != old_plain[name]
                          for name, value in plain.items()))
        gone = [name for name in self._rest_files if name not in keep]
        if any(value is KEPT for value in rest.values()):
            rest = None  # read back from the files on next use (no build of this object needs it)
        self._rest, self._has_keys, self._heads = rest, has_keys, heads
        self._rest_files = sorted(keep)
        if not (changed or self._state_name in self._unsaved):
            return
        chunks = self._put(writes, write)  # the chunks first: the state file names them
        if self._put([(self._state_name, (plain, has_keys, heads))], write and chunks):
            for chunk in gone:
                with contextlib.suppress(OSError):
                    (self.dir / chunk).unlink(missing_ok=True)
            if self._sweep:
                self._sweep = False
                with contextlib.suppress(OSError):
                    for leftover in self.dir.glob(f"state-{self.out_key}-*.pickle"):
                        if leftover.name not in keep:
                            leftover.unlink(missing_ok=True)

    def _changes(self, old: dict[str, Any], new: dict[str, Any], slot: int,
                 changes: dict[int, tuple[dict, dict]]) -> None:
        """Note in ``changes[shard][slot]`` each entry added, changed (new value) or removed
        (`_GONE`) from ``old`` to ``new``. Unchanged entries (mostly the very same objects)
        cost a lookup each; only changed ones are hashed to their shard."""
        if new is old:
            return
        shard = self._out_shard
        moved, gone = delta(old, new)  # (values that are not the very object they were: compared here)
        for path, value in moved.items():
            if old.get(path, _GONE) != value:
                changes.setdefault(shard(path), ({}, {}))[slot][path] = value
        for path in gone:
            changes.setdefault(shard(path), ({}, {}))[slot][path] = _GONE

    def _write_shards(self, changes: dict[int, tuple[dict, dict]], write: bool) -> None:
        """Apply ``changes`` to the manifest shards and write those (an empty one's file is
        deleted); a shard that cannot be written (every one, when ``write`` is false) is
        due at the next save."""
        pending = sorted(changes)
        for index in pending:
            part = tuple(dict(values) for values in self._parts[index])
            for values, changed in zip(part, changes[index], strict=True):
                for path, value in changed.items():
                    if value is _GONE:
                        values.pop(path, None)
                    else:
                        values[path] = value
            self._parts[index] = part  # type: ignore[assignment]
        program = _program()
        self._put([(self._shard_name(index), (*self._parts[index], index, program) if any(self._parts[index])
                    else None) for index in pending], write)

    def _put(self, parts: list[tuple[str, Any]], write: bool) -> bool:
        """`write_parts` with the bookkeeping: what was written is noted as seen, the rest
        as due at the next save. True when every part was written."""
        done = write_parts(self.dir, parts, write)
        for name, _ in parts[:done]:
            self._seen[name] = self._stat(name)
            self._unsaved.discard(name)
        self._unsaved.update(name for name, _ in parts[done:])
        return done == len(parts)

    def saved_plan(self, size: int, accept: Callable[[str], bool]) -> tuple[bytes, int] | None:
        """The plan the last build saved for this output folder with `save_plan` (the file's
        bytes and where the plan starts in them), if ``accept`` takes the label it was saved
        with (``size`` characters, see `digest.plan.plan_label`) and this program saved it
        (the stamp of every cache file); else None, read no further than that."""

        def usable(head: bytes) -> bool:
            label = head[:-1].decode("ascii", "replace")
            return head.endswith(b"\n") and len(label) == size and accept(label)

        saved = read_signed(self.dir / f"plan-{self.out_key}.pickle", size + 1, usable)
        return None if saved is None else (saved[0], saved[1] + size + 1)

    def save_plan(self, label: str, data: Part) -> None:
        """Keep a plan (`digest.plan.write_plan` or `digest.plan.dump_plan`) under ``label`` for
        the next build; an unwritable cache keeps none. (Tens of megabytes at 10,000 records:
        it is written as it is made, or as it is, without copies.)"""
        with contextlib.suppress(OSError):
            write_signed(self.dir / f"plan-{self.out_key}.pickle", [f"{label}\n".encode(), data])

    @property
    def search_pending(self) -> bool:
        """True when a build changed pages but its search index update was cancelled."""
        return (self.dir / f"search-pending-{self.out_key}").exists()

    def mark_search(self, pending: bool) -> None:
        """Record whether the search index lags behind the pages (see `search_pending`)."""
        marker = self.dir / f"search-pending-{self.out_key}"
        with contextlib.suppress(OSError):  # unwritable: the next change re-indexes anyway
            if pending:
                self.dir.mkdir(parents=True, exist_ok=True)
                marker.touch()
            else:
                marker.unlink(missing_ok=True)

    def save_summary(self, fingerprint: str, out: Path, result: Any, racy_inputs: Mapping[str, str]) -> None:
        """Remember a finished build's inputs fingerprint and result, for `last_build`, with the
        `content_digest` the build read of each record whose stat it could not trust (see `racy`)."""
        with contextlib.suppress(OSError):  # unwritable: the next build just checks everything
            write_blob(self._summary_path, (fingerprint, out, result, dict(racy_inputs)))
