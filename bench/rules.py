"""Intervention rules: what they cost a replay, and how many alerts they raise.

Builds a log of ``--events`` events (the real video statements, then copies of them as
new cohorts one week apart, as ``bench/replay.py`` does) and replays it with the
shipped operator chain, without rules and with two rules (3 failures on a skill in a
day; no activity for 7 days). Replays alternate, ``--runs`` of each; the median counts.

    .venv/bin/python bench/rules.py [--events 200000] [--runs 2]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

from _common import emit, load_statements, machine, scratch_dir
from edupulse.config import Settings
from edupulse.insights.rules import ALERTS_VIEW
from edupulse.replay import replay
from edupulse.stream.store.sqlite import SqliteStore
from replay import build_fixture

RULES = """
rules:
  - {name: struggling, when: failed_attempts, count: 3, within_hours: 24, cooldown_hours: 72, actions: [webhook]}
  - {name: gone-quiet, when: inactive, days: 7, actions: [webhook]}
"""
PARTITIONS = 8


def run(data_dir: Path, rules: Path | None) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir, log={"partitions": PARTITIONS}, rules={"path": rules})
    report = replay(settings, workers=1)
    store = SqliteStore(data_dir / "state.db")
    try:
        alerts = store.count(ALERTS_VIEW.name, {}) if rules is not None else 0
        outbox = len(store.pending_outbox(10_000_000))
    finally:
        store.close()
    return {"events_per_second": report.events_per_second, "alerts": alerts, "outbox": outbox}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    statements = load_statements("rules")
    with scratch_dir("edupulse-bench-rules-") as tmp:
        data_dir = tmp / "data"
        fixture = build_fixture(data_dir, statements, args.events, PARTITIONS)
        rules_path = tmp / "rules.yaml"
        rules_path.write_text(RULES)
        plain: list[dict[str, Any]] = []
        ruled: list[dict[str, Any]] = []
        for _ in range(args.runs):
            plain.append(run(data_dir, None))
            ruled.append(run(data_dir, rules_path))
    without = statistics.median(r["events_per_second"] for r in plain)
    with_rules = statistics.median(r["events_per_second"] for r in ruled)
    emit(
        {
            "benchmark": "rules",
            "machine": machine(),
            "fixture": fixture,
            "replay_events_per_second": {"without_rules": without, "with_rules": with_rules},
            "slowdown_percent": round(100 * (1 - with_rules / without), 1),
            "alerts": ruled[-1]["alerts"],
            "outbox_messages": ruled[-1]["outbox"],
            "runs": {"without_rules": plain, "with_rules": ruled},
        }
    )


if __name__ == "__main__":
    main()
