"""The agent and activity indexes of the embedded LRS store, brought up to date after the write.

Writing a statement stores its row (body, verb, registration, voids) and nothing else;
the rows that find it by agent or activity (five or so per statement, most of the cost
of a write) are derived from the stored bodies later, in order of ``seq``, up to a
watermark kept in the same file (``index_state.through_seq``). A query filtered by
agent or activity first brings the indexes up to the newest statement, so it sees
every statement stored before it, as if they were indexed on write; when writes pause,
a background thread does the same so that query finds little left to do.

The indexes are derived data: a crash loses nothing, since the watermark and the rows
it covers commit in one transaction, and whatever is above it is indexed next time.
A file written before the watermark existed had every statement indexed on write; it
starts with the watermark at its newest statement.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

from edupulse.lrs.index import activities_of, agents_of

__all__ = ["INDEX_SCHEMA", "index_pending", "index_some", "start_index_state"]

INDEX_SCHEMA = """
CREATE TABLE IF NOT EXISTS index_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    through_seq INTEGER NOT NULL
);
"""
_decode = msgspec.json.decode


def start_index_state(db: sqlite3.Connection) -> None:
    """Create the watermark once: at the newest statement for a file indexed on write, else 0."""
    db.execute("INSERT OR IGNORE INTO index_state SELECT 1, COALESCE(MAX(seq), 0) FROM statements")


def index_pending(db: sqlite3.Connection) -> bool:
    """Whether some stored statement is not indexed yet."""
    row = db.execute(
        "SELECT (SELECT through_seq FROM index_state) < (SELECT COALESCE(MAX(seq), 0) FROM statements)"
    ).fetchone()
    return bool(row[0])


def index_some(db: sqlite3.Connection, limit: int) -> int:
    """Index up to ``limit`` statements above the watermark and move it; inside a write transaction.

    Returns how many statements were indexed (fewer than ``limit``: none is left).
    """
    through = int(db.execute("SELECT through_seq FROM index_state").fetchone()[0])
    sql = "SELECT seq, body FROM statements WHERE seq > ? ORDER BY seq LIMIT ?"
    rows = db.execute(sql, (through, limit)).fetchall()
    if not rows:
        return 0
    agents: list[tuple[str, int, bool]] = []
    activities: list[tuple[str, int, bool]] = []
    for seq, body in rows:
        stmt: dict[str, Any] = _decode(body)
        agents += [(a, seq, d) for a, d in set(agents_of(stmt))]
        activities += [(a, seq, d) for a, d in set(activities_of(stmt))]
    db.executemany("INSERT OR IGNORE INTO statement_agents VALUES (?,?,?)", agents)
    db.executemany("INSERT OR IGNORE INTO statement_activities VALUES (?,?,?)", activities)
    db.execute("UPDATE index_state SET through_seq = ?", (rows[-1][0],))
    return len(rows)
