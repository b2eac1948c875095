"""The ``due_not_started`` rule: an assignment due within N hours that a learner has not started.

Where assignments and due times come from:

* events: any event whose mapping knows a due time carries it as the ``due_us``
  extension (OULAD assessments; xAPI statements with the context extension
  ``https://edupulse.dev/xapi/extensions/due``). The assignment is the event's object,
  in the event's course, for the learner of the event.
* the rules file's ``calendar``: (course, assignment, due) entries that apply to every
  learner seen in the course.

A learner has *started* an assignment once any event of theirs on its object has a
verb of starting or attempting (``started``, ``initialized``, ``launched``,
``progressed``, ``completed`` and the attempt verbs); viewing it is not starting it.

Deadlines are judged on the partition's watermark, as ``inactive`` is: when the
watermark passes ``due - hours``, each learner of the partition who has the assignment
and has not started it is alerted, once per assignment and due time, dated at
``due - hours``. If the watermark is already past the due time (the partition's event
time jumped over the whole warning window), it is too late to warn, and nothing is
raised. All of it depends on events in log order only: live equals replay.

The state lives under keys of its own (``\\x00due\\x1f`` + learner) in the rules
operator's state, which drives it (``insights.rules``).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import msgspec

from edupulse.events.model import LearningEvent
from edupulse.events.vocabulary import ATTEMPT_VERBS, Verb
from edupulse.insights.rule_file import CalendarEntry, DueNotStartedRule

__all__ = ["DUE_EXTENSION", "START_VERBS", "STATE_PREFIX", "DueRules", "DueWarning", "RaiseDue"]

DUE_EXTENSION = "due_us"
STATE_PREFIX = "\x00due\x1f"
START_VERBS = ATTEMPT_VERBS | {Verb.STARTED, Verb.INITIALIZED, Verb.LAUNCHED, Verb.PROGRESSED, Verb.COMPLETED}
_SEP = "\x1f"


class DueWarning(NamedTuple):
    """A learner to warn: an assignment due at ``due_us``, not started at ``warn_us``."""

    lkey: str
    rule: DueNotStartedRule
    course: str
    assignment: str
    due_us: int
    warn_us: int


RaiseDue = Callable[[DueWarning], None]


class LearnerDue(msgspec.Struct, array_like=True, gc=False):
    """What the due rule remembers of one learner."""

    courses: dict[str, int] = msgspec.field(default_factory=dict)  # calendar course -> first event time
    due: dict[str, int] = msgspec.field(default_factory=dict)  # course, assignment -> due time events gave
    started: dict[str, int] = msgspec.field(default_factory=dict)  # course, assignment -> first start seen
    done: dict[str, int] = msgspec.field(default_factory=dict)  # rule, course, assignment -> due time judged


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(LearnerDue).decode


class _Part:
    __slots__ = ("dirty", "learners", "queue")

    def __init__(self) -> None:
        self.learners: dict[str, LearnerDue] = {}
        self.queue: list[tuple[int, str, str, str, int, int]] = []  # warn at, lkey, course, assignment, due, rule
        self.dirty: set[str] = set()


class DueRules:
    """Tracks assignments, starts and warning deadlines of the partitions the rules operator owns."""

    def __init__(self, rules: Sequence[DueNotStartedRule], calendar: Sequence[CalendarEntry]) -> None:
        self.rules = list(rules)
        self.calendar: dict[str, list[tuple[str, int]]] = {}
        for entry in calendar:
            self.calendar.setdefault(entry.course, []).append((entry.assignment, entry.due_us))
        self._parts: dict[int, _Part] = {}

    def restore(self, partition: int, state: Mapping[str, bytes]) -> None:
        """Load this helper's keys (learner keys, prefix stripped) and queue every open deadline."""
        part = self._parts[partition] = _Part()
        for lkey in sorted(state):
            learner = part.learners[lkey] = _decode(state[lkey])
            for course in learner.courses:
                for assignment, due in self.calendar.get(course, ()):
                    self._schedule(part, lkey, course, assignment, due)
            for akey, due in learner.due.items():
                course, assignment = akey.split(_SEP, 1)
                self._schedule(part, lkey, course, assignment, due)

    def revoke(self, partition: int) -> None:
        self._parts.pop(partition, None)

    def observe(self, partition: int, lkey: str, ev: LearningEvent, course: str) -> None:
        """Take note of an event: a course joined, a due time given, an assignment started.

        Starts are kept only for assignments that have (or get, from this event) a due
        time: in a calendar course, or given by an event; other learners keep no state.
        """
        part = self._parts[partition]
        learner = part.learners.get(lkey)
        akey = course + _SEP + ev.object_id
        given = ev.extensions.get(DUE_EXTENSION) if ev.extensions else None
        if not isinstance(given, int) or isinstance(given, bool):
            given = None
        in_calendar = course in self.calendar
        if learner is None:
            if not in_calendar and given is None:
                return
            learner = part.learners[lkey] = LearnerDue()
        if in_calendar and course not in learner.courses:
            learner.courses[course] = ev.event_time_us
            for assignment, due in self.calendar[course]:
                self._schedule(part, lkey, course, assignment, due)
            part.dirty.add(lkey)
        if given is not None and learner.due.get(akey) != given:
            learner.due[akey] = given
            self._schedule(part, lkey, course, ev.object_id, given)
            part.dirty.add(lkey)
        if ev.verb in START_VERBS and akey not in learner.started and (in_calendar or akey in learner.due):
            learner.started[akey] = ev.event_time_us
            part.dirty.add(lkey)

    def expire(self, partition: int, watermark: int, raise_alert: RaiseDue) -> None:
        """Warn every learner whose warning time the watermark has passed, if not started and not too late."""
        part = self._parts[partition]
        queue = part.queue
        while queue and queue[0][0] <= watermark:
            warn_at, lkey, course, assignment, due, i = heapq.heappop(queue)
            learner = part.learners[lkey]
            akey = course + _SEP + assignment
            rule = self.rules[i]
            done_key = rule.name + _SEP + akey
            if akey in learner.started or due <= watermark or learner.done.get(done_key) == due:
                continue
            learner.done[done_key] = due
            part.dirty.add(lkey)
            raise_alert(DueWarning(lkey, rule, course, assignment, due, warn_at))

    def flush(self, partition: int) -> dict[str, bytes]:
        """The changed learners' state, under this helper's keys."""
        part = self._parts[partition]
        out = {STATE_PREFIX + lkey: _encode(part.learners[lkey]) for lkey in part.dirty}
        part.dirty.clear()
        return out

    def _schedule(self, part: _Part, lkey: str, course: str, assignment: str, due: int) -> None:
        for i, rule in enumerate(self.rules):
            heapq.heappush(part.queue, (due - rule.ahead_us, lkey, course, assignment, due, i))
