"""Kappa's promise: state built live equals state rebuilt by replaying the log, exactly.

Hypothesis varies the events (order, duplicates, late arrivals far behind the
watermark), how they are split into requests, and the live and replay batch sizes.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edupulse.config import Settings
from edupulse.deployment import LOG_FILE, STATE_FILE
from edupulse.insights import default_operators
from edupulse.insights.engagement import COURSE_VIEW, LEARNER_VIEW
from edupulse.insights.features import FeatureState
from edupulse.insights.rule_file import parse_rules
from edupulse.insights.rules import ALERTS_VIEW
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.statements import StatementIngest
from edupulse.replay import replay
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.sqlite import SqliteStore
from tests.statements import START, learner_key, random_statements, statement

_decode_features = msgspec.msgpack.Decoder(FeatureState).decode
# Intervention rules run in the chain too: their alerts must match as well.
RULES = """
rules:
  - {name: failing, when: failed_attempts, count: 2, within_hours: 12, cooldown_hours: 24, actions: [webhook]}
  - {name: quiet, when: inactive, days: 2, actions: [webhook]}
  - {name: due, when: due_not_started, hours: 30, actions: [webhook]}
calendar:
  - {course: "https://example.edu/c0", assignment: "https://example.edu/c0/items/1", due: "2026-09-10T09:00:00Z"}
"""
LATENESS_US = 6 * 3_600_000_000  # six hours, so that the examples produce late events

event = st.builds(
    lambda learner, course, verb, minutes, score, seconds: statement(
        f"l{learner}",
        course=f"https://example.edu/c{course}",
        verb=verb,
        when=START + timedelta(minutes=minutes),
        score=score,
        duration_s=seconds,
    ),
    learner=st.integers(0, 5),
    course=st.integers(0, 2),
    verb=st.sampled_from(["answered", "experienced", "completed", "failed"]),
    minutes=st.integers(0, 60 * 24 * 10),  # ten days: plenty of events beyond six hours late
    score=st.none() | st.sampled_from([0.0, 0.25, 1.0]),
    seconds=st.none() | st.floats(0.1, 500, allow_nan=False).map(lambda x: round(x, 3)),
)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    events = draw(st.lists(event, min_size=1, max_size=120))
    for i, stmt in enumerate(events):
        stmt["id"] = f"00000000-0000-4000-8000-{i:012d}"
    repeats = draw(st.lists(st.sampled_from(events), max_size=20))  # resent statements
    stream = draw(st.permutations(events + [dict(s) for s in repeats]))
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    return {
        "unique": events,
        "requests": [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True) if b > a],
        "live_batch": draw(st.integers(1, 50)),
        "replay_batch": draw(st.integers(1, 500)),
    }


def _rows(store: SqliteStore) -> dict[str, list[dict[str, Any]]]:
    rows = {
        view.name: store.select(view.name, {}, order_by=view.key[-1])
        for view in (LEARNER_VIEW, COURSE_VIEW, ALERTS_VIEW)
    }
    rows["outbox"] = sorted((m.idempotency_key, m.payload) for _, m in store.pending_outbox(100_000))
    # The features operator serves no view: its keyed state is what must match.
    states = [store.load_state("features", p) for p in range(3)]
    rows["features"] = [{k: _decode_features(v) for k, v in part.items()} for part in states]
    return rows


def _live(data_dir: Path, scenario: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    log = SqliteLog(data_dir / LOG_FILE)
    log.ensure_topic(EVENTS_TOPIC, 3)
    store = SqliteStore(data_dir / STATE_FILE)
    (data_dir / "rules.yaml").write_text(RULES)
    ops = default_operators(allowed_lateness_us=LATENESS_US, rules=parse_rules(RULES))
    runtime = Runtime(log, store, ops, batch_size=scenario["live_batch"])
    runtime.assign_all()
    ingest = StatementIngest(log)
    for request in scenario["requests"]:  # process as we go, like the live server
        ingest.ingest(json.dumps(request).encode(), tenant="t")
        runtime.run_once()
    runtime.run_until_caught_up()
    rows = _rows(store)
    store.close()
    log.close()
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_live_state_equals_replayed_state(scenario: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        live = _live(data_dir, scenario)
        config = Settings(
            data_dir=data_dir,
            runtime={"replay_batch_size": scenario["replay_batch"], "allowed_lateness_hours": 6},
            rules={"path": data_dir / "rules.yaml"},
        )
        report = replay(config)
        store = SqliteStore(data_dir / STATE_FILE)
        replayed = _rows(store)
        store.close()

    assert report.events == len(scenario["unique"])
    assert replayed == live
    # Nothing lost, nothing counted twice: cumulative counts match the unique statements.
    expected = Counter(
        (s["context"]["contextActivities"]["grouping"][0]["id"], s["actor"]["account"]["name"])
        for s in scenario["unique"]
    )
    got = {(r["course"], r["learner"]): r["events"] for r in live[LEARNER_VIEW.name]}
    assert got == {(c, learner_key(n)): k for (c, n), k in expected.items()}
    late = sum(r["late_events"] for r in live[LEARNER_VIEW.name])
    in_windows = sum(sum(r["activity"].values()) for r in live[LEARNER_VIEW.name])
    assert late + in_windows == len(scenario["unique"])


def test_parallel_replay_equals_live_and_keeps_change_numbers(tmp_path: Path) -> None:
    scenario = {
        "unique": [],
        "requests": [random_statements(400, seed=s, learners=60, courses=4) for s in range(5)],
        "live_batch": 37,
    }
    live = _live(tmp_path, scenario)
    assert {a["rule"] for a in live[ALERTS_VIEW.name]} == {"failing", "quiet"}
    before = SqliteStore(tmp_path / STATE_FILE)
    last_change = before.last_change()
    before.close()
    config = Settings(data_dir=tmp_path, runtime={"allowed_lateness_hours": 6}, rules={"path": tmp_path / "rules.yaml"})
    report = replay(config, workers=3)
    assert report.workers == 3
    assert report.events == 2000
    store = SqliteStore(tmp_path / STATE_FILE)
    try:
        assert _rows(store) == live
        assert store.count_distinct(LEARNER_VIEW.name, ("learner",)) == 60
        assert store.last_change() == last_change  # numbering continues after the old store's
    finally:
        store.close()
