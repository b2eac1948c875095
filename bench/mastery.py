"""Knowledge tracing: the cost of one online update, and the mastery operator's throughput.

- ``update_us``: BKT (with forgetting) and Elo updates, each timed over ``--updates``
  calls on a small state, in pure Python as the operator runs them, beside a baseline
  in the same run: a loop that only looks a float up in a dict and stores it back
  (the least any keyed update can cost), reported as a ratio.
- ``operator``: ``MasteryOperator.process`` + ``flush`` over the ASSISTments 2009 test
  attempts as canonical events (no I/O), in events per second; and ``ungraded_event_us``,
  what the operator adds per event that is not a graded attempt (e.g. a video play).
- ``runtime``: the same events appended to a SQLite log and run through the Runtime
  (read, decode, operator, one commit per partition), against the same Runtime with no
  operator at all, in the same run.

    .venv/bin/python bench/mastery.py [--updates 1000000] [--model DATA_DIR]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path
from typing import Any

from _common import SHARED_DATA, emit, machine, scratch_dir, skip, wait_for_quiet
from edupulse.events.model import LearningEvent, Result, encode_event
from edupulse.events.vocabulary import Verb
from edupulse.insights.mastery import MasteryOperator
from edupulse.log.base import Record
from edupulse.log.sqlite import SqliteLog
from edupulse.ml import bkt, elo
from edupulse.ml.assistments import load_attempts
from edupulse.ml.mastery_model import MasteryModel, load_model
from edupulse.stream.operator import Operator
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.sqlite import SqliteStore

DATA = SHARED_DATA / "assistments2009"
TARGET_US = 5.0
PARTITIONS = 4


def time_updates(n: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    outcomes = [rng.random() < 0.68 for _ in range(n)]
    keys = [f"skill-{rng.randrange(100)}" for _ in range(n)]
    table = dict.fromkeys(keys, 0.5)
    params = bkt.BktParams(prior=0.5, learn=0.15, forget=0.03, guess=0.2, slip=0.1)
    elo_params = elo.EloParams()

    def baseline() -> None:
        for key in keys:
            table[key] = table[key]

    def bkt_loop() -> None:
        update = bkt.update
        for key, correct in zip(keys, outcomes, strict=True):
            table[key] = update(table[key], correct, params)

    learner = elo.EloState()
    skills = {key: elo.EloSkill() for key in keys}

    def elo_loop() -> None:
        update = elo.update
        for key, correct in zip(keys, outcomes, strict=True):
            update(learner, skills[key], correct, 0.1, elo_params)

    out = {}
    for name, loop in (("dict_lookup_store", baseline), ("bkt", bkt_loop), ("elo", elo_loop)):
        best = min(_timed(loop) for _ in range(3))
        out[name] = round(best / n * 1e6, 3)
    out["bkt_over_baseline"] = round(out["bkt"] / out["dict_lookup_store"], 2)
    out["elo_over_baseline"] = round(out["elo"] / out["dict_lookup_store"], 2)
    return out


def _timed(loop: Any) -> float:
    started = time.perf_counter()
    loop()
    return time.perf_counter() - started


def attempt_events(limit: int | None) -> list[LearningEvent]:
    events = []
    for i, (learner, skill, correct) in enumerate(load_attempts(DATA / "test.csv", limit=limit)):
        t = 1_700_000_000_000_000 + i * 1_000_000
        result = Result(score=1.0 if correct else 0.0, success=correct)
        events.append(
            LearningEvent(
                f"e{i}", "default", learner, Verb.ANSWERED, f"item-{skill}", None, "assistments",
                (skill,), result, t, t, "bench", "1",
            )
        )  # fmt: skip
    return events


def operator_throughput(events: list[LearningEvent], model: MasteryModel) -> dict[str, float]:
    op = MasteryOperator(model)
    op.restore(0, {})
    started = time.perf_counter()
    for i in range(0, len(events), 50_000):
        op.process(0, events[i : i + 50_000])
        op.flush(0)
    elapsed = time.perf_counter() - started
    return {"events": len(events), "events_per_s": round(len(events) / elapsed)}


def ungraded_cost_us(n: int) -> float:
    """µs per event the operator adds for events that are not graded attempts (video plays)."""
    t = 1_700_000_000_000_000
    event = LearningEvent("e", "default", "l", Verb.PLAYED, "video", None, "c", (), None, t, t, "bench", "1")
    events = [event] * n
    op = MasteryOperator()
    op.restore(0, {})
    best = min(_timed(lambda: op.process(0, events)) for _ in range(3))
    return round(best / n * 1e6, 4)


def runtime_throughput(events: list[LearningEvent], model: MasteryModel) -> dict[str, Any]:
    with scratch_dir("edupulse-bench-mastery-") as tmp:
        log = SqliteLog(tmp / "log.db")
        log.ensure_topic(EVENTS_TOPIC, PARTITIONS)
        for i in range(0, len(events), 20_000):
            log.append(EVENTS_TOPIC, [Record(e.partition_key, encode_event(e), e.stored_time_us, e.event_id)
                                      for e in events[i : i + 20_000]])  # fmt: skip
        out: dict[str, Any] = {}
        chains: dict[str, list[Operator]] = {"no_operator": [], "mastery": [MasteryOperator(model)]}
        for name, operators in chains.items():
            store = SqliteStore(tmp / f"{name}.db", serving=False)
            runtime = Runtime(log, store, operators, batch_size=50_000)
            runtime.assign_all()
            started = time.perf_counter()
            stats = runtime.run_until_caught_up(checkpoint_every_batch=False)
            out[name] = {"events_per_s": round(stats.events / (time.perf_counter() - started))}
            store.close()
        log.close()
    out["mastery_over_no_operator"] = round(out["no_operator"]["events_per_s"] / out["mastery"]["events_per_s"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, help="test attempts to use (default: all)")
    parser.add_argument("--model", type=Path, help="data dir with a trained model (default: default parameters)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not DATA.exists():
        skip("mastery", f"public data set not found at {DATA}")
    busy = wait_for_quiet()
    model = load_model(args.model) if args.model else MasteryModel()
    updates = time_updates(args.updates, args.seed)
    events = attempt_events(args.events)
    emit(
        {
            "benchmark": "mastery",
            "machine": machine(),
            "machine_busy_before": round(busy, 2),
            "model_version": model.version,
            "updates": args.updates,
            "update_us": updates,
            "target_us": TARGET_US,
            "met": updates["bkt"] <= TARGET_US and updates["elo"] <= TARGET_US,
            "operator": operator_throughput(events, model),
            "ungraded_event_us": ungraded_cost_us(args.updates),
            "runtime": runtime_throughput(events, model),
        }
    )


if __name__ == "__main__":
    main()
