"""Turning a validated statement into what is stored: id, stored, authority, version set,
and its query indexes, canonical event and idempotency digest computed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec

from edupulse.errors import InvalidEventError
from edupulse.events.model import encode_event
from edupulse.events.vocabulary import Verb
from edupulse.events.xapi import Statement, digest, to_event, verb_of
from edupulse.log.base import Record
from edupulse.lrs.index import VOIDED_VERB
from edupulse.lrs.store.base import NewStatement

__all__ = ["Prepared", "iso_time", "prepare"]

_to_struct = msgspec.convert
_encode = msgspec.json.Encoder().encode


class Prepared(msgspec.Struct, frozen=True, gc=False):
    """A statement ready for the log (``record``) and the LRS store (``stored``)."""

    record: Record
    stored: NewStatement


def iso_time(us: int) -> str:
    """Epoch microseconds as an ISO 8601 UTC timestamp with milliseconds."""
    return datetime.fromtimestamp(us / 1_000_000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def prepare(
    stmt: dict[str, Any],
    raw: bytes,
    *,
    tenant: str,
    stored_us: int,
    stored: str,
    authority: dict[str, Any],
    version: str,
) -> Prepared:
    """Complete a checked statement (in place) and build its log record and store row."""
    if "id" not in stmt:
        stmt["id"] = str(uuid.uuid4())
    stmt["id"] = stmt["id"].lower()
    try:  # before completion: the digest is of what the client sent
        typed = _to_struct(stmt, Statement)
    except msgspec.ValidationError as exc:  # the spec checks ran first: this is a gap between the two
        raise InvalidEventError(f"statement {stmt['id']} cannot be mapped: {exc}") from exc
    _arrays_of_context_activities(stmt)
    stmt["stored"] = stored
    stmt["authority"] = authority
    stmt.setdefault("version", version)
    stmt.setdefault("timestamp", stored)
    verb = verb_of(typed.verb) or Verb.OTHER
    event = to_event(typed, b"", tenant=tenant, event_id=stmt["id"], stored_us=stored_us, verb=verb)
    record = Record(event.partition_key, encode_event(event), stored_us, f"{tenant}:{stmt['id']}", digest(typed), raw)
    return Prepared(record, _new_statement(stmt, stored_us))


def _arrays_of_context_activities(stmt: dict[str, Any]) -> None:
    """Context activities are stored (and returned) as arrays, even when sent as one object.

    Parts of a statement may be shared with others (``validate.cache``): what changes is copied.
    """
    for inner in (False, True):
        holder = stmt["object"] if inner else stmt
        context: dict[str, Any] = holder.get("context") or {}
        acts = context.get("contextActivities")
        if not acts:
            continue
        single = False
        for value in acts.values():
            single = single or isinstance(value, dict)
        if single:
            arrays = {k: [v] if isinstance(v, dict) else v for k, v in acts.items()}
            if inner:
                holder = stmt["object"] = dict(holder)
            holder["context"] = {**context, "contextActivities": arrays}


def _new_statement(stmt: dict[str, Any], stored_us: int) -> NewStatement:
    verb = stmt["verb"]["id"]
    obj = stmt["object"]
    target = obj["id"].lower() if obj.get("objectType") == "StatementRef" else None
    voids = target if verb == VOIDED_VERB else None
    registration = (stmt.get("context") or {}).get("registration")
    return NewStatement(
        id=stmt["id"],
        stored_us=stored_us,
        body=_encode(stmt),
        verb=verb,
        registration=registration.lower() if registration else None,
        voids=voids,
        target=target,
        attachments=tuple(a["sha2"] for a in stmt.get("attachments") or ()),
    )
