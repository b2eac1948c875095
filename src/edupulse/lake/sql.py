"""SQL over history: DuckDB over the lake's Delta tables, read through deltalake and Arrow.

Each Delta table is opened with deltalake and registered in an in-memory DuckDB as an
Arrow dataset, so no DuckDB extension (``delta_scan``) is needed and DuckDB streams
the Parquet files itself, pushing filters and projections down. ``read_only`` queries
(the API's) are checked to be a single SELECT, see only one tenant's rows, and run
with DuckDB's file access switched off and locked, so a SELECT cannot read other
files (``read_csv('/etc/passwd')``) or turn the setting back on.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
from deltalake import DeltaTable

from edupulse.config import Settings
from edupulse.errors import InvalidEventError, NotFoundError
from edupulse.lake.catalog import TABLES

__all__ = ["SqlError", "check_select", "connect", "export", "query"]


class SqlError(InvalidEventError):
    """A query that is not allowed, or that DuckDB cannot run (a 400 at the API)."""


def check_select(sql: str) -> None:
    """Raise SqlError unless ``sql`` is exactly one SELECT (WITH ... SELECT included)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise SqlError(f"the query does not parse: {exc}") from None
    if len(statements) != 1:
        raise SqlError(f"send exactly one statement, got {len(statements)}")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise SqlError(f"only SELECT queries are allowed here, not {kind.name}")


def dataset(path: Path) -> pads.Dataset:
    """A Delta table's current version as an Arrow dataset."""
    return DeltaTable(str(path)).to_pyarrow_dataset()


def connect(settings: Settings, *, tenant: str | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with every lake table that exists registered under its name.

    With ``tenant`` the tables hold that tenant's rows only; with ``read_only`` file
    access is off, memory is capped at ``lake.sql_memory_mib``, and both are locked.
    """
    con = duckdb.connect()
    for spec in TABLES:
        path = settings.lake_path / spec.name
        if not DeltaTable.is_deltatable(str(path)):
            continue
        data = dataset(path)
        if tenant is not None:
            if "tenant" not in data.schema.names:
                continue  # rows that name no tenant are no tenant's to read
            data = data.filter(pc.field("tenant") == tenant)
        con.register(spec.name, data)
    if read_only:
        con.execute(f"SET memory_limit = '{int(settings.lake.sql_memory_mib)}MiB'")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    return con


def query(
    settings: Settings,
    sql: str,
    *,
    tenant: str | None = None,
    read_only: bool = False,
    max_rows: int | None = None,
    timeout_s: float | None = None,
) -> pa.Table:
    """Run one query over the lake; read-only queries must be one SELECT.

    A query still running after ``timeout_s`` is interrupted (SqlError).
    """
    if read_only:
        check_select(sql)
    con = connect(settings, tenant=tenant, read_only=read_only)
    timer = threading.Timer(timeout_s, con.interrupt) if timeout_s else None
    if timer is not None:
        timer.start()
    try:
        relation = con.sql(sql)
        if relation is None:  # a statement without a result (the CLI runs any)
            return pa.table({})
        reader = relation.to_arrow_reader(min(max_rows or 1_000_000, 1_000_000))
        batches = []
        rows = 0
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            if max_rows is not None and rows >= max_rows:
                break
        table = pa.Table.from_batches(batches, schema=reader.schema)
    except duckdb.InterruptException:
        raise SqlError(f"the query ran longer than {timeout_s} s and was stopped; narrow it down") from None
    except duckdb.Error as exc:
        raise SqlError(f"the query failed: {exc}") from None
    finally:
        if timer is not None:
            timer.cancel()
        con.close()
    return table.slice(0, max_rows) if max_rows is not None else table


def export(settings: Settings, table: str, to: Path, fmt: Literal["parquet", "csv"]) -> int:
    """Write a whole lake table to one Parquet or CSV file, streaming; returns the rows written."""
    if fmt not in ("parquet", "csv"):
        raise SqlError(f"unknown export format {fmt!r}; use parquet or csv")
    path = settings.lake_path / table
    if table not in {t.name for t in TABLES} or not DeltaTable.is_deltatable(str(path)):
        raise NotFoundError(f"no lake table {table!r} at {path}; the lake sink creates it (lake.enabled)")
    con = connect(settings)
    try:
        con.execute(f"COPY (SELECT * FROM {table}) TO $path (FORMAT {fmt})", {"path": str(to)})  # noqa: S608
        count = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    finally:
        con.close()
    return int(count[0]) if count else 0
