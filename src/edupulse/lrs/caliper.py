"""Caliper ingestion: envelopes in, durable canonical events out.

The events of one envelope are atomic by default: one bad event (or one id already
stored with different content) rejects the envelope with a 400 (409) listing the
problems, and nothing is stored. Under the ``partial`` batch policy the good events
are stored and the bad ones listed. Entity "describes" in ``data`` are checked but
produce no events. Idempotency is on the event id (``urn:uuid:...``): the same id
with the same content is accepted again and stored once. Each event's bytes, as sent,
are kept as the payload of its log record, for audit and re-mapping.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal

import msgspec

from edupulse.errors import ConflictError, InvalidEventError
from edupulse.events.caliper import decode_envelope, digest, event_uuid, to_event
from edupulse.events.model import encode_event
from edupulse.log.base import EventLog, Record
from edupulse.lrs.statements import Problem
from edupulse.stream.runtime import EVENTS_TOPIC

__all__ = ["CaliperIngest", "CaliperReport", "EnvelopeRejected", "Problem"]

BatchPolicy = Literal["atomic", "partial"]


class CaliperReport(msgspec.Struct):
    """The outcome of one envelope: event ids in envelope order, counts, and rejected items."""

    ids: list[str]
    stored: int = 0
    duplicates: int = 0
    entities: int = 0
    problems: list[Problem] = msgspec.field(default_factory=list)


class EnvelopeRejected(InvalidEventError):
    """An envelope with bad items under the atomic policy; ``problems`` lists them all."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"data item {first.index} is invalid: {first.message}{more}", path=first.path)
        self.problems = list(problems)


class CaliperIngest:
    """Turns Caliper envelopes into durable canonical events on a deployment's log."""

    def __init__(self, log: EventLog, *, topic: str = EVENTS_TOPIC, max_batch: int = 10_000) -> None:
        self.log = log
        self.topic = topic
        self.max_batch = max_batch

    def ingest(self, body: bytes, *, tenant: str, policy: BatchPolicy = "atomic") -> CaliperReport:
        """Store the events of an envelope, or raise with what is wrong."""
        stored_us = time.time_ns() // 1000
        report = CaliperReport(ids=[])
        records: list[Record] = []
        placed: list[tuple[int, str]] = []
        for entry in decode_envelope(body, max_items=self.max_batch):
            item = entry.item
            if isinstance(item, InvalidEventError):
                report.problems.append(Problem(entry.index, item.path, str(item)))
                continue
            if not entry.is_event:
                report.entities += 1
                continue
            event = to_event(item, b"", tenant=tenant, stored_us=stored_us)
            record_id = f"{tenant}:{event.event_id}"
            records.append(
                Record(event.partition_key, encode_event(event), stored_us, record_id, digest(item), entry.raw)
            )
            placed.append((entry.index, event_uuid(item)))
        if report.problems and policy == "atomic":
            raise EnvelopeRejected(report.problems)
        if records:
            self._append(records, placed, report, atomic=policy == "atomic")
        return report

    def _append(
        self, records: list[Record], placed: list[tuple[int, str]], report: CaliperReport, *, atomic: bool
    ) -> None:
        results = self.log.append(self.topic, records, atomic=atomic)
        conflicts = [sid for (_, sid), res in zip(placed, results, strict=True) if res.status == "conflict"]
        if conflicts and atomic:
            raise ConflictError(
                f"event id(s) urn:uuid:{', urn:uuid:'.join(conflicts[:5])} already stored with different content; "
                "an event id can only be reused for the identical event"
            )
        for (index, sid), res in zip(placed, results, strict=True):
            if res.status == "conflict":
                message = f"event id urn:uuid:{sid} is already stored with different content"
                report.problems.append(Problem(index, f"$.data[{index}].id", message))
            else:
                report.ids.append(f"urn:uuid:{sid}")
                report.stored += res.status == "appended"
                report.duplicates += res.status == "duplicate"
