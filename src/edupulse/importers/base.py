"""Streaming, resumable file import onto the log, whatever the format.

A format names its files (``Table``) and maps each line to events; the runner here does
the rest, the same for every format:

- streaming: one line at a time, appended in batches, so memory does not grow with
  the file;
- resumable: after each appended batch the byte offset and line number reached in the
  file are saved under ``{data_dir}/imports/{format}.json``; a new run starts there.
  A crash between an append and its checkpoint only re-sends a batch, and event ids
  are deterministic, so the log's idempotent append stores each event once;
- never fatal on bad input: a line that cannot be mapped is counted and reported with
  its file and line number, and the lines around it are imported.

Each event's original row is kept as its record's payload, for audit and re-mapping,
and its mapping version is stamped on the event.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

import msgspec

from edupulse.errors import InvalidEventError
from edupulse.events.model import LearningEvent, encode_event
from edupulse.log.base import EventLog, Record
from edupulse.stream.runtime import EVENTS_TOPIC

__all__ = ["BadLine", "ImportReport", "Importer", "Table", "run_import"]

Progress = Callable[[int], None]
MAX_REPORTED = 1000  # bad lines listed one by one; all of them are counted


class Table(Protocol):
    """One file of a format, ready to map its lines.

    ``has_header``: the first line names the columns (CSV) and goes to ``start``; without
    one (JSON lines) ``start`` gets an empty string and every line is data.
    """

    path: Path
    has_header: bool

    def start(self, header: str) -> None:
        """Check the first line; raise InvalidEventError if the file is not this table."""

    def map_line(self, line: int, text: str) -> list[LearningEvent]:
        """The events of one line (with their payloads); InvalidEventError if it is bad."""


class Importer(Protocol):
    """A format: which files to read, in which order."""

    format: str

    def tables(self, paths: Sequence[Path]) -> Sequence[Table]:
        """The tables to import from these files or directories, in import order."""


class BadLine(msgspec.Struct, frozen=True):
    """A line that was not imported, and why."""

    file: str
    line: int
    message: str


class ImportReport(msgspec.Struct):
    """What an import did. ``bad_lines`` counts them all; ``problems`` lists the first ones."""

    files: int = 0
    lines: int = 0
    events: int = 0
    appended: int = 0
    duplicates: int = 0
    conflicts: int = 0
    bad_lines: int = 0
    resumed: dict[str, int] = msgspec.field(default_factory=dict)
    problems: list[BadLine] = msgspec.field(default_factory=list)


class _Checkpoints:
    """Where each file's import has reached: ``{path: [offset, line]}``, saved atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: dict[str, list[int]] = {}
        if path.exists():
            self.done = msgspec.json.decode(path.read_bytes(), type=dict[str, list[int]])

    def position(self, file: Path) -> tuple[int, int]:
        offset, line = self.done.get(str(file.resolve()), [0, 1])
        if file.suffix != ".gz" and offset > file.stat().st_size:  # replaced by a shorter file: start over
            return 0, 1
        return offset, line

    def save(self, file: Path, offset: int, line: int) -> None:
        self.done[str(file.resolve())] = [offset, line]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_bytes(msgspec.json.encode(self.done))
        os.replace(partial, self.path)


def run_import(
    log: EventLog,
    importer: Importer,
    paths: Sequence[Path],
    *,
    checkpoint_dir: Path,
    batch_size: int = 5000,
    progress: Progress | None = None,
    total: Progress | None = None,
) -> ImportReport:
    """Import files onto the log's events topic, resuming where an earlier run stopped."""
    tables = importer.tables(paths)
    checkpoints = _Checkpoints(checkpoint_dir / f"{importer.format}.json")
    if total is not None:
        total(sum(t.path.stat().st_size - checkpoints.position(t.path)[0] for t in tables))
    report = ImportReport()
    for table in tables:
        _import_table(log, table, checkpoints, report, batch_size=batch_size, progress=progress)
        report.files += 1
    return report


def _import_table(
    log: EventLog,
    table: Table,
    checkpoints: _Checkpoints,
    report: ImportReport,
    *,
    batch_size: int,
    progress: Progress | None,
) -> None:
    offset, line = checkpoints.position(table.path)
    if offset:
        report.resumed[str(table.path)] = line
    with _open(table.path) as file:
        if table.has_header:
            header = file.readline()
            table.start(header.decode("utf-8-sig", errors="replace").strip())
            if not offset:
                offset, line = file.tell(), 2
                if progress is not None:
                    progress(offset)
        else:
            table.start("")
        file.seek(offset)
        records: list[Record] = []
        next_line = line
        for number, text, end in _lines(file, line):
            next_line = number + 1
            report.lines += 1
            try:
                events = table.map_line(number, text)
            except InvalidEventError as exc:
                _bad(report, BadLine(str(table.path), number, str(exc)))
                events = []
            records.extend(_record(ev) for ev in events)
            if len(records) >= batch_size:
                _append(log, records, report)
                checkpoints.save(table.path, end, next_line)
                if progress is not None:
                    progress(end - offset)
                offset, records = end, []
        end = file.tell()
        _append(log, records, report)
        checkpoints.save(table.path, end, next_line)
        if progress is not None:
            progress(end - offset)


def _open(path: Path) -> BinaryIO:
    """The file's bytes; ``.gz`` files are read through gzip (offsets count uncompressed bytes)."""
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _lines(file: BinaryIO, first: int) -> Iterator[tuple[int, str, int]]:
    """``(line number, text, offset after the line)`` for each non-blank line."""
    number = first
    for raw in iter(file.readline, b""):
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if text.strip():
            yield number, text, file.tell()
        number += 1


def _bad(report: ImportReport, bad: BadLine) -> None:
    report.bad_lines += 1
    if len(report.problems) < MAX_REPORTED:
        report.problems.append(bad)


def _record(event: LearningEvent) -> Record:
    payload = event.payload
    stored = msgspec.structs.replace(event, payload=b"")
    digest = hashlib.blake2b(event.mapping_version.encode() + b"\0" + payload, digest_size=16).digest()
    record_id = f"{event.tenant}:{event.event_id}"
    return Record(event.partition_key, encode_event(stored), event.event_time_us, record_id, digest, payload)


def _append(log: EventLog, records: list[Record], report: ImportReport) -> None:
    if not records:
        return
    for result in log.append(EVENTS_TOPIC, records):
        report.events += 1
        report.appended += result.status == "appended"
        report.duplicates += result.status == "duplicate"
        report.conflicts += result.status == "conflict"


def row_payload(columns: Sequence[str], values: Sequence[str]) -> bytes:
    """The original row as JSON, header names as keys: the payload kept for audit."""
    return json.dumps(dict(zip(columns, values, strict=True)), separators=(",", ":")).encode()
