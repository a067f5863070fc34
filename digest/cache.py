"""All incremental state of a site and its on-disk format (``SITE/.digest-cache/``).

The cache holds parsed records (keyed by path, checked by stat and then by
content hash) and the manifest of the output folder (what each output file's
bytes were). It is versioned, safe to delete, and never trusted blindly: a file
that is corrupt, from another program version, or not signed with this
machine's cache key (a cache committed by someone else could otherwise run code
when unpickled) is ignored and the build starts clean.
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
FORMAT = 4
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


class RecordCache:
    """Parsed records by path: reused when the stat matches, or when the bytes hash the same."""

    def __init__(self, entries: dict[str, tuple] | None = None):
        self.entries: dict[str, tuple] = entries or {}
        """source -> (size, mtime_ns, content digest, FileResult)."""
        self.used: dict[str, tuple] = {}
        self.hits = 0
        self.changed = False

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
            self.hits += 1
            return result
        return None

    def store(self, path: str, source: str, result: FileResult) -> None:
        if result.stamp is not None:
            self.used[source] = (*result.stamp, result)
        self.changed = True

    @property
    def dirty(self) -> bool:
        """True when what this build used differs from what was loaded."""
        return self.changed or self.used.keys() != self.entries.keys()


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
    """The cache folder of one site, for one output folder; each part is read on first use."""

    def __init__(self, site: Path, out: Path):
        self.dir = site / CACHE_DIR
        self.out_key = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
        self._records: RecordCache | None = None
        self._outputs: dict[str, OutputRecord] | None = None
        self._state: dict[str, Any] | None = None

    @property
    def records(self) -> RecordCache:
        """Parsed records of the previous build."""
        if self._records is None:
            self._records = RecordCache(read_blob(self.dir / "records.pickle"))
        return self._records

    @property
    def outputs(self) -> dict[str, OutputRecord]:
        """The output manifest of the previous build into this output folder."""
        if self._outputs is None:
            self._outputs = read_blob(self.dir / f"outputs-{self.out_key}.pickle") or {}
        return self._outputs

    @property
    def state(self) -> dict[str, Any]:
        """Other incremental state (page keys, related lists, image facts)."""
        if self._state is None:
            self._state = read_blob(self.dir / f"state-{self.out_key}.pickle") or {}
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
        """Persist what this build used (entries for vanished records are dropped)."""
        try:
            (self.dir / f"summary-{self.out_key}.pickle").unlink(missing_ok=True)
            # Each part is rewritten only when it changed (pickling them is not free).
            if self.records.dirty:
                write_blob(self.dir / "records.pickle", self.records.used)
            if outputs != self.outputs:
                write_blob(self.dir / f"outputs-{self.out_key}.pickle", outputs)
            if state is not None and state != self.state:
                write_blob(self.dir / f"state-{self.out_key}.pickle", state)
        except OSError:
            pass  # a read-only site still builds; it is just not incremental

    def save_summary(self, fingerprint: str, out: Path, result: Any) -> None:
        """Remember a finished build's inputs fingerprint and result, for `last_build`."""
        with contextlib.suppress(OSError):  # unwritable: the next build just checks everything
            write_blob(self.dir / f"summary-{self.out_key}.pickle", (fingerprint, out, result))
