"""What only the SQLite log does: upgrading files of earlier versions, checkpoints off the commit path.

Everything an event log promises is in ``tests/contract/test_log_contract.py``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from edupulse.log.base import Appended, LogRecord, Record
from edupulse.log.checkpointer import Checkpointer
from edupulse.log.sqlite import SqliteLog
from edupulse.log.sqlite_schema import PAGE_SIZE, connect

_FIRST_SCHEMA = """
CREATE TABLE topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
CREATE TABLE partition_ends (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)) WITHOUT ROWID;
CREATE TABLE records (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
    key BLOB NOT NULL, value BLOB NOT NULL, timestamp_us INTEGER NOT NULL,
    PRIMARY KEY (topic, partition, "offset"));
CREATE TABLE record_ids (
    topic TEXT NOT NULL, id TEXT NOT NULL, digest BLOB, partition INTEGER NOT NULL,
    "offset" INTEGER NOT NULL, PRIMARY KEY (topic, id)) WITHOUT ROWID;
INSERT INTO topics VALUES ('events', 1);
INSERT INTO partition_ends VALUES ('events', 0, 2);
INSERT INTO records VALUES ('events', 0, 0, x'6b', x'7630', 10), ('events', 0, 1, x'6b', x'7631', 11);
INSERT INTO record_ids VALUES ('events', 't:e0', x'6430', 0, 0), ('events', 't:e1', x'6431', 0, 1);
"""


def test_a_log_of_the_first_schema_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(_FIRST_SCHEMA)
    conn.close()

    log = SqliteLog(path)
    try:
        assert log.read("events", 0, 0, 10) == [LogRecord(0, 0, b"k", b"v0", 10), LogRecord(0, 1, b"k", b"v1", 11)]
        assert log.append("events", [Record(b"k", b"x", 1, id="t:e1", digest=b"d1")]) == [Appended("duplicate", 0, 1)]
        assert log.append("events", [Record(b"k", b"x", 1, id="t:e0", digest=b"??")]) == [Appended("conflict", 0, 0)]
        [new] = log.append("events", [Record(b"k", b"v2", 12, id="t:e2", digest=b"d2", payload=b"p2")])
        assert new == Appended("appended", 0, 2)
        assert log.read_payloads("events", 0, [0, 1, 2]) == {2: b"p2"}
        assert log.apply_retention("events", max_age_us=None, max_records=1, now_us=100) == 2
        assert log.read("events", 0, 0, 10) == [LogRecord(0, 2, b"k", b"v2", 12)]
    finally:
        log.close()


def test_a_new_log_has_large_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as conn:
        conn.executescript(_FIRST_SCHEMA)
    conn.close()
    for path in (tmp_path / "new.sqlite", old):
        SqliteLog(path).close()

    assert _page_size(tmp_path / "new.sqlite") == PAGE_SIZE
    assert _page_size(old) == 4096


def _page_size(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA page_size").fetchone()[0])
    finally:
        conn.close()


def test_opening_an_up_to_date_log_takes_no_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    SqliteLog(path).close()
    holder = connect(path, synchronous="FULL")
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a long write
    try:
        began = time.monotonic()
        SqliteLog(path).close()
        assert time.monotonic() - began < 5.0
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _wal_frames(path: Path) -> int:
    """How many pages the WAL file has room for (it is reused from its start, never shrunk)."""
    return (path.with_name(path.name + "-wal").stat().st_size - 32) // (PAGE_SIZE + 24)


def _write(conn: sqlite3.Connection, rows: int) -> None:
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO t VALUES (?)", [(b"x" * 3000,) for _ in range(rows)])
    conn.execute("COMMIT")


def test_the_checkpointer_copies_the_wal_back_after_a_nudge(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    writer = connect(path, synchronous="FULL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE t (v BLOB)")
    checkpointer = Checkpointer(path, gather_s=0.05)
    try:
        _write(writer, 500)  # 1.5 MB
        written = _wal_frames(path)
        checkpointer.nudge()
        deadline = time.monotonic() + 10
        while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert checkpointer.checkpoints == 1
        _write(writer, 10)  # the WAL was copied back whole, so the writer starts it over
        assert _wal_frames(path) == written  # the file keeps its size ...
        busy, frames, copied = checkpointer.checkpoint()
        assert (busy, copied) == (0, frames)
        assert frames < written / 10  # ... but holds only the last commit
    finally:
        checkpointer.close()
        writer.close()


def test_the_checkpointer_gathers_commits_and_stops_promptly(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    writer = connect(path, synchronous="FULL")
    writer.execute("CREATE TABLE t (v BLOB)")
    checkpointer = Checkpointer(path, gather_s=0.5)
    try:
        for _ in range(20):
            _write(writer, 1)
        for _ in range(20):  # commits in quick succession, each nudging
            checkpointer.nudge()
        time.sleep(1.2)
        assert checkpointer.checkpoints == 1
        checkpointer.nudge()  # a checkpoint is being gathered when close comes
    finally:
        began = time.monotonic()
        checkpointer.close()
        writer.close()
    assert time.monotonic() - began < 2.0
    assert checkpointer.checkpoints == 1


def test_a_closed_log_leaves_no_thread_behind(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    log = SqliteLog(tmp_path / "log.sqlite")
    log.ensure_topic("events", 2)
    log.append("events", [Record(b"k", b"v", 1, payload=b"p")])
    log.close()

    assert [t.name for t in set(threading.enumerate()) - before if t.is_alive()] == []
