"""The course simulator: determinism, statement conventions, and the behaviour it models."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from statistics import mean

import pytest
from pydantic import ValidationError

from edupulse.sim import (
    HOME_PAGE,
    SKILLS_EXTENSION,
    VERB_WORDS,
    CourseSimulator,
    LearnerTruth,
    Pacer,
    SimConfig,
    XapiStatement,
    batched,
    by_event_time,
    by_rate,
)

START = datetime(2024, 9, 2, tzinfo=UTC)  # a Monday
CONFIG = SimConfig(seed=11, courses=2, learners_per_course=40, days=42, start=START)
ACTIVITY_TYPES = {
    "http://adlnet.gov/expapi/activities/question",
    "http://adlnet.gov/expapi/activities/assessment",
    "http://adlnet.gov/expapi/activities/lesson",
    "http://adlnet.gov/expapi/activities/media",
    "http://adlnet.gov/expapi/activities/module",
    "https://w3id.org/xapi/video/activity-type/video",
}
OBJECT_ID = re.compile(r"^https://sim\.edupulse\.dev/courses/(?P<course>[a-z0-9-]+)/(?P<kind>[a-z]+)/(?P<n>\d+)$")
DURATION = re.compile(r"^PT\d+(\.\d+)?S$")
TOP_LEVEL = {"id", "actor", "verb", "object", "context", "timestamp", "result", "version"}


@pytest.fixture(scope="module")
def run() -> tuple[CourseSimulator, list[XapiStatement]]:
    sim = CourseSimulator(CONFIG)
    return sim, list(sim.statements())


def word(stmt: XapiStatement) -> str:
    return str(stmt["verb"]["id"]).rstrip("/").rsplit("/", 1)[-1]


def learner(stmt: XapiStatement) -> str:
    return str(stmt["actor"]["account"]["name"])


def when(stmt: XapiStatement) -> datetime:
    return datetime.fromisoformat(stmt["timestamp"])


def per_day(statements: list[XapiStatement]) -> Counter[int]:
    return Counter((when(s) - START).days for s in statements)


def quiet_days(sim: CourseSimulator) -> set[int]:
    """Days with no deadline or exam within the next week, in any course."""
    due = {d.day for c in sim.courses for d in c.deadlines}
    return {day for day in range(CONFIG.days) if not any(0 <= d - day <= 7 for d in due)}


# Determinism


def test_same_seed_gives_identical_statements() -> None:
    config = SimConfig(seed=5, courses=2, learners_per_course=15, days=14)
    first = CourseSimulator(config).take(3000)
    assert len(first) == 3000
    assert CourseSimulator(config).take(3000) == first


def test_each_run_of_one_simulator_starts_afresh() -> None:
    sim = CourseSimulator(SimConfig(seed=5, courses=1, learners_per_course=10, days=14))
    first = list(sim.statements())
    truth = sim.truth
    assert list(sim.statements()) == first
    assert sim.truth == truth


def test_different_seeds_give_different_statements() -> None:
    a = CourseSimulator(SimConfig(seed=1, courses=1, learners_per_course=10, days=14)).take(500)
    b = CourseSimulator(SimConfig(seed=2, courses=1, learners_per_course=10, days=14)).take(500)
    assert {s["id"] for s in a}.isdisjoint(s["id"] for s in b)
    strip = [({k: v for k, v in s.items() if k != "id"}) for s in a]
    assert strip != [({k: v for k, v in s.items() if k != "id"}) for s in b]


# Statement conventions


def test_ids_are_unique_version_4_uuids(run: tuple[CourseSimulator, list[XapiStatement]]) -> None:
    _, statements = run
    ids = [s["id"] for s in statements]
    assert len(set(ids)) == len(ids)
    for text in ids[:5000]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_timestamps_are_utc_ordered_and_inside_the_period(run: tuple[CourseSimulator, list[XapiStatement]]) -> None:
    _, statements = run
    times = [when(s) for s in statements]
    assert all(s["timestamp"].endswith("+00:00") for s in statements)
    assert all(t.utcoffset() == timedelta(0) for t in times)
    assert times == sorted(times)
    assert times[0] >= START
    assert times[-1] < START + timedelta(days=CONFIG.days)


def test_actor_verb_object_and_course_follow_the_conventions(
    run: tuple[CourseSimulator, list[XapiStatement]],
) -> None:
    sim, statements = run
    course_iris = {c.iri for c in sim.courses}
    for stmt in statements:
        assert set(stmt) <= TOP_LEVEL
        assert stmt["actor"] == {
            "objectType": "Agent",
            "account": {"homePage": HOME_PAGE, "name": learner(stmt)},
        }
        assert re.fullmatch(r"learner-\d{5}", learner(stmt))
        assert word(stmt) in VERB_WORDS
        assert stmt["verb"]["display"] == {"en-US": word(stmt)}
        obj = stmt["object"]
        match = OBJECT_ID.match(obj["id"])
        assert match is not None, obj["id"]
        assert obj["objectType"] == "Activity"
        assert obj["definition"]["type"] in ACTIVITY_TYPES
        assert obj["definition"]["name"]["en-US"]
        grouping = stmt["context"]["contextActivities"]["grouping"]
        assert grouping == [
            {
                "objectType": "Activity",
                "id": f"https://sim.edupulse.dev/courses/{match['course']}",
                "definition": {"type": "http://adlnet.gov/expapi/activities/course"},
            }
        ]
        assert grouping[0]["id"] in course_iris


def test_verbs_used_cover_every_kind_of_activity(run: tuple[CourseSimulator, list[XapiStatement]]) -> None:
    _, statements = run
    used = {word(s) for s in statements}
    expected = {"answered", "attempted", "completed", "experienced", "initialized", "terminated", "passed",
                "failed", "played", "paused", "seeked", "viewed", "submitted", "posted", "commented"}  # fmt: skip
    assert used == expected
    assert "shared" not in {str(s["verb"]["id"]).rsplit("/", 1)[-1] for s in statements}


def test_questions_and_assignments_carry_course_skills_and_results(
    run: tuple[CourseSimulator, list[XapiStatement]],
) -> None:
    sim, statements = run
    skills = {c.iri: set(c.skills) for c in sim.courses}
    graded = [s for s in statements if word(s) in {"answered", "submitted"}]
    assert len(graded) > 1000
    for stmt in graded:
        course = stmt["context"]["contextActivities"]["grouping"][0]["id"]
        tagged = stmt["context"]["extensions"][SKILLS_EXTENSION]
        assert tagged
        assert set(tagged) <= skills[course]
        result = stmt["result"]
        scaled = result["score"]["scaled"]
        assert 0.0 <= scaled <= 1.0
        assert isinstance(result["success"], bool)
        assert DURATION.match(result["duration"])
        if word(stmt) == "answered":
            assert stmt["object"]["definition"]["type"].endswith("/question")
            assert result["success"] == (scaled == 1.0)
        else:
            assert result["success"] == (scaled >= 0.5)
    assert {s["result"]["score"]["scaled"] for s in graded if word(s) == "answered"} >= {0.0, 0.5, 1.0}


def test_videos_and_readings_report_time_spent(run: tuple[CourseSimulator, list[XapiStatement]]) -> None:
    _, statements = run
    timed = [s for s in statements if word(s) in {"completed", "experienced", "terminated"}]
    assert timed
    assert all(DURATION.match(s["result"]["duration"]) for s in timed)
    videos = [s for s in statements if s["object"]["definition"]["type"].endswith("/video")]
    assert {word(s) for s in videos} == {"played", "paused", "seeked", "completed"}


# Behaviour


def test_weekdays_are_busier_than_weekends(run: tuple[CourseSimulator, list[XapiStatement]]) -> None:
    sim, statements = run
    counts = per_day(statements)
    days = quiet_days(sim)
    weekday = [counts[d] for d in days if (START + timedelta(days=d)).weekday() < 5]
    weekend = [counts[d] for d in days if (START + timedelta(days=d)).weekday() >= 5]
    assert weekday
    assert weekend
    assert mean(weekday) > 1.3 * mean(weekend)


def test_evenings_are_busier_than_nights(run: tuple[CourseSimulator, list[XapiStatement]]) -> None:
    _, statements = run
    hours = Counter(when(s).hour for s in statements)
    assert sum(hours[h] for h in range(18, 23)) > 5 * sum(hours[h] for h in range(2, 7))


def test_activity_spikes_before_the_final_exam(run: tuple[CourseSimulator, list[XapiStatement]]) -> None:
    sim, statements = run
    finals = {c.exams[-1].release_day for c in sim.courses}
    assert len(finals) == 1
    final = finals.pop()
    counts = per_day(statements)
    before = [counts[d] for d in range(final - 3, final)]
    quiet = [counts[d] for d in quiet_days(sim) if (START + timedelta(days=d)).weekday() < 5]
    assert all((START + timedelta(days=d)).weekday() < 5 for d in range(final - 3, final))
    assert mean(before) > 1.4 * mean(quiet)


def test_answers_are_right_more_often_where_mastery_is_high(
    run: tuple[CourseSimulator, list[XapiStatement]],
) -> None:
    sim, statements = run
    truth = sim.truth
    outcomes: dict[bool, list[float]] = defaultdict(list)
    for stmt in statements:
        if word(stmt) != "answered":
            continue
        (skill, *_) = stmt["context"]["extensions"][SKILLS_EXTENSION]
        mastery = truth[learner(stmt)].mastery[skill]
        if mastery >= 0.8 or mastery < 0.4:
            outcomes[mastery >= 0.8].append(stmt["result"]["score"]["scaled"])
    assert len(outcomes[True]) > 200
    assert len(outcomes[False]) > 200
    assert mean(outcomes[True]) > mean(outcomes[False]) + 0.2


def test_dropouts_stop_and_fade_out_before(run: tuple[CourseSimulator, list[XapiStatement]]) -> None:
    sim, statements = run
    leaving = {k: t for k, t in sim.truth.items() if t.dropout_at is not None}
    assert len(leaving) >= 10
    early: Counter[str] = Counter()
    late: Counter[str] = Counter()
    for stmt in statements:
        truth = leaving.get(learner(stmt))
        if truth is None or truth.dropout_at is None:
            continue
        left = truth.dropout_at - when(stmt)
        assert left > timedelta(0), f"{learner(stmt)} active after dropping out"
        if left <= timedelta(days=7):
            late[learner(stmt)] += 1
        elif left <= timedelta(days=14):
            early[learner(stmt)] += 1
    assert early
    assert sum(early.values()) > 1.25 * sum(late.values())


def test_engaged_learners_do_more_than_dropouts_and_truth_counts_match(
    run: tuple[CourseSimulator, list[XapiStatement]],
) -> None:
    sim, statements = run
    truth = sim.truth
    counted = Counter(learner(s) for s in statements)
    assert {k: t.statements for k, t in truth.items() if t.statements} == dict(counted)
    by_profile: dict[str, list[int]] = defaultdict(list)
    for t in truth.values():
        by_profile[t.profile].append(t.statements)
    assert mean(by_profile["engaged"]) > 2 * mean(by_profile["dropout"])
    assert mean(by_profile["engaged"]) > mean(by_profile["struggling"])


def test_truth_describes_every_learner(run: tuple[CourseSimulator, list[XapiStatement]]) -> None:
    sim, _ = run
    truth = sim.truth
    assert len(truth) == CONFIG.courses * CONFIG.learners_per_course
    skills = {c.id: set(c.skills) for c in sim.courses}
    for t in truth.values():
        assert isinstance(t, LearnerTruth)
        assert set(t.mastery) == skills[t.course_id]
        assert all(0.0 <= m <= 1.0 for m in t.mastery.values())
        assert t.dropout_at is None or t.dropout_at.tzinfo is not None
    assert all(len(c.skills) == CONFIG.skills_per_course for c in sim.courses)


def test_a_learner_who_practises_ends_with_more_mastery() -> None:
    only = {"engaged": 1.0}
    sim = CourseSimulator(SimConfig(seed=3, courses=1, learners_per_course=30, days=28, profile_mix=only))
    before = {k: mean(t.mastery.values()) for k, t in sim.truth.items()}
    for _ in sim.statements():
        pass
    after = {k: mean(t.mastery.values()) for k, t in sim.truth.items()}
    assert all(after[k] >= before[k] for k in before)
    assert mean(after.values()) > mean(before.values()) + 0.2


# Configuration


def test_config_rejects_naive_start_and_bad_mix() -> None:
    with pytest.raises(ValidationError):
        SimConfig(start=datetime(2024, 9, 2))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValidationError):
        SimConfig(profile_mix={"engaged": 0.0})
    with pytest.raises(ValidationError):
        SimConfig(profile_mix={"bored": 1.0})


def test_start_in_the_middle_of_a_day_in_another_zone() -> None:
    start = datetime(2024, 9, 4, 10, 30, tzinfo=timezone(timedelta(hours=-5)))
    sim = CourseSimulator(SimConfig(seed=9, courses=1, learners_per_course=10, days=7, start=start))
    times = [when(s) for s in sim.statements()]
    assert times
    assert min(times) >= start
    assert max(times) < start + timedelta(days=7)


# Streaming


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def collect(batches: AsyncIterator[list[XapiStatement]]) -> list[list[XapiStatement]]:
    return [b async for b in batches]


def test_batched_splits_in_order() -> None:
    items = [{"n": i} for i in range(7)]
    assert [len(b) for b in batched(items, 3)] == [3, 3, 1]
    assert [x for b in batched(items, 3) for x in b] == items
    with pytest.raises(ValueError, match="at least 1"):
        list(batched(items, 0))


def test_pacer_keeps_the_rate_without_bursting_after_a_stall() -> None:
    fake = FakeTime()
    pacer = Pacer(100.0, clock=fake.clock)
    assert pacer.reserve(10) == 0.0
    assert pacer.reserve(10) == pytest.approx(0.1)
    fake.now += 5.0
    assert pacer.reserve(10) == 0.0
    assert pacer.reserve(10) == pytest.approx(0.1)


def test_by_rate_paces_batches() -> None:
    fake = FakeTime()
    statements = CourseSimulator(SimConfig(seed=1, courses=1, learners_per_course=5, days=7)).take(1000)
    batches = asyncio.run(collect(by_rate(statements, 500.0, 100, clock=fake.clock, sleep=fake.sleep)))
    assert [s for b in batches for s in b] == statements
    assert len(batches) > 5
    assert sum(fake.slept) == pytest.approx((len(statements) - len(batches[-1])) / 500.0)


def test_by_event_time_follows_simulated_time() -> None:
    fake = FakeTime()
    statements = CourseSimulator(SimConfig(seed=1, courses=1, learners_per_course=5, days=7)).take(2000)
    span = (when(statements[-1]) - when(statements[0])).total_seconds()
    batches = asyncio.run(collect(by_event_time(statements, 3600.0, 50, clock=fake.clock, sleep=fake.sleep)))
    assert [s for b in batches for s in b] == statements
    assert all(0 < len(b) <= 50 for b in batches)
    assert sum(fake.slept) == pytest.approx(span / 3600.0, rel=1e-6)


def test_simulator_stream_yields_the_run_in_batches() -> None:
    sim = CourseSimulator(SimConfig(seed=4, courses=1, learners_per_course=5, days=7))

    async def first(n: int) -> list[list[XapiStatement]]:
        out = []
        async for batch in sim.stream(rate_per_s=1e6, batch_size=25):
            out.append(batch)
            if len(out) == n:
                break
        return out

    batches = asyncio.run(first(4))
    assert [len(b) for b in batches] == [25] * 4
    assert [s for b in batches for s in b] == sim.take(100)
