"""What an append to the Kafka log does with each record, decided inside its transaction.

Each record is new (to be produced), a duplicate or a conflict: of a record stored
before (known by its id in PostgreSQL) or of an earlier record of the same call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from edupulse.log.base import Appended, AppendStatus, Record
from edupulse.log.kafka_index import Conn, Index

__all__ = ["AppendPlan", "plan_append"]


@dataclass(slots=True)
class _Fate:
    """One record's status and where its position comes from."""

    status: AppendStatus
    stored: tuple[int, int] | None = None  # the position of a copy stored before this call
    new: int | None = None  # its own index in ``AppendPlan.new``, or that of the copy it repeats


@dataclass(slots=True)
class AppendPlan:
    records: Sequence[Record]
    fates: list[_Fate] = field(default_factory=list)
    new: list[Record] = field(default_factory=list)

    @property
    def has_conflict(self) -> bool:
        return any(f.status == "conflict" for f in self.fates)

    def aborted(self) -> list[Appended]:
        """The answer of an atomic append that a conflict stopped: nothing stored."""
        out = []
        for fate in self.fates:
            if fate.status != "conflict":
                out.append(Appended("aborted", -1, -1))
            else:
                out.append(Appended("conflict", *(fate.stored or (-1, -1))))
        return out

    def result(self, positions: Sequence[tuple[int, int]]) -> list[Appended]:
        """Where each record is, once the new ones landed at ``positions``."""
        out = []
        for fate in self.fates:
            where = fate.stored if fate.stored is not None else positions[fate.new or 0]
            out.append(Appended(fate.status, *where))
        return out

    def placed_ids(self, positions: Sequence[tuple[int, int]]) -> list[tuple[str, int, int]]:
        return [(rec.id, *pos) for rec, pos in zip(self.new, positions, strict=True) if rec.id is not None]

    def payload_rows(self, positions: Sequence[tuple[int, int]]) -> list[tuple[int, int, bytes]]:
        return [(*pos, rec.payload) for rec, pos in zip(self.new, positions, strict=True) if rec.payload is not None]


def plan_append(index: Index, conn: Conn, topic: str, records: Sequence[Record]) -> AppendPlan:
    """Claim the call's new ids in the transaction and decide each record's fate."""
    first: dict[str, Record] = {}
    for rec in records:
        if rec.id is not None:
            first.setdefault(rec.id, rec)
    claimed = index.claim_ids(conn, topic, list(first), [r.digest for r in first.values()])
    known = index.known_ids(conn, topic, [i for i in first if i not in claimed])
    plan = AppendPlan(records)
    slot: dict[str, int] = {}  # id -> index in plan.new of its first copy in this call
    for rec in records:
        if rec.id is None:
            plan.fates.append(_Fate("appended", new=len(plan.new)))
            plan.new.append(rec)
        elif rec.id in known:
            digest, part, off = known[rec.id]
            plan.fates.append(_Fate("duplicate" if digest == rec.digest else "conflict", stored=(part, off)))
        elif rec.id in slot:
            same = first[rec.id].digest == rec.digest
            plan.fates.append(_Fate("duplicate" if same else "conflict", new=slot[rec.id]))
        else:
            slot[rec.id] = len(plan.new)
            plan.fates.append(_Fate("appended", new=len(plan.new)))
            plan.new.append(rec)
    return plan
