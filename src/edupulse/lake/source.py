"""Replay's source when the log has dropped old records: the lake first, then the log.

``LakeBackedLog`` is an ``EventLog`` for replay. For each partition of the events
topic, offsets below the log's oldest readable offset are served from the lake's
events table (rows sorted by their log offset, turned back into the very records the
log held), the rest from the log itself. The runtime and the operators are the same
as live: they cannot tell where a record came from.

The lake must hold every offset the log no longer has: its sink's committed offset
(the Delta transaction of the partition) must have reached the log's start offset,
or replay stops with an error saying what is missing rather than skip events.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from edupulse.errors import TerminalError
from edupulse.events.model import encode_event
from edupulse.lake.sink import committed_offsets
from edupulse.lake.tables import EVENTS_SCHEMA, events_from_arrow
from edupulse.log.base import DelegatingLog, EventLog, LogRecord

__all__ = ["LakeBackedLog"]

_COLUMNS = [n for n in EVENTS_SCHEMA.names if n not in {"payload", "date"}]


class _Part:
    """The lake rows of one partition below the log's start, sorted by offset."""

    def __init__(self, rows: pa.Table) -> None:
        self.rows = rows.sort_by("log_offset")
        self.offsets: list[int] = self.rows.column("log_offset").to_pylist()

    def read(self, offset: int, max_records: int) -> pa.Table:
        start = bisect.bisect_left(self.offsets, offset)
        return self.rows.slice(start, max_records)


class LakeBackedLog(DelegatingLog):
    """An ``EventLog`` for replay: the lake's rows below the log's start, then the log."""

    def __init__(self, log: EventLog, table: Path, topic: str, *, partitions: Sequence[int] | None = None) -> None:
        super().__init__(log)
        self.topic = topic
        self._table = table
        self._wanted = partitions  # the partitions this replay will read (all if None): loaded in one scan
        self._log_starts = log.start_offsets(topic)
        self._parts: dict[int, _Part] = {}
        self._check_coverage()

    def _check_coverage(self) -> None:
        if not any(self._log_starts):
            return
        lake = committed_offsets(self._table, self.topic, len(self._log_starts))
        gaps = {p: (lake[p], start) for p, start in enumerate(self._log_starts) if lake[p] < start}
        if gaps:
            detail = ", ".join(f"partition {p}: offsets {a}..{b - 1}" for p, (a, b) in sorted(gaps.items()))
            raise TerminalError(
                f"neither the log nor the lake at {self._table} holds {detail}; "
                "the log dropped them before the lake sink stored them, so a replay would miss events"
            )

    def _part(self, partition: int) -> _Part:
        if partition not in self._parts:
            self._load(sorted({partition, *(self._wanted or range(len(self._log_starts)))}))
        return self._parts[partition]

    def _load(self, partitions: list[int]) -> None:
        """Read the lake rows the log no longer has, for these partitions, in one scan of the table."""
        data = DeltaTable(str(self._table)).to_pyarrow_dataset()
        wanted = None
        for part in partitions:
            clause = (pc.field("log_partition") == part) & (pc.field("log_offset") < self._log_starts[part])
            wanted = clause if wanted is None else wanted | clause
        rows = data.to_table(columns=_COLUMNS, filter=wanted)
        by_part = rows.column("log_partition")
        for part in partitions:
            self._parts[part] = _Part(rows.filter(pc.equal(by_part, part)))

    def read(self, topic: str, partition: int, offset: int, max_records: int) -> list[LogRecord]:
        if topic != self.topic or offset >= self._log_starts[partition]:
            return self.inner.read(topic, partition, offset, max_records)
        rows = self._part(partition).read(offset, max_records)
        if not rows.num_rows:  # the lake's rows end below the log's start (a tenant's rows were deleted)
            return self.inner.read(topic, partition, self._log_starts[partition], max_records)
        offsets = rows.column("log_offset").to_pylist()
        times = rows.column("log_time_us").to_pylist()
        return [
            LogRecord(partition, off, ev.partition_key, encode_event(ev), ts)
            for off, ts, ev in zip(offsets, times, events_from_arrow(rows), strict=True)
        ]

    def start_offsets(self, topic: str) -> list[int]:
        if topic != self.topic or not DeltaTable.is_deltatable(str(self._table)):
            return self.inner.start_offsets(topic)
        return [0] * len(self._log_starts)
