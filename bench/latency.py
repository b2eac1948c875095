"""Freshness: from a POST's 200 response to the event being visible in the metrics API.

A paced sender posts batches on a fixed schedule (by default 20 statements every 10 ms,
2,000/s) for a while; every statement is one of the 22,000 real statements under a new
id and a current timestamp. Visibility is measured two ways:

- every statement, through ``GET /api/v1/stream`` (server-sent events): the runtime
  writes a ``learner_course`` change row in the same transaction as the view row, so a
  change row showing a learner's ``events`` count at n proves that learner's first n
  statements are visible to ``GET /api/v1/learner``. Delivery through the stream adds
  its own delay, so this errs on the slow side.
- a sample (one statement every ``--probe-every`` batches), by polling
  ``GET /api/v1/learner`` right after the POST returns until ``events`` reflects it.

The first ``--warmup`` seconds are sent but not counted.

    .venv/bin/python bench/latency.py [--rate 2000] [--batch 20] [--duration 25]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import queue
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import msgspec

from _common import (
    STATEMENTS,
    Server,
    busy_core_seconds,
    edupulse_server,
    emit,
    json_array,
    load_statements,
    machine,
    percentiles,
    wait_for_quiet,
)

TARGET_P50_MS = 20.0
TARGET_P99_MS = 100.0
Key = tuple[str, str]  # (learner, course) as the learner_course view names them


class Batch(msgspec.Struct):
    index: int
    due: float
    body: bytes
    keys: list[Key]
    first: int  # index of its first statement
    sent: float = 0.0
    acked: float = 0.0


XAPI_HEADERS = {"Content-Type": "application/json", "X-Experience-API-Version": "1.0.3"}


def learner_key(stmt: dict[str, Any]) -> Key:
    account = stmt["actor"]["account"]
    course = stmt["context"]["contextActivities"]["parent"][0]["id"]
    return f"account:{account['homePage']}|{account['name']}", course


def build_batches(statements: Sequence[bytes], rate: float, size: int, seconds: float) -> list[Batch]:
    """Real statements under new ids and current timestamps, cut into batches due on a schedule."""
    interval = size / rate
    count = round(seconds / interval)
    now = dt.datetime.now(dt.UTC)
    source = itertools.cycle(statements)
    batches = []
    for b in range(count):
        items, keys = [], []
        for i in range(size):
            stmt = msgspec.json.decode(next(source))
            stmt["id"] = str(uuid.uuid4())
            stmt["timestamp"] = (now + dt.timedelta(seconds=(b * size + i) / rate)).isoformat()
            items.append(msgspec.json.encode(stmt))
            keys.append(learner_key(stmt))
        batches.append(Batch(b, b * interval, json_array(items), keys, b * size))
    return batches


class Visibility:
    """Matches change rows to statements: a row with ``events`` = n makes the key's first n visible."""

    def __init__(self, total: int) -> None:
        self.visible_at: list[float | None] = [None] * total
        self._by_key: dict[Key, list[int]] = {}
        self._done: dict[Key, int] = {}
        self._lock = threading.Lock()
        self.rows = 0

    def register(self, batch: Batch) -> None:
        with self._lock:
            for offset, key in enumerate(batch.keys):
                self._by_key.setdefault(key, []).append(batch.first + offset)

    def rank(self, batch: Batch, offset: int) -> int:
        """How many statements of this statement's key were registered up to and including it."""
        with self._lock:
            return self._by_key[batch.keys[offset]].index(batch.first + offset) + 1

    def observe(self, key: Key, events: int, at: float) -> None:
        with self._lock:
            self.rows += 1
            indexes = self._by_key.get(key, [])
            done = self._done.get(key, 0)
            for i in indexes[done : min(events, len(indexes))]:
                self.visible_at[i] = at
            self._done[key] = max(done, min(events, len(indexes)))

    def missing(self) -> int:
        return sum(1 for t in self.visible_at if t is None)


def read_stream(server: Server, seen: Visibility, stop: threading.Event, ready: threading.Event) -> None:
    """Follow ``/api/v1/stream``; reconnects with Last-Event-ID after a quiet second."""
    last_id: str | None = None
    timeout = httpx.Timeout(10.0, read=1.0)
    with server.client(timeout=timeout) as client:
        while not stop.is_set():
            headers = {"Last-Event-ID": last_id} if last_id else {}
            try:
                with client.stream("GET", "/api/v1/stream", headers=headers) as resp:
                    resp.raise_for_status()
                    ready.set()
                    last_id = _follow(resp, seen, stop, last_id)
            except (httpx.ReadTimeout, httpx.RemoteProtocolError):
                continue


def _follow(resp: httpx.Response, seen: Visibility, stop: threading.Event, last_id: str | None) -> str | None:
    event = ""
    for line in resp.iter_lines():
        if line.startswith("id: "):
            last_id = line[4:]
        elif line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "learner_course":
            at = time.perf_counter()
            row = msgspec.json.decode(line[6:])
            seen.observe((row["learner"], row["course"]), row["events"], at)
        if stop.is_set():
            break
    return last_id


def probe(server: Server, seen: Visibility, work: queue.Queue[tuple[Batch, int] | None], out: list[float]) -> None:
    """Poll ``GET /api/v1/learner`` from a POST's response until the statement shows."""
    with server.client(timeout=10) as client:
        while (item := work.get()) is not None:
            batch, offset = item
            learner, course = batch.keys[offset]
            need = seen.rank(batch, offset)
            deadline = batch.acked + 5.0
            while time.perf_counter() < deadline:
                resp = client.get("/api/v1/learner", params={"learner": learner, "course": course})
                if resp.status_code == 200 and resp.json()[0]["events"] >= need:
                    out.append((time.perf_counter() - batch.acked) * 1000)
                    break


def send(
    server: Server, batches: list[Batch], seen: Visibility, *, senders: int, probes: queue.Queue[Any], every: int
) -> float:
    """Post each batch at its due time from a pool of senders; returns the start time."""
    work: queue.Queue[Batch | None] = queue.Queue()
    failures: list[str] = []

    def sender() -> None:
        with server.client(timeout=30) as client:
            while (batch := work.get()) is not None:
                seen.register(batch)
                batch.sent = time.perf_counter()
                resp = client.post(
                    "/xapi/statements",
                    content=batch.body,
                    headers=XAPI_HEADERS,
                )
                batch.acked = time.perf_counter()
                if resp.status_code != 200:
                    failures.append(f"{resp.status_code}: {resp.text[:200]}")
                elif batch.index % every == 0:
                    probes.put((batch, len(batch.keys) - 1))

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    for batch in batches:
        batch.due += start
        time.sleep(max(0.0, batch.due - time.perf_counter()))
        work.put(batch)
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join(60)
    if failures:
        raise RuntimeError(f"{len(failures)} POSTs failed, first: {failures[0]}")
    return start


def wait_visible(seen: Visibility, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while seen.missing() and time.monotonic() < deadline:
        time.sleep(0.05)


def measure(server: Server, batches: list[Batch], args: argparse.Namespace) -> dict[str, Any]:
    seen = Visibility(sum(len(b.keys) for b in batches))
    stop, ready = threading.Event(), threading.Event()
    reader = threading.Thread(target=read_stream, args=(server, seen, stop, ready), daemon=True)
    reader.start()
    if not ready.wait(30):
        raise RuntimeError("could not open /api/v1/stream")
    probes: queue.Queue[tuple[Batch, int] | None] = queue.Queue()
    probed: list[float] = []
    prober = threading.Thread(target=probe, args=(server, seen, probes, probed), daemon=True)
    prober.start()
    busy_before = wait_for_quiet()
    machine_cpu, cpu, own = busy_core_seconds(), server.cpu_seconds(), time.process_time()
    start = send(server, batches, seen, senders=args.senders, probes=probes, every=args.probe_every)
    sent_for = time.perf_counter() - start
    cpu = server.cpu_seconds() - cpu
    others = busy_core_seconds() - machine_cpu - cpu - (time.process_time() - own)
    wait_visible(seen, 30.0)
    probes.put(None)
    prober.join(10)
    stop.set()
    reader.join(5)
    load = {"machine_busy_before": busy_before, "other_processes_cpu_s": round(max(0.0, others), 2)}
    return {**report(batches, seen, probed, seconds=sent_for, cpu=cpu, args=args), **load}


def report(
    batches: list[Batch], seen: Visibility, probed: list[float], *, seconds: float, cpu: float, args: argparse.Namespace
) -> dict[str, Any]:
    counted = [b for b in batches if b.due - batches[0].due >= args.warmup]
    ack_to_visible, send_to_visible, early = [], [], 0
    for b in counted:
        for i in range(b.first, b.first + len(b.keys)):
            at = seen.visible_at[i]
            if at is not None:
                early += at < b.acked
                ack_to_visible.append(max(0.0, at - b.acked) * 1000)
                send_to_visible.append((at - b.sent) * 1000)
    statements = sum(len(b.keys) for b in batches)
    stats = percentiles(ack_to_visible)
    return {
        "statements_sent": statements,
        "statements_measured": len(ack_to_visible),
        "not_visible_within_30s": seen.missing(),
        "achieved_rate_per_second": round(statements / seconds, 1),
        "ack_to_visible_ms": stats,
        "visible_before_ack": early,
        "send_to_visible_ms": percentiles(send_to_visible),
        "post_round_trip_ms": percentiles([(b.acked - b.sent) * 1000 for b in counted]),
        "send_behind_schedule_ms": percentiles([(b.sent - b.due) * 1000 for b in counted]),
        "get_probe": {"probes": len(probed), "ack_to_visible_ms": percentiles(probed)},
        "change_rows_read": seen.rows,
        "server_cpu_utilisation": round(cpu / seconds, 2),
        "targets_met": {
            f"p50 <= {TARGET_P50_MS} ms": bool(stats) and stats["p50"] <= TARGET_P50_MS,
            f"p99 <= {TARGET_P99_MS} ms": bool(stats) and stats["p99"] <= TARGET_P99_MS,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=STATEMENTS, help="NDJSON(.gz) of xAPI statements")
    parser.add_argument("--rate", type=float, default=2000, help="statements per second")
    parser.add_argument("--batch", type=int, default=20, help="statements per POST")
    parser.add_argument("--duration", type=float, default=25, help="seconds of sending, warm-up included")
    parser.add_argument("--warmup", type=float, default=3, help="first seconds not counted")
    parser.add_argument("--senders", type=int, default=4, help="concurrent sender connections")
    parser.add_argument("--probe-every", type=int, default=20, help="probe GET /api/v1/learner every N batches")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()

    statements = load_statements("latency", args.data)
    batches = build_batches(statements, args.rate, args.batch, args.duration)
    with edupulse_server(args.keep) as server:
        result = measure(server, batches, args)
    params = {k: getattr(args, k) for k in ("rate", "batch", "duration", "warmup", "senders")}
    emit({"benchmark": "latency", "machine": machine(), **params, **result})


if __name__ == "__main__":
    main()
