"""The cost of following the model registry when no model is stored: CPU seconds of a replay.

A deployment now always runs the risk operator, with a source that scores nothing until a
first at-risk version is stored, and a mastery operator that polls its champion between
batches. This replays a fixture's log (``bench/replay.py --fixture DIR`` builds one; its
``models/`` must be absent) in this one process, into a fresh state file each run, with
two chains, alternated run by run:

- ``static``: the chain as it was built with no model stored (no risk operator, the
  mastery model read once);
- ``sources``: ``standard_operators`` (an empty ``RiskSource``, a ``MasterySource``).

The figure is CPU seconds (``time.process_time``): the machine is shared, so wall time is noisy.

    .venv/bin/python bench/model_sources.py --fixture DIR [--runs 2]
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import emit, machine
from edupulse.config import Settings
from edupulse.insights import default_operators, standard_operators
from edupulse.insights.risk import RiskOperator
from edupulse.log.sqlite import SqliteLog
from edupulse.ml.mastery_model import load_model
from edupulse.stream.operator import Operator
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.sqlite import SqliteStore


def chain(kind: str, settings: Settings) -> list[Operator]:
    if kind == "sources":
        ops = standard_operators(settings)
        assert any(isinstance(op, RiskOperator) and op.models is None for op in ops)
        return ops
    return default_operators(
        allowed_lateness_us=settings.runtime.allowed_lateness_us, mastery=load_model(settings.data_dir)
    )


def run(kind: str, settings: Settings) -> dict[str, Any]:
    log = SqliteLog(settings.data_dir / "log.db")
    with tempfile.TemporaryDirectory(prefix="edupulse-model-sources-") as scratch:
        store = SqliteStore(Path(scratch) / "state.db")
        ops = chain(kind, settings)
        store.setup([view for op in ops for view in op.views])
        runtime = Runtime(log, store, ops, batch_size=settings.runtime.replay_batch_size)
        runtime.assign_all()
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        stats = runtime.run_until_caught_up()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        rows = {view.name: store.count(view.name, {}) for op in ops for view in op.views}
        store.close()
    log.close()
    return {"chain": kind, "events": stats.events, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixture", type=Path, required=True, help="a data directory with a log.db and no models/")
    parser.add_argument("--runs", type=int, default=2, help="runs of each chain, alternated")
    args = parser.parse_args()
    if (args.fixture / "models").exists():
        parser.error(f"{args.fixture / 'models'} exists: this measures a deployment with no model stored")
    log = SqliteLog(args.fixture / "log.db")
    partitions = log.partitions(EVENTS_TOPIC)
    log.close()
    settings = Settings(data_dir=args.fixture, log={"partitions": partitions})
    runs = [run(kind, settings) for _ in range(args.runs) for kind in ("static", "sources")]
    mean = {k: round(sum(r["cpu_s"] for r in runs if r["chain"] == k) / args.runs, 2) for k in ("static", "sources")}
    emit({"benchmark": "model_sources", "machine": machine(), "runs": runs, "mean_cpu_s": mean})


if __name__ == "__main__":
    main()
