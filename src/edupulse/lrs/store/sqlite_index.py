"""The agent and activity indexes of the embedded LRS store: written with the statements,
and brought up to date for statements stored without them.

A write stores each statement's index rows (five or so per statement) in the same
transaction as its row, from the keys the writer found on the statement it had
decoded anyway (``index.IndexKeys``), so nothing decodes a stored body again. A
watermark kept in the same file (``index_state.through_seq``) says how far every
statement is indexed; a write whose statements follow the watermark moves it on.

Files written while the indexes were derived after the write (an earlier version) may
hold statements above the watermark: a query filtered by agent or activity first
indexes them (decoding their bodies), and a background thread does the same once
writes pause. A crash loses nothing: rows and watermark commit with the statements.
A file written before the watermark existed had every statement indexed on write; it
starts with the watermark at its newest statement.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import msgspec

from edupulse.lrs.index import activities_of, agents_of
from edupulse.lrs.store.base import NewStatement

__all__ = ["INDEX_SCHEMA", "index_inserted", "index_pending", "index_some", "start_index_state"]

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


def index_inserted(db: sqlite3.Connection, inserted: Sequence[tuple[int, NewStatement]]) -> None:
    """Index statements just inserted (as (seq, statement)); inside their write transaction.

    The watermark moves past them if every statement before them was indexed already.
    """
    if not inserted:
        return
    agents: list[tuple[str, int, bool]] = []
    activities: list[tuple[str, int, bool]] = []
    for seq, stmt in inserted:
        found_agents, found_activities = stmt.agents, stmt.activities
        if found_agents is None or found_activities is None:
            body: dict[str, Any] = _decode(stmt.body)
            found_agents, found_activities = agents_of(body), activities_of(body)
        agents += [(a, seq, d) for a, d in found_agents]
        activities += [(a, seq, d) for a, d in found_activities]
    db.executemany("INSERT OR IGNORE INTO statement_agents VALUES (?,?,?)", agents)
    db.executemany("INSERT OR IGNORE INTO statement_activities VALUES (?,?,?)", activities)
    covered = "SELECT COALESCE(MAX(seq), 0) FROM statements WHERE seq < ?"  # every statement before them
    db.execute(
        f"UPDATE index_state SET through_seq = ? WHERE through_seq >= ({covered})",  # noqa: S608 - constant SQL
        (inserted[-1][0], inserted[0][0]),
    )
