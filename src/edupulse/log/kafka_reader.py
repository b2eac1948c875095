"""Sequential reads of Kafka partitions through one positioned consumer.

The runtime reads each partition it owns from where it stopped, batch after batch. A
consumer outside any group is assigned each partition the first time it is read and
keeps fetching it; messages are sorted into one buffer per partition, and a read that
asks for the offset a buffer continues from is served without a seek. Only a read
elsewhere (a restart from a stored offset, a rollback) seeks. A partition whose buffer
is full is paused, so partitions nobody reads hold little memory.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from edupulse.log.base import LogRecord

__all__ = ["PartitionReader", "timestamp_us_of"]

TS_HEADER = "edupulse-ts-us"
_BUFFER_LIMIT = 4096
_POLL_S = 0.05


def timestamp_us_of(message: Message) -> int:
    """The record's microsecond timestamp, kept in a header (Kafka's own has milliseconds)."""
    for name, value in message.headers() or ():
        if name == TS_HEADER and value is not None:
            return int.from_bytes(value, "big", signed=True)
    return int(message.timestamp()[1]) * 1000


@dataclass(slots=True)
class _Buffer:
    """Records fetched for one partition, and the offset the next fetched one must continue from."""

    records: deque[LogRecord] = field(default_factory=deque)
    next_offset: int = 0
    paused: bool = False
    limit: int = _BUFFER_LIMIT  # fetched records held before the partition is paused


class PartitionReader:
    """Reads ranges of partitions; not thread-safe (the log holds a lock around it)."""

    def __init__(self, config: dict[str, str | int | bool]) -> None:
        self._consumer = Consumer(config)
        self._buffers: dict[tuple[str, int], _Buffer] = {}

    def read(self, topic: str, partition: int, offset: int, max_records: int, end: int) -> list[LogRecord]:
        """Up to ``max_records`` records from ``offset`` on, none at or past ``end``."""
        if offset >= end or max_records <= 0:
            return []
        buf = self._position(topic, partition, offset)
        wanted = min(max_records, end - offset)
        # A read may want more than a buffer holds: let it fill up to the wanted count,
        # or the partition would stay paused and the read wait out its deadline.
        buf.limit = max(_BUFFER_LIMIT, wanted)
        self._resume(topic, partition, buf)
        deadline = time.monotonic() + 10.0
        try:
            while not self._ready(buf, wanted, end) and time.monotonic() < deadline:
                if not self._fetch() and self._emptied_below(topic, partition, end):
                    break
        finally:
            buf.limit = _BUFFER_LIMIT
        return self._take(topic, partition, buf, max_records, end)

    def forget(self, topic: str, partitions: list[int]) -> None:
        """Stop fetching these partitions (the worker gave them up)."""
        gone = [TopicPartition(topic, p) for p in partitions if self._buffers.pop((topic, p), None) is not None]
        if gone:
            self._consumer.incremental_unassign(gone)

    def offset_for_time(self, topic: str, partition: int, timestamp_ms: int, timeout_s: float) -> int:
        """The first offset whose Kafka timestamp is at or after ``timestamp_ms``, or -1 if none."""
        [found] = self._consumer.offsets_for_times([TopicPartition(topic, partition, timestamp_ms)], timeout_s)
        if found.error is not None:
            raise found.error
        return int(found.offset)

    def close(self) -> None:
        self._consumer.close()

    # -- internals ------------------------------------------------------------------

    def _position(self, topic: str, partition: int, offset: int) -> _Buffer:
        key = (topic, partition)
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = _Buffer(next_offset=offset)
            self._consumer.incremental_assign([TopicPartition(topic, partition, offset)])
            return buf
        while buf.records and buf.records[0].offset < offset:
            buf.records.popleft()
        if not buf.records and buf.next_offset != offset:
            buf.next_offset = offset
            self._consumer.seek(TopicPartition(topic, partition, offset))
        elif buf.records and buf.records[0].offset > offset:
            buf.records.clear()
            buf.next_offset = offset
            self._consumer.seek(TopicPartition(topic, partition, offset))
        self._resume(topic, partition, buf)
        return buf

    @staticmethod
    def _ready(buf: _Buffer, wanted: int, end: int) -> bool:
        return len(buf.records) >= wanted or (bool(buf.records) and buf.records[-1].offset >= end - 1)

    def _fetch(self) -> bool:
        """Poll once and sort what arrived into the buffers; False if nothing came."""
        # consume() waits for its whole count or the timeout: take what is queued, else
        # block on poll(), which returns with the first message to arrive.
        messages = self._consumer.consume(num_messages=1000, timeout=0)
        if not messages:
            first = self._consumer.poll(_POLL_S)
            if first is None:
                return False
            messages = [first, *self._consumer.consume(num_messages=999, timeout=0)]
        for msg in messages:
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(err)
            self._keep(msg)
        return bool(messages)

    def _keep(self, msg: Message) -> None:
        topic, part, offset = msg.topic(), msg.partition(), msg.offset()
        if topic is None or part is None or offset is None:
            return
        buf = self._buffers.get((topic, part))
        if buf is None or offset < buf.next_offset:  # forgotten, or fetched before a seek
            return
        value, key = msg.value(), msg.key()
        buf.records.append(LogRecord(part, offset, key or b"", value or b"", timestamp_us_of(msg)))
        buf.next_offset = offset + 1
        if len(buf.records) >= buf.limit and not buf.paused:
            self._consumer.pause([TopicPartition(topic, part)])
            buf.paused = True

    def _resume(self, topic: str, partition: int, buf: _Buffer) -> None:
        if buf.paused and len(buf.records) < buf.limit // 2:
            self._consumer.resume([TopicPartition(topic, partition)])
            buf.paused = False

    def _emptied_below(self, topic: str, partition: int, end: int) -> bool:
        """True if retention left nothing readable below ``end``."""
        low, _ = self._consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=5.0)
        return int(low) >= end

    def _take(self, topic: str, partition: int, buf: _Buffer, max_records: int, end: int) -> list[LogRecord]:
        out: list[LogRecord] = []
        records = buf.records
        while records and len(out) < max_records and records[0].offset < end:
            out.append(records.popleft())
        self._resume(topic, partition, buf)
        return out
