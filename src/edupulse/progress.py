"""Progress bars for the CLI's long work: one look, on stderr, only for a person at a terminal.

A bar shows when stderr is a TTY and the run is not quiet (``--quiet`` / ``--no-progress``
or ``EDUPULSE_NO_PROGRESS=1``); otherwise every call is a no-op, so scripts, pipes, CI
logs and ``--json`` output never see one. Commands use :func:`bar` instead of driving
tqdm themselves::

    with bar("replay", unit="ev") as shown:
        run(progress=shown.advance, total=shown.set_total)

Work measured in phases rather than items (training, evaluation) names each phase as it
starts with :meth:`Bar.phase`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from tqdm import tqdm

__all__ = ["QUIET_KEY", "Bar", "bar", "enabled", "one_phase"]

QUIET_KEY = "edupulse.quiet"
"""Key in the root click context's ``meta``: True when the user asked for no progress."""


def _quiet() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().meta.get(QUIET_KEY))


def enabled() -> bool:
    """True when a bar should show: stderr is a terminal and the user did not ask for quiet."""
    return not _quiet() and sys.stderr.isatty()


class Bar:
    """A progress bar, or nothing when bars are off; safe to call either way."""

    def __init__(self, shown: tqdm[Any] | None, *, quiet: bool = False) -> None:
        self._shown = shown
        self._quiet = quiet

    def set_total(self, total: int) -> None:
        """How much work there is, once it is known."""
        if self._shown is not None:
            self._shown.total = total
            self._shown.refresh()

    def advance(self, done: int = 1) -> None:
        """Count ``done`` more units of work as finished."""
        if self._shown is not None:
            self._shown.update(done)

    def phase(self, name: str) -> None:
        """Name the phase that starts now (the bar's count is of finished phases)."""
        if self._shown is not None:
            self._shown.set_postfix_str(name)

    def note(self, message: str) -> None:
        """A line for the user on stderr, above the bar without breaking it; none when quiet."""
        if self._shown is not None:
            self._shown.write(message, file=sys.stderr)
        elif not self._quiet:
            click.echo(message, err=True)


@contextmanager
def bar(desc: str, *, unit: str = "it", total: int | None = None, show: bool = True) -> Iterator[Bar]:
    """A bar named ``desc`` counting ``unit``; ``show=False`` (e.g. under ``--json``) turns it off."""
    if not (show and enabled()):
        yield Bar(None, quiet=_quiet())
        return
    scale = unit not in ("phase", "file", "table")
    width: dict[str, Any] = {"dynamic_ncols": True} if _columns() else {"ncols": 80, "nrows": 24}  # no size known
    with tqdm(total=total, desc=desc, unit=unit, unit_scale=scale, file=sys.stderr, **width) as shown:
        yield Bar(shown)


def _columns() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError):
        return 0


@contextmanager
def one_phase(desc: str, doing: str, *, show: bool = True) -> Iterator[None]:
    """Work with no measure of its own: a bar that says what is being done and for how long."""
    with bar(desc, unit="phase", total=1, show=show) as shown:
        shown.phase(doing)
        yield
        shown.advance()
