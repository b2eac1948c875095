"""Rows of a topic whose values are JSON objects: alerts, predictions, feature snapshots.

The tables do not depend on the exact fields an operator emits: each field of the
objects becomes a column, and a field that appears later adds a column (the sink
merges schemas). Types are chosen so that a later batch can never truncate or refuse
what an earlier one started:

* numbers are ``double`` (a field that is 1 in one message and 0.5 in the next keeps
  both), except fields named ``*_us``: epoch microseconds, ``int64``;
* strings ``string``, booleans ``bool``;
* objects, lists, and fields of mixed kinds: their JSON text (DuckDB's ``json_extract``
  reads into them);
* a field null in every row of a batch is left out of that batch (it reads as null).

A value still sealed (``privacy.values``: an output of an erased learner, whose key is
shredded) is passed over: it has no row.

Every row also gets its log position (``log_partition``, ``log_offset``,
``log_time_us``) and ``date``, the UTC day of its append to the log.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

import msgspec
import pyarrow as pa

from edupulse.log.base import LogRecord
from edupulse.privacy.crypto import is_sealed

__all__ = ["json_rows"]

logger = logging.getLogger(__name__)
_json = msgspec.json.Encoder().encode
_POSITION = {"log_partition": pa.int32(), "log_offset": pa.int64(), "log_time_us": pa.int64(), "date": pa.string()}


def _day(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1_000_000, dt.UTC).strftime("%Y-%m-%d")


def _object(rec: LogRecord) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(rec.value)
    except msgspec.DecodeError:
        logger.warning("record %d:%d is not JSON; kept as text in column 'value'", rec.partition, rec.offset)
        return {"value": rec.value.decode("utf-8", "replace")}
    return value if isinstance(value, dict) else {"value": value}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "json"


def _column(name: str, values: list[Any]) -> pa.Array | None:
    kinds = {_kind(v) for v in values if v is not None}
    if not kinds:
        return None
    kind = kinds.pop() if len(kinds) == 1 else "json"
    if kind == "number":
        if name.endswith("_us"):
            return pa.array([None if v is None else round(v) for v in values], pa.int64())
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    if kind == "bool":
        return pa.array(values, pa.bool_())
    if kind == "string":
        return pa.array(values, pa.string())
    return pa.array([None if v is None else _json(v).decode() for v in values], pa.string())


def json_rows(records: Sequence[LogRecord], payloads: dict[tuple[int, int], bytes]) -> pa.Table:
    """One row per record (but sealed ones): a column per JSON field, then the log position and ``date``."""
    records = [r for r in records if not is_sealed(r.value)]
    objects = [_object(r) for r in records]
    names: dict[str, None] = {}
    for obj in objects:
        names.update(dict.fromkeys(k for k in obj if k not in _POSITION))
    columns: dict[str, pa.Array] = {}
    for name in names:
        array = _column(name, [obj.get(name) for obj in objects])
        if array is not None:
            columns[name] = array
    columns["log_partition"] = pa.array([r.partition for r in records], pa.int32())
    columns["log_offset"] = pa.array([r.offset for r in records], pa.int64())
    columns["log_time_us"] = pa.array([r.timestamp_us for r in records], pa.int64())
    columns["date"] = pa.array([_day(r.timestamp_us) for r in records], pa.string())
    return pa.table(columns)
