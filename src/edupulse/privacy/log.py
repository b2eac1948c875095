"""An event log that protects what is appended to the events topic (see ``privacy.protect``).

It wraps the deployment's log, so every writer, the xAPI LRS, Caliper ingest and every
importer, goes through the same seam without knowing it. Reads of the topic open event
values sealed per learner (``privacy.values``), so every reader sees plain events.

When the protector seals event values, the outputs relayed onto their own topics
(``outputs``: alerts, predictions, feature snapshots) are sealed per learner too, and
opened on reading, so the lake sink stores plain rows; an erased learner's stay sealed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from edupulse.log.base import Appended, DelegatingLog, EventLog, LogRecord, Record
from edupulse.privacy.protect import Protector
from edupulse.privacy.values import OutputSealer, ValueOpener
from edupulse.stream.log_sender import LOG_TOPICS

__all__ = ["ProtectedLog"]


class ProtectedLog(DelegatingLog):
    """``EventLog`` whose appends to ``topic`` are pseudonymised, masked and sealed first."""

    def __init__(
        self, inner: EventLog, protector: Protector, *, topic: str, outputs: Iterable[str] = LOG_TOPICS
    ) -> None:
        super().__init__(inner)
        self.protector = protector
        self.topic = topic
        self.opener = ValueOpener(protector.vault)
        sealed = protector.seal_values
        self.output_sealer = OutputSealer(protector.vault) if sealed else None
        self._output_openers = {t: ValueOpener(protector.vault, purpose=t) for t in outputs} if sealed else {}

    def append(self, topic: str, records: Sequence[Record], *, atomic: bool = False) -> list[Appended]:
        if topic == self.topic and records:
            records = self.protector.protect(records)
        elif self.output_sealer is not None and topic in self._output_openers and records:
            return self._append_outputs(self.output_sealer(topic, records), topic, atomic=atomic)
        return self.inner.append(topic, records, atomic=atomic)

    def _append_outputs(self, sealed: list[Record | None], topic: str, *, atomic: bool) -> list[Appended]:
        """Append the sealed outputs; those of erased learners are answered ``aborted`` (never stored)."""
        kept = [r for r in sealed if r is not None]
        results = iter(self.inner.append(topic, kept, atomic=atomic) if kept else [])
        return [Appended("aborted", -1, -1) if r is None else next(results) for r in sealed]

    def read(self, topic: str, partition: int, offset: int, max_records: int) -> list[LogRecord]:
        """Records as the inner log holds them, values sealed per learner opened (an erased one's stay sealed)."""
        records = self.inner.read(topic, partition, offset, max_records)
        if not records:
            return records
        if topic == self.topic:
            return self.opener(records, keep_sealed=True)
        opener = self._output_openers.get(topic)
        return records if opener is None else opener(records, keep_sealed=True)

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.protector.vault.close()
