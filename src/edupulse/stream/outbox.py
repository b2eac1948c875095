"""The outbox relay: deliver what operators committed, at least once, with backoff.

Operators put side effects (alert webhooks) in the outbox in the same transaction as
their state, so nothing is announced that the state does not hold. This relay reads
the pending messages in order, hands each to the sender of its topic, and records the
outcome in the alert ledger by idempotency key:

* success: ``delivered``; the message leaves the pending outbox.
* failure: ``retrying`` until ``backoff_s * 2**(attempts - 1)`` has passed, then tried
  again; after ``max_attempts`` failures, or at once when the sender raises a
  ``TerminalError`` (a permanent refusal): ``dead`` (a dead letter, listed by the API),
  and it leaves the pending outbox.

A message already delivered or dead in the ledger is never sent again, even when a
replay rebuilt the outbox. Delivered and dead messages stay in the outbox for
``keep_delivered_s`` (``runtime.outbox_kept_hours``), then a pass deletes them (at most
once every ``PURGE_EVERY_S``), so the outbox holds what is pending plus that window.
A crash between a send and its record can repeat a send: receivers dedupe on the
``Idempotency-Key`` header.

Topics with a ``BatchSender`` (outputs relayed onto log topics for the lake:
``stream/log_sender.py``) skip the ledger: their receiver dedupes by idempotency key
itself, so each pass hands it all their pending messages at once, and a failure leaves
them pending for the next pass. A pass that found a full page starts the next at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

import msgspec

from edupulse.alerts.ledger import AlertLedger, Delivery
from edupulse.errors import EdupulseError, TerminalError
from edupulse.stream.store.base import OutboxMessage, StateStore

__all__ = ["PURGE_EVERY_S", "BatchSender", "OutboxRelay", "RelayStats", "Sender"]

logger = logging.getLogger(__name__)

PURGE_EVERY_S = 60.0
"""Least time between two purges of delivered messages."""


class Sender(Protocol):
    """Delivers messages of one outbox topic; raises an ``EdupulseError`` on failure."""

    def send(self, message: OutboxMessage) -> None: ...

    def close(self) -> None: ...


class BatchSender(Protocol):
    """Delivers many messages at once and dedupes them by idempotency key itself; raises an ``EdupulseError``."""

    def send_batch(self, messages: Sequence[OutboxMessage]) -> None: ...

    def close(self) -> None: ...


class RelayStats(msgspec.Struct):
    """What one pass over the pending outbox did."""

    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    skipped: int = 0
    pending: int = 0  # messages the pass read (a full page: more may be waiting)
    purged: int = 0  # delivered messages past the retention the pass deleted


class OutboxRelay:
    """Delivers pending outbox messages of the topics it has senders for."""

    def __init__(
        self,
        store: StateStore,
        ledger: AlertLedger,
        senders: Mapping[str, Sender],
        *,
        max_attempts: int,
        backoff_s: float,
        page: int = 1000,
        batch_senders: Mapping[str, BatchSender] | None = None,
        keep_delivered_s: float | None = None,
        purge_every_s: float = PURGE_EVERY_S,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.senders = dict(senders)
        self.batch_senders = dict(batch_senders or {})
        self.max_attempts = max_attempts
        self.backoff_us = int(backoff_s * 1_000_000)
        self.page = page
        self.keep_delivered_us = None if keep_delivered_s is None else int(keep_delivered_s * 1_000_000)
        self.purge_every_s = purge_every_s
        self._next_purge = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> RelayStats:
        """One pass over the pending outbox."""
        stats = RelayStats()
        done: list[int] = []
        batches: dict[BatchSender, list[tuple[int, OutboxMessage]]] = {}
        pending = self.store.pending_outbox(self.page)
        stats.pending = len(pending)
        for seq, message in pending:
            if (batcher := self.batch_senders.get(message.topic)) is not None:
                batches.setdefault(batcher, []).append((seq, message))
                continue
            sender = self.senders.get(message.topic)
            if sender is None:
                continue
            before = self.ledger.delivery(message.idempotency_key)
            if before is not None and before.status != "retrying":
                done.append(seq)  # delivered (or dead) before a replay rebuilt the outbox
                stats.skipped += 1
            elif before is not None and before.next_attempt_us > time.time_ns() // 1000:
                stats.skipped += 1
            elif self._attempt(sender, message, before):
                done.append(seq)
                stats.delivered += 1
            elif (after := self.ledger.delivery(message.idempotency_key)) is not None and after.status == "dead":
                done.append(seq)
                stats.dead += 1
            else:
                stats.retrying += 1
        for batcher, items in batches.items():
            try:
                batcher.send_batch([m for _, m in items])
            except EdupulseError as exc:
                logger.warning("relaying %d outbox messages failed, retrying next pass: %s", len(items), exc)
                stats.retrying += len(items)
                continue
            done.extend(seq for seq, _ in items)
            stats.delivered += len(items)
        self.store.mark_delivered(done)
        stats.purged = self._purge()
        return stats

    def _purge(self) -> int:
        """Delete messages delivered longer ago than the retention, at most once every ``purge_every_s``."""
        if self.keep_delivered_us is None or time.monotonic() < self._next_purge:
            return 0
        self._next_purge = time.monotonic() + self.purge_every_s
        purged = self.store.purge_outbox(time.time_ns() // 1000 - self.keep_delivered_us)
        if purged:
            logger.info("purged %d delivered outbox messages", purged)
        return purged

    def _attempt(self, sender: Sender, message: OutboxMessage, before: Delivery | None) -> bool:
        key, topic = message.idempotency_key, message.topic
        try:
            sender.send(message)
        except EdupulseError as exc:
            attempts = (before.attempts if before else 0) + 1
            if attempts >= self.max_attempts or isinstance(exc, TerminalError):
                logger.warning("dead-lettering %s after %d attempts: %s", key, attempts, exc)
                self.ledger.record_attempt(key, topic, status="dead", error=str(exc))
            else:
                wait_us = self.backoff_us * 2 ** (attempts - 1)
                due = time.time_ns() // 1000 + wait_us
                self.ledger.record_attempt(key, topic, status="retrying", error=str(exc), next_attempt_us=due)
            return False
        self.ledger.record_attempt(key, topic, status="delivered")
        return True

    # -- the relay thread ---------------------------------------------------------------

    def start(self, interval_s: float) -> None:
        """Relay in a background thread every ``interval_s`` until ``stop``."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, args=(interval_s,), name="outbox-relay", daemon=True)
        self._thread.start()

    def _loop(self, interval_s: float) -> None:
        wait_s = interval_s
        while not self._stop.wait(wait_s):
            wait_s = interval_s
            try:
                stats = self.run_once()
            except EdupulseError:
                logger.exception("the outbox relay pass failed; retrying in %.1f s", interval_s)
                continue
            if stats.pending >= self.page and stats.delivered:
                wait_s = 0.0  # a full page moved: more is waiting

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        for sender in self.senders.values():
            sender.close()
        for batcher in set(self.batch_senders.values()):
            batcher.close()
