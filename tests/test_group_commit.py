"""Group commit: concurrent callers share appends, each gets its own results or the group's error."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from edupulse.log.group_commit import GroupCommit


def test_callers_that_arrive_during_an_append_share_the_next_one() -> None:
    calls: list[list[int]] = []
    first_running = threading.Event()
    release = threading.Event()

    def append(key: str, records: Sequence[int]) -> list[str]:
        calls.append(list(records))
        if len(calls) == 1:
            first_running.set()
            release.wait(5)
        return [f"{key}:{r}" for r in records]

    group: GroupCommit[int, str] = GroupCommit(append)
    results: dict[int, list[str]] = {}

    def call(n: int) -> None:
        results[n] = group("t", [n * 10, n * 10 + 1])

    first = threading.Thread(target=call, args=(0,))
    first.start()
    assert first_running.wait(5)
    waiting = [threading.Thread(target=call, args=(n,)) for n in (1, 2, 3)]
    for t in waiting:
        t.start()
    time.sleep(0.2)  # all three are queued behind the running append
    release.set()
    for t in [first, *waiting]:
        t.join(5)

    assert calls[0] == [0, 1]
    assert len(calls) == 2 and sorted(calls[1]) == [10, 11, 20, 21, 30, 31]
    assert results == {n: [f"t:{n * 10}", f"t:{n * 10 + 1}"] for n in range(4)}


def test_every_caller_of_a_failed_group_gets_its_error_and_the_next_group_runs() -> None:
    fail = threading.Event()
    fail.set()
    started = threading.Event()
    release = threading.Event()

    def append(key: str, records: Sequence[int]) -> list[int]:
        if records == [0]:
            started.set()
            release.wait(5)
        if fail.is_set() and records != [0]:
            fail.clear()
            raise RuntimeError("broker went away")
        return list(records)

    group: GroupCommit[int, int] = GroupCommit(append)
    outcomes: dict[int, object] = {}

    def call(n: int) -> None:
        try:
            outcomes[n] = group("t", [n])
        except RuntimeError as exc:
            outcomes[n] = str(exc)

    lead = threading.Thread(target=call, args=(0,))
    lead.start()
    assert started.wait(5)
    others = [threading.Thread(target=call, args=(n,)) for n in (1, 2)]
    for t in others:
        t.start()
    time.sleep(0.2)
    release.set()
    for t in [lead, *others]:
        t.join(5)
    assert outcomes == {0: [0], 1: "broker went away", 2: "broker went away"}
    assert group("t", [7]) == [7]  # nobody is left leading: a new caller runs at once


@pytest.mark.parametrize("keys", [("a", "b")])
def test_keys_are_grouped_apart(keys: tuple[str, str]) -> None:
    seen: list[tuple[str, list[int]]] = []
    group: GroupCommit[int, int] = GroupCommit(lambda k, r: (seen.append((k, list(r))), list(r))[1])
    assert group(keys[0], [1]) == [1] and group(keys[1], [2]) == [2]
    assert seen == [("a", [1]), ("b", [2])]
