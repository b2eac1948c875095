"""Releasing statements at a steady rate, or as fast as simulated time passes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from datetime import datetime
from itertools import islice

from edupulse.sim.statements import XapiStatement

__all__ = ["Pacer", "batched", "by_event_time", "by_rate"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def batched(statements: Iterable[XapiStatement], size: int) -> Iterator[list[XapiStatement]]:
    """Consecutive lists of up to size statements."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    it = iter(statements)
    while batch := list(islice(it, size)):
        yield batch


class Pacer:
    """Spaces out units so that on average no more than rate_per_s go per second.

    Falling behind (a slow consumer) is not made up with a burst: the schedule restarts
    from now.
    """

    def __init__(self, rate_per_s: float, *, clock: Clock = time.monotonic) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be positive, got {rate_per_s}")
        self._interval = 1.0 / rate_per_s
        self._clock = clock
        self._next: float | None = None

    def reserve(self, units: int) -> float:
        """Book units for sending; returns the seconds to wait before sending them."""
        now = self._clock()
        due = now if self._next is None else max(self._next, now)
        self._next = due + units * self._interval
        return due - now


async def by_rate(
    statements: Iterable[XapiStatement],
    rate_per_s: float,
    batch_size: int,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> AsyncIterator[list[XapiStatement]]:
    """Batches of statements, paced to rate_per_s statements per second."""
    pacer = Pacer(rate_per_s, clock=clock)
    for batch in batched(statements, batch_size):
        wait = pacer.reserve(len(batch))
        if wait > 0:
            await sleep(wait)
        yield batch


def _event_seconds(stmt: XapiStatement) -> float:
    return datetime.fromisoformat(stmt["timestamp"]).timestamp()


async def by_event_time(
    statements: Iterable[XapiStatement],
    speed: float,
    batch_size: int,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> AsyncIterator[list[XapiStatement]]:
    """Batches released when their event time comes, with speed simulated seconds per real second.

    A batch is yielded when it is full or when the next statement is not due yet.
    """
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    batch: list[XapiStatement] = []
    origin: tuple[float, float] | None = None
    for stmt in statements:
        event = _event_seconds(stmt)
        if origin is None:
            origin = (event, clock())
        wait = (event - origin[0]) / speed - (clock() - origin[1])
        if wait > 0:
            if batch:
                yield batch
                batch = []
                wait = (event - origin[0]) / speed - (clock() - origin[1])
            if wait > 0:
                await sleep(wait)
        batch.append(stmt)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch
