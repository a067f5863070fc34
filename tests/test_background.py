"""A forked child gives the same answers as the caller, and a failed or abandoned one costs nothing."""

from __future__ import annotations

import os
import threading

import pytest

from digest.background import Pending, Resident, split_map
from digest.related import compute_related
from tests.test_related_incremental import make_docs

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork here")


def _pid_and_square(items: list[int]) -> list[tuple[int, int]]:
    return [(os.getpid(), i * i) for i in items]


def _fails_in_a_child(parent: int) -> str:
    if os.getpid() != parent:
        raise RuntimeError("the child fails")
    return "computed by the caller"


@needs_fork
def test_split_map_gives_the_answer_of_one_process_in_order():
    items = list(range(3000))
    answer = split_map(_pid_and_square, items)
    assert [square for _, square in answer] == [i * i for i in items]
    pids = {pid for pid, _ in answer}
    assert os.getpid() in pids and len(pids) == 2  # the second half came from a child


def test_split_map_stays_in_process_for_short_lists():
    answer = split_map(_pid_and_square, list(range(10)))
    assert {pid for pid, _ in answer} == {os.getpid()}


@needs_fork
def test_a_failing_child_means_the_caller_computes_the_answer():
    with Pending(_fails_in_a_child, (os.getpid(),)) as pending:
        assert pending.result() == "computed by the caller"


@needs_fork
def test_an_abandoned_child_is_reaped():
    pending = Pending(_pid_and_square, (list(range(200_000)),))  # more than a pipe holds
    child = pending._pid
    assert child
    pending.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)  # already reaped: no zombie left behind


def test_no_fork_while_other_threads_run():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        pending = Pending(_pid_and_square, ([1, 2],))
        assert not pending._pid
        assert pending.result() == [(os.getpid(), 1), (os.getpid(), 4)]
    finally:
        stop.set()
        thread.join()


@needs_fork
def test_related_scored_on_two_processes_equal_one():
    docs = make_docs(7, 2500)
    one, state_one = compute_related(docs, 5)
    two, state_two = compute_related(docs, 5, parallel=True)
    assert one == two
    assert state_one.results == state_two.results and state_one.vectors == state_two.vectors


@needs_fork
def test_children_reaped_by_the_system_still_give_their_answer():
    import signal

    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps children at once
    try:
        answer = split_map(_pid_and_square, list(range(3000)))
        assert [square for _, square in answer] == [i * i for i in range(3000)]
        with Pending(_fails_in_a_child, (os.getpid(),)) as pending:
            assert pending.result() == "computed by the caller"
    finally:
        signal.signal(signal.SIGCHLD, previous)


def _pid_and_summary(offset: int, mapping: dict) -> tuple[int, list]:
    return os.getpid(), sorted((key, value + offset) for key, value in mapping.items())


def _summary(offset: int, mapping: dict) -> list:
    return sorted((key, value + offset) for key, value in mapping.items())


@needs_fork
def test_a_resident_child_answers_as_the_caller_would_through_changes_of_its_dict():
    resident = Resident(_pid_and_summary)
    mapping = {f"k{n}": n for n in range(3000)}
    try:
        pid, answer = resident.ask(mapping, 1)()
        assert pid != os.getpid() and answer == _summary(1, mapping)
        for step in range(5):  # a few entries added, replaced and removed: the same child answers
            mapping = dict(mapping)
            mapping[f"new{step}"] = step
            mapping[f"k{step}"] = -step
            del mapping[f"k{100 + step}"]
            again, answer = resident.ask(mapping, step)()
            assert again == pid and answer == _summary(step, mapping)
        mapping = {f"other{n}": n for n in range(3000)}  # all of it changed: sent, to the same child
        other, answer = resident.ask(mapping, 0)()
        assert other == pid and answer == _summary(0, mapping)
    finally:
        resident.close()


@needs_fork
def test_a_resident_child_passes_an_answer_never_read_and_one_that_died_is_not_replaced():
    resident = Resident(_pid_and_summary)
    try:
        big = {f"k{n}": n for n in range(20000)}
        first = resident.ask(big, 1)  # (a build that failed before it read its answer, 300 kB)
        other = {f"j{n}": n for n in range(20000)}  # (a question as large: both pipes full)
        asked: list = []
        thread = threading.Thread(target=lambda: asked.append(resident.ask(other, 0)()), daemon=True)
        thread.start()
        thread.join(30)
        assert asked, "the unread answer was not read first: the child and the caller wait for each other"
        pid, answer = asked[0]
        assert pid != os.getpid() and answer == _summary(0, other)
        assert first() == (os.getpid(), _summary(1, big))  # (read late: computed here, the same)
        os.kill(pid, 9)
        here, answer = resident.ask({"a": 5}, 0)()  # (its pipe is broken: answered here)
        assert here == os.getpid() and answer == [("a", 5)]
        later, answer = resident.ask({"a": 6}, 0)()  # (and from then on: the caller is large by now)
        assert later == os.getpid() and answer == [("a", 6)]
    finally:
        resident.close()


@needs_fork
def test_a_resident_child_is_forked_beside_other_threads_and_ends_with_close():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    resident = Resident(_pid_and_summary)
    try:
        pid, _ = resident.ask({"a": 1}, 0)()
        assert pid != os.getpid()
    finally:
        resident.close()
        stop.set()
        thread.join()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
