"""All incremental state of a site and its on-disk format (``SITE/.digest-cache/``).

The cache holds parsed records (keyed by path, checked by stat and then by
content hash; spread over `SHARDS` files so that an edit rewrites one of them)
and the manifest of the output folder (what each output file's bytes were).
A `BuildCache` can be kept in memory across builds (see `BuildCache.begin`).
It is versioned, safe to delete, and never trusted blindly: a file that is
corrupt, from another program version, or not signed with this machine's cache
key (a cache committed by someone else could otherwise run code when unpickled)
is ignored and what it held is rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import pickle
import secrets
import tempfile
from pathlib import Path
from typing import Any

from digest import toolchain
from digest.load import FileResult
from digest.write import OutputRecord, intact

CACHE_DIR = ".digest-cache"
FORMAT = 5
"""Bump when the layout of cached data changes."""


def _key() -> bytes:
    """This machine's secret cache key (created once, mode 0600)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "digest"
    path = base / "cache-key"
    try:
        return path.read_bytes()
    except OSError:
        pass
    try:
        base.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return key
    except FileExistsError:
        return path.read_bytes()
    except OSError:
        return b""  # no writable home: caching is simply off


def _stamp() -> bytes:
    return f"digest-cache {FORMAT} {toolchain()}".encode()


def read_blob(path: Path) -> Any | None:
    """Unpickle ``path`` if it is signed with this machine's key and version; else None."""
    key = _key()
    if not key:
        return None
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    stamp = _stamp()
    if len(raw) < 32 + len(stamp) or raw[32: 32 + len(stamp)] != stamp:
        return None
    body = raw[32:]
    if not hmac.compare_digest(raw[:32], hmac.new(key, body, hashlib.sha256).digest()):
        return None
    try:
        return pickle.loads(body[len(stamp):])
    except Exception:  # noqa: BLE001 - a corrupt cache means a clean build, whatever broke
        return None


def write_blob(path: Path, value: Any) -> None:
    """Pickle ``value`` to ``path`` atomically, signed with this machine's key."""
    key = _key()
    if not key:
        return
    body = _stamp() + pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    signature = hmac.new(key, body, hashlib.sha256).digest()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(signature + body)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


SHARDS = 32
"""Parsed records are kept in this many files (``records-00.pickle`` ..), by a stable hash of
the source path, so that editing one record rewrites one shard rather than every record."""
_OLD_RECORDS = "records.pickle"
"""The single records file of format 4 and earlier, removed when saving."""


def shard_of(source: str) -> int:
    """The shard of a record (BLAKE2b of its source path: stable across runs and machines)."""
    digest = hashlib.blake2b(source.encode("utf-8", "surrogateescape"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % SHARDS


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

    def shard(self, source: str) -> int:
        index = self._shards.get(source)
        if index is None:
            index = self._shards[source] = shard_of(source)
        return index

    def begin(self) -> None:
        """Forget this build's bookkeeping (``used``, ``hits``, dirty shards); keep ``entries``."""
        self.used = {}
        self.hits = 0
        self.changed = False
        self._dirty = set()

    def lookup(self, path: str, source: str) -> FileResult | None:
        entry = self.entries.get(source)
        if entry is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        size, mtime_ns, digest, result = entry
        if st.st_size == size and st.st_mtime_ns == mtime_ns:
            self.used[source] = entry
            self.hits += 1
            return result
        try:
            raw = Path(path).read_bytes()
        except OSError:
            return None
        if hashlib.blake2b(raw, digest_size=16).hexdigest() == digest:
            self.used[source] = (st.st_size, st.st_mtime_ns, digest, result)
            self.changed = True
            self._dirty.add(self.shard(source))
            self.hits += 1
            return result
        return None

    def store(self, path: str, source: str, result: FileResult) -> None:
        if result.stamp is not None:
            self.used[source] = (*result.stamp, result)
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
        dirty = self.dirty_shards()
        parts: dict[int, dict[str, tuple]] = {index: {} for index in dirty}
        if parts and write:
            memo = self._shards  # filled for every used source by the read, lookup or store
            for source, entry in self.used.items():
                index = memo.get(source)
                part = parts.get(self.shard(source) if index is None else index)
                if part is not None:
                    part[source] = entry
        done: list[Path] = []
        pending = sorted(dirty)
        while pending and write:
            path = folder / shard_name(pending[0])
            try:
                if parts[pending[0]]:
                    write_blob(path, parts[pending[0]])
                else:
                    path.unlink(missing_ok=True)
            except OSError:
                break  # most likely an unwritable folder: do not pickle the rest in vain
            done.append(path)
            pending.pop(0)
        self._unsaved = set(pending)
        self.entries = self.used
        self.begin()
        return done


def inputs_fingerprint(roots: list[Path], files: list[Path], extra: str) -> str:
    """Digest of every input's path, size and mtime (plus ``extra``): equal means nothing changed.

    ``roots`` are walked recursively (hidden entries skipped, links followed as
    the loader does); ``files`` are single files that may be missing.
    """
    h = hashlib.blake2b(extra.encode(), digest_size=16)

    def walk(folder: Path) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            h.update(b"\0missing\0" + str(folder).encode())
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    h.update(f"d\0{entry.path}\0".encode())
                    walk(Path(entry.path))
                    continue
                st = entry.stat()
            except OSError:
                continue
            h.update(f"f\0{entry.path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode(
                "utf-8", "surrogateescape"))

    for root in roots:
        h.update(f"root\0{root}\0".encode())
        walk(root)
    for path in files:
        try:
            st = os.stat(path)
            h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode())
        except OSError:
            h.update(f"{path}\0missing\n".encode())
    return h.hexdigest()


class BuildCache:
    """The cache folder of one site, for one output folder; each part is read on first use.

    One object can serve many builds in one process (the dev server keeps one):
    call `begin` at the start of each build. After `save` the object holds
    exactly what was saved, as if read back from disk, so the next build reads
    no cache file at all; a part whose file another process rewrote since is read
    again by `begin`. What `outputs` and `state` return must be treated as read-only.
    """

    def __init__(self, site: Path, out: Path):
        self.dir = site / CACHE_DIR
        self.out_key = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
        self._records: RecordCache | None = None
        self._outputs: dict[str, OutputRecord] | None = None
        self._state: dict[str, Any] | None = None
        self._outputs_name = f"outputs-{self.out_key}.pickle"
        self._state_name = f"state-{self.out_key}.pickle"
        self._seen: dict[str, tuple[int, int, int] | None] = {}
        """File name -> its stat when this object last read or wrote it."""
        self._unsaved: set[str] = set()
        """Parts (file names) whose last write failed: written by the next save."""
        self._for = (site.resolve(), out.resolve())

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

    def begin(self) -> None:
        """Start a build with this object: reset the per-build bookkeeping of `records`
        (what was looked up, hits, dirty shards) and drop any part whose files were
        rewritten by someone else since (it is read again on first use).
        Not needed for a fresh object, harmless on one."""
        if self._records is not None:
            if any(self._moved(shard_name(index)) for index in range(SHARDS)):
                self._records = None
            else:
                self._records.begin()
        if self._outputs is not None and self._moved(self._outputs_name):
            self._outputs = None
            self._unsaved.discard(self._outputs_name)
        if self._state is not None and self._moved(self._state_name):
            self._state = None
            self._unsaved.discard(self._state_name)

    @property
    def records(self) -> RecordCache:
        """Parsed records of the previous build (every shard is read on first use)."""
        if self._records is None:
            records = RecordCache()
            entries = records.entries
            for index in range(SHARDS):
                name = shard_name(index)
                part = self._read(name)
                if not isinstance(part, dict):
                    if self._seen[name] is not None:
                        records._unsaved.add(index)  # unusable: rewritten (or deleted) by the next save
                    continue
                for source, entry in part.items():
                    if isinstance(source, str) and records.shard(source) == index:
                        entries[source] = entry
                    else:
                        records._unsaved.add(index)
            self._records = records
        return self._records

    @property
    def outputs(self) -> dict[str, OutputRecord]:
        """The output manifest of the previous build into this output folder."""
        if self._outputs is None:
            self._outputs = self._read(self._outputs_name) or {}
        return self._outputs

    @property
    def state(self) -> dict[str, Any]:
        """Other incremental state (page keys, related lists, image facts)."""
        if self._state is None:
            self._state = self._read(self._state_name) or {}
        return self._state

    def last_build(self, fingerprint: str) -> Any | None:
        """The summary saved by the previous build if its inputs had ``fingerprint``
        and every output it made is still in place, unmodified; else None."""
        saved = read_blob(self.dir / f"summary-{self.out_key}.pickle")
        if not saved or saved[0] != fingerprint:
            return None
        out = saved[1]
        if not all(intact(out, path, record) for path, record in self.outputs.items()):
            return None
        return saved[2]

    def save(self, outputs: dict[str, OutputRecord], state: dict[str, Any] | None = None) -> None:
        """Persist what this build used (entries for vanished records are dropped).

        Only what changed is written: the dirty record shards, and the manifest
        and state when they differ from the previous ones. Afterwards this object
        holds what was saved, ready for the next build, even when the cache folder
        is unwritable (then nothing is written and nothing is raised).
        """
        try:
            (self.dir / f"summary-{self.out_key}.pickle").unlink(missing_ok=True)
            write = True
        except OSError:
            write = False  # a read-only site still builds; it is just not incremental on disk
        if write:
            with contextlib.suppress(OSError):
                (self.dir / _OLD_RECORDS).unlink(missing_ok=True)  # format 4's single file
        for path in self.records.save(self.dir, write):
            self._seen[path.name] = self._stat(path.name)
        outputs = dict(outputs)
        if outputs != self.outputs or self._outputs_name in self._unsaved:
            write = self._write(self._outputs_name, outputs, write)
        self._outputs = outputs
        if state is not None:
            if state != self.state or self._state_name in self._unsaved:
                self._write(self._state_name, state, write)
            self._state = state

    def _write(self, name: str, value: Any, write: bool) -> bool:
        """Write one part (unless ``write`` is false); False when it was not written."""
        if write:
            try:
                write_blob(self.dir / name, value)
            except OSError:
                write = False
        if write:
            self._seen[name] = self._stat(name)
            self._unsaved.discard(name)
        else:
            self._unsaved.add(name)
        return write

    def save_summary(self, fingerprint: str, out: Path, result: Any) -> None:
        """Remember a finished build's inputs fingerprint and result, for `last_build`."""
        with contextlib.suppress(OSError):  # unwritable: the next build just checks everything
            write_blob(self.dir / f"summary-{self.out_key}.pickle", (fingerprint, out, result))
