"""An event log that protects what is appended to the events topic (see ``privacy.protect``).

It wraps the deployment's log, so every writer, the xAPI LRS, Caliper ingest and every
importer, goes through the same seam without knowing it; reads pass straight through.
"""

from __future__ import annotations

from collections.abc import Sequence

from edupulse.log.base import Appended, EventLog, LogRecord, Record
from edupulse.privacy.protect import Protector

__all__ = ["ProtectedLog"]


class ProtectedLog:
    """``EventLog`` whose appends to ``topic`` are pseudonymised, masked and sealed first."""

    def __init__(self, inner: EventLog, protector: Protector, *, topic: str) -> None:
        self.inner = inner
        self.protector = protector
        self.topic = topic

    def append(self, topic: str, records: Sequence[Record], *, atomic: bool = False) -> list[Appended]:
        if topic == self.topic and records:
            records = self.protector.protect(records)
        return self.inner.append(topic, records, atomic=atomic)

    def ensure_topic(self, topic: str, partitions: int) -> None:
        self.inner.ensure_topic(topic, partitions)

    def partitions(self, topic: str) -> int:
        return self.inner.partitions(topic)

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
        try:
            self.inner.close()
        finally:
            self.protector.vault.close()
