"""Event values sealed per learner, for logs that cannot delete one record (Kafka).

With ``privacy.seal_events`` (on by default when the log is Kafka), the protector seals
each event's value, what the log holds of the event itself (pseudonym, verb, object,
course, result, times), with the learner's data key, as it seals their payload. Only
the record's key (tenant and pseudonym) stays in clear, for partitioning. Shredding the
key then makes every value of the learner unreadable in the broker's segments, its
replicas and any copy, long before the topic's retention removes them.

``ValueOpener`` opens them again for every reader of the log: the runtime's decode, which
drops a value whose key is gone (an erased learner) or that does not open, so no replay
brings it back; and the deployment's log (lake sink, lineage), which passes such values
sealed, so that its readers still move on by offset. Keys are looked up once per batch
for the learners not yet cached.

The outputs relayed onto the log (alerts, predictions, feature snapshots under the
learner's key, ``stream.log_sender``) are sealed the same way by ``OutputSealer``, with
the topic in the associated data; ``ValueOpener(vault, purpose=topic)`` opens them. An
output of a learner already erased is not appended at all; one of a learner the vault
has no key for (appended already pseudonymised) or of no learner (a course's or a
model's alert) stays plain.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from edupulse.log.base import LogRecord, Record
from edupulse.privacy.crypto import SEALED_PREFIX, UnsealError
from edupulse.privacy.vault.service import IdentityVault

__all__ = ["OutputSealer", "ValueOpener", "value_aad"]

logger = logging.getLogger(__name__)
_SEP = b"\x1f"
_SEALED = SEALED_PREFIX[0]


def value_aad(pseudonym: str, purpose: str = "value") -> bytes:
    """The associated data of a sealed value: it opens only as this learner's event value (or
    with ``purpose`` a topic name, as their output on that topic)."""
    return pseudonym.encode() + _SEP + purpose.encode()


def _learner(key: bytes) -> str:
    """The pseudonym of a record's key (``tenant\\x1fpseudonym``)."""
    return key.rpartition(_SEP)[2].decode()


class ValueOpener:
    """Turns records with sealed values into records with their plain values; drops those that do not open."""

    def __init__(self, vault: IdentityVault, *, purpose: str = "value") -> None:
        self.vault = vault
        self.purpose = purpose  # "value" for events, the topic's name for relayed outputs
        self.dropped = 0  # values that did not open, since this opener was made

    def __call__(self, records: Sequence[LogRecord], *, keep_sealed: bool = False) -> list[LogRecord]:
        """The records with their values opened. Those that do not open are dropped, or with
        ``keep_sealed`` passed as they are (a reader that moves on by the offsets it got must see them)."""
        keyed = {r.key for r in records if r.value and r.value[0] == _SEALED}
        if not keyed:
            return list(records)
        learners = {key: _learner(key) for key in keyed}
        sealers = self.vault.openers(set(learners.values()))
        openers = {key: (sealers.get(p), value_aad(p, self.purpose)) for key, p in learners.items()}
        out = []
        dropped = 0
        for rec in records:
            found = openers.get(rec.key) if rec.value and rec.value[0] == _SEALED else None
            if found is None:
                out.append(rec)
                continue
            sealer, aad = found
            try:
                if sealer is None:
                    raise UnsealError("no data key")
                value = sealer.open(rec.value, aad)
            except UnsealError:
                dropped += 1  # an erased learner's, or not theirs: never processed
                if keep_sealed:
                    out.append(rec)
                continue
            out.append(LogRecord(rec.partition, rec.offset, rec.key, value, rec.timestamp_us))
        if dropped:
            self.dropped += dropped
            logger.debug("skipped %d sealed values whose data key is shredded", dropped)
        return out


class OutputSealer:
    """Seals the values of outputs relayed onto the log with their learner's data key."""

    def __init__(self, vault: IdentityVault) -> None:
        self.vault = vault
        self.dropped = 0  # outputs of erased learners not appended, since this sealer was made

    def __call__(self, topic: str, records: Sequence[Record]) -> list[Record | None]:
        """The records with sealed values, in order; None for those of an erased learner (not to append)."""
        learners = {r.key: _learner(r.key) for r in records}
        named = {p for p in learners.values() if p}
        sealers = self.vault.openers(named) if named else {}
        keyless = named - sealers.keys()
        erased = keyless & self.vault.tombstones().keys() if keyless else set()
        out: list[Record | None] = []
        for rec in records:
            learner = learners[rec.key]
            sealer = sealers.get(learner)
            if sealer is not None:
                sealed = sealer.seal(rec.value, value_aad(learner, topic))
                out.append(Record(rec.key, sealed, rec.timestamp_us, rec.id, rec.digest, rec.payload))
            elif learner in erased:
                out.append(None)
            else:
                out.append(rec)
        dropped = sum(r is None for r in out)
        if dropped:
            self.dropped += dropped
            logger.debug("did not append %d %s outputs of erased learners", dropped, topic)
        return out
