"""The lake sink: a log consumer that appends a topic to a Delta table, exactly once.

The sink reads every partition of its topic from its own offsets (it is a consumer of
its own, independent of the stream runtime), buffers the records, and appends them to
the table in one Delta commit. That commit also carries, per partition, a Delta
application transaction (``txn`` action, app id ``edupulse:<topic>:<partition>``)
whose version is the partition's next offset, and the same offsets as custom commit
metadata (``edupulse.offsets``) for people reading the table's history. Both are part
of the atomic commit: the rows and the offsets land together or not at all.

On start, and after any failed commit, the sink reads its offsets back from the
table. Before each commit it checks that the table's offsets are still those its
buffer starts from; if they moved (a retried commit that had in fact succeeded, or a
second sink), it drops the buffer instead of appending it twice.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import DeltaError

from edupulse.errors import TransientError
from edupulse.lake.schema_fit import fit_batch
from edupulse.lake.tables import LakeTable
from edupulse.log.base import EventLog, LogRecord

__all__ = ["LakeSink", "committed_offsets"]

logger = logging.getLogger(__name__)
OFFSETS_KEY = "edupulse.offsets"


def app_id(topic: str, partition: int) -> str:
    return f"edupulse:{topic}:{partition}"


def committed_offsets(uri: Path, topic: str, partitions: int) -> dict[int, int]:
    """The next offset to append per partition, as the table's transactions record it."""
    if not DeltaTable.is_deltatable(str(uri)):
        return dict.fromkeys(range(partitions), 0)
    table = DeltaTable(str(uri))
    return {p: table.transaction_version(app_id(topic, p)) or 0 for p in range(partitions)}


class LakeSink:
    """Appends one topic's records to one Delta table; call ``run_once`` repeatedly."""

    def __init__(
        self,
        log: EventLog,
        spec: LakeTable,
        root: Path,
        *,
        flush_records: int = 50_000,
        flush_interval_s: float = 10.0,
    ) -> None:
        self.log = log
        self.spec = spec
        self.uri = root / spec.name
        self.flush_records = flush_records
        self.flush_interval_s = flush_interval_s
        self._buffer: list[LogRecord] = []
        self._buffered_since = 0.0
        self._starts: dict[int, int] = {}  # per partition: the offset the buffer starts from
        self._positions: dict[int, int] = {}  # per partition: the next offset to read
        self._resync()

    @property
    def offsets(self) -> dict[int, int]:
        """What is committed to the table: the next offset per partition."""
        return dict(self._starts)

    def _resync(self) -> None:
        """Drop the buffer; start again from what the table holds."""
        self._buffer = []
        self._starts = committed_offsets(self.uri, self.spec.topic, self.log.partitions(self.spec.topic))
        self._positions = dict(self._starts)

    def run_once(self, *, force: bool = False) -> int:
        """Read what is new; commit if the buffer is full, old enough, or ``force``. Returns rows committed."""
        self._read()
        if not self._buffer:
            return 0
        waited = time.monotonic() - self._buffered_since
        if force or len(self._buffer) >= self.flush_records or waited >= self.flush_interval_s:
            return self.flush()
        return 0

    def _read(self) -> None:
        for part, offset in sorted(self._positions.items()):
            room = self.flush_records - len(self._buffer)
            if room <= 0:
                return
            records = self.log.read(self.spec.topic, part, offset, room)
            if records:
                if not self._buffer:
                    self._buffered_since = time.monotonic()
                self._buffer.extend(records)
                self._positions[part] = records[-1].offset + 1

    def flush(self) -> int:
        """Append the buffer in one Delta commit with its offsets; returns how many rows."""
        if not self._buffer:
            return 0
        try:
            if committed_offsets(self.uri, self.spec.topic, len(self._starts)) != self._starts:
                logger.warning("lake table %s moved on since this sink read it; re-reading", self.spec.name)
                self._resync()
                return 0
            written = self._write(self._buffer)
        except Exception as exc:
            self._resync()  # memory never runs ahead of the table
            if isinstance(exc, (DeltaError, OSError)):
                raise TransientError(f"lake commit to {self.uri} failed: {exc}") from exc
            raise
        self._starts = dict(self._positions)
        self._buffer = []
        return written

    def _write(self, records: list[LogRecord]) -> int:
        payloads: dict[tuple[int, int], bytes] = {}
        if self.spec.payloads:
            payloads = self._payloads(records)
        table = fit_batch(self.spec.convert(records, payloads), self._schema(), self.spec.partition_by)
        moved = {p: o for p, o in self._positions.items() if o != self._starts.get(p)}
        props = CommitProperties(
            custom_metadata={OFFSETS_KEY: json.dumps({str(p): o for p, o in sorted(moved.items())})},
            app_transactions=[Transaction(app_id(self.spec.topic, p), o) for p, o in sorted(moved.items())],
        )
        write_deltalake(
            str(self.uri),
            table,
            mode="append",
            partition_by=list(self.spec.partition_by) or None,
            schema_mode="merge",
            commit_properties=props,
        )
        return int(table.num_rows)

    def _schema(self) -> pa.Schema | None:
        if not DeltaTable.is_deltatable(str(self.uri)):
            return None
        return pa.schema(DeltaTable(str(self.uri)).schema().to_arrow())

    def _payloads(self, records: list[LogRecord]) -> dict[tuple[int, int], bytes]:
        by_part: dict[int, list[int]] = {}
        for rec in records:
            by_part.setdefault(rec.partition, []).append(rec.offset)
        out: dict[tuple[int, int], bytes] = {}
        for part, offsets in by_part.items():
            for offset, payload in self.log.read_payloads(self.spec.topic, part, offsets).items():
                out[(part, offset)] = payload
        return out
