"""Posting simulated statements to an xAPI endpoint at a steady rate, retrying failures."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

import httpx
import msgspec

from edupulse.sim.statements import XapiStatement
from edupulse.sim.streaming import Pacer, batched

__all__ = ["SendReport", "send"]

logger = logging.getLogger(__name__)
_encode = msgspec.json.Encoder().encode


class SendReport(msgspec.Struct):
    """What a send did."""

    sent: int = 0
    batches: int = 0
    retries: int = 0
    rejected: int = 0


def send(
    statements: Iterable[XapiStatement],
    *,
    url: str,
    auth: tuple[str, str],
    rate_per_s: float | None,
    batch_size: int = 100,
    stop: threading.Event | None = None,
    on_batch: Callable[[int], None] | None = None,
    max_retry_s: float = 60.0,
) -> SendReport:
    """POST statements in batches to ``url`` (an LRS's statements resource).

    A failed request (network error or 5xx) is retried with backoff for up to
    ``max_retry_s``; statement ids make the retry safe. A 4xx is logged and counted
    as rejected: retrying cannot fix it.
    """
    report = SendReport()
    stop = stop or threading.Event()
    pacer = Pacer(rate_per_s) if rate_per_s else None
    headers = {"Content-Type": "application/json", "X-Experience-API-Version": "1.0.3"}
    with httpx.Client(auth=auth, headers=headers, timeout=30) as client:
        for batch in batched(statements, batch_size):
            if pacer is not None and stop.wait(pacer.reserve(len(batch))):
                break
            if stop.is_set() or not _post(client, url, _encode(batch), report, stop=stop, max_retry_s=max_retry_s):
                report.rejected += len(batch)
                continue
            report.sent += len(batch)
            report.batches += 1
            if on_batch is not None:
                on_batch(len(batch))
    return report


def _post(
    client: httpx.Client, url: str, body: bytes, report: SendReport, *, stop: threading.Event, max_retry_s: float
) -> bool:
    deadline = time.monotonic() + max_retry_s
    delay = 0.05
    while not stop.is_set():
        try:
            response = client.post(url, content=body)
        except httpx.TransportError as exc:
            problem = str(exc) or type(exc).__name__
        else:
            if response.status_code < 400:
                return True
            if response.status_code < 500:
                logger.error("the server rejected a batch: %s %s", response.status_code, response.text[:500])
                return False
            problem = f"HTTP {response.status_code}"
        if time.monotonic() + delay > deadline:
            logger.error("giving up on a batch after %.0f s: %s", max_retry_s, problem)
            return False
        report.retries += 1
        stop.wait(delay)
        delay = min(delay * 2, 2.0)
    return False
