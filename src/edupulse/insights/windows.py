"""Event-time helpers: UTC day windows and the per-partition watermark.

Policy for late events (docs/architecture.md): the watermark of a partition is the
newest event time seen in it minus the allowed lateness. An event older than the
watermark still counts in every cumulative metric (events, attempts, scores, time on
task), but no longer changes closed daily windows; it is counted in ``late_events``.
The watermark advances event by event in log order, so live processing and replay,
whatever their batch sizes, decide lateness identically.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

__all__ = ["DAY_US", "Watermark", "day_label", "day_of"]

DAY_US = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def day_of(time_us: int) -> int:
    """The UTC day number (days since 1970-01-01) of an epoch-microsecond time."""
    return time_us // DAY_US


@lru_cache(maxsize=8192)
def day_label(day: int) -> str:
    """ISO date of a day number."""
    return (_EPOCH + timedelta(days=day)).date().isoformat()


class Watermark:
    """Newest event time seen, minus the allowed lateness."""

    __slots__ = ("lateness_us", "max_seen_us")

    def __init__(self, lateness_us: int, max_seen_us: int = -(2**62)) -> None:
        self.lateness_us = lateness_us
        self.max_seen_us = max_seen_us

    def is_late(self, time_us: int) -> bool:
        """Whether an event at ``time_us`` is behind the watermark, after advancing with it.

        Operators inline this rule in their per-event loops; this is its reference.
        """
        self.max_seen_us = max(self.max_seen_us, time_us)
        return time_us < self.max_seen_us - self.lateness_us
