"""Storing statements as an LRS: validate to the letter, complete, append to the log,
then write the LRS store.

Order and recovery: the log append comes first and is idempotent on the statement id
(a resent statement is a duplicate, not a second event); the store write follows and is
idempotent too. A crash between the two leaves an event whose statement is not in the
store yet; the client got no answer, so it resends, the log answers "duplicate" and the
store write completes. A statement is acknowledged only once it is durably in both.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import msgspec

from edupulse.errors import ConflictError, InvalidEventError
from edupulse.events.xapi import VerbRef, verb_of
from edupulse.log.base import EventLog
from edupulse.lrs.definitions import ActivityDefinitions
from edupulse.lrs.index import VOIDED_VERB
from edupulse.lrs.prepare import Prepared, iso_time, prepare
from edupulse.lrs.signature import SIGNATURE_USAGE, check_signature
from edupulse.lrs.statements import BatchPolicy, BatchRejected, IngestReport, Problem, known_verbs
from edupulse.lrs.store.base import StatementStore
from edupulse.lrs.validate import Invalid
from edupulse.lrs.validate.cache import CheckedParts
from edupulse.stream.runtime import EVENTS_TOPIC

__all__ = ["Part", "StatementWriter"]

_decode_list = msgspec.json.Decoder(list[msgspec.Raw]).decode
_HASHES = {64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}


class Part(msgspec.Struct, frozen=True):
    """An attachment's content from a multipart/mixed request."""

    content_type: str
    content: bytes


class StatementWriter:
    """POST and PUT of ``/xapi/statements``: into the log and the LRS store, or a clear 4xx."""

    def __init__(
        self,
        log: EventLog,
        store: StatementStore,
        *,
        topic: str = EVENTS_TOPIC,
        max_batch: int = 10_000,
        unknown_verbs: Literal["reject", "other"] = "other",
    ) -> None:
        self.unknown_verbs = unknown_verbs
        self.log = log
        self.store = store
        self.topic = topic
        self.max_batch = max_batch
        self.definitions = ActivityDefinitions(store)
        self.checked = CheckedParts()

    def write(
        self,
        body: bytes,
        *,
        tenant: str,
        authority: dict[str, Any],
        v2: bool,
        parts: Mapping[str, Part] | None = None,
        statement_id: str | None = None,
        policy: BatchPolicy = "atomic",
    ) -> IngestReport:
        """Store a body of one statement or an array; the report lists ids in request order."""
        items = _items(body, single=statement_id is not None)
        if len(items) > self.max_batch:
            raise InvalidEventError(f"a batch holds at most {self.max_batch} statements; split the request")
        good, problems = self._checked(items, v2=v2)
        if problems and policy == "atomic":
            raise BatchRejected(problems)
        if statement_id is not None:
            _bind_id(good[0][2], statement_id)
        self._check_batch(tenant, [s for _, _, s in good], parts or {})
        stored_us = time.time_ns() // 1000
        stored = iso_time(stored_us)
        version = "2.0.0" if v2 else "1.0.0"
        prepared = [
            (
                i,
                prepare(
                    s, raw, tenant=tenant, stored_us=stored_us, stored=stored, authority=authority, version=version
                ),
            )
            for i, raw, s in good
        ]
        report = self._append(prepared, problems, atomic=policy == "atomic")
        for sha2, part in (parts or {}).items():
            self.store.put_attachment(sha2, part.content_type, part.content)
        accepted = set(report.ids)
        self.store.put(tenant, [p.stored for _, p in prepared if p.stored.id in accepted])
        self.definitions.learn(tenant, [s for _, _, s in good if s["id"] in accepted])
        return report

    def _checked(
        self, items: list[tuple[str, bytes]], *, v2: bool
    ) -> tuple[list[tuple[int, bytes, dict[str, Any]]], list[Problem]]:
        good: list[tuple[int, bytes, dict[str, Any]]] = []
        problems: list[Problem] = []
        for index, (path, raw) in enumerate(items):
            try:
                stmt = self.checked.check(raw, path, v2=v2)
                if self.unknown_verbs == "reject":
                    _check_known_verb(stmt, path)
            except InvalidEventError as exc:
                problems.append(Problem(index, exc.path, str(exc)))
                continue
            good.append((index, raw, stmt))
        return good, problems

    def _append(
        self, prepared: Sequence[tuple[int, Prepared]], problems: list[Problem], *, atomic: bool
    ) -> IngestReport:
        report = IngestReport(ids=[], problems=problems)
        results = self.log.append(self.topic, [p.record for _, p in prepared], atomic=atomic)
        conflicts = [p.stored.id for (_, p), r in zip(prepared, results, strict=True) if r.status == "conflict"]
        if conflicts and atomic:
            raise ConflictError(
                f"statement id(s) {', '.join(conflicts[:5])} already stored with different content; "
                "a statement id can only be reused for the identical statement"
            )
        for (index, p), res in zip(prepared, results, strict=True):
            if res.status == "conflict":
                message = f"statement id {p.stored.id} is already stored with different content"
                report.problems.append(Problem(index, f"$[{index}].id", message))
            else:
                report.ids.append(p.stored.id)
                report.stored += res.status == "appended"
                report.duplicates += res.status == "duplicate"
        return report

    def _check_batch(self, tenant: str, stmts: list[dict[str, Any]], parts: Mapping[str, Part]) -> None:
        ids = [s["id"].lower() for s in stmts if "id" in s]
        if len(ids) != len(set(ids)):
            raise InvalidEventError("the same statement id appears twice in one batch")
        voiding = {s["id"].lower() for s in stmts if "id" in s and s["verb"]["id"] == VOIDED_VERB}
        for i, stmt in enumerate(stmts):
            if stmt["verb"]["id"] == VOIDED_VERB:
                self._check_voiding(tenant, stmt, f"$[{i}]", voiding)
        _check_attachments(stmts, parts)

    def _check_voiding(self, tenant: str, stmt: dict[str, Any], path: str, voiding: set[str]) -> None:
        obj = stmt["object"]
        if obj.get("objectType") != "StatementRef":
            raise Invalid(f"{path}.object", "a voiding statement's object must be a StatementRef")
        target = obj["id"].lower()
        if target in voiding or self.store.is_voiding(tenant, target):
            raise Invalid(f"{path}.object.id", "a voiding statement cannot void another voiding statement")


def _items(body: bytes, *, single: bool) -> list[tuple[str, bytes]]:
    stripped = body.lstrip()
    if stripped[:1] == b"[" and not single:
        try:
            raws = _decode_list(body)
        except msgspec.DecodeError as exc:
            raise InvalidEventError(f"the body is not valid JSON (an array of statements): {exc}") from exc
        if not raws:
            raise InvalidEventError("the body is an empty array; send at least one statement")
        return [(f"$[{i}]", bytes(raw)) for i, raw in enumerate(raws)]
    if stripped[:1] != b"{":
        what = "one JSON object (a statement)" if single else "a JSON object (one statement) or an array of them"
        raise InvalidEventError(f"the body must be {what}")
    return [("$", body)]


def _bind_id(stmt: dict[str, Any], statement_id: str) -> None:
    if "id" in stmt and stmt["id"].lower() != statement_id.lower():
        raise Invalid("$.id", f"the statement's id differs from the statementId parameter {statement_id!r}")
    stmt["id"] = statement_id.lower()


def _check_attachments(stmts: list[dict[str, Any]], parts: Mapping[str, Part]) -> None:
    declared: set[str] = set()
    for i, stmt in enumerate(stmts):
        for j, att in enumerate(stmt.get("attachments") or ()):
            path = f"$[{i}].attachments[{j}]"
            declared.add(att["sha2"])
            if att["sha2"] not in parts:
                if "fileUrl" not in att:
                    raise Invalid(path, "the attachment has no fileUrl and its content is not in the request")
                continue
            if att["usageType"] == SIGNATURE_USAGE:
                if att["contentType"] != "application/octet-stream":
                    raise Invalid(
                        f"{path}.contentType", "a signature attachment's contentType is application/octet-stream"
                    )
                check_signature(stmt, parts[att["sha2"]].content, path)
    for sha2, part in parts.items():
        if sha2 not in declared:
            raise InvalidEventError(f"the request holds an attachment ({sha2}) no statement declares")
        algorithm = _HASHES.get(len(sha2))
        if algorithm is not None and algorithm(part.content).hexdigest() != sha2.lower():
            raise InvalidEventError(f"the attachment's content does not match its hash {sha2}")


def _check_known_verb(stmt: dict[str, Any], path: str) -> None:
    if verb_of(msgspec.convert(stmt["verb"], VerbRef)) is None:
        where = f"{path}.verb.id"
        raise InvalidEventError(
            f"unknown verb {stmt['verb']['id']!r} at {where}; its last word must be one of: {known_verbs()}",
            path=where,
        )
