"""Erasure from the lake: a learner's rows leave every table, and every file that held them.

``erase_learner`` is what ``edupulse forget`` calls for the lakehouse. It deletes the
learner's rows from each table with ``tenant`` and ``learner`` columns (events,
alerts, predictions, feature snapshots: whatever the catalog holds), then vacuums with
no retention, so neither the current version nor any older file on disk still holds
them; then checkpoints each table and drops its older commit files, whose column
statistics held the deleted values (time travel to before the erasure ends there).

Run it with processing stopped (hold the processing lock): a vacuum with no retention
would also delete the files of a sink commit under way. The log keeps the records the
lake was fed from until they are purged there too; the derived topics (alerts,
predictions, feature snapshots) are keyed ``tenant \\x1f learner`` like the events topic.
"""

from __future__ import annotations

import msgspec

from edupulse.config import Settings
from edupulse.lake.maintenance import delete_rows, drop_history, vacuum

__all__ = ["LakeErasure", "delete_learner_rows", "erase_learner"]


class LakeErasure(msgspec.Struct):
    """What erasing one learner removed from the lake."""

    rows: dict[str, int]  # rows deleted per table
    files_vacuumed: int


def delete_learner_rows(settings: Settings, tenant: str, learner: str) -> dict[str, int]:
    """Delete a learner's rows from every lake table, without vacuuming: safe beside a running sink.

    The rows leave every version read from now on; the Parquet files of older versions
    still hold them until ``erase_learner`` vacuums (``edupulse forget``, processing stopped).
    """
    rows = delete_rows(settings, {"tenant": tenant, "learner": learner})
    return {name: n for name, n in rows.items() if n}


def erase_learner(settings: Settings, tenant: str, learner: str) -> LakeErasure:
    """Delete a learner's rows (``learner`` is the pseudonym stored in the tables) from every lake table, and vacuum."""
    rows = delete_rows(settings, {"tenant": tenant, "learner": learner})
    files = 0
    if any(rows.values()):
        files = sum(vacuum(settings, retention_hours=0).values())
        drop_history(settings)  # the commit files' statistics still held the deleted values
    return LakeErasure({name: n for name, n in rows.items() if n}, files)
