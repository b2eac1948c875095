"""Group commit: appends that arrive while another is running share the next transaction.

Each caller queues its records under a key (the topic) and waits. A caller that finds
no append of its key running becomes the leader: it takes every request queued so far,
its own included, runs them as ONE append, hands each request its slice of the
results (or the error), and steps down; a waiting caller whose request was not in
that group leads the next one. Under load, the fixed cost of an append (locks, a
round trip to the brokers, a database commit) is paid once per group instead of once
per caller; a caller alone pays nothing extra.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

R = TypeVar("R")
A = TypeVar("A")


class _Request(Generic[R, A]):
    __slots__ = ("done", "error", "records", "results")

    def __init__(self, records: Sequence[R]) -> None:
        self.records = records
        self.results: list[A] | None = None
        self.error: BaseException | None = None
        self.done = False


class GroupCommit(Generic[R, A]):
    """Runs ``append(key, records) -> one result per record`` for concurrent callers in groups."""

    def __init__(self, append: Callable[[str, Sequence[R]], list[A]]) -> None:
        self._append = append
        self._cond = threading.Condition()
        self._queued: dict[str, list[_Request[R, A]]] = {}
        self._leading: set[str] = set()

    def __call__(self, key: str, records: Sequence[R]) -> list[A]:
        me: _Request[R, A] = _Request(records)
        with self._cond:
            self._queued.setdefault(key, []).append(me)
            while not me.done and key in self._leading:
                self._cond.wait()
            if not me.done:
                self._leading.add(key)
                group = self._queued.pop(key)
        if not me.done:
            try:
                self._run(key, group)
            finally:
                with self._cond:
                    self._leading.discard(key)
                    self._cond.notify_all()
        if me.error is not None:
            raise me.error
        return me.results or []

    def _run(self, key: str, group: list[_Request[R, A]]) -> None:
        try:
            results = self._append(key, [rec for req in group for rec in req.records])
        except BaseException as exc:  # every caller of the group sees its append fail
            for req in group:
                req.error, req.done = exc, True
            return
        at = 0
        for req in group:
            req.results, req.done = results[at : at + len(req.records)], True
            at += len(req.records)
