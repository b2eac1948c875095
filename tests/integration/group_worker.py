"""A consumer-group worker process for the tests: ``python -m tests.integration.group_worker``.

It runs ``run_group_worker`` over a KafkaLog with a SqliteStore on a file shared by all
workers, writes every assignment and revocation to a journal file, and stops cleanly on
SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from edupulse.insights import default_operators
from edupulse.log.kafka import KafkaLog
from edupulse.stream.group import run_group_worker
from edupulse.stream.store.sqlite import SqliteStore


class _Journal(logging.Handler):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def emit(self, record: logging.LogRecord) -> None:
        with self.path.open("a") as out:
            out.write(record.getMessage() + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("servers", "dsn", "schema", "topic", "group", "store", "journal"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--instance-id", default=None)
    parser.add_argument("--session-timeout-ms", type=int, default=6_000)
    args = parser.parse_args()
    group_log = logging.getLogger("edupulse.stream.group")
    group_log.setLevel(logging.INFO)
    group_log.addHandler(_Journal(Path(args.journal)))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log = KafkaLog(args.servers, args.dsn, schema=args.schema)
    store = SqliteStore(args.store)
    try:
        run_group_worker(
            log,
            store,
            default_operators(allowed_lateness_us=0),
            topic=args.topic,
            group_id=args.group,
            stop_event=stop,
            batch_size=64,
            session_timeout_ms=args.session_timeout_ms,
            instance_id=args.instance_id,
        )
    finally:
        store.close()
        log.close()


if __name__ == "__main__":
    main()
