"""Keeping the lake in shape: compaction, vacuum, and per-tenant retention.

The sink commits often, so a table collects many small Parquet files (one per date
and course touched by each commit). ``compact`` rewrites them into large files in one
Delta commit (readers see the old files or the new, never both), then writes a
checkpoint of the Delta log. Files a commit removed stay on disk, for time travel and
for readers still on an older version, until ``vacuum`` deletes those older than the
retention.

``apply_tenant_retention`` deletes a tenant's events older than its policy from the
log and the lake, vacuums the lake at once (a deleted row must not stay readable in
an old file), and rebuilds the views by replaying what remains through the same
operators. It needs the processing lock: run it while the processor is stopped.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from deltalake import DeltaTable

from edupulse.config import Settings
from edupulse.lake.catalog import TABLES

__all__ = ["RetentionReport", "compact", "delete_rows", "drop_history", "vacuum"]

logger = logging.getLogger(__name__)
DAY_US = 86_400_000_000


class RetentionReport(msgspec.Struct):
    """What one tenant's retention deleted."""

    tenant: str
    days: float
    log_records: int
    lake_rows: int
    lake_files_vacuumed: int


def _tables(settings: Settings) -> list[tuple[str, DeltaTable]]:
    out = []
    for spec in TABLES:
        path = settings.lake_path / spec.name
        if DeltaTable.is_deltatable(str(path)):
            out.append((spec.name, DeltaTable(str(path))))
    return out


def compact(settings: Settings) -> dict[str, dict[str, Any]]:
    """Rewrite each table's small files into large ones; returns Delta's metrics per table."""
    out: dict[str, dict[str, Any]] = {}
    for name, table in _tables(settings):
        metrics = table.optimize.compact()
        table.create_checkpoint()
        out[name] = {k: metrics[k] for k in ("numFilesAdded", "numFilesRemoved") if k in metrics}
    return out


def vacuum(settings: Settings, *, retention_hours: float | None = None) -> dict[str, int]:
    """Delete files no table version newer than the retention still needs; returns how many per table."""
    hours = settings.lake.vacuum_retention_hours if retention_hours is None else retention_hours
    return {
        name: len(table.vacuum(int(hours), dry_run=False, enforce_retention_duration=False))
        for name, table in _tables(settings)
    }


def _quote(value: str) -> str:
    """A string as a SQL literal in a Delta delete predicate."""
    return "'" + value.replace("'", "''") + "'"


def delete_rows(settings: Settings, where: dict[str, str], *, before_us: int | None = None) -> dict[str, int]:
    """Delete the rows whose columns equal ``where`` (and stored before ``before_us``); rows deleted per table.

    A table lacking one of those columns holds no such rows and is left alone (an output
    without a ``tenant`` and ``learner`` column cannot be traced to a learner).
    """
    out: dict[str, int] = {}
    for name, table in _tables(settings):
        needed = {*where, *(["log_time_us"] if before_us is not None else [])}
        if not needed <= {field.name for field in table.schema().fields}:
            continue
        terms = [f"{c} = {_quote(v)}" for c, v in sorted(where.items())]
        if before_us is not None:
            terms.append(f"log_time_us < {int(before_us)}")
        metrics = table.delete(" AND ".join(terms))
        out[name] = int(metrics.get("num_deleted_rows", 0))
    return out


def delete_tenant_rows(settings: Settings, tenant: str, *, before_us: int) -> tuple[int, int]:
    """Delete a tenant's rows stored before ``before_us`` from every table, then vacuum them away.

    Returns (rows deleted, files vacuumed). Run only with processing stopped: a vacuum
    with no retention would also remove the files of a commit under way.
    """
    rows = sum(delete_rows(settings, {"tenant": tenant}, before_us=before_us).values())
    files = sum(vacuum(settings, retention_hours=0).values()) if rows else 0
    return rows, files


def drop_history(settings: Settings) -> None:
    """Checkpoint every table and delete its older commit files.

    Erasure needs this: the Delta log keeps column statistics (each file's smallest and
    largest values) in its commit files, so after deleting and vacuuming a learner's rows
    their values could still be read there. Time travel to versions before it ends here.
    Run with processing stopped.
    """
    for _, table in _tables(settings):
        _drop_history(table)


def _drop_history(table: DeltaTable) -> None:
    """Checkpoint the table and delete every commit file before it, keeping the retention setting."""
    key = "delta.logRetentionDuration"
    kept = table.metadata().configuration.get(key)
    table.alter.set_table_properties({key: "interval 0 seconds"})
    table.create_checkpoint()
    table.cleanup_metadata()
    table.alter.set_table_properties({key: kept or "interval 30 days"})
    table.create_checkpoint()
