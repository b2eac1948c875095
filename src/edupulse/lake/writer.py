"""The lake writer: every table's sink, run in a thread beside the stream runtime."""

from __future__ import annotations

import logging
import threading

from edupulse.config import Settings
from edupulse.errors import EdupulseError
from edupulse.lake.catalog import TABLES
from edupulse.lake.sink import LakeSink
from edupulse.log.base import EventLog

__all__ = ["LakeWriter"]

logger = logging.getLogger(__name__)


class LakeWriter:
    """Runs the sink of every lake table until stopped; flushes what it holds on stop."""

    def __init__(self, log: EventLog, settings: Settings) -> None:
        cfg = settings.lake
        for spec in TABLES:  # a data directory older than a table's topic gets it (an existing one stays as is)
            log.ensure_topic(spec.topic, settings.log.partitions)
        self.sinks = [
            LakeSink(
                log, spec, settings.lake_path, flush_records=cfg.flush_records, flush_interval_s=cfg.flush_interval_s
            )
            for spec in TABLES
        ]
        self._idle_s = min(1.0, cfg.flush_interval_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def offsets(self, topic: str) -> dict[int, int]:
        """The lowest committed offset per partition over the tables fed by ``topic``."""
        out: dict[int, int] = {}
        for sink in self.sinks:
            if sink.spec.topic == topic:
                for part, offset in sink.offsets.items():
                    out[part] = min(offset, out.get(part, offset))
        return out

    def run_once(self, *, force: bool = False) -> int:
        return sum(sink.run_once(force=force) for sink in self.sinks)

    @property
    def alive(self) -> bool:
        """False once the thread stopped on an error (the processor is then restarted)."""
        return self._thread is None or self._thread.is_alive()

    def start(self) -> None:
        def run() -> None:
            while not self._stop.is_set():
                try:
                    if not self.run_once():
                        self._stop.wait(self._idle_s)
                except EdupulseError as exc:
                    if not exc.transient:
                        logger.exception("the lake writer stopped")
                        raise
                    logger.warning("lake commit failed, retrying: %s", exc)
                    self._stop.wait(self._idle_s)

        self._stop.clear()
        self._thread = threading.Thread(target=run, name="lake-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, then commit what is buffered."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        try:
            self.run_once(force=True)
        except EdupulseError:
            logger.exception("final lake commit failed; the next start appends those records")
