"""OneRoster 1.1 CSV import: golden rows, scopes, bad lines, deltas, resume, and no crash on any input."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edupulse.errors import ConfigError
from edupulse.roster.base import RosterRows, RosterStore
from edupulse.roster.model import User
from edupulse.roster.oneroster import FILES, import_roster, map_row
from edupulse.roster.postgres import PostgresRoster
from edupulse.roster.sqlite import SqliteRoster
from tests.roster_files import write_roster
from tests.services import postgres_dsn, scratch_schema


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RosterStore]:
    opened: RosterStore
    if request.param == "sqlite":
        opened = SqliteRoster(tmp_path / "roster.db")
    else:
        opened = PostgresRoster(
            postgres_dsn(), schema=scratch_schema(f"t_roster_{zlib.crc32(request.node.name.encode())}")
        )
    yield opened
    opened.close()


def _import(store: RosterStore, tmp_path: Path, **kwargs: object) -> object:
    return import_roster(
        store, [write_roster(tmp_path / "roster")], tenant="t1", checkpoint_dir=tmp_path / "imports", **kwargs
    )  # type: ignore[arg-type]


def test_a_roster_is_stored_as_users_classes_enrolments_and_relations(store: RosterStore, tmp_path: Path) -> None:
    report = _import(store, tmp_path)

    assert report.bad_lines == 0  # type: ignore[attr-defined]
    assert report.files == 7  # type: ignore[attr-defined]
    assert store.counts("t1") == {"users": 7, "courses": 2, "classes": 2, "enrollments": 5, "agents": 4}
    assert store.counts("other") == {"users": 0, "courses": 0, "classes": 0, "enrollments": 0, "agents": 0}
    assert store.user("t1", "s-bea") == User("s-bea", "student", "bea", "S001", "Bea", "Ortiz", "bea@school.example")


def test_the_roster_decides_who_teaches_and_advises_whom(store: RosterStore, tmp_path: Path) -> None:
    _import(store, tmp_path)

    ada = store.person("t1", "t-ada")
    assert ada is not None
    assert ada.roles == ["instructor"]
    assert ada.courses == {"cls-bio-1", "https://example.edu/courses/bio", "crs-bio", "BIO101"}
    assert {"s-bea", "s-cy"} <= ada.students and "s-eve" not in ada.students
    alan = store.person("t1", "alan")  # by username too
    assert alan is not None and alan.roles == ["instructor", "counsellor"]
    assert {"s-bea", "bea", "S001", "mailto:bea@school.example", "s-cy"} <= alan.advisees
    dan = store.person("t1", "g-dan")
    assert dan is not None and dan.advisees == {"s-bea", "bea", "S001", "mailto:bea@school.example"}
    bea = store.person("t1", "s-bea")
    assert bea is not None and bea.roles == ["learner"] and "s-bea" in bea.own and not bea.advisees
    root = store.person("t1", "a-root")
    assert root is not None and root.roles == ["admin"]
    assert store.person("t1", "nobody") is None
    assert store.person("t2", "t-ada") is None


def test_bad_lines_are_reported_by_number_and_the_rest_is_stored(store: RosterStore, tmp_path: Path) -> None:
    roster = write_roster(tmp_path / "roster")
    users = roster / "users.csv"
    lines = users.read_text().splitlines()
    lines.insert(2, "x1,,,true,org1,wizard,x,,X,Y,,,,,,,,")  # line 3: unknown role
    lines.insert(4, "x2,,,true,org1")  # line 5: too few fields
    lines.insert(5, ",,,true,org1,student,z,,Z,Z,,,,,,,,")  # line 6: no sourcedId
    users.write_text("\n".join(lines) + "\n")

    report = import_roster(store, [roster], tenant="t1", checkpoint_dir=tmp_path / "imports")

    assert [(Path(p.file).name, p.line) for p in report.problems] == [
        ("users.csv", 3),
        ("users.csv", 5),
        ("users.csv", 6),
    ]
    assert "wizard" in report.problems[0].message and "sourcedId" in report.problems[2].message
    assert store.counts("t1")["users"] == 7


def test_a_delta_file_deletes_rows_marked_tobedeleted(store: RosterStore, tmp_path: Path) -> None:
    _import(store, tmp_path)
    delta = tmp_path / "delta"
    delta.mkdir()
    (delta / "manifest.csv").write_text("propertyName,value\noneroster.version,1.1\nfile.enrollments,delta\n")
    (delta / "enrollments.csv").write_text(
        FILES["enrollments"]
        and "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role\n"
        "e3,tobedeleted,2026-11-01T00:00:00Z,cls-bio-1,org1,s-cy,student\n"
    )

    import_roster(store, [delta], tenant="t1", checkpoint_dir=tmp_path / "imports")

    ada = store.person("t1", "t-ada")
    assert ada is not None and "s-cy" not in ada.students and "s-bea" in ada.students


def test_an_interrupted_import_resumes_and_a_finished_one_reads_again(tmp_path: Path) -> None:
    store = SqliteRoster(tmp_path / "roster.db")
    roster = write_roster(tmp_path / "roster")
    checkpoint = tmp_path / "imports" / "oneroster.json"
    checkpoint.parent.mkdir()
    checkpoint.write_text(f'{{"{(roster / "users.csv").resolve()}": 4}}')

    report = import_roster(store, [roster], tenant="t1", checkpoint_dir=tmp_path / "imports", batch_size=2)

    assert report.resumed == {str(roster / "users.csv"): 4}
    assert store.counts("t1")["users"] == 4  # lines 5-8: the first three users were stored by the earlier run
    assert checkpoint.read_text() == "{}"
    again = import_roster(store, [roster], tenant="t1", checkpoint_dir=tmp_path / "imports")
    assert again.resumed == {} and store.counts("t1")["users"] == 7
    store.close()


def test_a_missing_column_or_wrong_file_is_a_clear_error(tmp_path: Path) -> None:
    store = SqliteRoster(tmp_path / "roster.db")
    (tmp_path / "users.csv").write_text("sourcedId,role\nu1,student\n")
    with pytest.raises(ConfigError, match=r"users.csv: line 1 lacks the column\(s\) enabledUser"):
        import_roster(store, [tmp_path / "users.csv"], tenant="t1", checkpoint_dir=tmp_path)
    (tmp_path / "grades.csv").write_text("x\n")
    with pytest.raises(ConfigError, match="not a OneRoster file"):
        import_roster(store, [tmp_path / "grades.csv"], tenant="t1", checkpoint_dir=tmp_path)
    store.close()


_cells = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    name=st.sampled_from(sorted(FILES)),
    row=st.dictionaries(
        st.sampled_from(
            [
                "sourcedId",
                "status",
                "role",
                "username",
                "givenName",
                "familyName",
                "title",
                "courseSourcedId",
                "classSourcedId",
                "userSourcedId",
                "agentSourcedIds",
                "email",
            ]
        ),
        _cells,
    ),
)
def test_no_row_crashes_the_mapping(name: str, row: dict[str, str]) -> None:
    rows = RosterRows()
    try:
        map_row(name, row, rows)
    except Exception as exc:  # the property: only InvalidEventError may leave
        assert type(exc).__name__ == "InvalidEventError", exc
