"""Formats with one JSON event per line and no header: Open edX tracking logs, xAPI NDJSON, Canvas Live Events.

Given directories, every file in them (sorted by name) is imported; ``.gz`` files are
read through gzip. Blank lines and ``#`` comment lines are skipped.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from edupulse.errors import InvalidEventError
from edupulse.events import canvas, edx
from edupulse.events.model import LearningEvent
from edupulse.events.vocabulary import Verb
from edupulse.events.xapi import decode_statements, id_text, to_event, verb_of

__all__ = ["CanvasImporter", "EdxImporter", "LineTable", "XapiImporter"]

Mapper = Callable[[str, int], list[LearningEvent]]
_NAMESPACE = uuid.UUID("0b6f9d3e-52a4-4c8e-9f0d-7e21c3a4b5d6")


class LineTable:
    """One file of JSON lines, each mapped by the format's function."""

    has_header = False

    def __init__(self, path: Path, mapper: Mapper) -> None:
        self.path = path
        self._map = mapper

    def start(self, header: str) -> None:
        pass

    def map_line(self, line: int, text: str) -> list[LearningEvent]:
        if text.lstrip().startswith("#"):
            return []
        return self._map(text, line)


def _files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path])
    return files


class EdxImporter:
    """The ``edx`` format of ``edupulse import``: raw Open edX tracking logs."""

    format = "edx"

    def __init__(self, *, tenant: str) -> None:
        self.tenant = tenant

    def tables(self, paths: Sequence[Path]) -> list[LineTable]:
        return [LineTable(p, self._map) for p in _files(paths)]

    def _map(self, text: str, line: int) -> list[LearningEvent]:
        return edx.map_line(text, line=line, tenant=self.tenant)


class XapiImporter:
    """The ``xapi`` format of ``edupulse import``: one xAPI statement per line (NDJSON).

    Statements are checked and mapped as ``POST /xapi/statements`` maps them (``xapi-2``)
    and go onto the log as canonical events; a statement without an id gets one derived
    from its bytes, so importing the file again stores nothing twice.
    """

    format = "xapi"

    def __init__(self, *, tenant: str) -> None:
        self.tenant = tenant

    def tables(self, paths: Sequence[Path]) -> list[LineTable]:
        return [LineTable(p, self._map) for p in _files(paths)]

    def _map(self, text: str, line: int) -> list[LearningEvent]:
        raw = text.strip().encode()
        if not raw.startswith(b"{"):
            raise InvalidEventError("not a JSON object (one xAPI statement per line)")
        events = []
        for item in decode_statements(raw):
            stmt = item.statement
            if isinstance(stmt, InvalidEventError):
                raise InvalidEventError(f"{stmt} at {stmt.path.replace('$[0]', '$')}")
            statement_id = id_text(stmt.id) if stmt.id is not None else str(uuid.uuid5(_NAMESPACE, text.strip()))
            event = to_event(
                stmt,
                item.raw,
                tenant=self.tenant,
                event_id=statement_id,
                stored_us=time.time_ns() // 1000,
                verb=verb_of(stmt.verb) or Verb.OTHER,
            )
            events.append(event)
        return events


class CanvasImporter:
    """The ``canvas`` format of ``edupulse import``: Canvas Live Events, canvas or caliper format, per line."""

    format = "canvas"

    def __init__(self, *, tenant: str) -> None:
        self.tenant = tenant

    def tables(self, paths: Sequence[Path]) -> list[LineTable]:
        return [LineTable(p, self._map) for p in _files(paths)]

    def _map(self, text: str, line: int) -> list[LearningEvent]:
        return canvas.map_line(text, tenant=self.tenant)
