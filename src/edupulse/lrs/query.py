"""The query parameters of ``GET /xapi/statements``, checked, and ``more`` continuation tokens.

A ``more`` token is the query itself plus where the next page starts (the last ``seq``
returned) and the newest ``seq`` of the first page, so every page is read as of the
moment the first one was (statements stored since do not shift the pages).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from edupulse.lrs.formats import Format
from edupulse.lrs.index import agent_key
from edupulse.lrs.store.base import StatementQuery
from edupulse.lrs.validate import Invalid, check_actor
from edupulse.lrs.validate.values import check_iri, check_uuid, timestamp_ok

__all__ = ["Request", "decode_more", "encode_more", "parse_request"]

_SINGLE = frozenset(("statementId", "voidedStatementId"))
_FILTERS = frozenset(
    {"agent", "verb", "activity", "registration", "related_activities", "related_agents", "since", "until"}
    | {"limit", "ascending"}
)
_ALWAYS = frozenset(("format", "attachments"))
_FORMATS = ("exact", "ids", "canonical")


class Request(msgspec.Struct, frozen=True):
    """A checked GET: one statement by id, or a query; and how to return them."""

    query: StatementQuery
    params: dict[str, str]
    statement_id: str | None = None
    voided: bool = False
    format: Format = "exact"
    attachments: bool = False


def parse_request(params: Mapping[str, str], *, max_limit: int) -> Request:
    """Check the parameters of a GET; raise ``Invalid`` naming the first bad one."""
    for name in params:
        if name not in _SINGLE and name not in _FILTERS and name not in _ALWAYS:
            raise Invalid(name, f"unknown query parameter {name!r}")
    fmt = params.get("format", "exact")
    if fmt not in _FORMATS:
        raise Invalid("format", f"format must be one of {', '.join(_FORMATS)}, got {fmt!r}")
    attachments = _flag(params, "attachments")
    single = [n for n in _SINGLE if n in params]
    if single:
        others = [n for n in params if n not in _ALWAYS and n not in single]
        if len(single) > 1 or others:
            raise Invalid(single[0], f"{single[0]} cannot be combined with {', '.join(single[1:] + others)}")
        sid = check_uuid(params[single[0]], single[0]).lower()
        return Request(StatementQuery(), dict(params), sid, single[0] == "voidedStatementId", fmt, attachments)  # type: ignore[arg-type]
    return Request(_query(params, max_limit), dict(params), None, False, fmt, attachments)  # type: ignore[arg-type]


def _query(params: Mapping[str, str], max_limit: int) -> StatementQuery:
    agent = None
    if "agent" in params:
        agent = agent_key(check_actor(_json(params["agent"], "agent"), "agent"))
    limit = _int(params.get("limit", "0"), "limit")
    return StatementQuery(
        agent=agent,
        verb=check_iri(params["verb"], "verb") if "verb" in params else None,
        activity=check_iri(params["activity"], "activity") if "activity" in params else None,
        registration=check_uuid(params["registration"], "registration").lower() if "registration" in params else None,
        related_activities=_flag(params, "related_activities"),
        related_agents=_flag(params, "related_agents"),
        since_us=_time(params["since"], "since") if "since" in params else None,
        until_us=_time(params["until"], "until") if "until" in params else None,
        limit=max_limit if limit == 0 else min(limit, max_limit),
        ascending=_flag(params, "ascending"),
    )


def _json(text: str, name: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        raise Invalid(name, f"{name} must be JSON") from None


def _flag(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name, "false")
    if value not in ("true", "false"):
        raise Invalid(name, f"{name} must be true or false, got {value!r}")
    return value == "true"


def _int(text: str, name: str) -> int:
    if not text.isdigit():
        raise Invalid(name, f"{name} must be a whole number, got {text!r}")
    return int(text)


def parse_time(text: str, name: str) -> int:
    """Epoch microseconds of a timestamp parameter (a time zone is needed; UTC if absent)."""
    if not timestamp_ok(text):
        raise Invalid(name, f"{name} must be an ISO 8601 timestamp, got {text!r}")
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


_time = parse_time


def encode_more(request: Request, after_seq: int, through_seq: int) -> str:
    token = msgspec.json.encode({"p": request.params, "a": after_seq, "t": through_seq})
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def decode_more(token: str, *, max_limit: int) -> Request:
    try:
        data = msgspec.json.decode(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        params, after, through = data["p"], int(data["a"]), int(data["t"])
    except (binascii.Error, ValueError, TypeError, KeyError, msgspec.DecodeError):
        raise Invalid("more", "the more token is not one this LRS gave") from None
    request = parse_request(params, max_limit=max_limit)
    query = msgspec.structs.replace(request.query, after_seq=after, through_seq=through)
    return msgspec.structs.replace(request, query=query)
