"""The embedded state store: one SQLite file for state, views, outbox and offsets.

Durability: WAL with ``synchronous=NORMAL``. A process crash loses nothing committed; a
power cut may lose the newest commits, but always whole commits (state, views, outbox
and offset together), and the log still holds their records, so they are recomputed.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from edupulse.errors import ConfigError, FencedError, NotFoundError, TerminalError, TransientError
from edupulse.stream.store.base import (
    LEARNER_COLUMN,
    LINEAGE_COLUMNS,
    Change,
    Commit,
    CommitRecord,
    ErasedRows,
    Lineage,
    OutboxMessage,
    Row,
    ViewSpec,
)

__all__ = ["SqliteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS offsets (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (
    operator TEXT NOT NULL, partition INTEGER NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY (operator, partition, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, view TEXT NOT NULL, row TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, key TEXT NOT NULL,
    payload BLOB NOT NULL, idempotency_key TEXT NOT NULL UNIQUE, created_us INTEGER NOT NULL,
    delivered_us INTEGER);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (seq) WHERE delivered_us IS NULL;
CREATE TABLE IF NOT EXISTS views (name TEXT PRIMARY KEY, spec BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS commits (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, to_offset INTEGER NOT NULL, from_offset INTEGER NOT NULL,
    committed_us INTEGER NOT NULL, lineage BLOB NOT NULL, PRIMARY KEY (partition, to_offset, topic)) WITHOUT ROWID;
"""
PURGE_CHUNK = 10_000  # outbox rows deleted per transaction
_SQL_TYPES = {"int": "INTEGER", "real": "REAL", "text": "TEXT", "json": "TEXT"}
_IDENT = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.decode


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ConfigError(f"{name!r} is not a valid view or column name (lowercase letters, digits, _)")
    return name


class SqliteStore:
    """A ``StateStore`` in one SQLite file."""

    def __init__(self, path: Path | str, *, changes_kept: int = 100_000, serving: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._changes_kept = changes_kept
        # A store that a replay worker builds serves nobody: no change feed, and no
        # secondary indexes (they are built once, after the merge).
        self._serving = serving
        self._commits = 0
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            self._conn.execute(f"PRAGMA {pragma}")
        self._conn.executescript(_SCHEMA)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        # The catalog of views lets a process that only reads (an API without a
        # runtime, the CLI) serve the views a processor created.
        self._views: dict[str, ViewSpec] = {
            name: msgspec.json.decode(spec, type=ViewSpec) for name, spec in self._conn.execute("SELECT * FROM views")
        }

    # -- schema ---------------------------------------------------------------------

    def setup(self, views: Sequence[ViewSpec]) -> None:
        with self._lock:
            for spec in views:
                self._create_view(spec)
                self._conn.execute("INSERT OR REPLACE INTO views VALUES (?, ?)", (spec.name, _json_encode(spec)))
                self._views[spec.name] = spec

    def _create_view(self, spec: ViewSpec) -> None:
        table = f"v_{_ident(spec.name)}"
        cols = ", ".join(
            f"{_ident(c)} {_SQL_TYPES[spec.columns[c]]}{' NOT NULL' if c in spec.key else ''}" for c in spec.all_columns
        )
        pk = ", ".join(spec.key)
        lineage = ", ".join(f"{c} INTEGER" for c in LINEAGE_COLUMNS)
        self._conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({cols}, {lineage}, PRIMARY KEY ({pk}))")
        existing = {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}
        for col in spec.all_columns:  # additive migration: new columns appear as NULL
            if col not in existing:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {col} {_SQL_TYPES[spec.columns[col]]}")
        for col in LINEAGE_COLUMNS:  # tables of stores made before lineage
            if col not in existing:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {col} INTEGER")
        if self._serving:
            self._create_indexes(spec)

    def _create_indexes(self, spec: ViewSpec) -> None:
        table = f"v_{spec.name}"
        for index in spec.indexes:
            name = f"{table}__{'_'.join(map(_ident, index))}"
            self._conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(index)})")

    def _spec(self, view: str) -> ViewSpec:
        try:
            return self._views[view]
        except KeyError:
            raise NotFoundError(f"no view named {view!r}; known views: {sorted(self._views)}") from None

    # -- offsets and state ----------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA query_only=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            self._readers.append(conn)
        return conn

    def committed_offset(self, topic: str, partition: int) -> int:
        return self.committed_offsets(topic).get(partition, 0)

    def committed_offsets(self, topic: str) -> dict[int, int]:
        rows = self._reader().execute("SELECT partition, next_offset FROM offsets WHERE topic=?", (topic,))
        return {int(p): int(o) for p, o in rows}

    def load_state(self, operator: str, partition: int) -> dict[str, bytes]:
        rows = self._reader().execute(
            "SELECT key, value FROM state WHERE operator=? AND partition=?", (operator, partition)
        )
        return dict(rows)

    def commit(self, commit: Commit) -> None:
        with self._lock:
            try:
                self._commit_locked(commit)
            except BaseException as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError):  # locked, busy, disk I/O: may pass
                    raise TransientError(f"could not commit to the state store at {self.path}: {exc}") from exc
                if isinstance(exc, sqlite3.Error):  # values that can never be stored
                    raise TerminalError(f"commit of partition {commit.partition} cannot be stored: {exc}") from exc
                raise

    def _commit_locked(self, commit: Commit) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        part = commit.partition
        if commit.from_offset is not None:
            self._fence(conn, commit)
        # Rows go in key order: B-tree inserts in order are several times cheaper than random ones.
        puts = sorted((op, part, key, value) for (op, key), value in commit.state.items() if value is not None)
        dels = [(op, part, key) for (op, key), value in commit.state.items() if value is None]
        conn.executemany("INSERT OR REPLACE INTO state VALUES (?, ?, ?, ?)", puts)
        conn.executemany("DELETE FROM state WHERE operator=? AND partition=? AND key=?", dels)
        stamp = (part, commit.next_offset) if commit.lineage is not None else (None, None)
        for view, rows in commit.views.items():
            self._upsert(conn, self._spec(view), rows, stamp)
        now_us = time.time_ns() // 1000
        if commit.lineage is not None:
            conn.execute(
                "INSERT OR REPLACE INTO commits VALUES (?, ?, ?, ?, ?, ?)",
                (commit.topic, part, commit.next_offset, commit.from_offset or 0, now_us, _json_encode(commit.lineage)),
            )
        conn.executemany(
            "INSERT OR IGNORE INTO outbox (topic, key, payload, idempotency_key, created_us) VALUES (?, ?, ?, ?, ?)",
            [(m.topic, m.key, m.payload, m.idempotency_key, now_us) for m in commit.outbox],
        )
        conn.execute("INSERT OR REPLACE INTO offsets VALUES (?, ?, ?)", (commit.topic, part, commit.next_offset))
        conn.execute("COMMIT")
        self._commits += 1
        if self._commits % 200 == 0:
            self._trim_changes()

    @staticmethod
    def _fence(conn: sqlite3.Connection, commit: Commit) -> None:
        row = conn.execute(
            "SELECT next_offset FROM offsets WHERE topic=? AND partition=?", (commit.topic, commit.partition)
        ).fetchone()
        stored = 0 if row is None else int(row[0])
        if stored != commit.from_offset:
            raise FencedError(
                f"partition {commit.partition} of {commit.topic!r} was committed up to offset {stored} by another "
                f"worker since this one read it from {commit.from_offset}; dropping this batch"
            )

    def _upsert(
        self, conn: sqlite3.Connection, spec: ViewSpec, rows: list[Row], stamp: tuple[int | None, int | None]
    ) -> None:
        if not rows:
            return
        for row in rows:
            missing = [k for k in spec.key if row.get(k) is None]
            if missing:
                raise TerminalError(f"a row of view {spec.name!r} lacks its key column(s) {missing}: {row}")
        cols = spec.all_columns
        json_cols = {c for c, t in spec.columns.items() if t == "json"}
        values = [
            (*(_json_encode(r.get(c)).decode() if c in json_cols else r.get(c) for c in cols), *stamp) for r in rows
        ]
        values.sort(key=lambda v: v[: len(spec.key)])  # key order, as for state rows
        names = ", ".join((*cols, *LINEAGE_COLUMNS))
        marks = ", ".join("?" * (len(cols) + len(LINEAGE_COLUMNS)))
        sql = f"INSERT OR REPLACE INTO v_{spec.name} ({names}) VALUES ({marks})"  # noqa: S608
        conn.executemany(sql, values)
        if self._serving:
            conn.executemany(
                "INSERT INTO changes (view, row) VALUES (?, ?)",
                [(spec.name, _json_encode(r).decode()) for r in rows],
            )

    def _trim_changes(self) -> None:
        self._conn.execute("DELETE FROM changes WHERE seq <= (SELECT max(seq) FROM changes) - ?", (self._changes_kept,))

    # -- merging (parallel replay) --------------------------------------------------

    def absorb(self, paths: Sequence[Path]) -> None:
        """Copy every table of stores built over disjoint partitions into this one.

        Parallel replay builds each worker's partitions into a file of its own; their
        state, view, outbox and offset rows never overlap, so a plain copy merges them.
        """
        with self._lock:
            serving, self._serving = self._serving, False  # index once, after the copy
            try:
                for i, path in enumerate(paths):
                    alias = f"part{i}"
                    self._conn.execute(f"ATTACH DATABASE ? AS {alias}", (str(path),))
                    try:
                        self._copy_from(alias)
                    finally:
                        self._conn.execute(f"DETACH DATABASE {alias}")
            finally:
                self._serving = serving
            if serving:
                for spec in self._views.values():
                    self._create_indexes(spec)

    def _copy_from(self, alias: str) -> None:
        conn = self._conn
        specs = [
            msgspec.json.decode(spec, type=ViewSpec)
            for (spec,) in conn.execute(f"SELECT spec FROM {alias}.views")  # noqa: S608
        ]
        for spec in specs:
            self._create_view(spec)
            conn.execute("INSERT OR REPLACE INTO views VALUES (?, ?)", (spec.name, _json_encode(spec)))
            self._views[spec.name] = spec
        tables = ["offsets", "state", "commits", *(f"v_{spec.name}" for spec in specs)]
        conn.execute("BEGIN IMMEDIATE")
        for table in tables:
            conn.execute(f"INSERT INTO main.{table} SELECT * FROM {alias}.{table}")  # noqa: S608
        columns = "topic, key, payload, idempotency_key, created_us, delivered_us"
        sql = f"INSERT OR IGNORE INTO main.outbox ({columns}) SELECT {columns} FROM {alias}.outbox"  # noqa: S608
        conn.execute(sql)
        conn.execute("COMMIT")

    def continue_changes_after(self, seq: int) -> None:
        """Number the next view changes after ``seq`` (a replaced store's last change)."""
        with self._lock:
            self._conn.execute("DELETE FROM sqlite_sequence WHERE name='changes'")
            self._conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('changes', ?)", (seq,))

    # -- serving --------------------------------------------------------------------

    def _rows(self, spec: ViewSpec, sql: str, params: Sequence[Any]) -> list[Row]:
        cols = spec.all_columns
        json_cols = [i for i, c in enumerate(cols) if spec.columns[c] == "json"]
        out = []
        for raw in self._reader().execute(sql, params):
            row = dict(zip(cols, raw, strict=True))
            for i in json_cols:
                if raw[i] is not None:
                    row[cols[i]] = _json_decode(raw[i])
            out.append(row)
        return out

    def _where(
        self, spec: ViewSpec, where: Mapping[str, Any], at_least: Mapping[str, Any] | None
    ) -> tuple[str, list[Any]]:
        known = set(spec.all_columns)
        clauses, params = [], []
        for op, filters in (("=", where), (">=", at_least or {})):
            for col, value in filters.items():
                if col not in known:
                    raise NotFoundError(f"view {spec.name!r} has no column {col!r}")
                clauses.append(f"{col} {op} ?")
                params.append(value)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

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
        sql = f"SELECT {', '.join(spec.all_columns)} FROM v_{spec.name}{clause}"  # noqa: S608
        if order_by is not None:
            if order_by not in spec.all_columns:
                raise NotFoundError(f"view {view!r} has no column {order_by!r} to sort by")
            tiebreak = ", ".join(spec.key)
            sql += f" ORDER BY {order_by} {'DESC' if descending else 'ASC'}, {tiebreak}"
        sql += " LIMIT ? OFFSET ?"
        params += [-1 if limit is None else limit, offset]
        return self._rows(spec, sql, params)

    def count(self, view: str, where: Mapping[str, Any], *, at_least: Mapping[str, Any] | None = None) -> int:
        spec = self._spec(view)
        clause, params = self._where(spec, where, at_least)
        row = self._reader().execute(f"SELECT count(*) FROM v_{spec.name}{clause}", params).fetchone()  # noqa: S608
        return int(row[0])

    def count_distinct(self, view: str, columns: Sequence[str]) -> int:
        spec = self._spec(view)
        cols = [c for c in columns if c in spec.all_columns]
        if not cols or len(cols) != len(columns):
            raise NotFoundError(f"view {view!r} lacks some of the columns {list(columns)}")
        sql = f"SELECT count(*) FROM (SELECT DISTINCT {', '.join(cols)} FROM v_{spec.name})"  # noqa: S608
        return int(self._reader().execute(sql).fetchone()[0])

    def row_lineage(self, view: str, key: Mapping[str, Any]) -> CommitRecord | None:
        spec = self._spec(view)
        clause, params = self._where(spec, key, None)
        sql = f"SELECT {', '.join(LINEAGE_COLUMNS)} FROM v_{spec.name}{clause} LIMIT 1"  # noqa: S608
        found = self._reader().execute(sql, params).fetchone()
        if found is None or found[0] is None:
            return None
        row = (
            self._reader()
            .execute(
                "SELECT topic, from_offset, committed_us, lineage FROM commits WHERE partition=? AND to_offset=?", found
            )
            .fetchone()
        )
        if row is None:
            return None
        lineage = _json_decode(row[3], type=Lineage)
        return CommitRecord(row[0], found[0], row[1], found[1], row[2], lineage.operators, lineage.models)

    def changes_since(self, seq: int, limit: int) -> list[Change]:
        rows = self._reader().execute(
            "SELECT seq, view, row FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )
        return [Change(s, v, _json_decode(r)) for s, v, r in rows]

    def last_change(self) -> int:
        # The sequence, not max(seq): a replayed store continues the old numbering.
        row = self._reader().execute("SELECT seq FROM sqlite_sequence WHERE name='changes'").fetchone()
        return int(row[0]) if row else 0

    # -- outbox ---------------------------------------------------------------------

    def pending_outbox(self, limit: int) -> list[tuple[int, OutboxMessage]]:
        rows = self._reader().execute(
            "SELECT seq, topic, key, payload, idempotency_key FROM outbox "
            "WHERE delivered_us IS NULL ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [(seq, OutboxMessage(t, k, p, i)) for seq, t, k, p, i in rows]

    def mark_delivered(self, seqs: Sequence[int]) -> None:
        now_us = time.time_ns() // 1000
        with self._lock:
            self._conn.executemany("UPDATE outbox SET delivered_us=? WHERE seq=?", [(now_us, s) for s in seqs])

    def purge_outbox(self, delivered_before_us: int) -> int:
        # In chunks, so that a large first purge never holds commits back for long.
        sql = f"DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE delivered_us < ? LIMIT {PURGE_CHUNK})"  # noqa: S608
        purged = 0
        while True:
            with self._lock:
                gone = int(self._conn.execute(sql, (delivered_before_us,)).rowcount)
            purged += gone
            if gone < PURGE_CHUNK:
                return purged

    def trim_lineage(self, topic: str, first_offsets: Mapping[int, int]) -> int:
        bounds = [(part, first, topic) for part, first in sorted(first_offsets.items())]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                gone = sum(
                    self._conn.execute(
                        "DELETE FROM commits WHERE partition=? AND to_offset<=? AND topic=?", bound
                    ).rowcount
                    for bound in bounds
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return gone

    # -- erasure --------------------------------------------------------------------

    def erase_learner(self, learner: str) -> ErasedRows:
        with self._lock:
            conn = self._conn
            conn.execute("PRAGMA secure_delete=ON")  # deleted cells are overwritten, not only unlinked
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    erased = self._erase_locked(conn, learner)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                if erased.total:  # nor kept in free pages or write-ahead frames
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    conn.execute("VACUUM")
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                raise TransientError(f"could not erase a learner from the state store at {self.path}: {exc}") from exc
            finally:
                conn.execute("PRAGMA secure_delete=OFF")
        return erased

    def _erase_locked(self, conn: sqlite3.Connection, learner: str) -> ErasedRows:
        erased = ErasedRows()
        for spec in self._views.values():
            if LEARNER_COLUMN in spec.columns:
                sql = f"DELETE FROM v_{spec.name} WHERE {LEARNER_COLUMN} = ?"  # noqa: S608 - checked names
                erased.views += conn.execute(sql, (learner,)).rowcount
        erased.state = conn.execute("DELETE FROM state WHERE instr(key, ?) > 0", (learner,)).rowcount
        erased.changes = conn.execute("DELETE FROM changes WHERE instr(row, ?) > 0", (learner,)).rowcount
        mention = (learner, learner.encode())
        sql = "DELETE FROM outbox WHERE instr(key, ?) > 0 OR instr(payload, ?) > 0"
        erased.outbox = conn.execute(sql, mention).rowcount
        return erased

    def close(self) -> None:
        with self._lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
            self._local = threading.local()
            self._conn.close()
