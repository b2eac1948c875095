"""OneRoster 1.1 CSV rosters (a directory of ``*.csv`` with a ``manifest.csv``) into the roster store.

The files are read in dependency order: ``orgs``, ``academicSessions``, ``courses``,
``classes``, ``users``, ``enrollments``, ``demographics``. ``manifest.csv`` says which
are present (``file.users=bulk|delta|absent``); without one, every file found is read.
Stored: users (with their names and e-mail, which the API shows only to allowed roles),
courses, classes, enrolments and ``agentSourcedIds`` relations (guardians, advisors).
Orgs and academic sessions are checked and counted; demographics are checked and never
stored (birth dates, sex and ethnicity are not needed for access control).

A row whose ``status`` is ``tobedeleted`` (delta files) deletes the row of that
sourced id. Like every import (see ``importers.base``) it streams, resumes an
interrupted run from its checkpoint, and reports bad lines by number without stopping.
A finished file's checkpoint is dropped: a roster is a snapshot, so the next run
re-reads it in full (upserts make that idempotent).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from edupulse.errors import ConfigError, InvalidEventError
from edupulse.importers.base import BadLine, ImportReport
from edupulse.privacy.scrub import Roster
from edupulse.roster.base import RosterRows, RosterStore
from edupulse.roster.keys import lms_keys
from edupulse.roster.model import USER_ROLES, Agent, Enrollment, RosterClass, RosterCourse, User

__all__ = ["FILES", "OneRosterImport", "import_roster", "mask_roster_people"]

Row = dict[str, str]
MAX_REPORTED = 1000
ENROLLMENT_ROLES = frozenset({"administrator", "aide", "proctor", "student", "teacher"})
# Required columns of each file (OneRoster 1.1 CSV binding), in import order.
FILES: dict[str, tuple[str, ...]] = {
    "orgs": ("sourcedId", "name", "type"),
    "academicSessions": ("sourcedId", "title", "type", "startDate", "endDate", "schoolYear"),
    "courses": ("sourcedId", "title", "orgSourcedId"),
    "classes": ("sourcedId", "title", "courseSourcedId", "classType", "schoolSourcedId", "termSourcedIds"),
    "users": ("sourcedId", "enabledUser", "orgSourcedIds", "role", "username", "givenName", "familyName"),
    "enrollments": ("sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"),
    "demographics": ("sourcedId",),
}
STORED = frozenset({"courses", "classes", "users", "enrollments"})


def _need(row: Row, column: str) -> str:
    value = row.get(column, "").strip()
    if not value:
        raise InvalidEventError(f"{column} is empty; OneRoster requires it")
    return value


def _user(row: Row, rows: RosterRows) -> None:
    role = _need(row, "role").lower()
    if role not in USER_ROLES:
        raise InvalidEventError(f"role {role!r} is not a OneRoster 1.1 user role ({', '.join(sorted(USER_ROLES))})")
    sid = _need(row, "sourcedId")
    rows.users.append(
        User(
            sid,
            role,
            _need(row, "username"),
            row.get("identifier", "").strip(),
            row["givenName"].strip(),
            row["familyName"].strip(),
            row.get("email", "").strip(),
            " ".join(lms_keys(row.get("userIds", ""))),
        )
    )
    agents = {a.strip() for a in row.get("agentSourcedIds", "").split(",") if a.strip()}
    rows.agents.extend(Agent(sid, a) for a in sorted(agents) if a != sid)


def _course(row: Row, rows: RosterRows) -> None:
    rows.courses.append(RosterCourse(_need(row, "sourcedId"), _need(row, "title"), row.get("courseCode", "").strip()))


def _class(row: Row, rows: RosterRows) -> None:
    rows.classes.append(
        RosterClass(
            _need(row, "sourcedId"),
            _need(row, "title"),
            _need(row, "courseSourcedId"),
            row.get("classCode", "").strip(),
        )
    )


def _enrollment(row: Row, rows: RosterRows) -> None:
    role = _need(row, "role").lower()
    if role not in ENROLLMENT_ROLES:
        raise InvalidEventError(f"role {role!r} is not an enrolment role ({', '.join(sorted(ENROLLMENT_ROLES))})")
    rows.enrollments.append(
        Enrollment(_need(row, "sourcedId"), _need(row, "classSourcedId"), _need(row, "userSourcedId"), role)
    )


def _check_only(row: Row, rows: RosterRows) -> None:
    _need(row, "sourcedId")


MAPPERS: dict[str, Callable[[Row, RosterRows], None]] = {
    "orgs": _check_only,
    "academicSessions": _check_only,
    "courses": _course,
    "classes": _class,
    "users": _user,
    "enrollments": _enrollment,
    "demographics": _check_only,
}


def map_row(name: str, row: Row, rows: RosterRows) -> None:
    """Add one CSV row of file ``name`` to ``rows``; InvalidEventError if it is bad."""
    status = row.get("status", "").strip().lower()
    if status not in ("", "active", "tobedeleted"):
        raise InvalidEventError(f"status {status!r} is neither active nor tobedeleted")
    if status == "tobedeleted":
        if name in STORED:
            rows.deleted.append((name, _need(row, "sourcedId")))
        return
    MAPPERS[name](row, rows)


def read_manifest(directory: Path) -> dict[str, str] | None:
    """``manifest.csv`` as ``{propertyName: value}``, or None if there is none."""
    path = directory / "manifest.csv"
    if not path.exists():
        return None
    with path.open(newline="", encoding="utf-8-sig") as file:
        found = {r.get("propertyName", "").strip(): r.get("value", "").strip() for r in csv.DictReader(file)}
    version = found.get("oneroster.version", "")
    if version and not version.startswith("1."):
        raise ConfigError(f"{path}: oneroster.version is {version}; edupulse reads OneRoster 1.x CSV")
    return found


class OneRosterImport:
    """Which files to read, in which order, from directories or single files."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.files: list[tuple[str, Path]] = []
        for path in paths:
            if path.is_dir():
                self.files.extend(self._directory(path))
            elif path.stem in FILES:
                self.files.append((path.stem, path))
            elif path.name != "manifest.csv":
                raise ConfigError(
                    f"{path} is not a OneRoster file; expected a directory or one of "
                    + ", ".join(f"{n}.csv" for n in FILES)
                )
        if not self.files:
            raise ConfigError(f"no OneRoster files in {', '.join(map(str, paths))}")
        order = list(FILES)
        self.files.sort(key=lambda f: order.index(f[0]))

    @staticmethod
    def _directory(path: Path) -> list[tuple[str, Path]]:
        manifest = read_manifest(path)
        found = []
        for name in FILES:
            mode = manifest.get(f"file.{name}", "absent") if manifest is not None else "bulk"
            if mode not in ("bulk", "delta", "absent"):
                raise ConfigError(f"{path / 'manifest.csv'}: file.{name} is {mode!r}; expected bulk, delta or absent")
            file = path / f"{name}.csv"
            if mode != "absent" and file.exists():
                found.append((name, file))
            elif mode != "absent" and manifest is not None:
                raise ConfigError(f"{path / 'manifest.csv'} lists {name}.csv as {mode}, but it is missing")
        return found


class _Checkpoint:
    """Where an interrupted roster import stopped: ``{path: [line, row]}``, dropped when a file is done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: dict[str, int] = {}
        if path.exists():
            self.done = msgspec.json.decode(path.read_bytes(), type=dict[str, int])

    def save(self, file: Path, line: int | None) -> None:
        if line is None:
            self.done.pop(str(file.resolve()), None)
        else:
            self.done[str(file.resolve())] = line
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_bytes(msgspec.json.encode(self.done))
        os.replace(partial, self.path)


def import_roster(
    store: RosterStore,
    paths: Sequence[Path],
    *,
    tenant: str,
    checkpoint_dir: Path,
    batch_size: int = 2000,
    masking: Roster | None = None,
) -> ImportReport:
    """Import OneRoster CSV files into ``store`` for ``tenant``; never stops on a bad line.

    ``masking``: the free-text masking roster of this process, which learns every person imported
    (a server's learns them from the store at its start: ``mask_roster_people``).
    """
    plan = OneRosterImport(paths)
    checkpoint = _Checkpoint(checkpoint_dir / "oneroster.json")
    report = ImportReport()
    for name, path in plan.files:
        start = checkpoint.done.get(str(path.resolve()), 0)
        if start:
            report.resumed[str(path)] = start
        _import_file(
            store,
            name,
            path,
            tenant=tenant,
            start=start,
            checkpoint=checkpoint,
            report=report,
            batch_size=batch_size,
            masking=masking,
        )
        report.files += 1
    return report


def _import_file(
    store: RosterStore,
    name: str,
    path: Path,
    *,
    tenant: str,
    start: int,
    checkpoint: _Checkpoint,
    report: ImportReport,
    batch_size: int,
    masking: Roster | None,
) -> None:
    rows = RosterRows()
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as file:
        reader = csv.reader(file)
        header = [c.strip() for c in next(reader, [])]
        missing = [c for c in FILES[name] if c not in header]
        if missing:
            raise ConfigError(f"{path}: line 1 lacks the column(s) {', '.join(missing)} of {name}.csv")
        for values in reader:
            line = reader.line_num
            if line <= start or not any(v.strip() for v in values):
                continue
            report.lines += 1
            try:
                if len(values) != len(header):
                    raise InvalidEventError(f"{len(values)} fields where the header has {len(header)}")
                map_row(name, dict(zip(header, values, strict=True)), rows)
            except InvalidEventError as exc:
                report.bad_lines += 1
                if len(report.problems) < MAX_REPORTED:
                    report.problems.append(BadLine(str(path), line, str(exc)))
            if len(rows) >= batch_size:
                _flush(store, tenant, rows, report, masking)
                checkpoint.save(path, line)
                rows = RosterRows()
    _flush(store, tenant, rows, report, masking)
    checkpoint.save(path, None)


def _flush(store: RosterStore, tenant: str, rows: RosterRows, report: ImportReport, masking: Roster | None) -> None:
    store.put(tenant, rows)
    if masking is not None:
        mask_roster_people(masking, rows.users)
    report.events += len(rows)
    report.appended += len(rows)


def mask_roster_people(masking: Roster, users: Sequence[User]) -> None:
    """Teach the free-text masking roster these people: their names, and their ids (sourced id,
    username, identifier, LMS account ids) wherever they appear in text."""
    for user in users:
        ids = [user.sourced_id, user.username, user.identifier]
        ids += [key.rpartition(":")[2].rpartition("|")[2] for key in user.lms_ids.split()]
        masking.add(f"{user.given_name} {user.family_name}", [i for i in ids if i])
