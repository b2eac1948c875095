"""Engagement features: leak-free as of any cut-off, independent of arrival order."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from edupulse.events.model import LearningEvent, Result
from edupulse.events.vocabulary import Verb
from edupulse.insights.cohort import cohort_features
from edupulse.insights.features import DAY_US, FeatureOperator, FeatureState, features_as_of, split_key
from edupulse.insights.history import history_features

START = 1_380_585_600_000_000  # a course's day 0, 2013-10-01
COURSES = ("AAA_2013J", "BBB_2013J")


def _event(i: int, learner: int, course: str, kind: str, day: int, value: int) -> LearningEvent:  # noqa: PLR0917
    ext: dict[str, Any] = {"course_start_us": START}
    verb, obj, otype, result = Verb.ACCESSED, f"site:{value % 7}", "vle-site", None
    if kind == "enrol":
        verb, obj, otype = Verb.ENROLLED, course, "course"
    elif kind == "leave":
        verb, obj, otype = Verb.UNENROLLED, course, "course"
    elif kind == "profile":
        verb, obj, otype = Verb.OTHER, f"l{learner}", "learner-profile"
        ext |= {"gender": "MF"[value % 2], "studied_credits": 30 + value}
    elif kind == "submit":
        verb, obj, otype = Verb.SUBMITTED, f"assessment:{value % 4}", "assessment"
        ext |= {"due_us": START + (value % 4) * 20 * DAY_US, "weight": 10.0, "assessment_type": "TMA"}
        result = Result(score=(value % 101) / 100)
    else:
        ext["clicks"] = 1 + value % 5
    t = START + day * DAY_US + (value % 24) * 3_600_000_000 + i  # distinct times: no ties to break
    return LearningEvent(
        f"e{i}", "t", f"l{learner}", verb, obj, otype, course, (), result, t, t, "test", "test-1", extensions=ext
    )


events = st.lists(
    st.tuples(
        st.integers(0, 4),
        st.sampled_from(COURSES),
        st.sampled_from(["enrol", "leave", "profile", "submit", "click", "click"]),
        st.integers(-30, 150),
        st.integers(0, 1000),
    ),
    max_size=80,
).map(lambda rows: [_event(i, *row) for i, row in enumerate(rows)])


def _states(evs: list[LearningEvent], batch: int = 7) -> dict[str, dict[str, FeatureState]]:
    """Fold events through the operator, in batches, and return the states by course and learner."""
    op = FeatureOperator()
    op.restore(0, {})
    for i in range(0, len(evs), batch):
        op.process(0, evs[i : i + batch])
    op.flush(0)
    out: dict[str, dict[str, FeatureState]] = {}
    for key, state in op.states(0).items():
        _, course, learner = split_key(key)
        out.setdefault(course, {})[learner] = state
    return out


def _all_features(states: dict[str, dict[str, FeatureState]], cut: int) -> dict[tuple[str, str], Any]:
    by_learner: dict[str, dict[str, FeatureState]] = {}
    for course, members in states.items():
        for learner, state in members.items():
            by_learner.setdefault(learner, {})[course] = state
    out = {}
    for course, members in states.items():
        rows = cohort_features(members, cut)
        for learner, row in rows.items():
            out[(course, learner)] = row | history_features(by_learner[learner], course, cut)
    return out


@settings(max_examples=150, deadline=None)
@given(events, st.integers(-20, 160))
def test_features_at_a_cut_off_do_not_see_later_events(evs: list[LearningEvent], cut_day: int) -> None:
    cut = START + cut_day * DAY_US
    before = [e for e in evs if e.event_time_us < cut]
    with_later = _all_features(_states(evs), cut)
    without = _all_features(_states(before), cut)
    # Learners known only from later events have no facts yet: every feature is empty.
    for key, row in with_later.items():
        if key not in without:
            assert row["active_days"] == 0 and row["submitted"] == 0 and row["registration_day"] is None
    assert {k: with_later[k] for k in without} == without


@settings(max_examples=60, deadline=None)
@given(events, st.randoms(use_true_random=False), st.integers(1, 20), st.integers(-20, 160))
def test_features_do_not_depend_on_arrival_order_or_batches(
    evs: list[LearningEvent], rnd: Any, batch: int, cut_day: int
) -> None:
    shuffled = list(evs)
    rnd.shuffle(shuffled)
    cut = START + cut_day * DAY_US
    assert _all_features(_states(evs), cut) == _all_features(_states(shuffled, batch), cut)


def test_activity_streaks_and_recency_as_of_a_day() -> None:
    evs = [_event(0, 1, "AAA_2013J", "enrol", -5, 0)]
    evs += [_event(i, 1, "AAA_2013J", "click", day, 0) for i, day in enumerate([0, 1, 2, 5, 6, 20], start=1)]
    state = _states(evs)["AAA_2013J"]["l1"]
    f = features_as_of(state, START + 7 * DAY_US)  # the end of day 6
    assert f["active_days"] == 5
    assert f["longest_streak"] == 3
    assert f["current_streak"] == 2
    assert f["days_since_activity"] == 1
    assert f["registration_day"] == -5
    assert f["activity_last_7d"] == 5
    late = features_as_of(state, START + 30 * DAY_US)
    assert late["days_since_activity"] == 10 and late["active_days"] == 6


def test_missed_late_and_on_time_assessments() -> None:
    # assessment:1 is due on day 20: learner 1 submits it on day 19, learner 2 on day 25, learner 3 never.
    evs = [_event(i, n, "AAA_2013J", "enrol", -1, 0) for i, n in enumerate((1, 2, 3))]
    evs += [_event(10, 1, "AAA_2013J", "submit", 19, 1), _event(11, 2, "AAA_2013J", "submit", 25, 101)]
    rows = cohort_features(_states(evs)["AAA_2013J"], START + 30 * DAY_US)
    assert (rows["l1"]["submitted_on_time"], rows["l1"]["missed"]) == (1, 0)
    assert (rows["l2"]["submitted_late"], rows["l2"]["missed"]) == (1, 0)
    assert (rows["l3"]["submitted"], rows["l3"]["missed"]) == (0, 1)
    assert rows["l1"]["submitted_percentile"] == 4 / 6  # above the one who did not submit, tied with one
    early = cohort_features(_states(evs)["AAA_2013J"], START + 20 * DAY_US)  # day 19 over, day 20 not yet
    assert early["l3"]["missed"] == 0


def test_the_course_start_month_is_a_category_known_from_day_0() -> None:
    """The intake (month of the course start, UTC) tells October from February presentations."""
    state = FeatureState(course_start_us=START)
    assert features_as_of(state, START)["course_start_month"] == "10"
    state.course_start_us = 1_359_676_800_000_000  # 2013-02-01
    assert features_as_of(state, START)["course_start_month"] == "02"
    assert features_as_of(FeatureState(), START)["course_start_month"] is None
