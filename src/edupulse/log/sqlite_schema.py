"""The embedded log's file: connections, tables, and the upgrade of files of earlier versions.

Tables:

- ``records``: one row per record, keyed by (topic, partition, offset); ``payload_id``
  points to the record's payload, if it has one.
- ``payloads``: the payloads, keyed by an integer that grows with every append, so
  storing one is an append at the end of a single B-tree.
- ``record_keys``: the idempotency index. Its key is ``log.ids.id_keys(topic, [id])``, 16 bytes
  instead of the topic and id as text, so twice as many entries fit a page and an
  append dirties half as many pages.
- ``partition_ends`` and ``topics``: the next offset of each partition, the partition
  count of each topic.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from edupulse.log.ids import id_keys

__all__ = ["PAGE_SIZE", "connect", "create_or_upgrade"]

PAGE_SIZE = 16_384

_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS partition_ends (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
    key BLOB NOT NULL, value BLOB NOT NULL, timestamp_us INTEGER NOT NULL, payload_id INTEGER,
    PRIMARY KEY (topic, partition, "offset"));
CREATE TABLE IF NOT EXISTS payloads (id INTEGER PRIMARY KEY, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS record_keys (
    key BLOB NOT NULL PRIMARY KEY, digest BLOB, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL
) WITHOUT ROWID;
"""


def connect(path: Path, *, synchronous: str) -> sqlite3.Connection:
    """A connection in WAL mode with the given durability.

    A new file gets 16 KiB pages (an existing file keeps its own): compared with 4 KiB
    an append writes fewer WAL frames, and the idempotency index, which takes its
    inserts at random places, has a quarter of the pages to dirty.
    """
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # only takes effect before the file has content
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


_TABLES = frozenset({"topics", "partition_ends", "records", "payloads", "record_keys"})


def _up_to_date(conn: sqlite3.Connection) -> bool:
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables >= _TABLES or "record_ids" in tables:
        return False
    return "payload_id" in {row[1] for row in conn.execute("PRAGMA table_info(records)")}


def create_or_upgrade(conn: sqlite3.Connection) -> None:
    """Create the tables, or bring a file written by an earlier version up to date.

    A file already up to date is only read. Otherwise the work runs in one write
    transaction, so processes opening the same file at once do not race each other
    through the upgrade.
    """
    if _up_to_date(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(records)")}
        if "payload_id" not in columns:  # first schema: payloads lived inside the values
            conn.execute("ALTER TABLE records ADD COLUMN payload_id INTEGER")
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='record_ids'").fetchone():
            _rekey_record_ids(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _rekey_record_ids(conn: sqlite3.Connection) -> None:
    """Move the first schema's text-keyed id table into ``record_keys``."""
    rows = conn.execute('SELECT topic, id, digest, partition, "offset" FROM record_ids')
    while chunk := rows.fetchmany(10_000):
        conn.executemany(
            "INSERT INTO record_keys VALUES (?, ?, ?, ?)",
            [(id_keys(topic, [rid])[0], digest, part, off) for topic, rid, digest, part, off in chunk],
        )
    conn.execute("DROP TABLE record_ids")
