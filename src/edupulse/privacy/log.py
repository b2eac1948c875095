"""An event log that protects what is appended to the events topic (see ``privacy.protect``).

It wraps the deployment's log, so every writer, the xAPI LRS, Caliper ingest and every
importer, goes through the same seam without knowing it. Reads of the topic open event
values sealed per learner (``privacy.values``), so every reader sees plain events.
"""

from __future__ import annotations

from collections.abc import Sequence

from edupulse.log.base import Appended, DelegatingLog, EventLog, LogRecord, Record
from edupulse.privacy.protect import Protector
from edupulse.privacy.values import ValueOpener

__all__ = ["ProtectedLog"]


class ProtectedLog(DelegatingLog):
    """``EventLog`` whose appends to ``topic`` are pseudonymised, masked and sealed first."""

    def __init__(self, inner: EventLog, protector: Protector, *, topic: str) -> None:
        super().__init__(inner)
        self.protector = protector
        self.topic = topic
        self.opener = ValueOpener(protector.vault)

    def append(self, topic: str, records: Sequence[Record], *, atomic: bool = False) -> list[Appended]:
        if topic == self.topic and records:
            records = self.protector.protect(records)
        return self.inner.append(topic, records, atomic=atomic)

    def read(self, topic: str, partition: int, offset: int, max_records: int) -> list[LogRecord]:
        """Records as the inner log holds them, event values sealed per learner opened (an erased one's stay sealed)."""
        records = self.inner.read(topic, partition, offset, max_records)
        return self.opener(records, keep_sealed=True) if topic == self.topic and records else records

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.protector.vault.close()
