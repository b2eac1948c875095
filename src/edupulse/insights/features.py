"""Engagement features per learner and course, as of any cut-off time.

The operator keeps, per (tenant, course, learner), the facts features are made of, each
with its event time: enrolment and unenrolment, the profile, activity per UTC day, the
first time each object was reached, and each assessment's first submission. Every
update is a min, max or sum, so the state does not depend on the order events arrive in
(live equals replay, late events included).

``features_as_of(state, cut_us)`` turns a state into the feature vector as it stood just
before ``cut_us``, looking only at facts timed before it: features at a cut-off are the
same whether or not later events exist (the leak-free property; see
``tests/test_features.py``). ``cohort_features`` adds what needs the whole course
(assessments missed, share of the material reached, percentile in the cohort) from the
states of its learners. Training sets (``ml.oulad``) and live rows both come from these
two functions: there is no second implementation.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Mapping, Sequence

import msgspec

from edupulse.events.model import ExtensionValue, LearningEvent
from edupulse.events.vocabulary import ATTEMPT_VERBS, Verb
from edupulse.stream.operator import Flush
from edupulse.stream.store.base import ViewSpec

__all__ = ["Attempt", "FeatureOperator", "FeatureState", "Observer", "features_as_of"]

DAY_US = 86_400_000_000
PROFILE_TYPE = "learner-profile"
PASS_SCORE = 0.4
_SEP = "\x1f"
Features = dict[str, float | str | None]


class Attempt(msgspec.Struct, array_like=True, gc=False):
    """A learner's first submission of an assessment."""

    time_us: int
    score: float | None
    due_us: int | None
    weight: float
    kind: str
    banked: bool


class FeatureState(msgspec.Struct, array_like=True, gc=False):
    """The timed facts of one learner in one course."""

    course_start_us: int | None = None
    registered_us: int | None = None
    enrolled_us: list[int] = msgspec.field(default_factory=list)
    left_us: list[int] = msgspec.field(default_factory=list)
    profile_us: int | None = None
    profile: dict[str, ExtensionValue] = msgspec.field(default_factory=dict)
    days: dict[int, int] = msgspec.field(default_factory=dict)
    objects: dict[str, int] = msgspec.field(default_factory=dict)
    attempts: dict[str, Attempt] = msgspec.field(default_factory=dict)

    def last_time_us(self) -> int:
        """The newest fact's time (the day of the latest activity counts as its start)."""
        times = [t for t in (self.registered_us, self.profile_us) if t is not None]
        times.extend(self.enrolled_us[-1:] + self.left_us[-1:])
        times.extend(a.time_us for a in self.attempts.values())
        if self.days:
            times.append(max(self.days) * DAY_US)
        return max(times, default=0)


def fold(state: FeatureState, ev: LearningEvent) -> None:
    """Add one event's facts to a state (commutative: min, max and sums)."""
    t = ev.event_time_us
    ext = ev.extensions or {}
    start = ext.get("course_start_us")
    if isinstance(start, int):
        state.course_start_us = start
    if ev.verb is Verb.ENROLLED:
        if state.registered_us is None or t < state.registered_us:
            state.registered_us = t
        _add_time(state.enrolled_us, t)
        return
    if ev.verb is Verb.UNENROLLED:
        _add_time(state.left_us, t)
        return
    if ev.object_type == PROFILE_TYPE:
        if state.profile_us is None or t < state.profile_us:
            state.profile_us = t
            state.profile = dict(ext)
        return
    clicks = ext.get("clicks")
    day = t // DAY_US
    state.days[day] = state.days.get(day, 0) + (clicks if isinstance(clicks, int) and clicks > 0 else 1)
    seen = state.objects.get(ev.object_id)
    if seen is None or t < seen:
        state.objects[ev.object_id] = t
    if ev.verb in ATTEMPT_VERBS:
        _fold_attempt(state, ev, ext)


def _add_time(times: list[int], t: int) -> None:
    """Keep a sorted list of distinct times (enrolments and departures are few)."""
    i = bisect_left(times, t)
    if i == len(times) or times[i] != t:
        insort(times, t)


def _fold_attempt(state: FeatureState, ev: LearningEvent, ext: Mapping[str, ExtensionValue]) -> None:
    known = state.attempts.get(ev.object_id)
    if known is not None and known.time_us <= ev.event_time_us:
        return
    due, weight, kind = ext.get("due_us"), ext.get("weight"), ext.get("assessment_type")
    score = ev.result.score if ev.result is not None else None
    state.attempts[ev.object_id] = Attempt(
        ev.event_time_us,
        score,
        due if isinstance(due, int) else None,
        float(weight) if isinstance(weight, int | float) else 0.0,
        kind if isinstance(kind, str) else "",
        ext.get("is_banked") is True,
    )


def features_as_of(state: FeatureState, cut_us: int) -> Features:
    """The learner's features from the facts timed strictly before ``cut_us``."""
    out: Features = {}
    start = state.course_start_us
    out["course_day"] = (cut_us - start) / DAY_US if start is not None else None
    out["course_start_month"] = _month_of(start) if start is not None else None
    reg = state.registered_us if state.registered_us is not None and state.registered_us < cut_us else None
    out["registration_day"] = (reg - start) / DAY_US if reg is not None and start is not None else None
    if state.profile_us is not None and state.profile_us < cut_us:
        for name, value in state.profile.items():
            if name not in {"course_start_us", "course_day"}:
                out[name] = value if isinstance(value, str) else float(value)
    out.update(_activity(state, cut_us, reg))
    out.update(_assessments(state, cut_us))
    out["objects_reached"] = float(sum(1 for t in state.objects.values() if t < cut_us))
    return out


def _month_of(time_us: int) -> str:
    """The UTC calendar month of a time, as ``01``..``12`` (a category: the intake a course belongs to)."""
    # Civil month from days since 1970 (H. Hinnant's algorithm): total for any integer time.
    z = time_us // DAY_US + 719_468
    doe = z - (z // 146_097) * 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    mp = (5 * (doe - (365 * yoe + yoe // 4 - yoe // 100)) + 2) // 153
    return f"{mp + 3 if mp < 10 else mp - 9:02d}"


def _activity(state: FeatureState, cut_us: int, reg: int | None) -> Features:
    cut_day = cut_us // DAY_US  # days before this one are complete by the cut-off
    end_day = -(-cut_us // DAY_US)  # day d counts when it starts before the cut-off
    counts = state.days
    days = sorted(counts) if counts else []
    if days and days[-1] >= end_day:
        days = days[: bisect_left(days, end_day)]
    first_week = (state.course_start_us or (days[0] * DAY_US if days else cut_us)) // DAY_US
    total = last_7 = last_30 = 0
    best = run = 0
    prev = None
    weeks = set()
    for d in days:  # one pass: this runs for every rescored learner
        c = counts[d]
        total += c
        if d >= cut_day - 30:
            last_30 += c
            if d >= cut_day - 7:
                last_7 += c
        run = run + 1 if prev is not None and d == prev + 1 else 1
        best = max(best, run)
        prev = d
        weeks.add((d - first_week) // 7)
    anchor = prev if prev is not None else (reg // DAY_US if reg is not None else None)
    return {
        "active_days": float(len(days)),
        "activity": float(total),
        "activity_last_7d": float(last_7),
        "activity_last_30d": float(last_30),
        "days_since_activity": float(cut_day - anchor) if anchor is not None else None,
        "longest_streak": float(best),
        "current_streak": float(_current_streak(days, cut_day)),
        "active_weeks_share": len(weeks) / max(1, (cut_day - first_week + 6) // 7),
    }


def _current_streak(days: Sequence[int], cut_day: int) -> int:
    run, expect = 0, cut_day - 1
    for d in reversed(days):
        if d == expect or (run == 0 and d == cut_day):
            run += 1
            expect = d - 1
        else:
            break
    return run


def _assessments(state: FeatureState, cut_us: int) -> Features:
    done = sorted((a for a in state.attempts.values() if a.time_us < cut_us), key=_time_of)
    on_time = late = banked = failed = 0
    scored = 0
    score_sum = weighted_sum = 0.0
    total_weight: float = 0  # an int 0 when nothing is weighted, as ever
    last: float | None = None
    lowest: float | None = None
    for a in done:  # one pass, in time order (the sums add in the same order as ever)
        if a.due_us is not None:
            if a.time_us < a.due_us + DAY_US:
                on_time += 1
            else:
                late += 1
        banked += a.banked
        score = a.score
        if score is None:
            continue
        scored += 1
        score_sum += score
        last = score
        lowest = score if lowest is None or score < lowest else lowest
        failed += score < PASS_SCORE
        if a.weight > 0:
            weighted_sum += score * a.weight
            total_weight += a.weight
    return {
        "submitted": float(len(done)),
        "submitted_on_time": float(on_time),
        "submitted_late": float(late),
        "banked": float(banked),
        "mean_score": score_sum / scored if scored else None,
        "weighted_score": weighted_sum / total_weight if total_weight else None,
        "weight_done": total_weight,
        "last_score": last,
        "min_score": lowest,
        "failed_assessments": float(failed),
    }


def _time_of(a: Attempt) -> int:
    return a.time_us


def registered_at(state: FeatureState, cut_us: int) -> bool:
    """Whether the learner was enrolled just before ``cut_us``: their latest enrolment
    before it is not followed by a departure before it (at the same time, leaving wins)."""
    joined = bisect_left(state.enrolled_us, cut_us)
    if not joined:
        return False
    left = bisect_left(state.left_us, cut_us)
    return not left or state.left_us[left - 1] < state.enrolled_us[joined - 1]


_SPECIAL_VERBS = ATTEMPT_VERBS | {Verb.ENROLLED, Verb.UNENROLLED}
Observer = Callable[[int, str, FeatureState, LearningEvent], None]
"""Called after each relevant event is folded: (partition, state key, state after the event, event)."""
Clock = Callable[[int, LearningEvent], None]
"""Called with every event before it is folded: (partition, event); the states then hold the events before it."""
_encode = msgspec.msgpack.Encoder().encode
_decode_state = msgspec.msgpack.Decoder(FeatureState).decode


class FeatureOperator:
    """Keeps each learner-course's timed facts, committed as its keyed state.

    It serves no view: computing every learner's features at each commit would cost
    replay about as much as all the other operators together, and features are only
    meaningful as of a cut-off the reader chooses. Readers take the states
    (``states``, or the state store's ``load_state("features", partition)``) and call
    ``features_as_of`` / ``cohort_features``.
    """

    name: str = "features"
    version: str = "1"
    views: Sequence[ViewSpec] = ()

    def __init__(self) -> None:
        self._parts: dict[int, dict[str, FeatureState]] = {}
        self._dirty: dict[int, set[str]] = {}
        self._observer: Observer | None = None
        self._clock: Clock | None = None

    def observe(self, observer: Observer) -> None:
        """Call ``observer`` after every relevant event, with the state as it stands right
        after that event in log order (so what it computes does not depend on batches).

        Relevant: every event of a course except plain activity on a day the learner was
        already active in it (that only adds to the day's count).
        """
        self._observer = observer

    def tick(self, clock: Clock) -> None:
        """Call ``clock`` with every event (once ``observe`` is set) before folding it, so a
        reader can act on event time exactly between two events in log order."""
        self._clock = clock

    def restore(self, partition: int, state: Mapping[str, bytes]) -> None:
        self._parts[partition] = {key: _decode_state(value) for key, value in state.items()}
        self._dirty[partition] = set()

    def revoke(self, partition: int) -> None:
        self._parts.pop(partition, None)
        self._dirty.pop(partition, None)

    def states(self, partition: int) -> Mapping[str, FeatureState]:
        """The partition's states by ``tenant<US>course<US>learner`` (read-only use)."""
        return self._parts[partition]

    def process(self, partition: int, events: Sequence[LearningEvent]) -> None:
        if self._observer is not None:
            self._process_observed(partition, events, self._observer)
            return
        states, dirty = self._parts[partition], self._dirty[partition]
        get, mark, special = states.get, dirty.add, _SPECIAL_VERBS
        for ev in events:
            key = ev.tenant + _SEP + (ev.course or "") + _SEP + ev.learner
            state = get(key)
            if state is None:
                state = states[key] = FeatureState()
            mark(key)
            if ev.extensions is not None or ev.verb in special or ev.object_type == PROFILE_TYPE:
                fold(state, ev)
                continue
            # The common case, inlined (this loop runs once per event): plain activity.
            t = ev.event_time_us
            days = state.days
            day = t // DAY_US
            days[day] = days.get(day, 0) + 1
            objects = state.objects
            seen = objects.get(ev.object_id)
            if seen is None or t < seen:
                objects[ev.object_id] = t

    def _process_observed(self, partition: int, events: Sequence[LearningEvent], observer: Observer) -> None:
        states, dirty, clock = self._parts[partition], self._dirty[partition], self._clock
        for ev in events:
            if clock is not None:
                clock(partition, ev)
            key = ev.tenant + _SEP + (ev.course or "") + _SEP + ev.learner
            state = states.get(key)
            if state is None:
                state = states[key] = FeatureState()
            dirty.add(key)
            plain = ev.verb not in _SPECIAL_VERBS and ev.object_type != PROFILE_TYPE
            relevant = not plain or ev.event_time_us // DAY_US not in state.days
            fold(state, ev)
            if relevant and ev.course:
                observer(partition, key, state, ev)

    def flush(self, partition: int) -> Flush:
        states, dirty = self._parts[partition], self._dirty[partition]
        out = Flush(state={key: _encode(states[key]) for key in dirty})
        dirty.clear()
        return out


def split_key(key: str) -> tuple[str, str, str]:
    """``(tenant, course, learner)`` of a state key."""
    tenant, course, learner = key.split(_SEP, 2)
    return tenant, course, learner
