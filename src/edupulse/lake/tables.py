"""The lake's tables: their Arrow schemas, and events to and from Arrow.

Each row of the events table is one event as it stood on the log, with the log
position it came from (``log_partition``, ``log_offset``, ``log_time_us``): replay
reads the oldest part of a partition from here, in offset order. The table is
partitioned by ``date`` (UTC day of the event time) and ``course``. ``schema_version``
is the event model's version when the row was written; a newer model adds columns
(tables are written with schema merging), and older rows read them as null.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import pyarrow as pa

from edupulse.events.model import ExtensionValue, LearningEvent, Result, decode_event, decode_events
from edupulse.events.vocabulary import Verb
from edupulse.lake import EVENTS_TABLE
from edupulse.lake.json_rows import json_rows
from edupulse.log.base import LogRecord

__all__ = [
    "EVENTS_SCHEMA",
    "EVENTS_TABLE",
    "RESULT_TYPE",
    "Converter",
    "LakeTable",
    "events_from_arrow",
    "events_to_arrow",
    "json_rows",
]


RESULT_TYPE = pa.struct(
    [
        ("score", pa.float64()),
        ("success", pa.bool_()),
        ("completion", pa.bool_()),
        ("duration_s", pa.float64()),
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("tenant", pa.string()),
        ("learner", pa.string()),
        ("verb", pa.string()),
        ("object_id", pa.string()),
        ("object_type", pa.string()),
        ("course", pa.string()),
        ("skills", pa.list_(pa.string())),
        ("result", RESULT_TYPE),
        ("event_time_us", pa.int64()),
        ("stored_time_us", pa.int64()),
        ("source_format", pa.string()),
        ("mapping_version", pa.string()),
        ("schema_version", pa.int32()),
        ("extensions", pa.string()),  # JSON (schema version 2); null when the event has none
        ("payload", pa.binary()),
        ("log_partition", pa.int32()),
        ("log_offset", pa.int64()),
        ("log_time_us", pa.int64()),
        ("date", pa.string()),
    ]
)

# Turns log records (and their payloads, by (partition, offset)) into rows of a table.
Converter = Callable[[Sequence[LogRecord], dict[tuple[int, int], bytes]], pa.Table]


class LakeTable(msgspec.Struct, frozen=True):
    """A Delta table fed from one log topic: what it is called, and how records become rows.

    ``payloads``: also read the records' payload sidecar (the original inputs).
    """

    name: str
    topic: str
    convert: Converter
    partition_by: tuple[str, ...] = ()
    payloads: bool = False


_json = msgspec.json.Encoder().encode


def _unjson(text: str) -> dict[str, ExtensionValue]:
    return msgspec.json.decode(text, type=dict[str, ExtensionValue])


def _day(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1_000_000, dt.UTC).strftime("%Y-%m-%d")


def events_to_arrow(records: Sequence[LogRecord], payloads: dict[tuple[int, int], bytes]) -> pa.Table:
    """The events of log records as rows of the events table (built column by column)."""
    try:
        events = decode_events([r.value for r in records])
    except msgspec.DecodeError:
        records, events = _events_only(records)
    days: dict[int, str] = {}
    for day in {ev.event_time_us // 86_400_000_000 for ev in events}:
        days[day] = _day(day * 86_400_000_000)
    results = [ev.result for ev in events]
    result = pa.StructArray.from_arrays(
        [
            pa.array([r.score if r else None for r in results], pa.float64()),
            pa.array([r.success if r else None for r in results], pa.bool_()),
            pa.array([r.completion if r else None for r in results], pa.bool_()),
            pa.array([r.duration_s if r else None for r in results], pa.float64()),
        ],
        fields=list(RESULT_TYPE),
        mask=pa.array([r is None for r in results], pa.bool_()),
    )
    columns: dict[str, Any] = {
        "event_id": [ev.event_id for ev in events],
        "tenant": [ev.tenant for ev in events],
        "learner": [ev.learner for ev in events],
        "verb": [ev.verb.value for ev in events],
        "object_id": [ev.object_id for ev in events],
        "object_type": [ev.object_type for ev in events],
        "course": [ev.course for ev in events],
        "skills": [list(ev.skills) for ev in events],
        "result": result,
        "event_time_us": [ev.event_time_us for ev in events],
        "stored_time_us": [ev.stored_time_us for ev in events],
        "source_format": [ev.source_format for ev in events],
        "mapping_version": [ev.mapping_version for ev in events],
        "schema_version": [ev.schema_version for ev in events],
        "extensions": [None if ev.extensions is None else _json(ev.extensions).decode() for ev in events],
        "payload": [payloads.get((r.partition, r.offset)) for r in records],
        "log_partition": [r.partition for r in records],
        "log_offset": [r.offset for r in records],
        "log_time_us": [r.timestamp_us for r in records],
        "date": [days[ev.event_time_us // 86_400_000_000] for ev in events],
    }
    return pa.table(columns, schema=EVENTS_SCHEMA)


def _events_only(records: Sequence[LogRecord]) -> tuple[list[LogRecord], list[LearningEvent]]:
    """The records that hold an event, with it: not junk the runtime dead-letters, nor the value of
    an erased learner still sealed under their shredded key (``privacy.values``)."""
    kept: list[LogRecord] = []
    events: list[LearningEvent] = []
    for rec in records:
        try:
            events.append(decode_event(rec.value))
        except msgspec.DecodeError:
            continue
        kept.append(rec)
    return kept, events


def events_from_arrow(table: pa.Table) -> list[LearningEvent]:
    """Events as processing sees them from the log (without their payload), from rows."""
    absent: list[Any] = [None] * table.num_rows  # a column older tables lack (written before its schema version)
    col = {
        name: table.column(name).to_pylist() if name in table.column_names else absent
        for name in _EVENT_FIELDS
        if name != "result"
    }
    results = _results(table.column("result").combine_chunks())
    verbs = {v: Verb(v) for v in set(col["verb"])}
    return [
        LearningEvent(
            event_id=col["event_id"][i],
            tenant=col["tenant"][i],
            learner=col["learner"][i],
            verb=verbs[col["verb"][i]],
            object_id=col["object_id"][i],
            object_type=col["object_type"][i],
            course=col["course"][i],
            skills=tuple(col["skills"][i] or ()),
            result=results[i],
            event_time_us=col["event_time_us"][i],
            stored_time_us=col["stored_time_us"][i],
            source_format=col["source_format"][i],
            mapping_version=col["mapping_version"][i],
            schema_version=col["schema_version"][i],
            extensions=None if col["extensions"][i] is None else _unjson(col["extensions"][i]),
        )
        for i in range(table.num_rows)
    ]


def _results(column: pa.StructArray) -> list[Result | None]:
    """The result struct column as ``Result`` objects, field by field (faster than row dicts)."""
    score, success, completion, duration = (column.field(i).to_pylist() for i in range(4))
    valid = column.is_valid().to_pylist()
    return [Result(score[i], success[i], completion[i], duration[i]) if valid[i] else None for i in range(len(valid))]


_EVENT_FIELDS = frozenset(LearningEvent.__struct_fields__) - {"payload"}
