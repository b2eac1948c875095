"""Events per second, from samples of a growing count taken as pages are read."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque

__all__ = ["RateMeter"]


class RateMeter:
    """Per key (a scope of courses), the rate of a count over the last ``window_s`` seconds.

    Each read adds a sample; the rate is the growth between the oldest sample still in
    the window and now. None until two samples at least ``min_span_s`` apart exist.
    """

    def __init__(self, *, window_s: float = 60.0, min_span_s: float = 1.0, keys: int = 1000) -> None:
        self.window_s = window_s
        self.min_span_s = min_span_s
        self._keys = keys
        self._samples: OrderedDict[str, deque[tuple[float, int]]] = OrderedDict()
        self._lock = threading.Lock()

    def rate(self, key: str, count: int, *, now: float | None = None) -> float | None:
        """Record ``count`` for ``key`` and return its events per second (None: not known yet)."""
        at = time.monotonic() if now is None else now
        with self._lock:
            samples = self._samples.pop(key, None) or deque()
            self._samples[key] = samples
            while len(self._samples) > self._keys:
                self._samples.popitem(last=False)
            while len(samples) > 1 and at - samples[1][0] >= self.window_s:
                samples.popleft()
            if not samples or at - samples[-1][0] >= self.min_span_s / 4:
                samples.append((at, count))
            first_at, first = samples[0]
        span = at - first_at
        return max(0.0, (count - first) / span) if span >= self.min_span_s else None
