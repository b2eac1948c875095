"""Noticing a new champion or challenger without a restart: a poll between batches.

At most every ``poll_s`` seconds the watch reads the registry's stamp of the model (a
``stat`` of the aliases file, or one PostgreSQL row) and the ``latest`` file's; only when
one moved does it read the aliases again. A registry that cannot be read (PostgreSQL
restarting) keeps the versions in use and is asked again at the next poll.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from edupulse.errors import EdupulseError
from edupulse.ml.registry.aliases import resolve
from edupulse.ml.registry.base import CHALLENGER, CHAMPION, Registry

__all__ = ["AliasWatch", "Served"]

logger = logging.getLogger(__name__)
Served = tuple[str | None, str | None]  # (champion, challenger) versions


class AliasWatch:
    """The champion and challenger versions of one model, re-read when they change."""

    def __init__(
        self,
        registry: Registry,
        root: Path,
        name: str,
        *,
        poll_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.root = root
        self.name = name
        self.poll_s = poll_s
        self.clock = clock
        self._stamp = self._read_stamp()
        self._next = clock() + poll_s
        self.served: Served = self._read()

    def _read_stamp(self) -> str:
        try:
            st = os.stat(self.root / self.name / "latest")
            latest = f"{st.st_ino}:{st.st_mtime_ns}"
        except FileNotFoundError:
            latest = "none"
        return f"{self.registry.stamp(self.name)}/{latest}"

    def _read(self) -> Served:
        return (
            resolve(self.registry, self.root, self.name, CHAMPION),
            resolve(self.registry, self.root, self.name, CHALLENGER),
        )

    def poll(self) -> Served | None:
        """The new (champion, challenger) if either changed since the last call, else None."""
        now = self.clock()
        if now < self._next:
            return None
        self._next = now + self.poll_s
        try:
            stamp = self._read_stamp()
            if stamp == self._stamp:
                return None
            served = self._read()
        except EdupulseError as exc:
            logger.warning("could not read the %s model aliases (keeping %s): %s", self.name, self.served, exc)
            return None
        self._stamp = stamp
        if served == self.served:
            return None
        logger.info("%s models: champion %s, challenger %s (were %s)", self.name, *served, self.served)
        self.served = served
        return served
