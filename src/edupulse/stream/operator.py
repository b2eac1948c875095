"""The operator lifecycle: restore a partition, process batches, flush at checkpoints.

An operator keeps its keyed state in memory for the partitions it owns. The runtime
calls ``process`` for each micro-batch and ``flush`` before each commit; ``flush``
returns the state of the keys the batch touched (bytes, or None to delete) and the
view rows to serve. Live and replay call exactly the same methods; only the batch
size differs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import msgspec

from edupulse.events.model import LearningEvent
from edupulse.stream.store.base import OutboxMessage, Row, ViewSpec

__all__ = ["Flush", "Operator"]


class Flush(msgspec.Struct):
    """What an operator hands the runtime at a checkpoint."""

    state: dict[str, bytes | None] = msgspec.field(default_factory=dict)
    views: dict[str, list[Row]] = msgspec.field(default_factory=dict)
    outbox: list[OutboxMessage] = msgspec.field(default_factory=list)


class Operator(Protocol):
    """A stateful, keyed stream operator."""

    name: str
    version: str
    views: Sequence[ViewSpec]

    def restore(self, partition: int, state: Mapping[str, bytes]) -> None:
        """Take ownership of a partition, from the state last committed for it."""

    def process(self, partition: int, events: Sequence[LearningEvent]) -> None:
        """Fold a batch of a partition's events, in log order, into the state."""

    def flush(self, partition: int) -> Flush:
        """The changes since the last flush, to commit with the batch's offset."""

    def revoke(self, partition: int) -> None:
        """Forget a partition (after a rebalance, or a failed commit)."""
