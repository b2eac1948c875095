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

from edupulse.events.model import LearningEvent, Result, decode_events
from edupulse.events.vocabulary import Verb
from edupulse.lake import EVENTS_TABLE
from edupulse.log.base import LogRecord

__all__ = [
    "EVENTS_SCHEMA",
    "EVENTS_TABLE",
    "RESULT_TYPE",
    "Converter",
    "LakeTable",
    "events_from_arrow",
    "events_to_arrow",
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


def _day(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1_000_000, dt.UTC).strftime("%Y-%m-%d")


def events_to_arrow(records: Sequence[LogRecord], payloads: dict[tuple[int, int], bytes]) -> pa.Table:
    """The events of log records as rows of the events table."""
    events = decode_events([r.value for r in records])
    days: dict[int, str] = {}
    cols: dict[str, list[Any]] = {name: [] for name in EVENTS_SCHEMA.names}
    for rec, ev in zip(records, events, strict=True):
        day = ev.event_time_us // 86_400_000_000
        if day not in days:
            days[day] = _day(ev.event_time_us)
        res = ev.result
        row = (
            ev.event_id,
            ev.tenant,
            ev.learner,
            ev.verb.value,
            ev.object_id,
            ev.object_type,
            ev.course,
            list(ev.skills),
            None if res is None else msgspec.structs.asdict(res),
            ev.event_time_us,
            ev.stored_time_us,
            ev.source_format,
            ev.mapping_version,
            ev.schema_version,
            payloads.get((rec.partition, rec.offset)),
            rec.partition,
            rec.offset,
            rec.timestamp_us,
            days[day],
        )
        for values, value in zip(cols.values(), row, strict=True):
            values.append(value)
    return pa.table(cols, schema=EVENTS_SCHEMA)


def events_from_arrow(table: pa.Table) -> list[LearningEvent]:
    """Events as processing sees them from the log (without their payload), from rows."""
    out = []
    for row in table.select([n for n in EVENTS_SCHEMA.names if n in _EVENT_FIELDS]).to_pylist():
        res = row["result"]
        out.append(
            LearningEvent(
                event_id=row["event_id"],
                tenant=row["tenant"],
                learner=row["learner"],
                verb=Verb(row["verb"]),
                object_id=row["object_id"],
                object_type=row["object_type"],
                course=row["course"],
                skills=tuple(row["skills"] or ()),
                result=None if res is None else Result(**res),
                event_time_us=row["event_time_us"],
                stored_time_us=row["stored_time_us"],
                source_format=row["source_format"],
                mapping_version=row["mapping_version"],
                schema_version=row["schema_version"],
            )
        )
    return out


_EVENT_FIELDS = frozenset(LearningEvent.__struct_fields__) - {"payload"}
