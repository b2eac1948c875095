"""The lake's commands: ``sql``, ``export``, ``lake compact|vacuum|sync``, ``retention apply``.

Registered on the ``edupulse`` group by ``cli.py``; thin like the others: load settings,
act, print.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import click
import msgspec

from edupulse.cli import _emit, _settings, data_dir_option, option
from edupulse.config import Settings
from edupulse.log.base import EventLog
from edupulse.progress import bar, one_phase

__all__ = ["COMMANDS", "export", "lake", "retention", "sql"]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return msgspec.json.encode(value).decode()
    return str(value)


def _print_table(columns: list[str], rows: list[dict[str, Any]]) -> None:
    cells = [[_text(r[c]) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    click.echo(f"({len(rows)} row{'s' * (len(rows) != 1)})", err=True)


@click.command()
@click.argument("query")
@data_dir_option
@option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    help="Output format.",
    env="EDUPULSE_SQL_FORMAT",
)
@option("--max-rows", type=click.IntRange(1), help="Print at most this many rows.", env="EDUPULSE_SQL_MAX_ROWS")
def sql(query: str, data_dir: Path | None, fmt: str, max_rows: int | None) -> None:
    """Run DuckDB SQL over the lake's Delta tables (tables: events).

    \b
    Examples:
      edupulse sql "SELECT course, count(DISTINCT learner) AS learners FROM events GROUP BY course"
      edupulse sql --format csv "SELECT * FROM events WHERE date >= '2026-09-01'" > recent.csv
    """
    from edupulse.lake.sql import query as run_query

    table = run_query(_settings(data_dir=data_dir), query, max_rows=max_rows)
    rows = table.to_pylist()
    if fmt == "json":
        _emit(rows)
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(table.column_names)
        writer.writerows([_text(r[c]) for c in table.column_names] for r in rows)
    else:
        _print_table(table.column_names, rows)


@click.command()
@click.argument("table")
@option(
    "--to",
    "to",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write.",
    env="EDUPULSE_EXPORT_TO",
)
@option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "csv"]),
    help="File format (default: from the file's suffix, else parquet).",
    env="EDUPULSE_EXPORT_FORMAT",
)
@data_dir_option
def export(table: str, to: Path, fmt: str | None, data_dir: Path | None) -> None:
    """Write a whole lake table to one Parquet or CSV file.

    \b
    Examples:
      edupulse export events --to events.parquet
      edupulse export events --to events.csv --format csv
    """
    from edupulse.lake.sql import export as run_export

    chosen = fmt or ("csv" if to.suffix.lower() == ".csv" else "parquet")
    rows = run_export(_settings(data_dir=data_dir), table, to, "csv" if chosen == "csv" else "parquet")
    _emit({"table": table, "path": str(to), "format": chosen, "rows": rows})


@click.group()
def lake() -> None:
    """Maintain the lake's Delta tables.

    \b
    Examples:
      edupulse lake sync
      edupulse lake compact && edupulse lake vacuum
    """


@lake.command("compact")
@data_dir_option
def lake_compact(data_dir: Path | None) -> None:
    """Rewrite each table's many small files into few large ones, and checkpoint its log.

    \b
    Examples:
      edupulse lake compact --data-dir ./edupulse-data
    """
    from edupulse.lake.maintenance import compact

    with one_phase("lake compact", "rewriting small files and checkpointing"):
        report = compact(_settings(data_dir=data_dir))
    _emit(report)


@lake.command("vacuum")
@data_dir_option
@option(
    "--retention-hours",
    type=click.FloatRange(0),
    help="Keep removed files younger than this (default: lake.vacuum_retention_hours).",
    env="EDUPULSE_LAKE__VACUUM_RETENTION_HOURS",
)
def lake_vacuum(data_dir: Path | None, retention_hours: float | None) -> None:
    """Delete files that no table version within the retention still needs.

    \b
    Examples:
      edupulse lake vacuum --retention-hours 168
    """
    from edupulse.lake.maintenance import vacuum

    _emit({"files_deleted": vacuum(_settings(data_dir=data_dir), retention_hours=retention_hours)})


@lake.command("sync")
@data_dir_option
def lake_sync(data_dir: Path | None) -> None:
    """Append whatever the lake does not hold yet, now (a running processor does this itself).

    First the outputs a stopped processor left in the outbox (alerts, predictions, feature
    snapshots) go onto their log topics, as its relay would have done, so the lake gets them too.

    \b
    Examples:
      edupulse lake sync --data-dir ./edupulse-data
    """
    from edupulse.deployment import LOG_FILE, STOPPING_GRACE_S, ProcessLock
    from edupulse.lake.writer import LakeWriter
    from edupulse.log.sqlite import SqliteLog

    settings = _settings(data_dir=data_dir)
    lock = ProcessLock(settings.data_dir)
    lock.acquire(wait_s=STOPPING_GRACE_S)  # a running processor's sink already does this: one sink at a time
    log = SqliteLog(settings.data_dir / LOG_FILE)
    try:
        writer = LakeWriter(log, settings)
        total = 0
        with bar("lake sync", unit="row") as shown:
            if relayed := _relay_outputs(settings, log):
                shown.note(f"relayed {relayed} output(s) left in the outbox onto the log")
            while rows := writer.run_once(force=True):
                total += rows
                shown.advance(rows)
    finally:
        log.close()
        lock.release()
    _emit({"rows_appended": total})


def _relay_outputs(settings: Settings, log: EventLog) -> int:
    """Relay the outputs a stopped processor left in the outbox onto their log topics, so the lake gets them.

    The same relay pass the processor runs, with only the log topics' sender: alert webhooks
    stay pending for the processor. Returns how many messages went onto the log.
    """
    from edupulse.alerts.ledger import AlertLedger
    from edupulse.deployment import ALERTS_FILE, STATE_FILE
    from edupulse.stream.log_sender import LOG_TOPICS, LogSender
    from edupulse.stream.outbox import OutboxRelay
    from edupulse.stream.store.sqlite import SqliteStore

    if not (settings.data_dir / STATE_FILE).exists():
        return 0
    store = SqliteStore(settings.data_dir / STATE_FILE)
    ledger = AlertLedger(settings.data_dir / ALERTS_FILE)
    try:
        to_log = LogSender(log, partitions=settings.log.partitions)
        senders = dict.fromkeys(LOG_TOPICS, to_log)
        relay = OutboxRelay(store, ledger, {}, max_attempts=1, backoff_s=1, batch_senders=senders)
        relayed = 0
        while (moved := relay.run_once().delivered) > 0:
            relayed += moved
        return relayed
    finally:
        ledger.close()
        store.close()


@click.group()
def retention() -> None:
    """Per-tenant retention (retention.tenant_days).

    \b
    Examples:
      EDUPULSE_RETENTION__TENANT_DAYS='{"acme": 365}' edupulse retention apply
    """


@retention.command("apply")
@data_dir_option
def retention_apply(data_dir: Path | None) -> None:
    """Delete each tenant's events older than its policy from log, lake and views (stop the server first).

    \b
    Examples:
      EDUPULSE_RETENTION__TENANT_DAYS='{"acme": 365}' edupulse retention apply
    """
    from edupulse.retention import apply_tenant_retention

    with one_phase("retention apply", "deleting expired events and rebuilding the views"):
        reports, rebuilt = apply_tenant_retention(_settings(data_dir=data_dir))
    _emit({"tenants": reports, "rebuilt": rebuilt})


COMMANDS: tuple[click.Command, ...] = (sql, export, lake, retention)
