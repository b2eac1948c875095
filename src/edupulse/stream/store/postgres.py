"""The scale-out state store: state, views, change feed, outbox and offsets in PostgreSQL.

Same semantics as ``store.sqlite``; everything lives in one schema (default
``edupulse``). A commit is one transaction sent in one round trip (pipeline mode), each
kind of row written by one statement over arrays (``INSERT ... SELECT FROM unnest``).
View changes are numbered from a one-row counter locked inside the commit, so numbers
follow commit order even when several workers commit at once: a reader that has seen
change ``n`` has seen every change before it. A commit with view changes sends a
``NOTIFY``; ``wait_for_changes`` lets an API process sleep until one arrives.

Durability, as the SQLite store's ``synchronous=NORMAL``: by default commits do not wait
for the server's WAL flush (``synchronous_commit=off`` on the store's connections). A
crash of the server may lose its newest commits (at most about three times
``wal_writer_delay``), but always whole commits, state and offset together, and the log
still holds their records, so they are processed again; nothing is ever half applied.
``synchronous_commit=True`` makes each commit wait for its flush (several times slower).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import msgspec
import psycopg
from psycopg.types.json import Jsonb, set_json_loads

from edupulse.errors import FencedError, NotFoundError
from edupulse.postgres import check_schema, migrate, open_pool, pooled, rewrite_after, translate
from edupulse.stream.store import postgres_commit as plan
from edupulse.stream.store.base import (
    LEARNER_COLUMN,
    Change,
    Commit,
    CommitRecord,
    ErasedRows,
    Lineage,
    OutboxMessage,
    Row,
    ViewSpec,
)
from edupulse.stream.store.postgres_schema import COMPONENT, MIGRATIONS, create_view, ident, view_table

__all__ = ["PostgresStore"]

Connection = psycopg.Connection[tuple[Any, ...]]
_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.decode
TRIM_EVERY = 200  # commits between trims of the change feed
ERASE_HORIZON_WAIT_S = 60.0  # longest wait for transactions older than an erasure before its VACUUM FULL


def _configure(conn: Connection, *, synchronous_commit: bool) -> None:
    set_json_loads(_json_decode, conn)
    if not synchronous_commit:
        conn.execute("SET synchronous_commit = off")


class PostgresStore:
    """A ``StateStore`` in one schema of a PostgreSQL database."""

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "edupulse",
        pool_size: int = 4,
        changes_kept: int = 100_000,
        synchronous_commit: bool = False,
        timeout_s: float = 10.0,
    ) -> None:
        self.dsn = dsn
        self.schema = check_schema(schema)
        self._changes_kept = changes_kept
        self._channel = f"{schema}_changes"
        self._commits = 0
        self._views: dict[str, ViewSpec] = {}
        self._plans: dict[str, plan.ViewPlan] = {}
        self._listener: Connection | None = None
        self._listen_lock = threading.Lock()
        configure = functools.partial(_configure, synchronous_commit=synchronous_commit)
        self._pool = open_pool(dsn, size=pool_size, name=f"edupulse-{schema}", timeout_s=timeout_s, configure=configure)
        try:
            self.setup([])  # the core tables, so that a process that only reads can open the store
        except BaseException:
            self._pool.close()
            raise

    def _connection(self, doing: str) -> AbstractContextManager[Connection]:
        """A pooled connection; psycopg and pool errors leave as the project's errors."""
        return pooled(self._pool, doing, self.dsn)

    def _fetch(self, doing: str, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._connection(doing) as conn:
            return conn.execute(query.encode(), params).fetchall()

    # -- schema ---------------------------------------------------------------------

    def setup(self, views: Sequence[ViewSpec]) -> None:
        """Apply pending migrations, then create (or widen) the views' tables."""
        with self._connection("set up the state store") as conn, conn.transaction():
            migrate(conn, self.schema, COMPONENT, MIGRATIONS)
            for spec in views:
                for statement in create_view(self.schema, spec):
                    conn.execute(statement.encode())
                conn.execute(
                    f'INSERT INTO "{self.schema}".views VALUES (%s, %s) '
                    "ON CONFLICT (name) DO UPDATE SET spec = EXCLUDED.spec".encode(),
                    [spec.name, _json_encode(spec)],
                )
        self._load_catalog()

    def _load_catalog(self) -> None:
        """The catalog of views lets a process that only reads serve what a worker created."""
        rows = self._fetch("read the view catalog", f'SELECT name, spec FROM "{self.schema}".views')
        views = {name: msgspec.json.decode(spec, type=ViewSpec) for name, spec in rows}
        self._plans = {name: p for name, p in self._plans.items() if views.get(name) == self._views.get(name)}
        self._views = views

    def _spec(self, view: str) -> ViewSpec:
        if view not in self._views:
            self._load_catalog()  # another process may have set it up since
        try:
            return self._views[view]
        except KeyError:
            raise NotFoundError(f"no view named {view!r}; known views: {sorted(self._views)}") from None

    def _plan(self, view: str) -> plan.ViewPlan:
        spec = self._spec(view)
        found = self._plans.get(view)
        if found is None:
            found = self._plans[view] = plan.ViewPlan(self.schema, spec)
        return found

    # -- offsets and state ----------------------------------------------------------

    def committed_offset(self, topic: str, partition: int) -> int:
        return self.committed_offsets(topic).get(partition, 0)

    def committed_offsets(self, topic: str) -> dict[int, int]:
        query = f'SELECT partition, next_offset FROM "{self.schema}".offsets WHERE topic = %s'
        return {int(p): int(o) for p, o in self._fetch("read committed offsets", query, [topic])}

    def load_state(self, operator: str, partition: int) -> dict[str, bytes]:
        query = f'SELECT key, value FROM "{self.schema}".state WHERE operator = %s AND partition = %s'
        rows = self._fetch("load keyed state", query, [operator, partition])
        return {bytes(k).decode(): bytes(v) for k, v in rows}

    def commit(self, commit: Commit) -> None:
        """Apply the commit in one transaction, sent in one round trip.

        Everything is checked and encoded before the first byte is sent, so a commit
        that cannot be stored fails without touching the database.
        """
        statements = plan.statements(self.schema, self._channel, commit, [self._plan(v) for v in commit.views])
        doing = f"commit partition {commit.partition}"
        with self._connection(doing) as conn, conn.pipeline() as pipe, conn.transaction():
            if commit.from_offset is not None:
                self._fence(conn, pipe, commit)
            for query, params in statements:
                conn.execute(query, params)
        self._commits += 1
        if self._commits % TRIM_EVERY == 0:
            self._trim_changes()

    def _fence(self, conn: Connection, pipe: psycopg.Pipeline, commit: Commit) -> None:
        """Move the offset only if it is still where this worker read it, first of all:
        the row lock it takes also serializes two workers committing one partition."""
        query, params = plan.fence(self.schema, commit)
        cursor = conn.execute(query, params)
        pipe.sync()
        if cursor.rowcount != 1:
            raise FencedError(
                f"partition {commit.partition} of {commit.topic!r} was committed by another worker since this one "
                f"read it from offset {commit.from_offset}; dropping this batch"
            )

    def _trim_changes(self) -> None:
        schema = f'"{self.schema}"'
        query = f"DELETE FROM {schema}.changes WHERE seq <= (SELECT last FROM {schema}.change_counter) - %s"
        with self._connection("trim the change feed") as conn:
            conn.execute(query.encode(), [self._changes_kept])

    # -- serving --------------------------------------------------------------------

    def _rows(self, spec: ViewSpec, query: str, params: Sequence[Any]) -> list[Row]:
        cols = spec.all_columns
        return [dict(zip(cols, raw, strict=True)) for raw in self._fetch(f"read view {spec.name!r}", query, params)]

    def _where(
        self, spec: ViewSpec, where: Mapping[str, Any], at_least: Mapping[str, Any] | None
    ) -> tuple[str, list[Any]]:
        known = set(spec.all_columns)
        clauses, params = [], []
        for op, filters in (("=", where), (">=", at_least or {})):
            for col, value in filters.items():
                if col not in known:
                    raise NotFoundError(f"view {spec.name!r} has no column {col!r}")
                clauses.append(f"{ident(col)} {op} %s")
                params.append(Jsonb(value) if spec.columns[col] == "json" else value)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def row_lineage(self, view: str, key: Mapping[str, Any]) -> CommitRecord | None:
        spec = self._spec(view)
        clause, params = self._where(spec, key, None)
        schema = f'"{self.schema}"'
        query = (
            f"SELECT topic, partition, from_offset, to_offset, committed_us, lineage FROM {schema}.commits "
            f"WHERE (partition, to_offset) = (SELECT _lineage_partition, _lineage_offset "
            f"FROM {view_table(self.schema, view)}{clause} LIMIT 1) LIMIT 1"
        )
        rows = self._fetch(f"read the lineage of a row of {view!r}", query, params)
        if not rows:
            return None
        topic, part, start, end, at_us, blob = rows[0]
        lineage = msgspec.json.decode(bytes(blob), type=Lineage)
        return CommitRecord(topic, part, start, end, at_us, lineage.operators, lineage.models)

    def get(self, view: str, key: Mapping[str, Any]) -> Row | None:
        rows = self.select(view, key, limit=1)
        return rows[0] if rows else None

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
        spec = self._spec(view)
        clause, params = self._where(spec, where, None)
        query = f"SELECT {', '.join(map(ident, spec.all_columns))} FROM {view_table(self.schema, view)}{clause}"
        if order_by is not None:
            if order_by not in spec.all_columns:
                raise NotFoundError(f"view {view!r} has no column {order_by!r} to sort by")
            tiebreak = ", ".join(map(ident, spec.key))
            query += f" ORDER BY {ident(order_by)} {'DESC' if descending else 'ASC'}, {tiebreak}"
        query += " LIMIT %s OFFSET %s"
        return self._rows(spec, query, [*params, limit, offset])

    def count(self, view: str, where: Mapping[str, Any], *, at_least: Mapping[str, Any] | None = None) -> int:
        spec = self._spec(view)
        clause, params = self._where(spec, where, at_least)
        query = f"SELECT count(*) FROM {view_table(self.schema, view)}{clause}"
        return int(self._fetch(f"count view {view!r}", query, params)[0][0])

    def count_distinct(self, view: str, columns: Sequence[str]) -> int:
        spec = self._spec(view)
        if not columns or any(c not in spec.all_columns for c in columns):
            raise NotFoundError(f"view {view!r} lacks some of the columns {list(columns)}")
        cols = ", ".join(map(ident, columns))
        query = f"SELECT count(*) FROM (SELECT DISTINCT {cols} FROM {view_table(self.schema, view)}) AS d"
        return int(self._fetch(f"count view {view!r}", query)[0][0])

    def changes_since(self, seq: int, limit: int) -> list[Change]:
        query = f'SELECT seq, view, row FROM "{self.schema}".changes WHERE seq > %s ORDER BY seq LIMIT %s'
        return [Change(s, v, _json_decode(r)) for s, v, r in self._fetch("read view changes", query, [seq, limit])]

    def last_change(self) -> int:
        # The counter, not max(seq): numbers are never reused, even after a trim.
        return int(self._fetch("read the last change", f'SELECT last FROM "{self.schema}".change_counter')[0][0])

    def wait_for_changes(self, timeout_s: float) -> bool:
        """Block until a commit with view changes (in any process) or the timeout; True if woken.

        Callers re-read the change feed after waking. If the connection is lost, this
        waits out the timeout and returns True: notifications may have been missed.
        """
        with self._listen_lock:
            try:
                conn = self._listening()
                return any(True for _ in conn.notifies(timeout=max(0.0, timeout_s), stop_after=1))
            except psycopg.Error:
                self._drop_listener()
                time.sleep(max(0.0, timeout_s))
                return True

    def _listening(self) -> Connection:
        if self._listener is None or self._listener.closed:
            conn: Connection = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
            conn.execute(f'LISTEN "{self._channel}"'.encode())
            self._listener = conn
        return self._listener

    def _drop_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    # -- outbox ---------------------------------------------------------------------

    def pending_outbox(self, limit: int) -> list[tuple[int, OutboxMessage]]:
        query = (
            f'SELECT seq, topic, key, payload, idempotency_key FROM "{self.schema}".outbox '
            "WHERE delivered_us IS NULL ORDER BY seq LIMIT %s"
        )
        rows = self._fetch("read the outbox", query, [limit])
        return [(int(seq), OutboxMessage(t, k, bytes(p), i)) for seq, t, k, p, i in rows]

    def mark_delivered(self, seqs: Sequence[int]) -> None:
        if not seqs:
            return
        query = f'UPDATE "{self.schema}".outbox SET delivered_us = %s WHERE seq = ANY(%s)'
        with self._connection("mark outbox messages delivered") as conn:
            conn.execute(query.encode(), [time.time_ns() // 1000, list(seqs)])

    def purge_outbox(self, delivered_before_us: int) -> int:
        query = f'DELETE FROM "{self.schema}".outbox WHERE delivered_us < %s'
        with self._connection("purge delivered outbox messages") as conn:
            return int(conn.execute(query.encode(), [delivered_before_us]).rowcount)

    def trim_lineage(self, topic: str, first_offsets: Mapping[int, int]) -> int:
        if not first_offsets:
            return 0
        query = (
            f'DELETE FROM "{self.schema}".commits AS c USING unnest(%s::int[], %s::bigint[]) AS f(partition, first) '
            "WHERE c.partition = f.partition AND c.to_offset <= f.first AND c.topic = %s"
        )
        parts = sorted(first_offsets)
        with self._connection("trim the commit lineage") as conn:
            cursor = conn.execute(query.encode(), [parts, [first_offsets[p] for p in parts], topic])
            return int(cursor.rowcount)

    # -- erasure --------------------------------------------------------------------

    def erase_learner(self, learner: str) -> ErasedRows:
        """Delete the learner's rows in one transaction, then rewrite the tables that held them
        (``VACUUM FULL``: a plain vacuum leaves dead tuples' bytes in the pages it keeps) once no
        older transaction can still see them (``postgres.rewrite_after``)."""
        self._load_catalog()
        schema = f'"{self.schema}"'
        views = [view_table(self.schema, n) for n, spec in self._views.items() if LEARNER_COLUMN in spec.columns]
        erased = ErasedRows()
        touched: list[str] = []
        with self._connection("erase a learner from the state store") as conn, conn.transaction():
            xid = int(conn.execute(b"SELECT txid_current()").fetchone()[0])  # type: ignore[index]
            for table in views:
                count = conn.execute(f"DELETE FROM {table} WHERE {LEARNER_COLUMN} = %s".encode(), [learner]).rowcount
                erased.views += count
                touched += [table] if count else []
            erased.state = conn.execute(
                f"DELETE FROM {schema}.state WHERE position(%s::bytea IN key) > 0".encode(), [learner.encode()]
            ).rowcount
            erased.changes = conn.execute(
                f"DELETE FROM {schema}.changes WHERE strpos(row, %s) > 0".encode(), [learner]
            ).rowcount
            erased.outbox = conn.execute(
                f"DELETE FROM {schema}.outbox WHERE strpos(key, %s) > 0 OR position(%s::bytea IN payload) > 0".encode(),
                [learner, learner.encode()],
            ).rowcount
        for name, count in (("state", erased.state), ("changes", erased.changes), ("outbox", erased.outbox)):
            touched += [f"{schema}.{name}"] if count else []
        self._vacuum(touched, xid)
        return erased

    def _vacuum(self, tables: Sequence[str], xid: int) -> None:
        try:
            rewrite_after(self.dsn, tables, xid, wait_s=ERASE_HORIZON_WAIT_S)
        except psycopg.Error as exc:
            raise translate(exc, "vacuum the tables a learner was erased from", self.dsn) from exc

    def close(self) -> None:
        with self._listen_lock:
            self._drop_listener()
        self._pool.close()
