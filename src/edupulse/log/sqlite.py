"""The embedded event log: one SQLite file, Kafka semantics, fsync'd group commits.

Appends from any thread are queued to one writer thread, which stores everything
waiting in a single transaction and fsyncs once (group commit): many concurrent small
requests cost one disk flush, and no append returns before its records are on disk.
Payloads live in their own table, keyed by an integer that their record points to and
written in the same transaction, so reading records never steps over them. WAL
checkpoints run on a thread of their own (``checkpointer.py``), not inside commits.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from edupulse.errors import ConfigError, NotFoundError, TransientError
from edupulse.log.base import Appended, AppendStatus, LogRecord, Record, partition_for
from edupulse.log.checkpointer import BACKSTOP_PAGES, Checkpointer
from edupulse.log.ids import id_keys
from edupulse.log.sqlite_schema import connect, create_or_upgrade
from edupulse.log.write_lock import WriteLock

__all__ = ["SqliteLog"]

# Short blobs are bound as bytearray: sqlite3 binds int, float, str and bytearray as they
# are, but looks every bytes value up in its adapter registry first (about 0.3 us each,
# more than the copy). Payloads, long enough for the copy to cost more, stay bytes.

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Request:
    """One unit of work for the writer thread: an append, or a topic to create."""

    topic: str
    records: Sequence[Record]
    future: Future[list[Appended]] = field(default_factory=Future)
    create_partitions: int | None = None
    atomic: bool = False


class _Payloads:
    """The payloads of one append: numbered on from the highest id stored, inserted at once."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._next = -1
        self._rows: list[tuple[int, bytes]] = []

    def add(self, payload: bytes | None) -> int | None:
        """The id ``payload`` will be stored under, or None without a payload."""
        if payload is None:
            return None
        if self._next < 0:  # read inside the write transaction: no other writer can interleave
            self._next = self._conn.execute("SELECT coalesce(max(id), 0) + 1 FROM payloads").fetchone()[0]
        self._rows.append((self._next, payload))
        self._next += 1
        return self._next - 1

    def insert(self) -> None:
        self._conn.executemany("INSERT INTO payloads VALUES (?, ?)", self._rows)


class SqliteLog:
    """An ``EventLog`` in one SQLite file; safe to share between threads and processes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write = connect(self.path, synchronous="FULL")
        create_or_upgrade(self._write)
        self._write.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        self._checkpointer = Checkpointer(self.path)
        self._write_lock = WriteLock(self.path)  # other processes' appends wait on it, not by polling
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._appended = threading.Condition()
        self._generation = 0
        self._closed = False
        self._state_lock = threading.Lock()
        self._writer = threading.Thread(target=self._write_loop, name="log-writer", daemon=True)
        self._writer.start()

    # -- topics ---------------------------------------------------------------------

    def ensure_topic(self, topic: str, partitions: int) -> None:
        if partitions < 1:
            raise ConfigError(f"topic {topic!r} needs at least one partition, got {partitions}")
        self._submit(_Request(topic, [], create_partitions=partitions))

    def partitions(self, topic: str) -> int:
        row = self._reader().execute("SELECT partitions FROM topics WHERE name=?", (topic,)).fetchone()
        if row is None:
            raise NotFoundError(f"topic {topic!r} does not exist; start the pipeline once to create it")
        return int(row[0])

    # -- writing --------------------------------------------------------------------

    def append(self, topic: str, records: Sequence[Record], *, atomic: bool = False) -> list[Appended]:
        if not records:
            return []
        return self._submit(_Request(topic, records, atomic=atomic))

    def _submit(self, request: _Request) -> list[Appended]:
        with self._state_lock:  # no request may slip in behind the writer's stop marker
            if self._closed:
                raise TransientError("the event log is closed")
            self._queue.put(request)
        return request.future.result()

    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < 512:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            self._commit_batch(batch)

    def _commit_batch(self, batch: list[_Request]) -> None:
        results: list[list[Appended] | BaseException] = []
        try:
            with self._write_lock.held():
                self._write_batch(batch, results)
            self._checkpointer.nudge()
        except Exception as exc:  # every waiter must hear of the failure, whatever it is
            logger.exception("append to %s failed", self.path)
            error: Exception = exc
            if isinstance(exc, sqlite3.Error):
                error = TransientError(f"could not append to the event log at {self.path}: {exc}")
                error.__cause__ = exc
            for req in batch:
                req.future.set_exception(error)
            return
        with self._appended:
            self._generation += 1
            self._appended.notify_all()
        for req, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                req.future.set_exception(result)
            else:
                req.future.set_result(result)

    def _write_batch(self, batch: list[_Request], results: list[list[Appended] | BaseException]) -> None:
        """Every request of the batch in one transaction; the results go to ``results``."""
        conn = self._write
        try:
            conn.execute("BEGIN IMMEDIATE")
            ends: dict[tuple[str, int], int] = {}
            for req in batch:
                try:
                    if req.create_partitions is not None:
                        self._create_topic(conn, req.topic, req.create_partitions)
                        results.append([])
                    else:
                        results.append(self._append_in_txn(conn, req, ends))
                except NotFoundError as exc:
                    results.append(exc)
            conn.executemany(
                "UPDATE partition_ends SET next_offset=? WHERE topic=? AND partition=?",
                [(end, t, p) for (t, p), end in ends.items()],
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _create_topic(conn: sqlite3.Connection, topic: str, partitions: int) -> None:
        if conn.execute("SELECT 1 FROM topics WHERE name=?", (topic,)).fetchone():
            return
        conn.execute("INSERT INTO topics VALUES (?, ?)", (topic, partitions))
        conn.executemany("INSERT INTO partition_ends VALUES (?, ?, 0)", [(topic, p) for p in range(partitions)])

    def _append_in_txn(
        self, conn: sqlite3.Connection, req: _Request, ends: dict[tuple[str, int], int]
    ) -> list[Appended]:
        topic, records = req.topic, req.records
        n = self._partitions_in_txn(conn, topic)
        keys = id_keys(topic, [r.id for r in records])
        known = self._known_keys(conn, [k for k in keys if k is not None])
        out: list[Appended] = []
        fresh: dict[bytes, bytes | None] = {}
        status: AppendStatus
        for rec, key in zip(records, keys, strict=True):  # first pass: what is new, what repeats, what conflicts
            seen = known.get(key) if key is not None else None
            if key is not None and seen is None and key in fresh:
                status = "duplicate" if fresh[key] == rec.digest else "conflict"
                out.append(Appended(status, -1, -1))
            elif seen is not None:
                status = "duplicate" if seen[0] == rec.digest else "conflict"
                out.append(Appended(status, seen[1], seen[2]))
            else:
                if key is not None:
                    fresh[key] = rec.digest
                out.append(Appended("appended", -1, -1))
        if req.atomic and any(a.status == "conflict" for a in out):
            return [a if a.status == "conflict" else Appended("aborted", -1, -1) for a in out]
        return self._insert(conn, req, n, out, ends, keys=keys)

    @staticmethod
    def _insert(
        conn: sqlite3.Connection,
        req: _Request,
        partitions: int,
        planned: list[Appended],
        ends: dict[tuple[str, int], int],
        *,
        keys: list[bytes | None],
    ) -> list[Appended]:
        topic = req.topic
        rows: list[tuple[str, int, int, bytearray, bytearray, int, int | None]] = []
        payloads = _Payloads(conn)
        key_rows: list[tuple[bytearray, bytearray | None, int, int]] = []
        placed: dict[bytes | None, tuple[int, int]] = {}
        out: list[Appended] = []
        for rec, key, plan in zip(req.records, keys, planned, strict=True):
            if plan.status != "appended":
                repeat = plan.offset == -1 and key in placed  # a repeat within this append
                out.append(Appended(plan.status, *placed[key]) if repeat else plan)
                continue
            part = partition_for(rec.key, partitions)
            pkey = (topic, part)
            off = ends.get(pkey)
            if off is None:
                off = conn.execute(
                    "SELECT next_offset FROM partition_ends WHERE topic=? AND partition=?", pkey
                ).fetchone()[0]
            ends[pkey] = off + 1
            payload_id = payloads.add(rec.payload)
            rows.append((topic, part, off, bytearray(rec.key), bytearray(rec.value), rec.timestamp_us, payload_id))
            if key is not None:
                placed[key] = (part, off)
                key_rows.append((bytearray(key), None if rec.digest is None else bytearray(rec.digest), part, off))
            out.append(Appended("appended", part, off))
        conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        payloads.insert()
        conn.executemany("INSERT INTO record_keys VALUES (?, ?, ?, ?)", key_rows)
        return out

    @staticmethod
    def _partitions_in_txn(conn: sqlite3.Connection, topic: str) -> int:
        row = conn.execute("SELECT partitions FROM topics WHERE name=?", (topic,)).fetchone()
        if row is None:
            raise NotFoundError(f"topic {topic!r} does not exist; create it before appending")
        return int(row[0])

    @staticmethod
    def _known_keys(conn: sqlite3.Connection, keys: list[bytes]) -> dict[bytes, tuple[bytes | None, int, int]]:
        found: dict[bytes, tuple[bytes | None, int, int]] = {}
        for start in range(0, len(keys), 500):
            chunk = [bytearray(k) for k in keys[start : start + 500]]
            marks = ",".join("?" * len(chunk))
            for key, digest, part, off in conn.execute(
                f'SELECT key, digest, partition, "offset" FROM record_keys WHERE key IN ({marks})',  # noqa: S608
                chunk,
            ):
                found[key] = (digest, part, off)
        return found

    # -- reading --------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, synchronous="FULL")
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            self._readers.append(conn)
        return conn

    def read(self, topic: str, partition: int, offset: int, max_records: int) -> list[LogRecord]:
        rows = self._reader().execute(
            'SELECT partition, "offset", key, value, timestamp_us FROM records '
            'WHERE topic=? AND partition=? AND "offset">=? ORDER BY "offset" LIMIT ?',
            (topic, partition, offset, max_records),
        )
        return [LogRecord(*row) for row in rows]

    def read_payloads(self, topic: str, partition: int, offsets: Sequence[int]) -> dict[int, bytes]:
        conn = self._reader()
        found: dict[int, bytes] = {}
        wanted = sorted(set(offsets))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                conn.execute(
                    'SELECT r."offset", p.payload FROM records r JOIN payloads p ON p.id=r.payload_id '  # noqa: S608
                    f'WHERE r.topic=? AND r.partition=? AND r."offset" IN ({marks})',
                    (topic, partition, *chunk),
                )
            )
        return found

    def end_offsets(self, topic: str) -> list[int]:
        n = self.partitions(topic)
        rows = (
            self._reader()
            .execute("SELECT partition, next_offset FROM partition_ends WHERE topic=?", (topic,))
            .fetchall()
        )
        ends = [0] * n
        for part, end in rows:
            ends[part] = end
        return ends

    def start_offsets(self, topic: str) -> list[int]:
        ends = self.end_offsets(topic)
        conn = self._reader()
        starts = []
        for part, end in enumerate(ends):
            row = conn.execute(
                'SELECT min("offset") FROM records WHERE topic=? AND partition=?', (topic, part)
            ).fetchone()
            starts.append(end if row[0] is None else int(row[0]))
        return starts

    def wait(self, timeout_s: float) -> bool:
        with self._appended:
            seen = self._generation
            self._appended.wait_for(lambda: self._generation != seen or self._closed, timeout_s)
            return self._generation != seen

    # -- retention and lifecycle ----------------------------------------------------

    def apply_retention(
        self,
        topic: str,
        *,
        max_age_us: int | None,
        max_records: int | None,
        now_us: int,
        keep_from: Sequence[int] | None = None,
    ) -> int:
        dropped = 0
        conn = connect(self.path, synchronous="FULL")
        try:
            conn.execute("BEGIN IMMEDIATE")
            for part, end in enumerate(self.end_offsets(topic)):
                first = end - max_records if max_records is not None else 0
                if max_age_us is not None:
                    # Offsets stay contiguous: drop a prefix, up to the first young record.
                    row = conn.execute(
                        'SELECT min("offset") FROM records WHERE topic=? AND partition=? AND timestamp_us>=?',
                        (topic, part, now_us - max_age_us),
                    ).fetchone()
                    first = max(first, end if row[0] is None else row[0])
                if keep_from is not None:
                    first = min(first, keep_from[part])
                conn.execute(
                    "DELETE FROM payloads WHERE id IN (SELECT payload_id FROM records "
                    'WHERE topic=? AND partition=? AND "offset"<? AND payload_id IS NOT NULL)',
                    (topic, part, first),
                )
                dropped += conn.execute(
                    'DELETE FROM records WHERE topic=? AND partition=? AND "offset"<?', (topic, part, first)
                ).rowcount
            conn.execute("COMMIT")
        finally:
            conn.close()
        if dropped:
            logger.info("retention dropped %d records from topic %s", dropped, topic)
        return dropped

    def delete_keys(self, topic: str, key_prefix: bytes, *, before_us: int) -> int:
        """Delete the records (and payloads) whose key starts with ``key_prefix``, appended before ``before_us``.

        Per-tenant retention uses this (keys start with the tenant). Offsets of other
        records do not change; readers step over the gaps. Returns how many were deleted.
        """
        where = "topic=? AND substr(key, 1, ?)=? AND timestamp_us<?"
        params = (topic, len(key_prefix), key_prefix, before_us)
        conn = connect(self.path, synchronous="FULL")
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                f"DELETE FROM payloads WHERE id IN (SELECT payload_id FROM records WHERE {where})",  # noqa: S608
                params,
            )
            deleted = int(conn.execute(f"DELETE FROM records WHERE {where}", params).rowcount)  # noqa: S608
            conn.execute("COMMIT")
        finally:
            conn.close()
        return deleted

    def close(self) -> None:
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._writer.join(timeout=10)
        self._checkpointer.close()
        with self._appended:
            self._appended.notify_all()
        for conn in self._readers:
            conn.close()
        self._readers.clear()
        self._write.close()
        self._write_lock.close()
