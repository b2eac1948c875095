"""A blocking lock that writers of one SQLite file take before their write transaction.

SQLite already serializes writers, but a writer that finds the file locked sleeps and
polls (its busy handler), for up to 100 ms a round. With several API processes writing
the same log and LRS store, those sleeps, not the work, set the pace: two processes
wrote more slowly than one. Taking this lock first makes a waiting writer block in the
kernel and wake the moment the holder is done. SQLite's own locking still decides what
is correct; this lock only decides who waits how.

The lock is ``flock`` on a file beside the database (``<name>-writer.lock``); a process
that dies releases it with its file descriptor. Within a process, callers serialize
their writes themselves (one writer thread, or a lock), since ``flock`` does not tell
two threads of one process apart.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["WriteLock"]


class WriteLock:
    """The cross-process write lock of the SQLite file at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path.with_name(path.name + "-writer.lock")
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the block (blocking until no other process holds it)."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
