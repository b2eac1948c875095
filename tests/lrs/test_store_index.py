"""The store's agent and activity indexes, derived after the write: queries still see every statement."""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec

from edupulse.lrs.store.base import NewStatement, StatementQuery
from edupulse.lrs.store.sqlite import SqliteLrsStore

ADA = "mailto:ada@example.edu"
KEY = {"objectType": "Agent", "account": {"homePage": "https://edupulse.dev/keys", "name": "k1"}}


def statement(actor: str, activity: str, seq_hint: int = 0) -> NewStatement:
    sid = str(uuid.uuid4())
    body: dict[str, Any] = {
        "id": sid,
        "actor": {"mbox": actor},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {"id": activity},
        "context": {"contextActivities": {"parent": [{"id": "https://example.edu/course"}]}},
        "authority": KEY,
    }
    return NewStatement(sid, 1_000 + seq_hint, msgspec.json.encode(body), body["verb"]["id"], None)


def ids(store: SqliteLrsStore, **filters: Any) -> set[str]:
    return {s.id for s in store.query("t", StatementQuery(**filters))}


def watermark(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT through_seq FROM index_state").fetchone()[0])


def test_a_query_right_after_a_write_finds_it_by_agent_and_activity(tmp_path: Path) -> None:
    store = SqliteLrsStore(tmp_path / "lrs.db")
    try:
        first = [statement(ADA, f"https://example.edu/q{i}", i) for i in range(5)]
        store.put("t", first)
        assert ids(store, agent=f"mbox:{ADA}") == {s.id for s in first}
        later = statement("mailto:bob@example.edu", "https://example.edu/q1")
        store.put("t", [later])  # stored after the indexes were brought up to date
        assert ids(store, activity="https://example.edu/q1") == {first[1].id, later.id}
        assert ids(store, activity="https://example.edu/course") == set()  # related only
        found = ids(store, activity="https://example.edu/course", related_activities=True)
        assert found == {s.id for s in [*first, later]}
        assert ids(store, agent="account:https://edupulse.dev/keys|k1", related_agents=True) == found
    finally:
        store.close()


def test_the_background_indexer_catches_up_once_writes_pause(tmp_path: Path) -> None:
    store = SqliteLrsStore(tmp_path / "lrs.db")
    try:
        store.put("t", [statement(ADA, "https://example.edu/q") for _ in range(3)])
        deadline = time.monotonic() + 10
        while watermark(tmp_path / "lrs.db") < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert watermark(tmp_path / "lrs.db") == 3
    finally:
        store.close()


def test_a_file_indexed_on_write_starts_with_its_watermark_at_the_newest_statement(tmp_path: Path) -> None:
    path = tmp_path / "lrs.db"
    store = SqliteLrsStore(path)
    store.put("t", [statement(ADA, "https://example.edu/q") for _ in range(4)])
    store.index()
    store.close()
    with sqlite3.connect(path) as db:  # as a file from before the watermark: indexed, no index_state
        db.execute("DROP TABLE index_state")
    store = SqliteLrsStore(path)
    try:
        assert watermark(path) == 4
        assert len(ids(store, agent=f"mbox:{ADA}")) == 4
    finally:
        store.close()


def test_duplicates_are_indexed_once(tmp_path: Path) -> None:
    store = SqliteLrsStore(tmp_path / "lrs.db")
    try:
        one = statement(ADA, "https://example.edu/q")
        store.put("t", [one])
        store.put("t", [one, statement(ADA, "https://example.edu/r")])
        store.index()
        with sqlite3.connect(tmp_path / "lrs.db") as db:
            rows = db.execute("SELECT COUNT(*) FROM statement_activities WHERE direct = 1").fetchone()[0]
        assert rows == 2
        assert len(ids(store, agent=f"mbox:{ADA}")) == 2
    finally:
        store.close()
