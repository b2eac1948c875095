"""An event log that protects what is appended to the events topic (see ``privacy.protect``).

It wraps the deployment's log, so every writer, the xAPI LRS, Caliper ingest and every
importer, goes through the same seam without knowing it; reads pass straight through.
"""

from __future__ import annotations

from collections.abc import Sequence

from edupulse.log.base import Appended, DelegatingLog, EventLog, Record
from edupulse.privacy.protect import Protector

__all__ = ["ProtectedLog"]


class ProtectedLog(DelegatingLog):
    """``EventLog`` whose appends to ``topic`` are pseudonymised, masked and sealed first."""

    def __init__(self, inner: EventLog, protector: Protector, *, topic: str) -> None:
        super().__init__(inner)
        self.protector = protector
        self.topic = topic

    def append(self, topic: str, records: Sequence[Record], *, atomic: bool = False) -> list[Appended]:
        if topic == self.topic and records:
            records = self.protector.protect(records)
        return self.inner.append(topic, records, atomic=atomic)

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.protector.vault.close()
