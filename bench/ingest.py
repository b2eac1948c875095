"""Ingest throughput: validated, de-duplicated, durable xAPI statements per second over HTTP.

edupulse gets the 22,000 statements in batches from a few concurrent clients; Ralph, run
on the same machine in the same run, gets them in ONE request (its file backend reads
its whole file to de-duplicate and writes once per request, so one request is its best
case; in fact its file backend creates its file on the first write and fails any later
write of new statements, so it can only take one). Each run starts a fresh server on a
fresh data directory, so every measured statement is new. Both servers are warmed up
with a few authenticated reads first; nothing is written before the measured requests.

    .venv/bin/python bench/ingest.py [--runs 3] [--batch 1000] [--clients 4] [--no-ralph]
"""

from __future__ import annotations

import argparse
import queue
import statistics
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from _common import (
    STATEMENTS,
    Server,
    busy_core_seconds,
    chunks,
    edupulse_server,
    emit,
    json_array,
    load_statements,
    machine,
    wait_for_quiet,
    wait_processed,
)
from _ralph import RALPH_VERSION, ralph_server, stored_lines

TARGET_PER_SECOND = 30_000
TARGET_RATIO = 5.0
REQUEST_TIMEOUT_S = 300.0


def warm_up(server: Server, path: str) -> None:
    """A few authenticated reads: connections, auth caches and code paths are warm; nothing is written."""
    with server.client(timeout=30) as client:
        for _ in range(5):
            client.get(path).raise_for_status()


def post_all(server: Server, bodies: Sequence[bytes], path: str, clients: int) -> tuple[int, list[int]]:
    """POST every body from ``clients`` threads; returns (ids acknowledged, status codes)."""
    work: queue.Queue[bytes] = queue.Queue()
    for body in bodies:
        work.put(body)
    acked: list[int] = []
    codes: list[int] = []
    errors: list[str] = []

    def worker() -> None:
        with server.client(timeout=REQUEST_TIMEOUT_S) as client:
            while True:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                resp = client.post(path, content=body, headers=XAPI_HEADERS)
                codes.append(resp.status_code)
                if resp.status_code == 200:
                    acked.append(len(resp.json()))
                elif resp.status_code != 204:
                    errors.append(f"{resp.status_code}: {resp.text[:300]}")

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(REQUEST_TIMEOUT_S)
    if errors or any(t.is_alive() for t in threads):
        raise RuntimeError(f"ingest failed: {errors[:3] or 'a client did not finish in time'}")
    return sum(acked), codes


XAPI_HEADERS = {"Content-Type": "application/json", "X-Experience-API-Version": "1.0.3"}


def timed_post(server: Server, bodies: Sequence[bytes], path: str, clients: int) -> dict[str, Any]:
    """Post and measure wall time, server CPU (API processes; processor process) and this client's CPU."""
    busy_before = wait_for_quiet()
    machine_cpu, before, client_cpu = busy_core_seconds(), server.tree_cpu_seconds(), time.process_time()
    started = time.perf_counter()
    acked, codes = post_all(server, bodies, path, clients)
    seconds = time.perf_counter() - started
    after = server.tree_cpu_seconds()
    server_cpu = after["api"] - before["api"]
    processor_cpu = after["processor"] - before["processor"]
    per_process = sorted((round(after[p] - before.get(p, 0.0), 2) for p in after if isinstance(p, int)), reverse=True)
    client_cpu = time.process_time() - client_cpu
    others = busy_core_seconds() - machine_cpu - server_cpu - processor_cpu - client_cpu
    return {
        "acked": acked,
        "codes": sorted(set(codes)),
        "seconds": round(seconds, 3),
        "server_cpu_s": round(server_cpu, 2),
        "processor_cpu_s": round(processor_cpu, 2),
        "cpu_s_per_server_process": per_process,
        "client_cpu_s": round(client_cpu, 2),
        "other_processes_cpu_s": round(max(0.0, others), 2),
        "machine_busy_before": busy_before,
        "ended_at": time.perf_counter(),
    }


def run_edupulse(statements: Sequence[bytes], batch: int, clients: int, keep: bool) -> dict[str, Any]:
    bodies = [json_array(c) for c in chunks(statements, batch)]
    total = len(statements)
    with edupulse_server(keep) as server:
        warm_up(server, "/api/v1/status")
        fresh = timed_post(server, bodies, "/xapi/statements", clients)
        status = wait_processed(server, total)
        processed_s = time.perf_counter() - fresh.pop("ended_at")
        duplicates = timed_post(server, bodies, "/xapi/statements", clients)
        after = wait_processed(server, total)
        peak = server.peak_rss_mib()
    if fresh["acked"] != len(statements) or status["events"] != total or after["events"] != total:
        raise RuntimeError(f"edupulse stored {status['events']} then {after['events']} events, expected {total}")
    return {
        "statements_per_second": round(len(statements) / fresh["seconds"], 1),
        **fresh,
        "processed_after_last_ack_s": round(processed_s, 3),
        "resend_all_duplicates_per_second": round(len(statements) / duplicates["seconds"], 1),
        "events_in_log_after_resend": after["events"],
        "server_peak_rss_mib": peak,
    }


def run_ralph(statements: Sequence[bytes], batch: int, keep: bool) -> dict[str, Any]:
    bodies = [json_array(c) for c in chunks(statements, batch)]
    with ralph_server(keep) as server:
        warm_up(server, "/whoami")
        fresh = timed_post(server, bodies, "/xAPI/statements", 1)
        duplicates = timed_post(server, bodies, "/xAPI/statements", 1)
        fresh.pop("ended_at")
        stored = stored_lines(server)
        peak = server.peak_rss_mib()
    if fresh["acked"] != len(statements) or stored != len(statements):
        raise RuntimeError(f"Ralph acknowledged {fresh['acked']} and stored {stored} statements")
    return {
        "statements_per_second": round(len(statements) / fresh["seconds"], 1),
        **fresh,
        "resend_all_duplicates_per_second": round(len(statements) / duplicates["seconds"], 1),
        "stored_after_resend": stored,
        "server_peak_rss_mib": peak,
    }


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rates = [r["statements_per_second"] for r in runs]
    return {"statements_per_second": round(statistics.median(rates), 1), "best": max(rates), "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=STATEMENTS, help="NDJSON(.gz) of xAPI statements")
    parser.add_argument("--runs", type=int, default=5, help="measured runs per server (median reported)")
    parser.add_argument("--batch", type=int, default=1000, help="statements per edupulse request")
    parser.add_argument("--clients", type=int, default=4, help="concurrent edupulse clients")
    parser.add_argument("--ralph-batch", type=int, default=0, help="statements per Ralph request (0: all in one)")
    parser.add_argument("--no-ralph", action="store_true", help="skip the Ralph baseline")
    parser.add_argument("--keep", action="store_true", help="keep the data directories")
    args = parser.parse_args()

    statements = load_statements("ingest", args.data)
    edupulse, ralph = [], []
    for _ in range(args.runs):
        edupulse.append(run_edupulse(statements, args.batch, args.clients, args.keep))
        if not args.no_ralph:
            ralph.append(run_ralph(statements, args.ralph_batch or len(statements), args.keep))
    result: dict[str, Any] = {
        "benchmark": "ingest",
        "machine": machine(),
        "statements": len(statements),
        "edupulse": {"batch": args.batch, "clients": args.clients, **summary(edupulse)},
    }
    ours = result["edupulse"]["statements_per_second"]
    targets = {f"edupulse >= {TARGET_PER_SECOND}/s": ours >= TARGET_PER_SECOND}
    if ralph:
        batch = args.ralph_batch or len(statements)
        result["ralph"] = {"version": RALPH_VERSION, "backend": "fs", "batch": batch, "clients": 1, **summary(ralph)}
        result["ratio_edupulse_to_ralph"] = round(ours / result["ralph"]["statements_per_second"], 2)
        targets[f"ratio >= {TARGET_RATIO}x"] = result["ratio_edupulse_to_ralph"] >= TARGET_RATIO
    result["targets_met"] = targets
    emit(result)


if __name__ == "__main__":
    try:
        main()
    except httpx.HTTPError as exc:
        raise SystemExit(f"ingest: HTTP error: {exc}") from exc
