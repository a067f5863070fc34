"""Run one pure function in a forked child process while the caller goes on with other work.

The build uses it to score related articles (single-threaded, most of a second per
10,000 records) on two cores: half the articles in a child, half in the caller.
The child inherits the arguments as they are in memory (nothing is pickled on the
way in); only the answer comes back, pickled, through a pipe. Where forking is not
possible or safe (no ``os.fork``, other threads running), or the child fails, the
function simply runs in the caller: the answer is the same either way.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Pending(Generic[T]):
    """An answer being computed; `result` waits for it, `close` abandons it."""

    def __init__(self, function: Callable[..., T], args: tuple[Any, ...], fork: bool = True):
        self._function = function
        self._args = args
        self._pid = 0
        self._read = -1
        if fork and _can_fork():
            self._start()

    def _start(self) -> None:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: compute, send, and leave without running any cleanup
            status = 1
            try:
                os.close(read)
                data = pickle.dumps(self._function(*self._args), protocol=pickle.HIGHEST_PROTOCOL)
                view = memoryview(data)
                while view:
                    view = view[os.write(write, view):]
                status = 0
            finally:
                os._exit(status)
        os.close(write)
        self._pid, self._read = pid, read

    @property
    def running(self) -> bool:
        """True when a child computes the answer (until `result` or `close`); else `result`
        will compute it here."""
        return self._pid != 0

    def result(self) -> T:
        """The answer: the child's, or (without a child, or if it failed) computed here."""
        if not self._pid:
            return self._function(*self._args)
        chunks = []
        with os.fdopen(self._read, "rb") as pipe:
            self._read = -1
            while chunk := pipe.read(1 << 20):
                chunks.append(chunk)
        status = self._reap()
        if status not in (0, None) or not chunks:
            return self._function(*self._args)  # the child failed: the same answer, here
        try:
            return pickle.loads(b"".join(chunks))
        except Exception:  # noqa: BLE001 - a child cut short mid-answer: compute it here instead
            return self._function(*self._args)

    def close(self) -> None:
        """Stop a child whose answer is no longer wanted (a no-op after `result`)."""
        if self._read >= 0:
            os.close(self._read)  # a child still writing gets EPIPE and exits
            self._read = -1
        if self._pid:
            self._reap()

    def _reap(self) -> int | None:
        """The child's exit status; None when it was reaped already (SIGCHLD ignored)."""
        pid, self._pid = self._pid, 0
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return None
        return status

    def __enter__(self) -> Pending[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def split_map(function: Callable[[list], list], items: list, least: int = 1000) -> list:
    """``function(items)`` for a ``function`` that maps a list item by item, computed as
    two halves at once: the second half in a forked child (when there are at least
    ``least`` items and forking is possible), the first here."""
    if len(items) < least or not _can_fork():
        return function(items)
    half = len(items) // 2
    with Pending(function, (items[half:],)) as second:
        first = function(items[:half])
        return first + second.result()


def _can_fork() -> bool:
    """Fork only where it is cheap and safe: POSIX, and no other thread that could hold a lock."""
    return hasattr(os, "fork") and threading.active_count() == 1
