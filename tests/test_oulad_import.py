"""The OULAD mapping on real rows, and the importer: bad lines, resumption, streaming."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from edupulse.cli import main
from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.events.model import Result, decode_events
from edupulse.events.oulad import MAPPING_VERSION, presentation_start_us
from edupulse.events.vocabulary import Verb
from edupulse.importers.base import ImportReport, run_import
from edupulse.importers.oulad import OuladImporter
from edupulse.log.base import EventLog
from edupulse.stream.runtime import EVENTS_TOPIC
from tests.oulad_rows import TABLES, write_tables

DAY = 86_400_000_000
START_2013J = 1_380_585_600_000_000  # 2013-10-01T00:00:00Z


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """These tests check the mapping itself, so they read learner ids and payloads in clear
    (tests/test_privacy_erasure.py checks that an import is pseudonymised and sealed)."""
    return Settings(data_dir=tmp_path / "data", log={"partitions": 4}, privacy={"pseudonymise": False})


def _import(settings: Settings, *paths: Path, batch_size: int = 5000) -> ImportReport:
    with Deployment(settings) as dep:
        return run_import(
            dep.log,
            OuladImporter(tenant="t"),
            paths,
            checkpoint_dir=settings.data_dir / "imports",
            batch_size=batch_size,
        )


def _events(log: EventLog) -> dict[str, tuple[object, ...]]:
    out = {}
    for p in range(log.partitions(EVENTS_TOPIC)):
        records = log.read(EVENTS_TOPIC, p, 0, 100_000)
        payloads = log.read_payloads(EVENTS_TOPIC, p, [r.offset for r in records])
        for rec, ev in zip(records, decode_events([r.value for r in records]), strict=True):
            out[ev.event_id] = (ev, json.loads(payloads[rec.offset]))
    return out


def test_presentations_start_on_their_documented_day() -> None:
    assert presentation_start_us("2013J") == START_2013J
    assert presentation_start_us("2014B") == 1_391_212_800_000_000  # 2014-02-01


def test_golden_mapping_of_real_rows(settings: Settings, tmp_path: Path) -> None:
    report = _import(settings, write_tables(tmp_path / "oulad"))
    assert (report.lines, report.appended, report.bad_lines) == (6, 7, 0)
    with Deployment(settings) as dep:
        events = _events(dep.log)
    reg, row = events["oulad:AAA_2013J:11391:registered"]
    assert (reg.learner, reg.course, reg.verb, reg.tenant) == ("oulad:11391", "AAA_2013J", Verb.ENROLLED, "t")
    assert reg.event_time_us == START_2013J - 159 * DAY
    assert reg.mapping_version == MAPPING_VERSION and reg.source_format == "oulad"
    assert row == {
        "code_module": "AAA",
        "code_presentation": "2013J",
        "id_student": "11391",
        "date_registration": "-159",
        "date_unregistration": "",
    }
    left, _ = events["oulad:AAA_2013J:30268:unregistered"]
    assert left.verb is Verb.UNENROLLED and left.event_time_us == START_2013J + 12 * DAY
    sub, raw = events["oulad:AAA_2013J:11391:assessment:1752"]
    assert sub.verb is Verb.SUBMITTED and sub.object_id == "oulad:assessment:1752"
    assert sub.result == Result(score=0.78, success=True)
    assert sub.event_time_us == START_2013J + 18 * DAY
    assert sub.extensions == {
        "course_start_us": START_2013J,
        "course_day": 18,
        "assessment_type": "TMA",
        "weight": 10.0,
        "is_banked": False,
        "due_us": START_2013J + 19 * DAY,
    }
    assert raw["score"] == "78"
    profile, raw = events["oulad:AAA_2013J:30268:profile"]
    assert profile.object_type == "learner-profile" and profile.event_time_us == START_2013J
    assert profile.extensions is not None
    assert profile.extensions["highest_education"] == "A Level or Equivalent"
    assert profile.extensions["studied_credits"] == 60
    assert "final_result" not in profile.extensions  # the outcome is never a feature...
    assert raw["final_result"] == "Withdrawn"  # ...but the original row is kept for audit


def test_bad_lines_are_reported_with_line_numbers_and_the_rest_imported(settings: Settings, tmp_path: Path) -> None:
    tables = dict(TABLES)
    tables["studentAssessment"] = [
        *TABLES["studentAssessment"],
        "9999,11391,20,0,50",  # line 4: unknown assessment
        "1752,30268,x,0,50",  # line 5: a date that is no number
        "1752,30268,11,0",  # line 6: a field short
        "1752,30268,11,0,150",  # line 7: score out of range
        "1752,30268,11,0,55",  # line 8: good
    ]
    report = _import(settings, write_tables(tmp_path / "oulad", tables))
    assert report.bad_lines == 4
    bad = {(Path(b.file).name, b.line): b.message for b in report.problems}
    assert set(bad) == {("studentAssessment.csv", n) for n in (4, 5, 6, 7)}
    assert "9999" in bad[("studentAssessment.csv", 4)]
    assert "date_submitted" in bad[("studentAssessment.csv", 5)]
    assert report.appended == 8  # the seven events of the good rows, and line 8


def test_a_second_run_resumes_and_stores_nothing_twice(settings: Settings, tmp_path: Path) -> None:
    data = write_tables(tmp_path / "oulad")
    first = _import(settings, data, batch_size=1)
    assert first.appended == 7
    again = _import(settings, data)
    assert (again.lines, again.appended) == (0, 0)
    assert again.resumed[str(data / "studentAssessment.csv")] == 4
    with (data / "studentAssessment.csv").open("a") as file:  # new rows arrive
        file.write("1752,30268,11,0,55\n")
    more = _import(settings, data)
    assert (more.lines, more.appended) == (1, 1)
    # A crash after an append but before its checkpoint: the redone lines are duplicates.
    (settings.data_dir / "imports" / "oulad.json").unlink()
    redo = _import(settings, data)
    assert (redo.appended, redo.duplicates) == (0, 8)


def test_clicks_are_imported_when_a_user_has_them(settings: Settings, tmp_path: Path) -> None:
    tables = dict(TABLES)
    tables["vle"] = ["id_site,code_module,code_presentation,activity_type,week_from,week_to", "546943,AAA,2013J,quiz,,"]
    tables["studentVle"] = [
        "code_module,code_presentation,id_student,id_site,date,sum_click",
        "AAA,2013J,11391,546943,-10,4",
        "AAA,2013J,11391,546943,-10,4",  # the same again on another line: another event
    ]
    report = _import(settings, write_tables(tmp_path / "oulad", tables))
    assert report.appended == 9
    with Deployment(settings) as dep:
        events = _events(dep.log)
    click, _ = events["oulad:AAA_2013J:11391:vle:546943:-10:2"]
    assert click.verb is Verb.ACCESSED and click.event_time_us == START_2013J - 10 * DAY
    assert click.extensions is not None
    assert (click.extensions["clicks"], click.extensions["activity_type"]) == (4, "quiz")


def _peak_import_bytes(tmp_path: Path, rows: int) -> int:
    data = tmp_path / f"oulad-{rows}"
    data.mkdir()
    with (data / "studentVle.csv").open("w") as file:  # 200 learners, as many clicks as asked
        file.write("code_module,code_presentation,id_student,id_site,date,sum_click\n")
        for i in range(rows):
            file.write(f"AAA,2013J,{100000 + i % 200},{546000 + i % 50},{i % 200},{1 + i % 7}\n")
    settings = Settings(data_dir=tmp_path / f"data-{rows}", log={"partitions": 2})
    tracemalloc.start()
    try:
        report = _import(settings, data / "studentVle.csv", batch_size=500)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.appended == rows
    return peak


def test_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    small = _peak_import_bytes(tmp_path, 2_000)
    large = _peak_import_bytes(tmp_path, 20_000)
    assert large < small * 1.5 + 1_000_000, (small, large)


def test_cli_import_reports_bad_lines_and_resumes(tmp_path: Path) -> None:
    tables = dict(TABLES)
    tables["studentRegistration"] = [*TABLES["studentRegistration"], "AAA,2013X,1,0,"]
    data = write_tables(tmp_path / "oulad", tables)
    runner = CliRunner()
    args = ["import", "oulad", str(data), "--data-dir", str(tmp_path / "d")]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "studentRegistration.csv:4: code_presentation '2013X'" in first.output
    assert "1 bad line(s) skipped" in first.output
    second = runner.invoke(main, [*args, "--json"])
    assert json.loads(second.stdout)["appended"] == 0


def test_cli_import_refuses_a_file_that_is_not_an_oulad_table(tmp_path: Path) -> None:
    other = tmp_path / "grades.csv"
    other.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(main, ["import", "oulad", str(other), "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 2
    assert "is not an OULAD table" in result.output


@pytest.mark.parametrize("table", ["studentRegistration"])
def test_a_table_without_its_columns_is_refused_naming_them(tmp_path: Path, table: str) -> None:
    data = write_tables(tmp_path / "oulad", {table: ["code_module,id_student", "AAA,1"]})
    result = CliRunner().invoke(main, ["import", "oulad", str(data), "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 2
    assert "lacks the column(s) code_presentation" in result.output
