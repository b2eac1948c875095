"""Log retention trims the commit lineage with the log, and lineage still answers for kept offsets."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.insights.engagement import LEARNER_VIEW
from edupulse.stream.runtime import EVENTS_TOPIC
from tests.statements import random_statements
from tests.test_api import wait_for


def _lineage_records(data_dir: Path) -> list[tuple[int, int]]:
    with sqlite3.connect(data_dir / "state.db") as conn:
        rows = conn.execute("SELECT from_offset, to_offset FROM commits WHERE topic=? ORDER BY 2", (EVENTS_TOPIC,))
        return [(int(a), int(b)) for a, b in rows]


def test_log_retention_trims_lineage_of_dropped_offsets_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, log={"partitions": 1, "retention_records": 100})
    with Deployment(settings) as dep:
        dep.start_processing()
        for batch in range(5):  # five commits of 40 events each
            statements = random_statements(40, seed=50 + batch, learners=4)
            dep.ingest.ingest(json.dumps(statements).encode(), tenant="default")
            wait_for(lambda n=batch: dep.store.committed_offset(EVENTS_TOPIC, 0) == 40 * (n + 1))
        before = _lineage_records(tmp_path)
        assert before[-1][1] == 200 and len(before) >= 5

        dep.apply_retention()

        assert dep.log.start_offsets(EVENTS_TOPIC) == [100]
        after = _lineage_records(tmp_path)
        assert after == [(a, b) for a, b in before if b > 100]  # every commit that covered offset 100 or later
        assert len(after) < len(before)
        rows = dep.store.select(LEARNER_VIEW.name, {})
        found = [dep.store.row_lineage(LEARNER_VIEW.name, {k: r[k] for k in LEARNER_VIEW.key}) for r in rows]
        assert any(f is not None for f in found)
        assert all(f.to_offset > 100 for f in found if f is not None)
