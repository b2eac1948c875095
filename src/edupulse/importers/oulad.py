"""OULAD CSV tables onto the log (mapping in ``events.oulad``).

Given directories, the event tables found in them are imported in this order:
``studentInfo``, ``studentRegistration``, ``studentAssessment``, ``studentVle`` (when a
user has it). Reference tables are read from the directory of the table that needs
them: ``assessments.csv`` (required by ``studentAssessment``) and ``vle.csv`` (the
activity type of each site, optional).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec

from edupulse.errors import ConfigError, InvalidEventError
from edupulse.events.model import LearningEvent
from edupulse.events.oulad import TABLE_COLUMNS, Assessment, map_row
from edupulse.importers.base import row_payload

__all__ = ["OuladImporter", "OuladTable", "read_assessments"]

_REFERENCE = frozenset({"assessments", "courses", "vle"})


class OuladTable:
    """One OULAD event table, mapped line by line."""

    has_header = True

    def __init__(
        self, path: Path, name: str, *, tenant: str, assessments: Mapping[str, Assessment], sites: Mapping[str, str]
    ) -> None:
        self.path = path
        self.name = name
        self.tenant = tenant
        self.assessments = assessments
        self.sites = sites
        self.columns: list[str] = []

    def start(self, header: str) -> None:
        self.columns = [c.strip().strip('"') for c in next(csv.reader([header]))]
        missing = [c for c in TABLE_COLUMNS[self.name] if c not in self.columns]
        if missing:
            raise ConfigError(f"{self.path}: line 1 lacks the column(s) {', '.join(missing)} of {self.name}")

    def map_line(self, line: int, text: str) -> list[LearningEvent]:
        values = next(csv.reader([text]))
        if len(values) != len(self.columns):
            raise InvalidEventError(f"{len(values)} fields where the header has {len(self.columns)}")
        row = dict(zip(self.columns, (v.strip() for v in values), strict=True))
        events = map_row(self.name, row, line=line, tenant=self.tenant, assessments=self.assessments, sites=self.sites)
        payload = row_payload(self.columns, values)
        return [msgspec.structs.replace(ev, payload=payload) for ev in events]


class OuladImporter:
    """The ``oulad`` format of ``edupulse import``."""

    format = "oulad"

    def __init__(self, *, tenant: str) -> None:
        self.tenant = tenant

    def tables(self, paths: Sequence[Path]) -> list[OuladTable]:
        files: list[tuple[int, Path]] = []
        order = list(TABLE_COLUMNS)
        for path in paths:
            if path.is_dir():
                files.extend((order.index(n), path / f"{n}.csv") for n in order if (path / f"{n}.csv").exists())
            elif path.stem in TABLE_COLUMNS:
                files.append((order.index(path.stem), path))
            elif path.stem in _REFERENCE:
                continue  # read when a table needs it
            else:
                known = ", ".join(f"{n}.csv" for n in order)
                raise ConfigError(f"{path} is not an OULAD table; expected a directory or one of {known}")
        if not files:
            raise ConfigError(f"no OULAD tables in {', '.join(map(str, paths))}")
        return [self._table(path, order[i]) for i, path in sorted(files)]

    def _table(self, path: Path, name: str) -> OuladTable:
        assessments: dict[str, Assessment] = {}
        sites: dict[str, str] = {}
        if name == "studentAssessment":
            assessments = read_assessments(path.parent / "assessments.csv")
        if name == "studentVle" and (path.parent / "vle.csv").exists():
            sites = _read_sites(path.parent / "vle.csv")
        return OuladTable(path, name, tenant=self.tenant, assessments=assessments, sites=sites)


def read_assessments(path: Path) -> dict[str, Assessment]:
    """``assessments.csv`` by ``id_assessment``."""
    if not path.exists():
        raise ConfigError(f"{path} is missing: studentAssessment needs it beside it")
    found: dict[str, Assessment] = {}
    with path.open(newline="", encoding="utf-8-sig") as file:
        for number, row in enumerate(csv.DictReader(file), start=2):
            try:
                due = int(row["date"]) if row["date"] else None
                found[row["id_assessment"]] = Assessment(
                    row["code_module"], row["code_presentation"], row["assessment_type"], due, float(row["weight"])
                )
            except (KeyError, ValueError) as exc:
                raise ConfigError(f"{path}: line {number} is not a valid assessment row ({exc})") from exc
    return found


def _read_sites(path: Path) -> dict[str, str]:
    with path.open(newline="", encoding="utf-8-sig") as file:
        return {row["id_site"]: row["activity_type"] for row in csv.DictReader(file) if row.get("id_site")}
