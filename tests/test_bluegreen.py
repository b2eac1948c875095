"""Blue/green backfill: a new operator version rebuilt beside live processing, then swapped in."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec

from edupulse.bluegreen import backfill_and_swap
from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.events.model import LearningEvent
from edupulse.insights import default_operators
from edupulse.insights.engagement import LEARNER_VIEW
from edupulse.lake.catalog import table_spec
from edupulse.lake.sink import LakeSink
from edupulse.stream.operator import Flush, Operator
from edupulse.stream.runtime import EVENTS_TOPIC
from edupulse.stream.store.base import ViewSpec
from tests.statements import random_statements

VERB_VIEW = ViewSpec(
    "verb_counts",
    key=("tenant", "verb", "partition"),
    columns={"tenant": "text", "verb": "text", "partition": "int", "events": "int"},
)


class VerbCounts:
    """Version 2 of the chain adds this operator and its view: events per verb."""

    name = "verb_counts"
    version = "2"
    views = (VERB_VIEW,)

    def __init__(self) -> None:
        self._counts: dict[int, Counter[tuple[str, str]]] = {}
        self._dirty: dict[int, set[tuple[str, str]]] = {}

    def restore(self, partition: int, state: Mapping[str, bytes]) -> None:
        self._counts[partition] = Counter(
            {tuple(k.split("\x1f", 1)): msgspec.msgpack.decode(v) for k, v in state.items()}  # type: ignore[misc]
        )
        self._dirty[partition] = set()

    def process(self, partition: int, events: Sequence[LearningEvent]) -> None:
        counts, dirty = self._counts[partition], self._dirty[partition]
        for ev in events:
            key = (ev.tenant, ev.verb.value)
            counts[key] += 1
            dirty.add(key)

    def flush(self, partition: int) -> Flush:
        out = Flush()
        counts = self._counts[partition]
        for tenant, verb in self._dirty[partition]:
            n = counts[(tenant, verb)]
            out.state[f"{tenant}\x1f{verb}"] = msgspec.msgpack.encode(n)
            row = {"tenant": tenant, "verb": verb, "partition": partition, "events": n}
            out.views.setdefault(VERB_VIEW.name, []).append(row)
        self._dirty[partition] = set()
        return out

    def revoke(self, partition: int) -> None:
        self._counts.pop(partition, None)
        self._dirty.pop(partition, None)


def version_two(settings: Settings) -> list[Operator]:
    return [*default_operators(allowed_lateness_us=settings.runtime.allowed_lateness_us), VerbCounts()]


def _wait_processed(dep: Deployment, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # committed, not just read: the views are what the store holds
        committed = dep.store.committed_offsets(EVENTS_TOPIC)
        if all(committed.get(p, 0) >= end for p, end in enumerate(dep.log.end_offsets(EVENTS_TOPIC))):
            return
        time.sleep(0.02)
    raise AssertionError("live processing did not catch up")


def test_new_version_backfills_from_lake_and_log_and_swaps_in_while_ingest_goes_on(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", log={"partitions": 3}, runtime={"replay_batch_size": 2000})
    with Deployment(settings) as dep:
        dep.ingest.ingest(json.dumps(random_statements(4000, seed=1, learners=80)).encode(), tenant="t")
        LakeSink(dep.log, table_spec("events"), settings.lake_path).run_once(force=True)
        ends = dep.log.end_offsets(EVENTS_TOPIC)
        dep.log.apply_retention(EVENTS_TOPIC, max_age_us=None, max_records=300, now_us=0, keep_from=ends)
        dep.start_processing()
        stop = threading.Event()
        sent = [4000]

        def keep_ingesting() -> None:  # live traffic throughout the backfill and the swap
            seed = 100
            while not stop.is_set():
                dep.ingest.ingest(json.dumps(random_statements(50, seed=seed, learners=80)).encode(), tenant="t")
                sent[0] += 50
                seed += 1
                time.sleep(0.005)

        traffic = threading.Thread(target=keep_ingesting)
        traffic.start()
        try:
            report = backfill_and_swap(dep, operators=version_two, workers=1)
        finally:
            stop.set()
            traffic.join()
        assert report.build.events >= 4000
        assert report.paused_ms < 5000
        assert any(op.name == "verb_counts" for op in dep.operators)
        _wait_processed(dep)
        verbs = dep.store.select(VERB_VIEW.name, {})
        assert sum(r["events"] for r in verbs) == sent[0]  # every event, from lake, log and live, once
        learners = dep.store.select(LEARNER_VIEW.name, {})
        assert sum(r["events"] for r in learners) == sent[0]
