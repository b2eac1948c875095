"""What every state store offers: one atomic commit of a partition's progress.

A ``Commit`` carries, for one partition, the new keyed state, the serving-view rows,
the outbox messages and the next offset to read. The store applies it in ONE
transaction, so after any crash the offset and everything derived from the records
before it agree: replaying from the stored offset neither loses nor double counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

import msgspec

__all__ = [
    "LEARNER_COLUMN",
    "LINEAGE_COLUMNS",
    "Change",
    "Column",
    "Commit",
    "CommitRecord",
    "ErasedRows",
    "Lineage",
    "OutboxMessage",
    "Row",
    "StateStore",
    "ViewSpec",
]

# Every view table also holds, per row, the commit that last wrote it: its partition and
# next offset (the key of the ``commits`` table). Not part of the rows the views serve.
LINEAGE_COLUMNS = ("_lineage_partition", "_lineage_offset")

Column = Literal["int", "real", "text", "json"]
Row = dict[str, Any]


class ViewSpec(msgspec.Struct, frozen=True):
    """A serving view: a table keyed by ``key`` with typed ``columns``."""

    name: str
    key: tuple[str, ...]
    columns: Mapping[str, Column]
    indexes: tuple[tuple[str, ...], ...] = ()

    @property
    def all_columns(self) -> list[str]:
        return [*self.key, *(c for c in self.columns if c not in self.key)]


class OutboxMessage(msgspec.Struct, frozen=True):
    """A side effect to deliver at least once; ``idempotency_key`` lets receivers dedupe."""

    topic: str
    key: str
    payload: bytes
    idempotency_key: str


class Lineage(msgspec.Struct, frozen=True):
    """What produced a commit: the code (operator versions) and models, by operator name."""

    operators: dict[str, str]
    models: dict[str, str] = msgspec.field(default_factory=dict)


class CommitRecord(msgspec.Struct, frozen=True):
    """A stored commit: which records (``from_offset`` to ``to_offset``, exclusive) of which
    partition it covers, when, and the operator and model versions that processed them."""

    topic: str
    partition: int
    from_offset: int
    to_offset: int
    committed_us: int
    operators: dict[str, str]
    models: dict[str, str]


class Commit(msgspec.Struct):
    """Everything one processed batch of one partition changes."""

    topic: str
    partition: int
    next_offset: int
    state: dict[tuple[str, str], bytes | None] = msgspec.field(default_factory=dict)
    views: dict[str, list[Row]] = msgspec.field(default_factory=dict)
    outbox: list[OutboxMessage] = msgspec.field(default_factory=list)
    from_offset: int | None = None
    """The committed offset this commit builds on. If given, the store applies the commit
    only if the partition's stored offset is still this one (0: none stored) and raises
    ``FencedError`` otherwise: a worker that lost the partition to another (a rebalance
    while it stalled) can never overwrite the new owner's progress."""
    lineage: Lineage | None = None
    """If given, the store records the commit (``CommitRecord``, from ``from_offset`` or 0)
    and stamps every view row it writes with the commit's partition and next offset."""


class ErasedRows(msgspec.Struct):
    """What ``StateStore.erase_learner`` deleted, by kind of row."""

    views: int = 0
    state: int = 0
    changes: int = 0
    outbox: int = 0

    @property
    def total(self) -> int:
        return self.views + self.state + self.changes + self.outbox


LEARNER_COLUMN = "learner"


class Change(msgspec.Struct, frozen=True):
    """A view row that changed, numbered in commit order (for live update streams)."""

    seq: int
    view: str
    row: Row


class StateStore(Protocol):
    """The state seam. Backends: ``store.sqlite`` (embedded), ``store.postgres`` (scale-out)."""

    def setup(self, views: Sequence[ViewSpec]) -> None:
        """Create or migrate the tables for these views."""

    def committed_offset(self, topic: str, partition: int) -> int:
        """The next offset to process for a partition (0 if never committed)."""

    def committed_offsets(self, topic: str) -> dict[int, int]:
        """The committed offset of every partition that has one."""

    def load_state(self, operator: str, partition: int) -> dict[str, bytes]:
        """All keyed state an operator stored for a partition."""

    def commit(self, commit: Commit) -> None:
        """Apply state, views, outbox and the next offset atomically.

        Raises ``FencedError``, changing nothing, if ``commit.from_offset`` is given and
        differs from the partition's stored offset.
        """

    def get(self, view: str, key: Mapping[str, Any]) -> Row | None:
        """One view row by its full key."""

    def select(
        self,
        view: str,
        where: Mapping[str, Any],
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Row]:
        """View rows matching equality filters, optionally ordered and paged."""

    def count(self, view: str, where: Mapping[str, Any], *, at_least: Mapping[str, Any] | None = None) -> int:
        """How many rows match the equality filters (and ``column >= value`` bounds)."""

    def count_distinct(self, view: str, columns: Sequence[str]) -> int:
        """How many distinct combinations of these columns the view holds."""

    def row_lineage(self, view: str, key: Mapping[str, Any]) -> CommitRecord | None:
        """The commit that last wrote a view row (None if the row or its commit's record is gone)."""

    def changes_since(self, seq: int, limit: int) -> list[Change]:
        """View changes numbered after ``seq``, oldest first."""

    def last_change(self) -> int:
        """The number of the newest view change (0 if none)."""

    def pending_outbox(self, limit: int) -> list[tuple[int, OutboxMessage]]:
        """Undelivered outbox messages with their sequence numbers, oldest first."""

    def mark_delivered(self, seqs: Sequence[int]) -> None:
        """Record that these outbox messages were delivered."""

    def erase_learner(self, learner: str) -> ErasedRows:
        """Delete, in one transaction, every row that names the learner (a pseudonym): their rows of
        every view with a ``learner`` column, keyed state whose key holds it, view changes and outbox
        messages that mention it; then reclaim the space so the bytes leave the files (GDPR art. 17)."""

    def purge_outbox(self, delivered_before_us: int) -> int:
        """Delete messages delivered (or dead-lettered) before this time; how many went.

        Their idempotency keys go with them: a message committed again after that is new
        to the outbox, and its receiver's own deduplication (the alert ledger, the log's
        record ids) is what keeps it from acting twice.
        """

    def trim_lineage(self, topic: str, first_offsets: Mapping[int, int]) -> int:
        """Delete the records of commits that covered only offsets before each partition's first one.

        Log retention calls this with the first offsets it kept: a commit that covered any
        retained offset keeps its record. Returns how many records went.
        """

    def close(self) -> None:
        """Release connections."""
