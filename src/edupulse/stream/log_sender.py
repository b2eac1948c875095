"""Outbox topics relayed onto the log: alerts, predictions and feature snapshots.

Operators put these outputs in the outbox with their state; the outbox relay hands
them, a page at a time, to a ``LogSender``, which appends each topic's messages to
the log topic of the same name. Each record's id is the message's idempotency key, and
the log stores an id once (both backends, for good), so a message appended again --
after a crash between the append and marking it delivered, or when a replay or a
blue/green rebuild re-emits it -- lands on the log, and from there in the lake, once.
A re-emitted message whose payload differs (an operator that changed) keeps the copy
stored first; the new operator must give changed outputs new keys.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence

from edupulse.log.base import EventLog, Record
from edupulse.stream.store.base import OutboxMessage

__all__ = ["ALERTS_TOPIC", "FEATURE_SNAPSHOTS_TOPIC", "LOG_TOPICS", "PREDICTIONS_TOPIC", "LogSender"]

logger = logging.getLogger(__name__)

ALERTS_TOPIC = "alerts"  # the rules operator's alerts (insights/rules.py)
PREDICTIONS_TOPIC = "predictions"  # the risk operator's predictions
FEATURE_SNAPSHOTS_TOPIC = "feature_snapshots"  # the features a prediction was made from
LOG_TOPICS = (ALERTS_TOPIC, PREDICTIONS_TOPIC, FEATURE_SNAPSHOTS_TOPIC)


def _record(message: OutboxMessage, now_us: int) -> Record:
    return Record(
        message.key.encode(),
        message.payload,
        now_us,
        id=message.idempotency_key,
        digest=hashlib.sha256(message.payload).digest(),
    )


class LogSender:
    """Appends outbox messages to the log topic named like their outbox topic, once per idempotency key."""

    def __init__(self, log: EventLog, *, partitions: int) -> None:
        self.log = log
        self.partitions = partitions
        self._ensured: set[str] = set()

    def send_batch(self, messages: Sequence[OutboxMessage]) -> None:
        """Append the messages (raises ``TransientError`` if the log is unavailable: the relay retries)."""
        by_topic: dict[str, list[OutboxMessage]] = {}
        for message in messages:
            by_topic.setdefault(message.topic, []).append(message)
        now_us = time.time_ns() // 1000
        for topic, batch in by_topic.items():
            if topic not in self._ensured:
                self.log.ensure_topic(topic, self.partitions)
                self._ensured.add(topic)
            results = self.log.append(topic, [_record(m, now_us) for m in batch])
            conflicts = [m.idempotency_key for m, r in zip(batch, results, strict=True) if r.status == "conflict"]
            if conflicts:
                logger.warning(
                    "%d %s messages re-emitted with a different payload kept their first copy (e.g. %s)",
                    len(conflicts),
                    topic,
                    conflicts[0],
                )

    def close(self) -> None:
        """Nothing to release: the log belongs to the deployment."""
