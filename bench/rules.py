"""Intervention rules: what they cost a replay, and how many alerts they raise.

Builds a log of ``--events`` events (the real video statements, then copies of them as
new cohorts one week apart, as ``bench/replay.py`` does) and replays it with the
shipped operator chain, without rules and with two rules (3 failures on a skill in a
day; no activity for 7 days). Replays alternate, ``--runs`` of each; the median counts.

With ``--risk-models DATA_DIR`` (a data directory where ``edupulse train risk`` stored
models) the chain runs the risk operator, and the comparison is the two rules against
the two rules plus "risk above 0.7 and no activity for 7 days" (silent learners
rescored at the deadline), with the CPU seconds of each replay.

    .venv/bin/python bench/rules.py [--events 200000] [--runs 2] [--risk-models DATA_DIR]
"""

from __future__ import annotations

import argparse
import resource
import statistics
from pathlib import Path
from typing import Any

from _common import emit, load_statements, machine, scratch_dir
from edupulse.config import Settings
from edupulse.insights.risk_views import HISTORY_VIEW, RISK_VIEW
from edupulse.insights.rules import ALERTS_VIEW
from edupulse.replay import replay
from edupulse.stream.store.sqlite import SqliteStore
from replay import build_fixture, use_risk_models

RULES = """
rules:
  - {name: struggling, when: failed_attempts, count: 3, within_hours: 24, cooldown_hours: 72, actions: [webhook]}
  - {name: gone-quiet, when: inactive, days: 7, actions: [webhook]}
"""
RISKY = "  - {name: quiet-and-at-risk, when: inactive, days: 7, risk_above: 0.7, actions: [webhook]}\n"
PARTITIONS = 8


def run(data_dir: Path, rules: Path | None) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir, log={"partitions": PARTITIONS}, rules={"path": rules})
    cpu = _cpu_s()
    report = replay(settings, workers=1)
    cpu = _cpu_s() - cpu
    store = SqliteStore(data_dir / "state.db")
    try:
        alerts = store.count(ALERTS_VIEW.name, {}) if rules is not None else 0
        outbox = len(store.pending_outbox(10_000_000))
        risky = store.count(ALERTS_VIEW.name, {"rule": "quiet-and-at-risk"}) if rules is not None else 0
        silent = [r for r in store.select(HISTORY_VIEW.name, {}) if r["event_id"].startswith("silence:")]
        latest = [r for r in store.select(RISK_VIEW.name, {}) if r["event_id"].startswith("silence:")]
    finally:
        store.close()
    return {
        "events_per_second": report.events_per_second,
        "cpu_s": round(cpu, 2),
        "alerts": alerts,
        "risk_above_alerts": risky,
        "silence_history_rows": len(silent),  # rescores at a deadline that moved the risk by > 0.02
        "silence_current_rows": len(latest),  # learner-courses whose latest score is a rescore at a deadline
        "silence_current_above_0_7": sum(1 for r in latest if r["risk"] > 0.7),
        "outbox": outbox,
    }


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (replay workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--risk-models", type=Path, help="a data directory whose stored risk models to run")
    args = parser.parse_args()
    statements = load_statements("rules")
    with scratch_dir("edupulse-bench-rules-") as tmp:
        data_dir = tmp / "data"
        fixture = build_fixture(data_dir, statements, args.events, PARTITIONS)
        models = use_risk_models(data_dir, args.risk_models)
        rules_path, risky_path = tmp / "rules.yaml", tmp / "risky.yaml"
        rules_path.write_text(RULES)
        risky_path.write_text(RULES + RISKY)
        baseline, compared = (rules_path, risky_path) if models else (None, rules_path)
        plain: list[dict[str, Any]] = []
        ruled: list[dict[str, Any]] = []
        for _ in range(args.runs):
            plain.append(run(data_dir, baseline))
            ruled.append(run(data_dir, compared))
    without = statistics.median(r["events_per_second"] for r in plain)
    with_rules = statistics.median(r["events_per_second"] for r in ruled)
    emit(
        {
            "benchmark": "rules",
            "machine": machine(),
            "fixture": fixture,
            "risk_models": models,
            "compared": "two rules vs two rules + risk_above" if models else "no rules vs two rules",
            "replay_events_per_second": {"without_rules": without, "with_rules": with_rules},
            "slowdown_percent": round(100 * (1 - with_rules / without), 1),
            "alerts": ruled[-1]["alerts"],
            "outbox_messages": ruled[-1]["outbox"],
            "runs": {"without_rules": plain, "with_rules": ruled},
        }
    )


if __name__ == "__main__":
    main()
