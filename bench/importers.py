"""The Moodle and Canvas importers: lines per second, and memory that does not grow with the file.

Writes a Moodle standard-log export (CSV) and a Canvas live-events file (half canvas
format, half Caliper envelopes) of ``--lines`` lines each, from the test fixtures with
fresh ids, then imports each onto a fresh SQLite log with the importer the CLI uses, once
at a tenth of the size and once at full size. ``peak_rss_mib`` is this process's peak
after each run: the same after the full run as after the small one means memory does
not grow with the file.

    .venv/bin/python bench/importers.py [--lines 100000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test fixtures, as realistic rows

from _common import emit, machine, scratch_dir, wait_for_quiet
from edupulse.events.moodle import COLUMNS
from edupulse.importers.base import Importer, run_import
from edupulse.importers.lines import CanvasImporter
from edupulse.importers.moodle import MoodleImporter
from edupulse.log.sqlite import SqliteLog
from edupulse.memory import peak_rss_mib
from edupulse.stream.runtime import EVENTS_TOPIC
from tests.canvas_events import CALIPER, LIVE, envelope
from tests.moodle_rows import ROWS, TAIL, csv_line

PARTITIONS = 4


def write_moodle(path: Path, lines: int) -> Path:
    rows = ROWS[:14]  # the rows that map to events
    with path.open("w") as out:
        out.write(",".join(COLUMNS) + "\n")
        for i in range(lines):
            row = list(rows[i % len(rows)])
            row[0], row[12], row[17] = str(100_000 + i), str(1_000 + i % 500), str(1_700_000_000 + i)
            out.write(csv_line([*row, *TAIL]) + "\n")
    return path


def write_canvas(path: Path, lines: int) -> Path:
    live, caliper = list(LIVE.values()), list(CALIPER.values())
    with path.open("w") as out:
        for i in range(lines):
            if i % 2:
                event: dict[str, Any] = json.loads(json.dumps(live[i % len(live)]))
                event["metadata"]["request_id"] = str(uuid.UUID(int=i))
                out.write(json.dumps(event) + "\n")
            else:
                event = dict(caliper[i % len(caliper)], id=f"urn:uuid:{uuid.UUID(int=i)}")
                out.write(json.dumps(envelope(event)) + "\n")
    return path


def measure(importer: Importer, path: Path, work: Path) -> dict[str, Any]:
    log = SqliteLog(work / f"{path.stem}.db")
    log.ensure_topic(EVENTS_TOPIC, PARTITIONS)
    started = time.perf_counter()
    report = run_import(log, importer, [path], checkpoint_dir=work / f"{path.stem}-imports")
    seconds = time.perf_counter() - started
    log.close()
    return {
        "lines": report.lines,
        "bytes": path.stat().st_size,
        "appended": report.appended,
        "bad_lines": report.bad_lines,
        "seconds": round(seconds, 2),
        "lines_per_s": round(report.lines / seconds),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    busy = wait_for_quiet()
    results: dict[str, Any] = {}
    with scratch_dir("edupulse-bench-importers-") as work:
        for name, write, importer in (
            ("moodle", write_moodle, MoodleImporter(tenant="bench")),
            ("canvas", write_canvas, CanvasImporter(tenant="bench")),
        ):
            for size in (args.lines // 10, args.lines):
                path = write(work / f"{name}-{size}.txt", size)
                results[f"{name}_{size}"] = measure(importer, path, work)
                path.unlink()
    emit({"benchmark": "importers", "machine": machine(), "machine_busy_before": busy, **results})


if __name__ == "__main__":
    main()
