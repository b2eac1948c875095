"""Did the learner come back? Re-engagement after an alert, on event time.

Every alert the rules raise starts a watch of ``reengage_days`` (a rule field, default
7): the first event of the learner in the alert's course with an event time after the
alert's and within the watch re-engages it; the row gets ``outcome = 'reengaged'`` and
``reengaged_us``, that event's time. When the partition's watermark passes the end of
the watch first, the outcome is ``not_reengaged``. Until then it is ``pending``.

Like the rules it is decided on events in log order only (live equals replay). An
event arriving after the watch closed does not count, even if its event time falls
inside it (the allowed lateness is the margin for that); nor does an event dated at or
before the alert.

The watches live in the rules operator's state under keys of their own
(``\\x00re\\x1f`` + learner); the operator calls ``track`` when it raises an alert,
``observe`` on each event, ``expire`` as the watermark moves, and merges the changed
rows into the ``alerts`` view.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping

import msgspec

from edupulse.stream.store.base import Row

__all__ = ["OUTCOMES", "STATE_PREFIX", "Watch", "Watches"]

STATE_PREFIX = "\x00re\x1f"
OUTCOMES = ("pending", "reengaged", "not_reengaged")
_SEP = "\x1f"


class Watch(msgspec.Struct, array_like=True, gc=False, frozen=True):
    """One alert waiting for its learner to come back."""

    alert_id: str
    rule: str
    course: str
    opened_us: int
    until_us: int
    reason: str


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(list[Watch]).decode


class Watches:
    """The open watches of one partition, by learner, with their deadlines in a heap."""

    __slots__ = ("dirty", "learners", "queue")

    def __init__(self) -> None:
        self.learners: dict[str, list[Watch]] = {}
        self.queue: list[tuple[int, str, str]] = []  # until, learner key, alert id
        self.dirty: set[str] = set()

    def restore(self, state: Mapping[str, bytes]) -> None:
        """Load the watches (learner keys, prefix stripped) and queue their deadlines."""
        for lkey in sorted(state):
            watches = self.learners[lkey] = _decode(state[lkey])
            for w in watches:
                heapq.heappush(self.queue, (w.until_us, lkey, w.alert_id))

    def track(self, lkey: str, watch: Watch) -> Row:
        """Start watching an alert; the alert's row with outcome ``pending``."""
        self.learners.setdefault(lkey, []).append(watch)
        heapq.heappush(self.queue, (watch.until_us, lkey, watch.alert_id))
        self.dirty.add(lkey)
        return _row(lkey, watch, "pending", None)

    def observe(self, lkey: str, course: str, t: int) -> list[Row]:
        """An event of the learner in a course at event time ``t``: the alerts it re-engages."""
        watches = self.learners.get(lkey)
        if not watches:
            return []
        hit = [w for w in watches if w.course == course and w.opened_us < t <= w.until_us]
        if not hit:
            return []
        self._drop(lkey, {w.alert_id for w in hit})
        return [_row(lkey, w, "reengaged", t) for w in hit]

    def expire(self, watermark: int) -> list[Row]:
        """The alerts whose watch the watermark has closed without the learner coming back."""
        out: list[Row] = []
        queue = self.queue
        while queue and queue[0][0] < watermark:
            _, lkey, aid = heapq.heappop(queue)
            closed = [w for w in self.learners.get(lkey, ()) if w.alert_id == aid]
            if closed:  # not re-engaged meanwhile
                self._drop(lkey, {aid})
                out.append(_row(lkey, closed[0], "not_reengaged", None))
        return out

    def flush(self) -> dict[str, bytes | None]:
        """The changed learners' watches under this helper's keys (None: none left, delete)."""
        out: dict[str, bytes | None] = {}
        for lkey in self.dirty:
            watches = self.learners.get(lkey)
            out[STATE_PREFIX + lkey] = _encode(watches) if watches else None
        self.dirty.clear()
        return out

    def _drop(self, lkey: str, alert_ids: set[str]) -> None:
        left = [w for w in self.learners[lkey] if w.alert_id not in alert_ids]
        if left:
            self.learners[lkey] = left
        else:
            del self.learners[lkey]
        self.dirty.add(lkey)


def _row(lkey: str, w: Watch, outcome: str, reengaged_us: int | None) -> Row:
    tenant, learner = lkey.split(_SEP, 1)
    return {
        "tenant": tenant,
        "id": w.alert_id,
        "rule": w.rule,
        "learner": learner,
        "course": w.course,
        "opened_us": w.opened_us,
        "reason": w.reason,
        "status": "open",
        "outcome": outcome,
        "reengaged_us": reengaged_us,
    }
