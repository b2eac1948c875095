"""Statement ingestion: decode, check, map to canonical events, append durably.

Batch policy for a POST holding bad items (settings ``ingest.batch_policy``):
- ``atomic`` (default, as xAPI requires): any bad item rejects the whole batch with
  400 and a list of every problem; nothing is stored, so the client fixes and resends.
- ``partial``: the good items are stored, the bad ones are listed in the response.
Idempotency: a statement id already stored with the same content is accepted again
without a second copy; the same id with different content is a 409 Conflict.
The statement's bytes, as received, are kept for audit and re-mapping as the payload of
its log record (read back with ``EventLog.read_payloads``), not inside the event.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Literal

import msgspec

from edupulse.errors import ConflictError, InvalidEventError
from edupulse.events.model import encode_event
from edupulse.events.vocabulary import Verb
from edupulse.events.xapi import decode_statements, digest, id_text, to_event, verb_of
from edupulse.log.base import EventLog, Record
from edupulse.stream.runtime import EVENTS_TOPIC

__all__ = ["BatchPolicy", "BatchRejected", "IngestReport", "Problem", "StatementIngest", "known_verbs"]

BatchPolicy = Literal["atomic", "partial"]
_KNOWN_VERBS = ", ".join(v.value for v in Verb if v is not Verb.OTHER)


def known_verbs() -> str:
    """The vocabulary's words, for messages about an unknown verb."""
    return _KNOWN_VERBS


class Problem(msgspec.Struct, frozen=True):
    """What is wrong with one statement of a batch."""

    index: int
    path: str
    message: str


class IngestReport(msgspec.Struct):
    """The outcome of one POST: stored ids (in request order) and rejected items."""

    ids: list[str]
    stored: int = 0
    duplicates: int = 0
    problems: list[Problem] = msgspec.field(default_factory=list)


class BatchRejected(InvalidEventError):
    """A batch with bad items under the atomic policy; ``problems`` lists them all."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"statement {first.index} is invalid: {first.message}{more}", path=first.path)
        self.problems = list(problems)


class StatementIngest:
    """Turns request bodies of xAPI statements into durable canonical events."""

    def __init__(
        self,
        log: EventLog,
        *,
        topic: str = EVENTS_TOPIC,
        unknown_verbs: Literal["reject", "other"] = "reject",
        max_batch: int = 10_000,
    ) -> None:
        self.log = log
        self.topic = topic
        self.unknown_verbs = unknown_verbs
        self.max_batch = max_batch

    def ingest(self, body: bytes, *, tenant: str, policy: BatchPolicy = "atomic") -> IngestReport:
        """Store the statements of a body, or raise with what is wrong."""
        stored_us = time.time_ns() // 1000
        records: list[Record] = []
        placed: list[tuple[int, str]] = []
        problems: list[Problem] = []
        for item in decode_statements(body):
            if item.index >= self.max_batch:
                raise InvalidEventError(
                    f"a batch holds at most {self.max_batch} statements; split the request", path="$"
                )
            stmt = item.statement
            if isinstance(stmt, InvalidEventError):
                problems.append(Problem(item.index, stmt.path, str(stmt)))
                continue
            verb = verb_of(stmt.verb)
            if verb is None and self.unknown_verbs == "reject":
                path = f"{item.path}.verb.id"
                message = f"unknown verb {stmt.verb.id!r} at {path}; its last word must be one of: {_KNOWN_VERBS}"
                problems.append(Problem(item.index, path, message))
                continue
            statement_id = id_text(stmt.id) if stmt.id is not None else str(uuid.uuid4())
            event = to_event(  # the payload travels beside the event, in the record's payload
                stmt, b"", tenant=tenant, event_id=statement_id, stored_us=stored_us, verb=verb or Verb.OTHER
            )
            record_id = f"{tenant}:{statement_id}"
            value = encode_event(event)
            records.append(Record(event.partition_key, value, stored_us, record_id, digest(stmt), item.raw))
            placed.append((item.index, statement_id))
        if problems and policy == "atomic":
            raise BatchRejected(problems)
        return self._append(records, placed, problems, atomic=policy == "atomic")

    def _append(
        self, records: list[Record], placed: list[tuple[int, str]], problems: list[Problem], *, atomic: bool
    ) -> IngestReport:
        report = IngestReport(ids=[], problems=problems)
        results = self.log.append(self.topic, records, atomic=atomic)
        conflicts = [sid for (_, sid), res in zip(placed, results, strict=True) if res.status == "conflict"]
        if conflicts and atomic:
            raise ConflictError(
                f"statement id(s) {', '.join(conflicts[:5])} already stored with different content; "
                "a statement id can only be reused for the identical statement"
            )
        for (index, sid), res in zip(placed, results, strict=True):
            if res.status == "conflict":
                message = f"statement id {sid} is already stored with different content"
                report.problems.append(Problem(index, f"$[{index}].id", message))
            else:
                report.ids.append(sid)
                report.stored += res.status == "appended"
                report.duplicates += res.status == "duplicate"
        return report
