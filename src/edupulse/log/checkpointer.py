"""WAL checkpoints off the commit path: a background thread copies the WAL into the database.

SQLite's automatic checkpoint runs inside the commit that crosses its threshold, on the
writer's time: every thousand pages one append waits for pages to be copied and the
database file to be synced. The log writer turns it off (but for a far larger
backstop) and nudges a ``Checkpointer`` after each commit instead. The checkpointer
waits a moment to gather the commits that follow, then runs a PASSIVE checkpoint on
its own connection: it never waits for readers or writers, and a page rewritten by
many commits in between is copied once. With the GIL released inside SQLite, the copy
runs beside the next commits rather than before them.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from edupulse.log.sqlite_schema import connect

__all__ = ["BACKSTOP_PAGES", "Checkpointer"]

logger = logging.getLogger(__name__)

# The writer's own automatic checkpoint, kept as a bound should this thread fall behind
# (a stalled disk, a reader pinning old pages): 65,536 pages of 4 KiB, 256 MiB of WAL.
BACKSTOP_PAGES = 65_536


class Checkpointer:
    """Runs PASSIVE checkpoints of one database file from a thread of its own."""

    def __init__(self, path: Path, *, gather_s: float = 0.2, idle_s: float = 5.0) -> None:
        self.path = path
        self.gather_s = gather_s
        self.idle_s = idle_s
        self.checkpoints = 0
        self._conn = connect(path, synchronous="FULL")
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-checkpoint", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """Say that a commit has added to the WAL; cheap enough to call after every commit."""
        self._dirty.set()

    def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint now: (busy, frames in the WAL, frames copied back)."""
        busy, frames, copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.checkpoints += 1
        return int(busy), int(frames), int(copied)

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                if not self._dirty.wait(self.idle_s):
                    continue
                if self._stopping.wait(self.gather_s):  # let the commits that follow join this checkpoint
                    break  # closing: the last connection to close checkpoints what is left
                self._dirty.clear()
                try:
                    self.checkpoint()
                except sqlite3.Error:  # the next nudge tries again; the backstop bounds the WAL meanwhile
                    logger.warning("checkpoint of %s failed; retrying after the next commit", self.path, exc_info=True)
        finally:
            self._conn.close()

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the thread (a checkpoint under way finishes first) and close its connection."""
        self._stopping.set()
        self._dirty.set()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            logger.warning("the checkpoint thread of %s did not stop within %.0f s", self.path, timeout_s)
