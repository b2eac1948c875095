"""The embedded LRS store: one SQLite file, WAL, one connection behind a lock.

Statements are numbered by ``seq`` in the order they are stored, which is the order of
``stored`` times; pages and ``more`` cursors are ranges of ``seq``. Agents and activities
of a statement are indexed in tables of their own, flagged ``direct`` (actor/object)
or related (authority, instructor, team, context activities, sub-statement); those
indexes are derived from the stored statements after the write (``sqlite_index``), and
brought up to date before any query that uses them. Every write transaction takes the
cross-process write lock first (``_transaction``).
Voiding is kept apart (``voids``), so a voiding statement that arrives before its
target still voids it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edupulse.errors import TransientError
from edupulse.log.write_lock import WriteLock
from edupulse.lrs.store.base import Document, DocumentKey, NewStatement, StatementQuery, StoredStatement
from edupulse.lrs.store.sqlite_index import INDEX_SCHEMA, index_pending, index_some, start_index_state
from edupulse.lrs.store.sqlite_schema import SCHEMA

__all__ = ["SqliteLrsStore"]

logger = logging.getLogger(__name__)
_INDEX_CHUNK = 500  # statements indexed per transaction (the locks are released between them)
_INDEX_POLL_S = 0.1  # how often the background indexer looks for work
_INDEX_IDLE_S = 0.2  # it waits for writes (of every process) to pause this long, to stay off their path

_VOIDED = "EXISTS (SELECT 1 FROM voids v WHERE v.tenant = s.tenant AND v.target = s.id)"
_COLUMNS = f"s.seq, s.id, s.stored_us, s.body, {_VOIDED}"


class SqliteLrsStore:
    """Statements, attachments, activities and documents in ``lrs.db``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA page_size=16384")  # new files: fewer, fuller pages per statement body
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA + INDEX_SCHEMA)
        start_index_state(self._db)
        self._lock = threading.Lock()
        self._write_lock = WriteLock(self.path)  # writers in other processes wait on it, not by polling
        self._last_put = 0.0
        self._closing = threading.Event()
        self._indexer = threading.Thread(target=self._index_when_idle, name="lrs-indexer", daemon=True)
        self._indexer.start()

    def _run(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.OperationalError as exc:
                raise TransientError(f"the LRS store is busy: {exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, under the cross-process write lock; the caller holds ``_lock``.

        Rolled back on any error; SQLite's own errors (a busy or locked file) become a
        ``TransientError``, which the API answers with 503 and a retry.
        """
        with self._write_lock.held():
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError):
                    raise TransientError(f"the LRS store is busy: {exc}") from exc
                raise

    def put(self, tenant: str, statements: Sequence[NewStatement]) -> None:
        self._last_put = time.monotonic()
        with self._lock, self._transaction() as db:
            _insert(db, tenant, statements)

    def index(self) -> None:
        """Bring the agent and activity indexes up to the newest stored statement."""
        while self._index_chunk():
            pass

    def _index_chunk(self) -> bool:
        """Index one chunk in a transaction of its own; whether there may be more."""
        with self._lock:
            if not index_pending(self._db):
                return False
            with self._transaction() as db:
                done = index_some(db, _INDEX_CHUNK)
            return done == _INDEX_CHUNK

    def _index_when_idle(self) -> None:
        """The background indexer: a chunk at a time, once writes have paused.

        Writes are seen pausing when the newest ``seq`` of the file stays the same for
        ``_INDEX_IDLE_S``: that covers writes from every process (API processes, and a
        processor process that opens the store and never writes to it), where the time
        of this process's own last write would not. It stops as soon as a write comes.
        """
        newest, since = -1, time.monotonic()
        while not self._closing.wait(_INDEX_POLL_S):
            try:
                now_newest = self.last_seq()
            except TransientError:
                continue
            if now_newest != newest:
                newest, since = now_newest, time.monotonic()
                continue
            if time.monotonic() - max(since, self._last_put) < _INDEX_IDLE_S:
                continue
            try:
                while not self._closing.is_set() and self.last_seq() == newest and self._index_chunk():
                    pass
            except (TransientError, sqlite3.Error) as exc:  # a query will index, or the next round
                logger.warning("indexing the LRS store failed, will retry: %s", exc)

    def get(self, tenant: str, statement_id: str) -> StoredStatement | None:
        rows = self._run(f"SELECT {_COLUMNS} FROM statements s WHERE s.tenant = ? AND s.id = ?", (tenant, statement_id))  # noqa: S608 - only constant SQL is interpolated
        return StoredStatement(rows[0][0], rows[0][1], rows[0][2], rows[0][3], bool(rows[0][4])) if rows else None

    def is_voiding(self, tenant: str, statement_id: str) -> bool:
        """Whether the statement stored under this id voids another one."""
        rows = self._run(
            "SELECT 1 FROM statements WHERE tenant = ? AND id = ? AND verb = 'http://adlnet.gov/expapi/verbs/voided'",
            (tenant, statement_id),
        )
        return bool(rows)

    def query(self, tenant: str, query: StatementQuery) -> list[StoredStatement]:
        if query.agent is not None or query.activity is not None:
            self.index()  # every statement stored so far is found by its agents and activities
        where: list[str] = [f"s.tenant = ? AND NOT {_VOIDED}"]
        args: list[Any] = [tenant]
        matches, match_args = _filters("s", query)
        if matches:  # a statement matches, or its object is a StatementRef to one that does
            targets, target_args = _filters("t", query)
            where.append(
                f"({matches} OR EXISTS (SELECT 1 FROM statements t WHERE t.tenant = s.tenant "  # noqa: S608 - only constant SQL is interpolated
                f"AND t.id = s.target AND {targets}))"
            )
            args += match_args + target_args
        for column, value in (
            ("s.stored_us > ?", query.since_us),
            ("s.stored_us <= ?", query.until_us),
            ("s.seq <= ?", query.through_seq),
            ("s.seq > ?" if query.ascending else "s.seq < ?", query.after_seq),
        ):
            if value is not None:
                where.append(column)
                args.append(value)
        order = "ASC" if query.ascending else "DESC"
        sql = f"SELECT {_COLUMNS} FROM statements s WHERE {' AND '.join(where)} ORDER BY s.seq {order}"  # noqa: S608
        if query.limit:
            sql += f" LIMIT {int(query.limit) + 1}"
        return [StoredStatement(r[0], r[1], r[2], r[3], bool(r[4])) for r in self._run(sql, args)]

    def last_seq(self) -> int:
        rows = self._run("SELECT MAX(seq) FROM statements")
        return int(rows[0][0] or 0)

    def put_attachment(self, sha2: str, content_type: str, content: bytes) -> None:
        self._run("INSERT OR IGNORE INTO attachments VALUES (?,?,?)", (sha2, content_type, content))

    def attachment(self, sha2: str) -> tuple[str, bytes] | None:
        rows = self._run("SELECT content_type, content FROM attachments WHERE sha2 = ?", (sha2,))
        return (rows[0][0], rows[0][1]) if rows else None

    def put_activity(self, tenant: str, activity_id: str, definition: bytes) -> None:
        self._run("INSERT OR REPLACE INTO activities VALUES (?,?,?)", (tenant, activity_id, definition))

    def activity(self, tenant: str, activity_id: str) -> bytes | None:
        rows = self._run("SELECT definition FROM activities WHERE tenant = ? AND id = ?", (tenant, activity_id))
        return bytes(rows[0][0]) if rows else None

    def activities(self, tenant: str, activity_ids: Sequence[str]) -> dict[str, bytes]:
        with self._lock:
            try:
                return self._activities(tenant, activity_ids)
            except sqlite3.OperationalError as exc:
                raise TransientError(f"the LRS store is busy: {exc}") from exc

    def _activities(self, tenant: str, activity_ids: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for start in range(0, len(activity_ids), 500):
            chunk = activity_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT id, definition FROM activities WHERE tenant = ? AND id IN ({marks})"  # noqa: S608
            found.update((i, bytes(d)) for i, d in self._db.execute(sql, (tenant, *chunk)))
        return found

    def update_activities(
        self, tenant: str, activity_ids: Sequence[str], update: Callable[[dict[str, bytes]], dict[str, bytes]]
    ) -> None:
        with self._lock, self._transaction() as db:
            changed = update(self._activities(tenant, activity_ids))
            db.executemany(
                "INSERT OR REPLACE INTO activities VALUES (?,?,?)", [(tenant, i, d) for i, d in changed.items()]
            )

    # -- documents ----------------------------------------------------------------------

    def get_document(self, tenant: str, key: DocumentKey) -> Document | None:
        rows = self._run(
            "SELECT content, content_type, etag, updated_us FROM documents WHERE tenant = ? AND kind = ? "
            "AND activity = ? AND agent = ? AND registration = ? AND doc_id = ?",
            (tenant, key.kind, key.activity, key.agent, key.registration or "", key.doc_id),
        )
        return Document(bytes(rows[0][0]), rows[0][1], rows[0][2], rows[0][3]) if rows else None

    def document_ids(self, tenant: str, key: DocumentKey, since_us: int | None) -> list[str]:
        where, args = _document_where(tenant, key)
        rows = self._run(
            f"SELECT doc_id FROM documents WHERE {where} AND updated_us > ? ORDER BY doc_id",  # noqa: S608 - only constant SQL is interpolated
            [*args, -1 if since_us is None else since_us],
        )
        return [r[0] for r in rows]

    def put_document(self, tenant: str, key: DocumentKey, document: Document) -> None:
        self._run(
            "INSERT OR REPLACE INTO documents VALUES (?,?,?,?,?,?,?,?,?,?)",
            (*(tenant, key.kind, key.activity, key.agent, key.registration or "", key.doc_id), *_values(document)),
        )

    def delete_documents(self, tenant: str, key: DocumentKey) -> None:
        where, args = _document_where(tenant, key)
        if key.doc_id:
            where += " AND doc_id = ?"
            args.append(key.doc_id)
        self._run(f"DELETE FROM documents WHERE {where}", args)  # noqa: S608 - only constant SQL is interpolated

    def forget_agent(self, tenant: str, agents: Sequence[str], needles: Sequence[str]) -> int:
        """Erase an agent: every statement naming them, its index rows, and their documents.

        ``agents`` are agent keys (``index.agent_key``); ``needles`` are texts of the
        agent's identifier, looked for in the bodies of statements not indexed yet.
        Deleted pages are zeroed (``secure_delete``), the file is vacuumed and its
        write-ahead log truncated, so no copy of the statements stays on disk.
        Returns how many statements were deleted.
        """
        with self._lock:
            self._db.execute("PRAGMA secure_delete=ON")
            with self._transaction() as db:
                seqs = _agent_seqs(db, tenant, agents, needles)
                for start in range(0, len(seqs), 500):
                    chunk = seqs[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    for table in ("statements", "statement_agents", "statement_activities"):
                        db.execute(f"DELETE FROM {table} WHERE seq IN ({marks})", chunk)  # noqa: S608 - constant SQL
                for text in [*agents, *needles]:
                    db.execute("DELETE FROM documents WHERE tenant = ? AND instr(agent, ?) > 0", (tenant, text))
            with self._write_lock.held():  # VACUUM writes too, outside any transaction
                self._db.execute("VACUUM")
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(seqs)

    def close(self) -> None:
        self._closing.set()
        if self._indexer is not threading.current_thread():
            self._indexer.join(timeout=30)
        with self._lock:
            self._db.close()
            self._write_lock.close()


def _insert(db: sqlite3.Connection, tenant: str, statements: Sequence[NewStatement]) -> None:
    """Insert the statements not stored yet, numbered from the next ``seq``, in a few statements of SQL.

    The id is the idempotency key: a stored id is ignored (its seq is then never used).
    Their agent and activity rows come later (``sqlite_index``).
    """
    by_id: dict[str, NewStatement] = {}
    for stmt in statements:
        by_id.setdefault(stmt.id, stmt)  # the first of repeated ids
    fresh = list(by_id.values())
    first = int(db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM statements").fetchone()[0])
    rows = [
        (seq, tenant, s.id, s.stored_us, s.verb, s.registration, s.target, s.body)
        for seq, s in enumerate(fresh, start=first)
    ]
    cur = db.executemany(
        "INSERT OR IGNORE INTO statements (seq, tenant, id, stored_us, verb, registration, target, body) "
        "VALUES (?,?,?,?,?,?,?,?)",
        rows,
    )
    voiding = [(seq, s.voids) for seq, s in enumerate(fresh, start=first) if s.voids is not None]
    if voiding and cur.rowcount != len(rows):  # some were stored already: only the new ones void
        stored = {r[0] for r in db.execute("SELECT seq FROM statements WHERE seq >= ?", (first,))}
        voiding = [(seq, target) for seq, target in voiding if seq in stored]
    db.executemany("INSERT OR IGNORE INTO voids VALUES (?,?)", [(tenant, t) for _, t in voiding])


def _agent_seqs(db: sqlite3.Connection, tenant: str, agents: Sequence[str], needles: Sequence[str]) -> list[int]:
    seqs: set[int] = set()
    for agent in agents:
        query = (
            "SELECT a.seq FROM statement_agents a JOIN statements s ON s.seq = a.seq WHERE a.agent = ? AND s.tenant = ?"
        )
        seqs.update(r[0] for r in db.execute(query, (agent, tenant)))
    for text in needles:
        query = "SELECT seq FROM statements WHERE tenant = ? AND instr(body, ?) > 0"
        seqs.update(r[0] for r in db.execute(query, (tenant, text.encode())))
    return sorted(seqs)


def _values(document: Document) -> tuple[bytes, str, str, int]:
    return document.content, document.content_type, document.etag, document.updated_us


def _document_where(tenant: str, key: DocumentKey) -> tuple[str, list[Any]]:
    """Documents at a key; a key without a registration (None) means any registration."""
    where = "tenant = ? AND kind = ? AND activity = ? AND agent = ?"
    args: list[Any] = [tenant, key.kind, key.activity, key.agent]
    if key.registration is not None:
        where += " AND registration = ?"
        args.append(key.registration)
    return where, args


def _filters(alias: str, query: StatementQuery) -> tuple[str, list[Any]]:
    """The agent, verb, activity and registration filters on the statement ``alias``."""
    where: list[str] = []
    args: list[Any] = []
    if query.agent is not None:
        direct = "" if query.related_agents else " AND a.direct = 1"
        where.append(f"EXISTS (SELECT 1 FROM statement_agents a WHERE a.agent = ? AND a.seq = {alias}.seq{direct})")  # noqa: S608 - only constant SQL is interpolated
        args.append(query.agent)
    if query.activity is not None:
        direct = "" if query.related_activities else " AND c.direct = 1"
        where.append(
            f"EXISTS (SELECT 1 FROM statement_activities c WHERE c.activity = ? AND c.seq = {alias}.seq{direct})"  # noqa: S608 - only constant SQL is interpolated
        )
        args.append(query.activity)
    for column, value in (("verb", query.verb), ("registration", query.registration)):
        if value is not None:
            where.append(f"{alias}.{column} = ?")
            args.append(value)
    return " AND ".join(where), args
