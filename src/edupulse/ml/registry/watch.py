"""Noticing a new champion or challenger without a restart: a poll between batches.

At most every ``poll_s`` seconds the watch reads the registry's stamp of the model (a
``stat`` of the aliases file, or one PostgreSQL row) and the ``latest`` file's; only when
one moved does it read the aliases again. A registry that cannot be read (PostgreSQL
restarting) keeps the versions in use and is asked again at the next poll.

A watch started before any version of its model is stored may be given no registry, only
the means to open one: until ``{root}/{name}/`` exists each poll costs one ``stat`` (and
a scale-out deployment opens no PostgreSQL pool for a model it does not have yet); the
first poll that finds the directory opens the registry and reads the aliases.
``watch_aliases`` builds such a watch for a deployment.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from edupulse.config import Settings
from edupulse.errors import EdupulseError
from edupulse.ml.registry.aliases import resolve
from edupulse.ml.registry.base import CHALLENGER, CHAMPION, Registry

__all__ = ["AliasWatch", "Served", "watch_aliases"]

logger = logging.getLogger(__name__)
Served = tuple[str | None, str | None]  # (champion, challenger) versions


class AliasWatch:
    """The champion and challenger versions of one model, re-read when they change."""

    def __init__(
        self,
        registry: Registry | None,
        root: Path,
        name: str,
        *,
        poll_s: float,
        clock: Callable[[], float] = time.monotonic,
        opener: Callable[[], Registry] | None = None,
    ) -> None:
        """``registry`` None: open it with ``opener`` once a version is stored (now, if one is)."""
        if registry is None and opener is None:
            raise ValueError("an alias watch needs a registry or the means to open one")
        self.registry = registry
        self._opener = opener
        self.root = root
        self.name = name
        self.poll_s = poll_s
        self.clock = clock
        self._next = clock() + poll_s
        self._stamp = "unopened"
        self.served: Served = (None, None)
        registry = self._registry()
        if registry is not None:
            self._stamp = self._read_stamp(registry)
            self.served = self._read(registry)

    def _registry(self) -> Registry | None:
        """The registry, opened on the first call that finds a version of the model stored."""
        if self.registry is None and self._opener is not None and (self.root / self.name).is_dir():
            self.registry = self._opener()
        return self.registry

    def _read_stamp(self, registry: Registry) -> str:
        try:
            st = os.stat(self.root / self.name / "latest")
            latest = f"{st.st_ino}:{st.st_mtime_ns}"
        except FileNotFoundError:
            latest = "none"
        return f"{registry.stamp(self.name)}/{latest}"

    def _read(self, registry: Registry) -> Served:
        return (
            resolve(registry, self.root, self.name, CHAMPION),
            resolve(registry, self.root, self.name, CHALLENGER),
        )

    def poll(self) -> Served | None:
        """The new (champion, challenger) if either changed since the last call, else None."""
        now = self.clock()
        if now < self._next:
            return None
        self._next = now + self.poll_s
        try:
            registry = self._registry()
            if registry is None:
                return None
            stamp = self._read_stamp(registry)
            if stamp == self._stamp:
                return None
            served = self._read(registry)
        except EdupulseError as exc:
            logger.warning("could not read the %s model aliases (keeping %s): %s", self.name, self.served, exc)
            return None
        self._stamp = stamp
        if served == self.served:
            return None
        logger.info("%s models: champion %s, challenger %s (were %s)", self.name, *served, self.served)
        self.served = served
        return served


def watch_aliases(settings: Settings, name: str) -> AliasWatch:
    """The deployment's watch of model ``name``, opening its registry (``open_registry``) once
    a version is stored under ``{data_dir}/models/{name}/`` (now, if one is)."""
    from edupulse.ml.registry import open_registry  # noqa: PLC0415 - the package imports this module's neighbours

    root = settings.data_dir / "models"
    return AliasWatch(None, root, name, poll_s=settings.models.poll_interval_s, opener=lambda: open_registry(settings))
