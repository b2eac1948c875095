"""Engagement per learner and course, and per-course totals, on event time.

State is keyed by (tenant, course, learner) within the learner's partition. Course
totals are kept per partition too (learners never span partitions, so the partial
totals add up exactly) and summed when served.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from edupulse.events.model import LearningEvent
from edupulse.events.vocabulary import ATTEMPT_VERBS
from edupulse.insights.windows import DAY_US, Watermark, day_label
from edupulse.stream.operator import Flush
from edupulse.stream.store.base import Row, ViewSpec

__all__ = ["COURSE_VIEW", "LEARNER_VIEW", "EngagementOperator", "LearnerCourse"]

LEARNER_VIEW = ViewSpec(
    name="learner_course",
    key=("tenant", "course", "learner"),
    columns={
        "tenant": "text",
        "course": "text",
        "learner": "text",
        "events": "int",
        "active_days": "int",
        "first_seen_us": "int",
        "last_seen_us": "int",
        "time_on_task_s": "real",
        "attempts": "int",
        "scored": "int",
        "mean_score": "real",
        "late_events": "int",
        "activity": "json",
    },
    # (tenant, course, mean_score): the dashboard counts a course's learners per score band
    indexes=(("tenant", "course", "last_seen_us"), ("tenant", "learner"), ("tenant", "course", "mean_score")),
)
COURSE_VIEW = ViewSpec(
    name="course_partition",
    key=("tenant", "course", "partition"),
    columns={
        "tenant": "text",
        "course": "text",
        "partition": "int",
        "events": "int",
        "learners": "int",
        "attempts": "int",
        "score_sum": "real",
        "scored": "int",
        "time_on_task_s": "real",
        "late_events": "int",
        "daily": "json",
    },
)
_WATERMARK_KEY = "\x00watermark"
_SEP = "\x1f"


class LearnerCourse(msgspec.Struct, array_like=True, gc=False):
    """Running engagement of one learner in one course."""

    events: int = 0
    first_seen_us: int = 2**62
    last_seen_us: int = -(2**62)
    time_on_task_s: float = 0.0
    attempts: int = 0
    score_sum: float = 0.0
    scored: int = 0
    late_events: int = 0
    days: dict[int, int] = msgspec.field(default_factory=dict)


class CourseTotals(msgspec.Struct, array_like=True, gc=False):
    """One partition's share of a course's totals."""

    events: int = 0
    learners: int = 0
    attempts: int = 0
    score_sum: float = 0.0
    scored: int = 0
    time_on_task_s: float = 0.0
    late_events: int = 0
    days: dict[int, int] = msgspec.field(default_factory=dict)


class _Partition:
    __slots__ = ("courses", "dirty", "learners", "watermark")

    def __init__(self, lateness_us: int) -> None:
        self.learners: dict[str, LearnerCourse] = {}
        self.courses: dict[str, CourseTotals] = {}
        self.watermark = Watermark(lateness_us)
        self.dirty: set[str] = set()


_encode = msgspec.msgpack.Encoder().encode
_decode_learner = msgspec.msgpack.Decoder(LearnerCourse).decode
_decode_course = msgspec.msgpack.Decoder(CourseTotals).decode


class EngagementOperator:
    """Counts, active days, time on task, attempts and scores, live."""

    name: str = "engagement"
    version: str = "1"
    views: Sequence[ViewSpec] = (LEARNER_VIEW, COURSE_VIEW)

    def __init__(self, *, allowed_lateness_us: int) -> None:
        self.lateness_us = allowed_lateness_us
        self._parts: dict[int, _Partition] = {}

    def restore(self, partition: int, state: Mapping[str, bytes]) -> None:
        part = _Partition(self.lateness_us)
        for key, value in state.items():
            if key == _WATERMARK_KEY:
                part.watermark.max_seen_us = int(value)
            elif key.startswith("c" + _SEP):
                part.courses[key[2:]] = _decode_course(value)
            else:
                part.learners[key[2:]] = _decode_learner(value)
        self._parts[partition] = part

    def revoke(self, partition: int) -> None:
        self._parts.pop(partition, None)

    def process(self, partition: int, events: Sequence[LearningEvent]) -> None:  # noqa: PLR0912 - one flat pass
        part = self._parts[partition]
        learners, courses, dirty = part.learners, part.courses, part.dirty
        # The watermark, inlined: this loop runs once per event (see insights.windows).
        max_seen, lateness = part.watermark.max_seen_us, part.watermark.lateness_us
        for ev in events:
            ckey = ev.tenant + _SEP + (ev.course or "")
            lkey = ckey + _SEP + ev.learner
            state = learners.get(lkey)
            if state is None:
                state = learners[lkey] = LearnerCourse()
                totals = courses.get(ckey)
                if totals is None:
                    totals = courses[ckey] = CourseTotals()
                totals.learners += 1
            else:
                totals = courses[ckey]
            dirty.add(lkey)
            t = ev.event_time_us
            state.events += 1
            totals.events += 1
            if t < state.first_seen_us:
                state.first_seen_us = t
            if t > state.last_seen_us:
                state.last_seen_us = t
            if t > max_seen:
                max_seen = t
            if t < max_seen - lateness:
                state.late_events += 1
                totals.late_events += 1
            else:
                day = t // DAY_US
                state.days[day] = state.days.get(day, 0) + 1
                totals.days[day] = totals.days.get(day, 0) + 1
            if ev.verb in ATTEMPT_VERBS:
                state.attempts += 1
                totals.attempts += 1
            res = ev.result
            if res is not None:
                if res.duration_s is not None:
                    state.time_on_task_s += res.duration_s
                    totals.time_on_task_s += res.duration_s
                if res.score is not None:
                    state.score_sum += res.score
                    state.scored += 1
                    totals.score_sum += res.score
                    totals.scored += 1
        part.watermark.max_seen_us = max_seen

    def flush(self, partition: int) -> Flush:
        part = self._parts[partition]
        out = Flush()
        learner_rows: list[Row] = []
        touched_courses: set[str] = set()
        for lkey in part.dirty:
            state = part.learners[lkey]
            tenant, course, learner = lkey.split(_SEP, 2)
            touched_courses.add(tenant + _SEP + course)
            out.state["l" + _SEP + lkey] = _encode(state)
            learner_rows.append(_learner_row(tenant, course, learner, state))
        part.dirty.clear()
        course_rows: list[Row] = []
        for ckey in touched_courses:
            totals = part.courses[ckey]
            tenant, course = ckey.split(_SEP, 1)
            out.state["c" + _SEP + ckey] = _encode(totals)
            course_rows.append(_course_row(tenant, course, partition, totals))
        out.state[_WATERMARK_KEY] = str(part.watermark.max_seen_us).encode()
        out.views = {LEARNER_VIEW.name: learner_rows, COURSE_VIEW.name: course_rows}
        return out


def _learner_row(tenant: str, course: str, learner: str, s: LearnerCourse) -> Row:
    return {
        "tenant": tenant,
        "course": course,
        "learner": learner,
        "events": s.events,
        "active_days": len(s.days),
        "first_seen_us": s.first_seen_us,
        "last_seen_us": s.last_seen_us,
        "time_on_task_s": round(s.time_on_task_s, 6),
        "attempts": s.attempts,
        "scored": s.scored,
        "mean_score": round(s.score_sum / s.scored, 6) if s.scored else None,
        "late_events": s.late_events,
        "activity": {day_label(d): n for d, n in sorted(s.days.items())},
    }


def _course_row(tenant: str, course: str, partition: int, t: CourseTotals) -> Row:
    return {
        "tenant": tenant,
        "course": course,
        "partition": partition,
        "events": t.events,
        "learners": t.learners,
        "attempts": t.attempts,
        "score_sum": t.score_sum,
        "scored": t.scored,
        "time_on_task_s": t.time_on_task_s,
        "late_events": t.late_events,
        "daily": {day_label(d): n for d, n in sorted(t.days.items())},
    }
