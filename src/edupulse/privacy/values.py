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
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import msgspec

from edupulse.log.base import LogRecord
from edupulse.privacy.crypto import UnsealError, is_sealed
from edupulse.privacy.vault.service import IdentityVault

__all__ = ["ValueOpener", "value_aad"]

logger = logging.getLogger(__name__)
_SEP = b"\x1f"


def value_aad(pseudonym: str) -> bytes:
    """The associated data of a sealed value: it opens only as the value of this learner's event."""
    return pseudonym.encode() + b"\x1fvalue"


def _learner(key: bytes) -> str:
    """The pseudonym of a record's key (``tenant\\x1fpseudonym``)."""
    return key.rpartition(_SEP)[2].decode()


class ValueOpener:
    """Turns records with sealed values into records with their plain values; drops those that do not open."""

    def __init__(self, vault: IdentityVault) -> None:
        self.vault = vault
        self.dropped = 0  # values that did not open, since this opener was made

    def __call__(self, records: Sequence[LogRecord], *, keep_sealed: bool = False) -> list[LogRecord]:
        """The records with their values opened. Those that do not open are dropped, or with
        ``keep_sealed`` passed as they are (a reader that moves on by the offsets it got must see them)."""
        learners = {_learner(r.key) for r in records if is_sealed(r.value)}
        if not learners:
            return list(records)
        keys = self.vault.openers(learners)
        out = []
        dropped = 0
        for rec in records:
            if not is_sealed(rec.value):
                out.append(rec)
                continue
            learner = _learner(rec.key)
            sealer = keys.get(learner)
            try:
                if sealer is None:
                    raise UnsealError("no data key")
                value = sealer.open(rec.value, value_aad(learner))
            except UnsealError:
                dropped += 1  # an erased learner's, or not theirs: never processed
                if keep_sealed:
                    out.append(rec)
                continue
            out.append(msgspec.structs.replace(rec, value=value))
        if dropped:
            self.dropped += dropped
            logger.debug("skipped %d sealed values whose data key is shredded", dropped)
        return out
