"""Rescoring silent learners: when a learner-course has been quiet for a rule's days.

A score otherwise moves only on events, so a learner who falls silent keeps the risk of
their last event. For each silence length the rules ask about (``inactive`` rules with
``risk_above``), the risk operator keeps a deadline per learner-course: the newest event
time in the course plus the length. When the partition's watermark (newest event time
minus the allowed lateness) passes a deadline and the learner has stayed silent, the
learner-course is rescored as of the deadline (its days since activity have grown), like
any score, and the result is kept for the rules operator, which runs later in the same
batch and decides at the same event (``RulesOperator`` keeps the same watermark).

Everything happens on event time, between two events in log order (the feature
operator calls ``tick`` before folding each event), so live and replay rescore the same
learners at the same deadlines with the same features, whatever the batches.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence

from edupulse.events.model import LearningEvent
from edupulse.events.vocabulary import Verb

__all__ = ["ALERT_OBJECT_TYPE", "SILENCE_PREFIX", "WATERMARK_KEY", "SilenceClock", "silence_event_id"]

ALERT_OBJECT_TYPE = "alert"  # alerts recorded back in our own LRS are no learner activity (as in the rules)
SILENCE_PREFIX = "S\x1f"  # state keys: newest event time of a learner-course
WATERMARK_KEY = "W\x1fwatermark"  # state key: the partition's newest event time
_SEP = "\x1f"
Rescore = Callable[[int, str, int, int], None]
"""(partition, learner-course key, quiet length, deadline): rescore it as of the deadline."""


def silence_event_id(quiet_us: int, deadline_us: int) -> str:
    """The ``event_id`` of a silence rescore (unique per learner-course and deadline)."""
    return f"silence:{quiet_us // 3_600_000_000}h:{deadline_us}"


class _Partition:
    __slots__ = ("dirty", "last", "max_seen", "queue", "queued", "results")

    def __init__(self) -> None:
        self.max_seen = -(2**62)
        self.last: dict[str, int] = {}  # learner-course key -> newest event time
        self.queue: list[tuple[int, str, int]] = []  # deadline, key, quiet length
        self.queued: set[tuple[str, int]] = set()
        self.dirty: set[str] = set()
        self.results: dict[tuple[str, int], float] = {}  # (key, deadline) -> risk, until the rules read it


class SilenceClock:
    """Deadlines of silence per learner-course, advanced by the partition's watermark."""

    def __init__(self, quiet_us: Sequence[int], *, allowed_lateness_us: int, rescore: Rescore) -> None:
        self.quiet_us = tuple(sorted(set(quiet_us)))
        self.lateness_us = allowed_lateness_us
        self.rescore = rescore
        self._parts: dict[int, _Partition] = {}

    def restore(self, partition: int, state: Mapping[str, bytes]) -> None:
        """Rebuild from the operator's state entries under ``SILENCE_PREFIX`` and the watermark."""
        part = self._parts[partition] = _Partition()
        for key, value in state.items():
            if key == WATERMARK_KEY:
                part.max_seen = int(value)
            elif key.startswith(SILENCE_PREFIX):
                part.last[key.removeprefix(SILENCE_PREFIX)] = int(value)
        watermark = part.max_seen - self.lateness_us
        for key in sorted(part.last):
            for quiet in self.quiet_us:
                if part.last[key] + quiet > watermark:  # not reached yet: still to judge
                    self._push(part, key, quiet)

    def revoke(self, partition: int) -> None:
        self._parts.pop(partition, None)

    def tick(self, partition: int, ev: LearningEvent) -> None:
        """One event, before it is folded: move the watermark, then note the learner's activity."""
        part = self._parts[partition]
        t = ev.event_time_us
        if t > part.max_seen:
            part.max_seen = t
            part.dirty.add(WATERMARK_KEY)
            if part.queue and part.queue[0][0] <= t - self.lateness_us:
                self._expire(partition, part, t - self.lateness_us)
        if not ev.course or (ev.object_type == ALERT_OBJECT_TYPE and ev.verb == Verb.OTHER):
            return
        key = ev.tenant + _SEP + ev.course + _SEP + ev.learner
        if t > part.last.get(key, -(2**62)):
            part.last[key] = t
            part.dirty.add(SILENCE_PREFIX + key)
            for quiet in self.quiet_us:
                if (key, quiet) not in part.queued:
                    self._push(part, key, quiet)

    def _push(self, part: _Partition, key: str, quiet: int) -> None:
        part.queued.add((key, quiet))
        heapq.heappush(part.queue, (part.last[key] + quiet, key, quiet))

    def _expire(self, partition: int, part: _Partition, watermark: int) -> None:
        queue = part.queue
        while queue and queue[0][0] <= watermark:
            _, key, quiet = heapq.heappop(queue)
            deadline = part.last[key] + quiet
            if deadline > watermark:  # active since: wait for the new deadline
                heapq.heappush(queue, (deadline, key, quiet))
                continue
            part.queued.discard((key, quiet))
            self.rescore(partition, key, quiet, deadline)

    def record(self, partition: int, key: str, deadline_us: int, risk: float) -> None:
        """The rescored risk of ``key`` at ``deadline_us``, kept until the rules read it (or the flush)."""
        self._parts[partition].results[(key, deadline_us)] = risk

    def risk_at(self, partition: int, key: str, deadline_us: int) -> float | None:
        """The risk ``key`` was rescored to at ``deadline_us`` in this batch; None if it was not."""
        part = self._parts.get(partition)
        return None if part is None else part.results.get((key, deadline_us))

    def flush(self, partition: int) -> dict[str, bytes]:
        part = self._parts[partition]
        out = {}
        for key in part.dirty:
            if key == WATERMARK_KEY:
                out[key] = str(part.max_seen).encode()
            else:
                out[key] = str(part.last[key.removeprefix(SILENCE_PREFIX)]).encode()
        part.dirty.clear()
        part.results.clear()
        return out
