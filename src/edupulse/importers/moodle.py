r"""Moodle ``logstore_standard_log`` exports onto the log (mapping in ``events.moodle``).

A file is the table exported with a header row naming its columns, either as CSV
(comma-separated, fields quoted as needed, as a database client or spreadsheet writes
it) or tab-separated (MySQL's ``SELECT ... INTO OUTFILE`` and ``mysql --batch``,
PostgreSQL's ``COPY ... TO``: backslashes escaped, or raw as ``mysql --raw`` writes
them). The separator is read from the header; whether a tab-separated line is escaped,
from its event name (``\\core\\event\\...`` or ``\core\event\...``). ``\N``, ``NULL``
and empty fields are null. Given a directory, every file in it is imported, in name order.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path

from edupulse.errors import ConfigError, InvalidEventError
from edupulse.events.model import LearningEvent
from edupulse.events.moodle import COLUMNS, REQUIRED, map_row
from edupulse.importers.base import row_payload

__all__ = ["MoodleImporter", "MoodleTable", "split_line"]

_NULLS = frozenset({"\\N", "NULL", ""})
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "0": "\0", "b": "\b", "Z": "\x1a"}


def split_line(text: str, separator: str) -> list[str]:
    """The raw fields of one line: CSV rules for commas, backslash escapes for tabs."""
    if separator != ",":
        return text.split("\t")
    try:
        return next(csv.reader([text]), [])
    except csv.Error as exc:
        raise InvalidEventError(f"not a CSV line: {exc}") from None


def _value(raw: str, escaped: bool) -> str | None:
    if raw in _NULLS:
        return None
    if escaped and "\\" in raw:
        return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), raw)
    return raw


class MoodleTable:
    """One export of the standard log, mapped line by line."""

    has_header = True

    def __init__(self, path: Path, *, tenant: str) -> None:
        self.path = path
        self.tenant = tenant
        self.columns: list[str] = []
        self.separator = ","

    def start(self, header: str) -> None:
        self.separator = "\t" if "\t" in header else ","
        self.columns = [c.strip().strip('"').strip("`").lower() for c in split_line(header, self.separator)]
        missing = [c for c in REQUIRED if c not in self.columns]
        if missing:
            known = ", ".join(COLUMNS)
            raise ConfigError(
                f"{self.path}: line 1 lacks the column(s) {', '.join(missing)}; export logstore_standard_log "
                f"with a header row naming its columns ({known})"
            )

    def map_line(self, line: int, text: str) -> list[LearningEvent]:
        fields = split_line(text, self.separator)
        if len(fields) != len(self.columns):
            raise InvalidEventError(f"{len(fields)} fields where the header has {len(self.columns)}")
        # Tab-separated dumps escape backslashes (``\\core\\event\\...``) unless written raw (``mysql --raw``).
        escaped = self.separator == "\t" and fields[self.columns.index("eventname")].startswith("\\\\")
        row = {c: _value(v.strip(), escaped) for c, v in zip(self.columns, fields, strict=True)}
        event = map_row(row, payload=row_payload(self.columns, fields), tenant=self.tenant)
        return [] if event is None else [event]


class MoodleImporter:
    """The ``moodle`` format of ``edupulse import``."""

    format = "moodle"

    def __init__(self, *, tenant: str) -> None:
        self.tenant = tenant

    def tables(self, paths: Sequence[Path]) -> list[MoodleTable]:
        files: list[Path] = []
        for path in paths:
            files.extend(sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path])
        if not files:
            raise ConfigError(f"no files in {', '.join(map(str, paths))}")
        return [MoodleTable(p, tenant=self.tenant) for p in files]
