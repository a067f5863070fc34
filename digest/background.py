"""Run one pure function in a forked child process while the caller goes on with other work.

The build uses it to score related articles (single-threaded, most of a second per
10,000 records) on two cores: half the articles in a child, half in the caller.
The child inherits the arguments as they are in memory (nothing is pickled on the
way in); only the answer comes back, pickled, through a pipe. Where forking is not
possible or safe (no ``os.fork``, other threads running), or the child fails, the
function simply runs in the caller: the answer is the same either way.

`children_die_with_parent` makes every process the main thread forks from then on end with
the process that forked it (the ``digest`` command calls it): a build killed with SIGKILL left its parse
workers waiting on their queue for good, and its render workers printing tracebacks.
"""

from __future__ import annotations

import operator
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from itertools import compress, repeat
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


class Resident(Generic[T]):
    """A child forked once that keeps a copy of a dict and answers one function of it, at each
    `ask`, while the caller goes on: for a long-lived process whose memory grows large.

    Each fork of such a process costs it more than the fork: every page it writes afterwards
    faults once (``digest build --watch`` at 100,000 records: 2 GB, 355,000 faults per build);
    and a child forked then and kept would hold the old copy of every page the caller writes
    later (twice the memory). So this child is forked at the first `ask`, while the caller is
    still small (a watching process's first build, before it reads any record), and never
    again: at each `ask` it is sent the entries changed since the last (found by identity, as
    the caller replaces values, never changes them in place), all of them if need be, and
    computes ``function(*args, mapping)``. If it fails, answers are computed here from then on.
    It is forked even while other threads run: it takes no lock another thread could hold at
    the fork, for a ``function`` that makes only system calls and plain data (its other file
    descriptors are closed: a lock file among them stayed locked). It ends at `close`, or when
    the caller's process ends (its pipe closes).
    """

    def __init__(self, function: Callable[..., T]):
        self._function = function
        self._pid = 0
        self._requests = self._answers = -1
        self._held: dict = {}
        """The dict the child's copy equals (the caller's object, as last asked about)."""
        self._asked = 0
        """The number of the last question (the answer says which it answers)."""
        self._unread = False
        """Whether the last answer is still in the pipe (a build that failed before reading it)."""
        self._failed = not hasattr(os, "fork")
        """Whether answers are computed here (the child failed: it is not forked again, from a
        caller that is large by then)."""

    def ask(self, mapping: dict, *args: Any) -> Callable[[], T]:
        """Ask for ``function(*args, mapping)``: a function that waits for the answer (the
        child's, or if it failed, one computed then, here)."""
        fallback = partial(self._function, *args, mapping)
        if self._failed:
            return fallback
        if self._unread:  # (read first: else the child may wait to write it while this writes)
            self._answer(self._asked, fallback)
            if self._failed:
                return fallback
        if self._pid:
            changed, gone = delta(self._held, mapping)
        else:
            self._start(mapping)
            changed, gone = {}, []
        self._asked += 1
        try:
            _send(self._requests, (self._asked, changed, gone, args))
        except OSError:
            self.close()
            self._failed = True
            return fallback
        self._held, self._unread = mapping, True
        return partial(self._answer, self._asked, fallback)

    def _start(self, mapping: dict) -> None:
        requests, theirs = os.pipe()
        answers, ours = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: answer until the pipe closes, and leave without any cleanup
            status = 1
            try:
                _close_all_but(requests, ours)
                _serve(self._function, dict(mapping), requests, ours)
                status = 0
            finally:
                os._exit(status)
        os.close(requests)
        os.close(ours)
        self._pid, self._requests, self._answers = pid, theirs, answers

    def _answer(self, number: int, fallback: Callable[[], T]) -> T:
        if self._pid and self._unread and number == self._asked:
            self._unread = False
            try:
                answered = _receive(self._answers)
            except (OSError, EOFError, pickle.UnpicklingError):
                answered = None
            if answered is not None and answered[0] == number:
                return answered[1]
            self.close()
            self._failed = True
        return fallback()

    def close(self) -> None:
        """End the child (a no-op without one); the next `ask` forks another."""
        for fd in (self._requests, self._answers):
            if fd >= 0:
                os.close(fd)
        self._requests = self._answers = -1
        self._held, self._unread = {}, False
        if self._pid:
            pid, self._pid = self._pid, 0
            with suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _close_all_but(*keep: int) -> None:
    """Close every file descriptor past stderr but ``keep``."""
    start = 3
    for fd in sorted(keep):
        os.closerange(start, fd)
        start = fd + 1
    os.closerange(start, max(os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 0, 65536))


_ABSENT = object()


def delta(old: dict, new: dict) -> tuple[dict, list]:
    """What turns ``old`` into ``new``: the entries of ``new`` that are not the very object
    ``old`` holds (found in C: a caller that replaces values, never changes them in place,
    leaves the rest identical), and the keys gone (a set of all of ``old``'s keys is made only
    when the counts say some went)."""
    keys = new.keys()
    changed = {key: new[key] for key in
               compress(keys, map(operator.is_not, map(old.get, keys, repeat(_ABSENT)), new.values()))}
    added = sum(key not in old for key in changed)
    gone = list(old.keys() - keys) if len(old) + added != len(new) else []
    return changed, gone


def _serve(function: Callable[..., Any], mapping: dict, requests: int, answers: int) -> None:
    """A `Resident`'s child: for each question, bring ``mapping`` up to date and answer."""
    while True:
        try:
            number, changed, gone, args = _receive(requests)
        except EOFError:
            return
        for key in gone:
            mapping.pop(key, None)
        mapping.update(changed)
        _send(answers, (number, function(*args, mapping)))


def _send(fd: int, value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(len(data).to_bytes(8, "little") + data)
    while view:
        view = view[os.write(fd, view):]


def _receive(fd: int) -> Any:
    """The next value `_send` wrote to ``fd``; EOFError when the other end closed."""
    size = int.from_bytes(_exactly(fd, 8), "little")
    return pickle.loads(_exactly(fd, size))


def _exactly(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


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


_PR_SET_PDEATHSIG = 1
"""Linux's ``prctl`` option: the signal a process gets when the thread that forked it ends."""

_forker = 0
"""The process id of the process forking (set just before each fork, read in the child)."""

_prctl: Callable[..., int] | None = None
"""libc's ``prctl``, found once (before any fork), when `children_die_with_parent` is on."""

_main = 0
"""The thread that turned `children_die_with_parent` on (the main thread): only the processes it
forks die with it."""


def children_die_with_parent() -> bool:
    """From now on, every process this thread (the main one) forks (workers, `Pending` children,
    their own children) is killed by the kernel (SIGKILL) when this thread ends, however it
    ends: a ``kill -9`` of the build, too, which no handler sees. True when the system offers it
    (Linux's ``prctl(PR_SET_PDEATHSIG)``); elsewhere nothing changes.

    Only this thread's: the kernel's signal comes when the *thread* that forked a child ends.
    A multiprocessing pool with ``maxtasksperchild`` (the render pool's) forks replacement
    workers from its worker-handler thread, which ends as the pool closes; asked to die then,
    one of them was killed holding the pool's task-queue lock, and the pool's ``terminate``
    waited for it forever (a 100,000-record build hung). Such workers end of themselves when the
    build is killed (their pipes break).

    Children that outlived a killed build held their share of its memory and a core each, for
    good (parse workers wait on their queue, whose other end they hold themselves). The build
    always waits for what it forked before the forking thread goes on (a pool is shut down, a
    `Pending` answer read), so no child is cut short by it. Called once, by the ``digest``
    command (a program using digest as a library decides for its own processes); a second call
    changes nothing. Costs one system call per fork. Programs a build runs (Pagefind) are
    started with ``subprocess``, which runs no such hook: see `program_dies_with_parent`.
    """
    global _prctl, _main
    if _prctl is not None:
        return True
    if not hasattr(os, "register_at_fork") or not sys.platform.startswith("linux"):
        return False
    import ctypes  # (here: 4 ms to import, which only the command pays, once)

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # (no C library to load, or one without prctl)
        return False
    prctl.restype = ctypes.c_int
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    _prctl = prctl
    _main = threading.get_ident()
    os.register_at_fork(before=_note_forker, after_in_child=_die_with_parent)
    return True


def _note_forker() -> None:
    global _forker
    _forker = os.getpid()


def _die_with_parent() -> None:
    """In a child just forked by the main thread (its one thread is the one that forked it, with
    the same ident): ask for SIGKILL when its parent ends; and end at once if the parent is gone
    already (it ended between the fork and this call, and no signal will come)."""
    if _prctl is not None and threading.get_ident() == _main:
        _die_with(_forker)


def _die_with(parent: int) -> None:
    """Ask for SIGKILL when the process ``parent`` (this one's, just forked from it) ends; end
    now if it is no longer this process's parent."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # type: ignore[misc]
    if os.getppid() != parent:
        os._exit(1)


def program_dies_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` for ``subprocess.Popen`` that makes the program it starts die with this
    process as its forked children do (see `children_die_with_parent`; the request outlives the
    ``exec``), or None: when that is off, or while other threads run (``preexec_fn`` is not
    safe then; a server's builder thread starts Pagefind without it). Pagefind went on writing
    its index beside the output folder after a ``kill -9`` of the build, into the folder the
    next build's Pagefind writes in."""
    if _prctl is None or threading.active_count() > 1:
        return None
    return partial(_die_with, os.getpid())
