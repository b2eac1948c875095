"""What every event log backend offers: Kafka semantics, whatever the storage.

A topic has N partitions; a record's key picks its partition, so records with one key
keep their order. Offsets in a partition start at 0 and grow by one per record, never
reused, even after retention has dropped old records. Appends carrying an id are
idempotent: the same id with the same digest is stored once, with a different digest
it is refused as a conflict.

A record may carry a payload: bytes kept beside it for audit and re-processing (the
original input an event was mapped from), stored atomically with the record and
dropped with it by retention, but never part of what ``read`` returns, so the hot
path of processing does not read, copy or decode it. ``read_payloads`` returns them.
(SQLite keeps them in a table of their own, written in the record's transaction; the
Kafka backend keeps them in PostgreSQL, committed before the record becomes readable.)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Literal, Protocol

import msgspec

__all__ = ["AppendStatus", "Appended", "DelegatingLog", "EventLog", "LogRecord", "Record", "murmur2", "partition_for"]

AppendStatus = Literal["appended", "duplicate", "conflict", "aborted"]


class Record(msgspec.Struct, frozen=True):
    """A record to append. ``id`` and ``digest`` make the append idempotent.

    ``payload``, if given, is stored beside the record (see ``EventLog.read_payloads``).
    """

    key: bytes
    value: bytes
    timestamp_us: int
    id: str | None = None
    digest: bytes | None = None
    payload: bytes | None = None


class LogRecord(msgspec.Struct, frozen=True, gc=False):
    """A record as read back, with its position (without its payload)."""

    partition: int
    offset: int
    key: bytes
    value: bytes
    timestamp_us: int


class Appended(msgspec.Struct, frozen=True):
    """What happened to one appended record.

    ``duplicate`` and ``conflict`` give the position of the record stored first;
    ``aborted`` records were not stored because an atomic append had a conflict
    (their position is -1).
    """

    status: AppendStatus
    partition: int
    offset: int


class EventLog(Protocol):
    """The log seam. Backends: ``log.sqlite`` (embedded), ``log.kafka`` (scale-out)."""

    def ensure_topic(self, topic: str, partitions: int) -> None:
        """Create the topic if missing. An existing topic keeps its partition count."""

    def partitions(self, topic: str) -> int:
        """How many partitions the topic has; raises NotFoundError if it has none."""

    def append(self, topic: str, records: Sequence[Record], *, atomic: bool = False) -> list[Appended]:
        """Durably append records and say where each one landed.

        Records whose id is already stored are not appended again (duplicate or
        conflict). With ``atomic``, one conflict means nothing is appended. The
        payload of a record is stored with it, in the same durable step: a record is
        never readable without its payload, nor a payload kept without its record. A
        duplicate leaves the payload of the copy stored first as it is.
        """

    def read(self, topic: str, partition: int, offset: int, max_records: int) -> list[LogRecord]:
        """Up to ``max_records`` records of a partition from ``offset`` on, in order.

        Payloads are not returned; ``read_payloads`` fetches them.
        """

    def read_payloads(self, topic: str, partition: int, offsets: Sequence[int]) -> dict[int, bytes]:
        """The payloads of records of a partition, by offset.

        Offsets whose record has no payload, was dropped by retention or was never
        appended are absent from the result, as ``read`` returns nothing for them.
        """

    def end_offsets(self, topic: str) -> list[int]:
        """For each partition, the offset the next appended record will get."""

    def start_offsets(self, topic: str) -> list[int]:
        """For each partition, the oldest offset still readable."""

    def wait(self, timeout_s: float) -> bool:
        """Block until something may have been appended, or the timeout; True if so."""

    def apply_retention(
        self,
        topic: str,
        *,
        max_age_us: int | None,
        max_records: int | None,
        now_us: int,
        keep_from: Sequence[int] | None = None,
    ) -> int:
        """Drop records (and their payloads) past the retention limits; returns how many were dropped.

        ``keep_from`` protects, per partition, every offset at or after it (the
        embedded deployment passes its committed offsets, so no unprocessed record
        is ever dropped).
        """

    def close(self) -> None:
        """Release files and connections."""


class DelegatingLog:
    """An ``EventLog`` that hands every call to ``inner``: wrappers subclass it and override
    only what they change (``privacy.log.ProtectedLog``, ``lake.source.LakeBackedLog``)."""

    def __init__(self, inner: EventLog) -> None:
        self.inner = inner

    def ensure_topic(self, topic: str, partitions: int) -> None:
        self.inner.ensure_topic(topic, partitions)

    def partitions(self, topic: str) -> int:
        return self.inner.partitions(topic)

    def append(self, topic: str, records: Sequence[Record], *, atomic: bool = False) -> list[Appended]:
        return self.inner.append(topic, records, atomic=atomic)

    def read(self, topic: str, partition: int, offset: int, max_records: int) -> list[LogRecord]:
        return self.inner.read(topic, partition, offset, max_records)

    def read_payloads(self, topic: str, partition: int, offsets: Sequence[int]) -> dict[int, bytes]:
        return self.inner.read_payloads(topic, partition, offsets)

    def end_offsets(self, topic: str) -> list[int]:
        return self.inner.end_offsets(topic)

    def start_offsets(self, topic: str) -> list[int]:
        return self.inner.start_offsets(topic)

    def wait(self, timeout_s: float) -> bool:
        return self.inner.wait(timeout_s)

    def apply_retention(
        self,
        topic: str,
        *,
        max_age_us: int | None,
        max_records: int | None,
        now_us: int,
        keep_from: Sequence[int] | None = None,
    ) -> int:
        return self.inner.apply_retention(
            topic, max_age_us=max_age_us, max_records=max_records, now_us=now_us, keep_from=keep_from
        )

    def close(self) -> None:
        self.inner.close()


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash, so both backends place a key in the same partition."""
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    full = length - length % 4
    for i in range(0, full, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = data[full:]
    if len(tail) >= 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


@lru_cache(maxsize=65536)
def partition_for(key: bytes, partitions: int) -> int:
    """The partition of a key, as Kafka's default partitioner computes it."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
