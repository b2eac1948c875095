"""The Moodle mapping (``moodle-1``) on standard-log rows, and ``edupulse import moodle``."""

from __future__ import annotations

import contextlib
import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from edupulse.cli import main
from edupulse.errors import ConfigError, InvalidEventError
from edupulse.events.model import LearningEvent, Result, decode_event
from edupulse.events.moodle import COLUMNS
from edupulse.events.php import unserialize
from edupulse.events.vocabulary import Verb
from edupulse.importers.base import run_import
from edupulse.importers.moodle import MoodleImporter, MoodleTable
from edupulse.log.sqlite import SqliteLog
from edupulse.stream.runtime import EVENTS_TOPIC
from tests.moodle_rows import ROWS, T0, TAIL, csv_line, tsv_line, write_csv, write_tsv

S = 1_000_000
COURSE = "moodle-course:4"
# Row id -> (learner, verb, object, object type, course, result, extensions beyond event_name/edulevel, time)
GOLDEN: dict[str, tuple[object, ...]] = {
    "1001": ("moodle-user:23", Verb.ACCESSED, COURSE, "course", COURSE, None, {}, T0),
    "1002": ("moodle-user:23", Verb.VIEWED, "moodle-cm:31", "resource", COURSE, None, {}, T0 + 60),
    "1003": ("moodle-user:23", Verb.STARTED, "moodle-cm:35", "quiz", COURSE, None, {}, T0 + 120),
    "1004": ("moodle-user:23", Verb.SUBMITTED, "moodle-cm:35", "quiz", COURSE, None, {}, T0 + 900),
    "1005": (
        "moodle-user:23",
        Verb.GRADED,
        "moodle-grade-item:14",
        "user",
        COURSE,
        None,
        {"finalgrade": 7.5, "overridden": False},
        T0 + 960,
    ),
    "1006": (
        "moodle-user:23",
        Verb.GRADED,
        "moodle-grade-item:15",
        "user",
        COURSE,
        None,
        {"finalgrade": 8.0, "overridden": True},
        T0 + 970,
    ),
    "1007": ("moodle-user:24", Verb.ENROLLED, COURSE, "user_enrolment", COURSE, None, {}, T0 + 1000),
    "1008": ("moodle-user:23", Verb.POSTED, "moodle-cm:40", "forum", COURSE, None, {}, T0 + 1200),
    "1009": ("moodle-user:23", Verb.SUBMITTED, "moodle-cm:44", "assign", COURSE, None, {}, T0 + 1500),
    "1010": (
        "moodle-user:23",
        Verb.COMPLETED,
        "moodle-cm:44",
        "course_module_completion",
        COURSE,
        Result(completion=True, success=True),
        {},
        T0 + 1510,
    ),
    "1011": ("moodle-user:23", Verb.LOGGED_IN, "moodle-user:23", "user", None, None, {}, T0 - 30),
    "1012": ("moodle-user:23", Verb.OTHER, COURSE, "reminder", COURSE, None, {}, T0 + 2000),
    "1013": ("moodle-user:23", Verb.PASSED, "moodle-cm:50", "scorm", COURSE, None, {}, T0 + 2100),
    "1014": ("moodle-user:23", Verb.VIEWED, "moodle-cm:52", "book", COURSE, None, {}, T0 + 2200),
}


def _events(path: Path) -> dict[str, LearningEvent]:
    table = MoodleTable(path, tenant="t")
    lines = path.read_text().splitlines()
    table.start(lines[0])
    found = {}
    for number, text in enumerate(lines[1:], start=2):
        for event in table.map_line(number, text):
            found[json.loads(event.payload)["id"]] = event
    return found


@pytest.mark.parametrize("write", [write_csv, write_tsv], ids=["csv", "tsv"])
def test_golden_mapping_of_each_row_in_both_export_forms(tmp_path: Path, write: object) -> None:
    events = _events(write(tmp_path / "log.txt"))  # type: ignore[operator]
    assert set(events) == set(GOLDEN)  # 1015 (anonymous) and 1016 (no user) are skipped
    for row_id, (learner, verb, obj, kind, course, result, extensions, seconds) in GOLDEN.items():
        event = events[row_id]
        name = next(r[1] for r in ROWS if r[0] == row_id)
        got = (event.learner, event.verb, event.object_id, event.object_type, event.course, event.result)
        assert got == (learner, verb, obj, kind, course, result), row_id
        assert event.extensions is not None
        assert event.extensions.pop("event_name") == name
        event.extensions.pop("edulevel")
        assert event.extensions == extensions, row_id
        assert (event.event_time_us, event.source_format, event.mapping_version) == (seconds * S, "moodle", "moodle-1")


def test_the_csv_and_tsv_exports_are_the_same_events(tmp_path: Path) -> None:
    from_csv = _events(write_csv(tmp_path / "a.csv"))
    from_tsv = _events(write_tsv(tmp_path / "a.tsv"))
    for row_id, event in from_csv.items():
        other = from_tsv[row_id]
        assert (event.event_id, event.learner, event.verb, event.extensions) == (
            other.event_id,
            other.learner,
            other.verb,
            other.extensions,
        )
    row = json.loads(from_tsv["1005"].payload)  # the original row, for audit and re-mapping
    assert row["other"] == 'a:3:{s:6:"itemid";i:14;s:10:"overridden";b:0;s:10:"finalgrade";d:7.5;}'
    assert row["relateduserid"] == "23"


def test_php_serialized_values() -> None:
    assert unserialize('a:2:{s:1:"a";i:-3;s:2:"\xe9";a:2:{i:0;d:0.5;i:1;N;}}') == {"a": -3, "\xe9": [0.5, None]}
    assert unserialize('O:8:"stdClass":1:{s:3:"key";b:1;}') == {"key": True}
    for bad in ("", 's:5:"abc";', "a:2:{i:0;i:1;}", "i:1;junk", 'C:3:"Foo":0:{}', "a:1:{a:0:{}i:1;}"):
        with pytest.raises(ValueError, match=r"\w"):
            unserialize(bad)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({17: "yesterday"}, "timecreated 'yesterday' is not unix seconds"),
        ({1: "course_viewed"}, "not a Moodle event class"),
        ({1: ""}, "eventname is empty"),
        ({16: "a:1:{s:3:"}, "other is neither JSON nor PHP-serialized"),
        ({16: '{"itemid": '}, "other is neither JSON nor PHP-serialized"),
        ({12: "ana"}, "user id 'ana' is not a number"),
    ],
)
def test_bad_rows_say_what_is_wrong(tmp_path: Path, change: dict[int, str], problem: str) -> None:
    row = list(ROWS[0])
    for index, value in change.items():
        row[index] = value
    path = write_csv(tmp_path / "log.csv", [tuple(row)])
    table = MoodleTable(path, tenant="t")
    table.start(path.read_text().splitlines()[0])
    with pytest.raises(InvalidEventError, match=problem):
        table.map_line(2, path.read_text().splitlines()[1])


def test_a_file_without_the_header_is_refused_naming_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("1001,\\core\\event\\course_viewed,core\n")
    with pytest.raises(ConfigError, match="lacks the column\\(s\\) eventname, userid, timecreated"):
        MoodleTable(path, tenant="t").start(path.read_text().splitlines()[0])


def test_the_import_reports_bad_lines_by_number_keeps_the_rest_and_resumes(tmp_path: Path) -> None:
    path = write_tsv(tmp_path / "logstore_standard_log.tsv")
    lines = path.read_text().splitlines()
    lines.insert(3, "garbage")  # line 4
    lines.insert(6, lines[5].replace(str(T0 + 900), "soon"))  # line 7: the quiz submission, with a bad time
    path.write_text("\n".join(lines[:12]) + "\n")
    log = SqliteLog(tmp_path / "log.db")
    log.ensure_topic(EVENTS_TOPIC, 2)
    report = run_import(log, MoodleImporter(tenant="t"), [path], checkpoint_dir=tmp_path / "imports", batch_size=3)
    assert [(p.line, p.message.split(" ")[0]) for p in report.problems] == [(4, "1"), (7, "timecreated")]
    assert (report.appended, report.bad_lines) == (9, 2)
    with path.open("a") as more:  # the export grows; a new run reads only what is new
        more.write("\n".join(lines[12:]) + "\n")
    again = run_import(log, MoodleImporter(tenant="t"), [path], checkpoint_dir=tmp_path / "imports")
    assert (again.appended, again.duplicates, again.bad_lines, again.resumed) == (5, 0, 0, {str(path): 13})
    (tmp_path / "imports" / "moodle.json").unlink()  # forget the checkpoint: everything again, stored once
    third = run_import(log, MoodleImporter(tenant="t"), [path], checkpoint_dir=tmp_path / "imports")
    assert (third.appended, third.duplicates) == (0, 14)
    events = [decode_event(r.value) for p in range(2) for r in log.read(EVENTS_TOPIC, p, 0, 100)]
    assert {e.mapping_version for e in events} == {"moodle-1"}
    assert len(events) == 14
    log.close()


@pytest.mark.parametrize("compressed", [False, True], ids=["csv", "csv.gz"])
def test_the_cli_imports_a_moodle_export(tmp_path: Path, compressed: bool) -> None:
    path = write_csv(tmp_path / "logstore_standard_log.csv")
    if compressed:
        path = tmp_path / "logstore_standard_log.csv.gz"
        path.write_bytes(gzip.compress((tmp_path / "logstore_standard_log.csv").read_bytes()))
    args = ["import", "moodle", str(path), "--data-dir", str(tmp_path / "data"), "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["lines"], report["appended"], report["bad_lines"]) == (len(ROWS), len(GOLDEN), 0)


_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=60)
_FIELD = st.one_of(_TEXT, st.sampled_from(["\\N", "NULL", "", "0", "1", "-1", "N;", "null", "a:1:{i:0;N;}"]))


@settings(max_examples=150, deadline=None)
@given(index=st.integers(0, 20), value=_FIELD, tab=st.booleans(), row=st.sampled_from(ROWS))
def test_no_field_value_crashes_the_mapping(index: int, value: str, tab: bool, row: tuple[str | None, ...]) -> None:
    fields: list[str | None] = [*row, *TAIL]
    fields[index] = value.replace("\t", " ") if tab else value
    table = MoodleTable(Path("log.txt"), tenant="t")
    table.start(("\t" if tab else ",").join(COLUMNS))
    with contextlib.suppress(InvalidEventError):  # a counted bad line, never an exception of another kind
        table.map_line(2, tsv_line(fields) if tab else csv_line(fields))


@settings(max_examples=200, deadline=None)
@given(line=_TEXT)
def test_no_line_crashes_the_moodle_table(line: str) -> None:
    for header in ("id,eventname,userid,timecreated,other", "eventname\tuserid\ttimecreated"):
        table = MoodleTable(Path("log.csv"), tenant="t")
        table.start(header)
        with contextlib.suppress(InvalidEventError):
            table.map_line(2, line)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(_TEXT, st.from_regex(r"\A[aisdbNO]:[0-9]{0,3}:?\{?.{0,30}\Z")))
def test_unserialize_raises_only_value_errors(text: str) -> None:
    with contextlib.suppress(ValueError):
        unserialize(text)


def test_a_raw_tab_separated_dump_is_read_without_unescaping(tmp_path: Path) -> None:
    path = tmp_path / "raw.tsv"  # mysql --raw: backslashes as they are, NULL as the word
    fields = ["NULL" if v is None else v for v in [*ROWS[4], *TAIL]]
    path.write_text("\t".join(COLUMNS) + "\n" + "\t".join(fields) + "\n")
    [event] = _events(path).values()
    assert (event.learner, event.verb, event.object_id) == ("moodle-user:23", Verb.GRADED, "moodle-grade-item:14")
    assert event.extensions is not None
    assert event.extensions["event_name"] == "\\core\\event\\user_graded"
