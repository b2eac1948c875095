"""The rules operator alone, in CPU seconds: a measure that a loaded machine disturbs less.

Feeds ``--events`` synthetic events (3,000 learners, 3 courses, 20 objects, 5 skills,
a quarter of them failures, spread over 60 days) through ``RulesOperator`` in batches
of 1,000, flushing after each, with the two rules of ``bench/rules.py``; reports the
best of ``--runs`` in events per CPU second (``time.process_time``), without the store.
To compare two versions, run it with ``PYTHONPATH`` pointing at the other ``src``.

    .venv/bin/python bench/rules_operator.py [--events 200000] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import time

from _common import emit, machine
from edupulse.events.model import LearningEvent, Result
from edupulse.events.vocabulary import Verb
from edupulse.insights.rule_file import parse_rules
from edupulse.insights.rules import RulesOperator
from rules import RULES

HOUR_US = 3_600_000_000
START_US = 1_788_000_000_000_000


def synthetic(n: int) -> list[LearningEvent]:
    rng = random.Random(1)
    out = []
    for i in range(n):
        t = START_US + i * 60 * 24 * HOUR_US // n + rng.randint(-HOUR_US, HOUR_US)
        verb = rng.choice([Verb.VIEWED, Verb.VIEWED, Verb.ANSWERED, Verb.FAILED])
        result = Result(success=rng.random() < 0.5) if verb == Verb.ANSWERED else None
        learner, obj, course = f"l{rng.randrange(3000)}", f"o{rng.randrange(20)}", f"c{rng.randrange(3)}"
        skills = (f"s{rng.randrange(5)}",)
        out.append(LearningEvent(f"e{i}", "t", learner, verb, obj, None, course, skills, result, t, t, "x", "1"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    events = synthetic(args.events)
    seconds, rows = [], 0
    for _ in range(args.runs):
        op = RulesOperator(parse_rules(RULES), allowed_lateness_us=0)
        op.restore(0, {})
        rows = 0
        start = time.process_time()
        for k in range(0, len(events), 1000):
            op.process(0, events[k : k + 1000])
            rows += len(op.flush(0).views["alerts"])
        seconds.append(round(time.process_time() - start, 3))
    best = min(seconds)
    emit(
        {
            "benchmark": "rules_operator",
            "events": args.events,
            "events_per_cpu_second": round(args.events / best),
            "cpu_seconds": seconds,
            "alert_rows_written": rows,
            "machine": machine(),
        }
    )


if __name__ == "__main__":
    main()
