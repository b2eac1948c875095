"""One write transaction on a SQLite connection in autocommit mode (``isolation_level=None``).

``BEGIN IMMEDIATE`` takes the database's write lock at once, so a writer waits for
another at the start (under the connection's busy timeout) rather than failing at its
first write; the block's statements commit together or roll back on any error.
Callers that share the connection between threads hold their own lock around it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["immediate"]


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Cursor]:
    """A cursor inside ``BEGIN IMMEDIATE``; ``COMMIT`` when the block ends, ``ROLLBACK`` if it raises."""
    cur = conn.cursor()
    cur.execute("BEGIN IMMEDIATE")
    try:
        yield cur
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    cur.execute("COMMIT")
