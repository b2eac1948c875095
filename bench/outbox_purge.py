"""The outbox purge: what deleting delivered messages costs the SQLite state store.

Fills an outbox with ``--delivered`` delivered messages (the size of a purge that was
never done, e.g. a deployment upgraded after months) and ``--pending`` pending ones, then
measures, in CPU seconds of this process: the first purge (all delivered messages, in
chunks of ``PURGE_CHUNK``), the mean chunk (about the longest a commit waits behind the
purge), and a steady-state purge that finds nothing old enough.

    .venv/bin/python bench/outbox_purge.py [--delivered 500000] [--pending 10000]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from _common import emit, machine, scratch_dir
from edupulse.stream.store.base import Commit, OutboxMessage
from edupulse.stream.store.sqlite import PURGE_CHUNK, SqliteStore

PAYLOAD = b'{"tenant": "default", "learner": "p-x", "risk": 0.5, "model": "risk-gbm-1234", "features": [1, 2, 3]}'


def fill(path: Path, delivered: int, pending: int) -> SqliteStore:
    store = SqliteStore(path)
    store.setup([])
    for offset, start in enumerate(range(0, delivered + pending, 5000), 1):
        n = min(5000, delivered + pending - start)
        messages = [OutboxMessage("predictions", "k", PAYLOAD, f"m{start + i}") for i in range(n)]
        store.commit(Commit("events", 0, offset, outbox=messages))
    while rows := store.pending_outbox(10_000):
        seqs = [s for s, _ in rows if s <= delivered]
        if not seqs:
            break
        store.mark_delivered(seqs)
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delivered", type=int, default=500_000)
    parser.add_argument("--pending", type=int, default=10_000)
    args = parser.parse_args()
    with scratch_dir("edupulse-bench-outbox-") as tmp:
        store = fill(tmp / "state.db", args.delivered, args.pending)
        steady_start = time.process_time()
        assert store.purge_outbox(0) == 0  # nothing delivered before 1970: the scan a quiet minute costs
        steady = time.process_time() - steady_start
        first_start = time.process_time()
        purged = store.purge_outbox(time.time_ns() // 1000 + 1)
        first = time.process_time() - first_start
        chunks = math.ceil((purged + 1) / PURGE_CHUNK)
        left = len(store.pending_outbox(10_000_000))
        store.close()
    result: dict[str, Any] = {
        "benchmark": "outbox_purge",
        "machine": machine(),
        "delivered": args.delivered,
        "pending": args.pending,
        "chunk": PURGE_CHUNK,
        "purged": purged,
        "pending_left": left,
        "first_purge_cpu_s": round(first, 3),
        "mean_chunk_cpu_ms": round(first / chunks * 1000, 1),
        "steady_purge_scan_cpu_ms": round(steady * 1000, 1),
    }
    emit(result)


if __name__ == "__main__":
    main()
