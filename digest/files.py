"""Reading the site's own files: regular files only, and never more bytes than asked for.

Kept apart from `digest.load` (which parses records and imports YAML, Markdown and the
rest) so that the build cache and a build that finds nothing changed read files without
importing the parsers.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

MAX_RECORD_BYTES = 4 * 1024 * 1024
"""Records larger than this are refused (real ones are a few kB)."""


class NotRegular(OSError):
    """A path that is no regular file when it is opened (see `read_regular`)."""


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


def open_regular(path: str | Path) -> tuple[BinaryIO, os.stat_result]:
    """The regular file at ``path`` opened for reading (without blocking), and its stat;
    `NotRegular` for anything else (a named pipe, a device, a folder): opening a named pipe
    waited forever for a writer, and a link to ``/dev/zero`` never ended."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular("not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb"), st


def read_regular(path: str | Path, limit: int) -> tuple[bytes, os.stat_result]:
    """Up to ``limit`` bytes of the regular file at ``path``, and its stat.

    Opened without blocking, and refused (`NotRegular`) unless the open file is regular: the
    walk saw a regular file, but a named pipe, or a link to ``/dev/zero``, put in its place
    since (or raced in) made the read wait forever for a writer, or fill the memory.
    """
    handle, st = open_regular(path)
    with handle:
        # Sized by the stat: reading up to the limit made each read allocate (and give
        # back) a 4 MiB buffer, three times the cost of the read in a parse worker.
        raw = handle.read(min(st.st_size + 1, limit))
        if len(raw) == st.st_size + 1 < limit:  # it grew since the stat: read on to the limit
            raw += handle.read(limit - len(raw))
    return raw, st
