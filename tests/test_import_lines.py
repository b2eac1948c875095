"""Importers of JSON-lines formats: Open edX tracking logs and xAPI NDJSON."""

from __future__ import annotations

import contextlib
import gzip
import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from edupulse.cli import main
from edupulse.errors import InvalidEventError
from edupulse.events import edx
from edupulse.events.model import Result, decode_event
from edupulse.events.vocabulary import Verb
from edupulse.importers.base import run_import
from edupulse.importers.lines import EdxImporter, XapiImporter
from edupulse.log.sqlite import SqliteLog
from edupulse.stream.runtime import EVENTS_TOPIC
from tests.conftest import shared_data
from tests.statements import statement

PROBLEM_CHECK = {
    "username": "ana",
    "event_source": "server",
    "event_type": "problem_check",
    "time": "2016-09-06T05:37:09.509001+00:00",
    "context": {"user_id": 6, "course_id": "course-v1:Org+C1+2016", "org_id": "Org"},
    "event": {
        "problem_id": "block-v1:Org+C1+2016+type@problem+block@p1",
        "grade": 2,
        "max_grade": 4,
        "success": "incorrect",
        "attempts": 1,
    },
    "page": "x_module",
}
PLAY_VIDEO = {
    "username": "bo",
    "event_source": "browser",
    "event_type": "play_video",
    "time": "2014-05-02T16:44:35.901775+00:00",
    "context": {"user_id": 10001, "course_id": "edX/DemoX/Demo_Course"},
    "event": json.dumps({"id": "i4x-edX-DemoX-video-3cb5", "currentTime": 0, "code": "OEoXaMPEzfM"}),
}
ENROLLED = {
    "username": "anonymous",
    "event_source": "server",
    "event_type": "edx.course.enrollment.activated",
    "time": "2014-07-30T17:09:59.941616+00:00",
    "context": {"course_id": "edX/Open_DemoX/edx_demo_course", "org_id": "edX"},
    "event": {"course_id": "edX/Open_DemoX/edx_demo_course", "user_id": 5, "mode": "honor"},
}


def one(raw: dict[str, object], prefix: str = "") -> edx.LearningEvent:
    [event] = edx.map_line(prefix + json.dumps(raw), line=1, tenant="t")
    return event


def test_a_graded_problem_check_is_an_answer_with_its_score() -> None:
    event = one(PROBLEM_CHECK)
    assert (event.learner, event.verb, event.course) == ("edx-user:6", Verb.ANSWERED, "course-v1:Org+C1+2016")
    assert event.object_id == "block-v1:Org+C1+2016+type@problem+block@p1"
    assert event.object_type == "problem"
    assert event.result == Result(score=0.5, success=False)
    assert event.event_time_us == 1_473_140_229_509_001
    assert (event.source_format, event.mapping_version) == ("edx", "edx-1")
    assert json.loads(event.payload) == PROBLEM_CHECK  # the original line, for audit and re-mapping


def test_a_browser_event_with_its_data_as_a_json_string() -> None:
    event = one(PLAY_VIDEO)
    assert (event.learner, event.verb, event.object_id, event.object_type) == (
        "edx-user:10001",
        Verb.PLAYED,
        "i4x-edX-DemoX-video-3cb5",
        "video",
    )


def test_an_enrollment_names_the_learner_from_the_event_and_the_course_as_object() -> None:
    event = one(ENROLLED)
    assert (event.learner, event.verb, event.object_id) == (
        "edx-user:5",
        Verb.ENROLLED,
        "edX/Open_DemoX/edx_demo_course",
    )


def test_a_syslog_prefix_is_ignored_and_the_same_line_gives_the_same_id() -> None:
    plain = one(PROBLEM_CHECK)
    prefixed = one(PROBLEM_CHECK, prefix="Sep  6 05:37:09 lms-1 tracking: ")
    assert prefixed == plain


def test_events_of_no_learner_and_the_browsers_ungraded_check_are_skipped() -> None:
    system = {
        "username": "",
        "event_type": "edx.course.index.reindexed",
        "time": "2016-09-02T01:49:05+00:00",
        "context": {},
        "event": {"indexed_count": 109},
    }
    browser_check = {**PROBLEM_CHECK, "event_source": "browser", "event": "input_p1=2"}
    assert edx.map_line(json.dumps(system), line=1, tenant="t") == []
    assert edx.map_line(json.dumps(browser_check), line=1, tenant="t") == []


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("not json at all", "no JSON object"),
        ('{"username": "x", "event_type": "play_video", "time": "2014-05-02T16:44:35+00:00"', "not valid JSON"),
        (json.dumps({**PLAY_VIDEO, "time": "yesterday"}), "ISO 8601"),
        (json.dumps({**PLAY_VIDEO, "time": "2014-05-02T16:44:35"}), "time zone"),
        (json.dumps({k: v for k, v in PLAY_VIDEO.items() if k != "event_type"}), "no event_type"),
    ],
)
def test_bad_lines_say_what_is_wrong(line: str, problem: str) -> None:
    with pytest.raises(InvalidEventError, match=problem):
        edx.map_line(line, line=7, tenant="t")


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=300)
    | st.builds(
        json.dumps,
        st.dictionaries(
            st.text(max_size=12),
            st.recursive(
                st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                max_leaves=10,
            ),
            max_size=6,
        ),
    )
)
def test_no_line_crashes_the_edx_mapping(line: str) -> None:
    with contextlib.suppress(InvalidEventError):
        edx.map_line(line, line=1, tenant="t")


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_edx_import_reports_bad_lines_by_number_keeps_the_rest_and_resumes(tmp_path: Path) -> None:
    good = [json.dumps({**PLAY_VIDEO, "time": f"2014-05-02T16:44:{i:02d}+00:00"}) for i in range(6)]
    lines = ["# a comment", good[0], "garbage", good[1], "", good[2]]
    path = write_lines(tmp_path / "tracking.log", lines)
    log = SqliteLog(tmp_path / "log.db")
    log.ensure_topic(EVENTS_TOPIC, 2)
    report = run_import(log, EdxImporter(tenant="t"), [path], checkpoint_dir=tmp_path / "imports", batch_size=2)
    assert (report.appended, report.bad_lines) == (3, 1)
    assert [(p.line, "no JSON object" in p.message) for p in report.problems] == [(3, True)]
    with path.open("a") as more:  # the log grows; a new run takes only what is new
        more.write("\n".join(good[3:]) + "\n")
    again = run_import(log, EdxImporter(tenant="t"), [path], checkpoint_dir=tmp_path / "imports")
    assert (again.appended, again.duplicates, again.bad_lines) == (3, 0, 0)
    assert again.resumed == {str(path): 7}
    assert sum(log.end_offsets(EVENTS_TOPIC)) == 6
    log.close()


def test_the_xapi_import_reads_gzip_maps_like_the_api_and_stores_nothing_twice(tmp_path: Path) -> None:
    ids = [str(uuid.UUID(int=i + 1)) for i in range(3)]  # two statements come without an id
    statements = [statement(learner=f"l{i}", statement_id=ids[i] if i < 3 else None) for i in range(5)]
    lines = [json.dumps(s) for s in statements[:2]] + ['{"actor": {}}'] + [json.dumps(s) for s in statements[2:]]
    path = tmp_path / "statements.ndjson.gz"
    with gzip.open(path, "wt") as out:
        out.write("\n".join(lines) + "\n")
    log = SqliteLog(tmp_path / "log.db")
    log.ensure_topic(EVENTS_TOPIC, 2)
    report = run_import(log, XapiImporter(tenant="t"), [path], checkpoint_dir=tmp_path / "imports")
    assert (report.appended, report.bad_lines, [p.line for p in report.problems]) == (5, 1, [3])
    records = [r for p in range(2) for r in log.read(EVENTS_TOPIC, p, 0, 100)]
    events = {decode_event(r.value).event_id for r in records}
    assert len(events) == 5
    assert events >= set(ids)
    assert all(decode_event(r.value).mapping_version == "xapi-2" for r in records)
    (tmp_path / "imports" / "xapi.json").unlink()  # forget the checkpoint: a full second pass
    again = run_import(log, XapiImporter(tenant="t"), [path], checkpoint_dir=tmp_path / "imports")
    assert (again.appended, again.duplicates) == (0, 5)
    log.close()


def test_the_cli_imports_the_shared_edx_logs_without_a_bad_line(tmp_path: Path) -> None:
    data = shared_data("edx_tracking")
    result = CliRunner().invoke(main, ["import", "edx", str(data), "--data-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["files"] == 6
    assert report["bad_lines"] == 0
    assert report["appended"] > 1000
