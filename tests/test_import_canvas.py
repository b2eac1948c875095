"""The Canvas mapping (``canvas-1``) on live events in both formats, and ``edupulse import canvas``."""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from edupulse.cli import main
from edupulse.errors import InvalidEventError
from edupulse.events import canvas
from edupulse.events.model import LearningEvent, Result, decode_event
from edupulse.events.vocabulary import Verb
from edupulse.importers.base import run_import
from edupulse.importers.lines import CanvasImporter
from edupulse.log.sqlite import SqliteLog
from edupulse.stream.runtime import EVENTS_TOPIC
from tests.canvas_events import (
    ADMIN,
    CALIPER,
    COURSE,
    JOB_EVENT,
    LIVE,
    NEWCOMER,
    STUDENT,
    SYSTEM_NAVIGATION,
    envelope,
)

STUDENT_ID, NEWCOMER_ID = f"canvas-user:{STUDENT}", f"canvas-user:{NEWCOMER}"
COURSE_ID = f"canvas-course:{COURSE}"
ASSIGNMENT = "canvas-assignment:21070000000000355"
# event -> (learner, verb, object, object type, course, result, time)
LIVE_GOLDEN: dict[str, tuple[object, ...]] = {
    "asset_accessed": (
        STUDENT_ID,
        Verb.NAVIGATED,
        ASSIGNMENT,
        "assignment",
        COURSE_ID,
        None,
        "2024-03-04T09:00:00.120",
    ),
    "submission_created": (
        STUDENT_ID,
        Verb.SUBMITTED,
        ASSIGNMENT,
        "assignment",
        COURSE_ID,
        None,
        "2024-03-04T09:40:12",
    ),
    "grade_change": (
        STUDENT_ID,
        Verb.GRADED,
        ASSIGNMENT,
        "assignment",
        COURSE_ID,
        Result(score=0.8),
        "2024-03-05T14:02:00",
    ),
    "quiz_submitted": (
        STUDENT_ID,
        Verb.SUBMITTED,
        "canvas-quiz:21070000000000042",
        "quiz",
        COURSE_ID,
        None,
        "2024-03-06T10:15:30.500",
    ),
    "enrollment_created": (NEWCOMER_ID, Verb.ENROLLED, COURSE_ID, "course", COURSE_ID, None, "2024-02-26T08:00:00"),
    "enrollment_updated": (NEWCOMER_ID, Verb.UNENROLLED, COURSE_ID, "course", COURSE_ID, None, "2024-03-20T08:00:00"),
    "logged_in": (STUDENT_ID, Verb.LOGGED_IN, f"canvas-account:{ADMIN}", "account", None, None, "2024-03-04T08:59:01"),
    "discussion_entry_created": (
        STUDENT_ID,
        Verb.COMMENTED,
        "canvas-discussion:21070000000000120",
        "discussion",
        COURSE_ID,
        None,
        "2024-03-06T11:00:00",
    ),
    "wiki_page_updated": (
        STUDENT_ID,
        Verb.INTERACTED,
        "canvas-wiki_page:21070000000000300",
        "wiki_page",
        COURSE_ID,
        None,
        "2024-03-07T12:00:00",
    ),
    "account_notification_created": (
        STUDENT_ID,
        Verb.OTHER,
        COURSE_ID,
        "course",
        COURSE_ID,
        None,
        "2024-03-08T12:00:00",
    ),
}
CALIPER_GOLDEN: dict[str, tuple[object, ...]] = {
    "asset_accessed": (STUDENT_ID, Verb.NAVIGATED, COURSE_ID, "course", COURSE_ID, None, "2024-03-04T09:01:00"),
    "submission_created": (
        STUDENT_ID,
        Verb.SUBMITTED,
        ASSIGNMENT,
        "assignment",
        None,
        Result(completion=True),
        "2024-03-04T09:40:12",
    ),
    "grade_change": (
        STUDENT_ID,
        Verb.GRADED,
        ASSIGNMENT,
        "assignment",
        COURSE_ID,
        Result(score=0.8),
        "2024-03-05T14:02:00",
    ),
    "enrollment_created": (NEWCOMER_ID, Verb.ENROLLED, COURSE_ID, "course", COURSE_ID, None, "2024-02-26T08:00:00"),
    "quiz_submitted": (
        STUDENT_ID,
        Verb.SUBMITTED,
        "canvas-quiz:21070000000000042",
        "quiz",
        COURSE_ID,
        Result(completion=True),
        "2024-03-06T10:15:30.500",
    ),
    "discussion_entry_created": (
        STUDENT_ID,
        Verb.POSTED,
        "canvas-discussion:21070000000000120",
        "discussion",
        COURSE_ID,
        None,
        "2024-03-06T11:00:00",
    ),
    "logged_in": (
        STUDENT_ID,
        Verb.LOGGED_IN,
        "https://school.instructure.com/",
        "SoftwareApplication",
        None,
        None,
        "2024-03-04T08:59:01",
    ),
}


def _us(moment: str) -> int:
    return int(datetime.fromisoformat(moment).replace(tzinfo=UTC).timestamp() * 1_000_000)


def _one(raw: dict[str, Any]) -> LearningEvent:
    [event] = canvas.map_line(json.dumps(raw), tenant="t")
    return event


def _check(event: LearningEvent, expected: tuple[object, ...]) -> None:
    learner, verb, obj, kind, course, result, moment = expected
    got = (event.learner, event.verb, event.object_id, event.object_type, event.course, event.result)
    assert got == (learner, verb, obj, kind, course, result)
    assert event.event_time_us == _us(str(moment))
    assert (event.source_format, event.mapping_version) == ("canvas", "canvas-1")


@pytest.mark.parametrize("name", list(LIVE_GOLDEN))
def test_golden_mapping_of_canvas_format_events(name: str) -> None:
    event = _one(LIVE[name])
    _check(event, LIVE_GOLDEN[name])
    assert json.loads(event.payload) == LIVE[name]  # the original line, for audit and re-mapping
    assert event.extensions is not None
    assert event.extensions["event_name"] == name


@pytest.mark.parametrize("name", list(CALIPER_GOLDEN))
@pytest.mark.parametrize("wrapped", [True, False], ids=["envelope", "bare"])
def test_golden_mapping_of_caliper_format_events(name: str, wrapped: bool) -> None:
    raw = envelope(CALIPER[name]) if wrapped else CALIPER[name]
    event = _one(raw)
    _check(event, CALIPER_GOLDEN[name])
    assert event.event_id == CALIPER[name]["id"]
    assert json.loads(event.payload) == raw


def test_the_same_act_in_both_formats_meets_on_learner_verb_and_object() -> None:
    for name in ("submission_created", "grade_change", "enrollment_created", "quiz_submitted"):
        live, caliper = _one(LIVE[name]), _one(CALIPER[name])
        assert (live.learner, live.verb, live.object_id) == (caliper.learner, caliper.verb, caliper.object_id), name
    live, caliper = _one(LIVE["discussion_entry_created"]), _one(CALIPER["discussion_entry_created"])
    assert (live.learner, live.object_id) == (caliper.learner, caliper.object_id)  # a reply only in the canvas format


def test_events_of_no_user_are_skipped_and_the_same_line_gives_the_same_id() -> None:
    assert canvas.map_line(json.dumps(JOB_EVENT), tenant="t") == []
    assert canvas.map_line(json.dumps(envelope(SYSTEM_NAVIGATION)), tenant="t") == []
    line = json.dumps(LIVE["asset_accessed"])
    assert _one(LIVE["asset_accessed"]).event_id == canvas.map_line(line, tenant="t")[0].event_id


def _broken(name: str, path: tuple[str, ...], value: object) -> dict[str, Any]:
    raw = copy.deepcopy(CALIPER[name])
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return raw


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not an object"),
        ('{"hello": 1}', "neither a canvas-format live event"),
        (json.dumps({"metadata": {"event_name": "logged_in"}, "body": {}}), "event_time must be an ISO 8601"),
        (json.dumps({"metadata": {"event_time": "2024-01-01T00:00:00Z"}, "body": {}}), "no metadata.event_name"),
        (json.dumps({"metadata": [], "body": {}}), "metadata and body must be JSON objects"),
        (json.dumps(_broken("logged_in", ("action",), "Flew")), "unknown action"),
        (json.dumps(_broken("logged_in", ("id",), "42")), "must be a UUID URN"),
        (json.dumps(envelope(_broken("grade_change", ("eventTime",), "yesterday"))), "eventTime"),
        (json.dumps(_broken("grade_change", ("object", "id"), "not an iri")), "IRI"),
    ],
)
def test_bad_lines_say_what_is_wrong(line: str, problem: str) -> None:
    with pytest.raises(InvalidEventError, match=problem):
        canvas.map_line(line, tenant="t")


def test_the_import_reports_bad_lines_by_number_keeps_the_rest_and_resumes(tmp_path: Path) -> None:
    good = [json.dumps(e) for e in LIVE.values()] + [json.dumps(envelope(e)) for e in CALIPER.values()]
    lines = [good[0], "garbage", *good[1:6], json.dumps({"metadata": {}, "body": {}}), *good[6:9]]
    path = tmp_path / "live-events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    log = SqliteLog(tmp_path / "log.db")
    log.ensure_topic(EVENTS_TOPIC, 2)
    report = run_import(log, CanvasImporter(tenant="t"), [path], checkpoint_dir=tmp_path / "imports", batch_size=4)
    assert [p.line for p in report.problems] == [2, 8]
    assert (report.appended, report.bad_lines) == (9, 2)
    with path.open("a") as more:  # more events arrive; a new run reads only those
        more.write("\n".join(good[9:]) + "\n")
    again = run_import(log, CanvasImporter(tenant="t"), [path], checkpoint_dir=tmp_path / "imports")
    assert (again.appended, again.duplicates, again.resumed) == (len(good) - 9, 0, {str(path): 12})
    (tmp_path / "imports" / "canvas.json").unlink()  # a full second pass stores nothing twice
    third = run_import(log, CanvasImporter(tenant="t"), [path], checkpoint_dir=tmp_path / "imports")
    assert (third.appended, third.duplicates) == (0, len(good))
    events = [decode_event(r.value) for p in range(2) for r in log.read(EVENTS_TOPIC, p, 0, 100)]
    assert {e.mapping_version for e in events} == {"canvas-1"}
    log.close()


def test_the_cli_imports_canvas_live_events(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in [*LIVE.values(), JOB_EVENT, *CALIPER.values()]) + "\n")
    args = ["import", "canvas", str(path), "--data-dir", str(tmp_path / "data"), "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["appended"], report["bad_lines"]) == (len(LIVE) + len(CALIPER), 0)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_EXAMPLES = [*LIVE.values(), *CALIPER.values(), envelope(CALIPER["grade_change"])]


def _paths(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += _paths(inner, (*prefix, i))
    return found


@settings(max_examples=300, deadline=None)
@given(example=st.sampled_from(_EXAMPLES), choice=st.integers(0, 10_000), value=_JSON)
def test_no_change_to_a_good_event_crashes_the_mapping(example: dict[str, Any], choice: int, value: object) -> None:
    raw = copy.deepcopy(example)
    paths = _paths(raw)
    *parents, last = paths[choice % len(paths)]
    target: Any = raw
    for key in parents:
        target = target[key]
    target[last] = value
    with contextlib.suppress(InvalidEventError):  # a counted bad line, never an exception of another kind
        canvas.map_line(json.dumps(raw), tenant="t")


@settings(max_examples=200, deadline=None)
@given(line=st.one_of(st.text(max_size=80), _JSON.map(json.dumps)))
def test_no_line_crashes_the_canvas_mapping(line: str) -> None:
    with contextlib.suppress(InvalidEventError):
        canvas.map_line(line, tenant="t")
