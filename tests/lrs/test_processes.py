"""Several API processes write statements into one log and one LRS store at once."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import msgspec

from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.store.sqlite import SqliteLrsStore
from edupulse.lrs.writer import StatementWriter
from edupulse.stream.runtime import EVENTS_TOPIC
from tests.statements import random_statements

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://edupulse.dev/keys", "name": "k1"}}
BATCH = 40


def write_all(data: Path, bodies: list[bytes]) -> None:
    """One API process: its own log and store objects on the shared files."""
    log, store = SqliteLog(data / "log.db"), SqliteLrsStore(data / "lrs.db")
    try:
        writer = StatementWriter(log, store)
        for body in bodies:
            writer.write(body, tenant="t", authority=AUTHORITY, v2=False)
    finally:
        log.close()
        store.close()


def test_two_processes_store_every_statement_once_with_contiguous_offsets(tmp_path: Path) -> None:
    statements = random_statements(480, seed=5)
    for i, stmt in enumerate(statements):
        stmt["id"] = f"00000000-0000-4000-8000-{i:012d}"
    bodies = [msgspec.json.encode(statements[i : i + BATCH]) for i in range(0, len(statements), BATCH)]
    log = SqliteLog(tmp_path / "log.db")
    log.ensure_topic(EVENTS_TOPIC, 4)
    log.close()
    SqliteLrsStore(tmp_path / "lrs.db").close()
    # each process sends its half, and both send the middle third: those are duplicates for one of them
    third = len(bodies) // 3
    halves = [bodies[: 2 * third], bodies[third:]]
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=write_all, args=(tmp_path, half)) for half in halves]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    with sqlite3.connect(tmp_path / "log.db") as db:
        rows = db.execute('SELECT partition, "offset" FROM records WHERE topic = ?', (EVENTS_TOPIC,)).fetchall()
        ends = dict(db.execute("SELECT partition, next_offset FROM partition_ends WHERE topic = ?", (EVENTS_TOPIC,)))
    assert len(rows) == len(statements)
    for part, end in ends.items():
        assert sorted(o for p, o in rows if p == part) == list(range(end))
    with sqlite3.connect(tmp_path / "lrs.db") as db:
        ids = [r[0] for r in db.execute("SELECT id FROM statements ORDER BY seq")]
    assert sorted(ids) == sorted(s["id"] for s in statements)
