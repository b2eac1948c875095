"""``/api/v1/lineage``: where a derived value comes from.

For one row of a view (a learner's metrics, a mastery estimate, a risk score, an
alert) it answers the commit that last wrote it (partition, offsets from and to,
when), the code and model versions of that commit, and the events of the row's
learner in that range of the log, so a number can be checked against what produced it.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Query, Request

from edupulse.api.auth import Access, access
from edupulse.errors import ForbiddenError, InvalidEventError, NotFoundError
from edupulse.events.model import decode_event
from edupulse.log.base import EventLog

__all__ = ["SCAN_RECORDS", "router"]

router = APIRouter(prefix="/api/v1", tags=["lineage"])
Reader = Annotated[Access, Depends(access("read"))]
SCAN_RECORDS = 100_000  # a replay commit covers a whole partition: only its last records are scanned
READ_BATCH = 5_000


def _key(text: str) -> dict[str, Any]:
    try:
        key = msgspec.json.decode(text)
    except msgspec.DecodeError:
        raise InvalidEventError("key must be a JSON object of the view's key columns", path="key") from None
    if not isinstance(key, dict) or not key:
        raise InvalidEventError("key must be a non-empty JSON object of the view's key columns", path="key")
    return key


@router.get("/lineage", summary="The commit, offsets, code and model versions, and events behind a view row")
def lineage(
    request: Request,
    reader: Reader,
    view: Annotated[str, Query(min_length=1, max_length=64, pattern="^[a-z][a-z0-9_]*$")],
    key: Annotated[str, Query(min_length=2, max_length=4000, description='The row\'s key as JSON: {"learner": ...}')],
    limit: Annotated[int, Query(ge=0, le=1000, description="Most events returned.")] = 100,
) -> dict[str, Any]:
    dep = request.app.state.deployment
    store = dep.store
    where = _key(key) | {"tenant": reader.caller.tenant}
    if isinstance(where.get("learner"), str):  # scope first: a missing row tells an outsider nothing
        where["learner"] = dep.learner_key(reader.caller.tenant, where["learner"])  # an identifier or a pseudonym
        reader.caller.check_learner(where["learner"])
    elif isinstance(where.get("course"), str):
        reader.caller.check_course(where["course"])
    matching = store.count(view, where)
    if matching > 1:
        raise InvalidEventError(f"key names {matching} rows of {view!r}; give every key column", path="key")
    row = store.get(view, where)
    if row is None:
        raise NotFoundError(f"no row of view {view!r} with key {where}")
    if not reader.caller.sees_row(row):
        raise ForbiddenError(f"{reader.caller.name} may not see this row of {view!r}")
    reader.audit(str(row.get("learner") or f"{view}:{key}"))
    commit = store.row_lineage(view, where)
    out: dict[str, Any] = {"view": view, "row": row, "commit": None, "events": []}
    if commit is None:
        return out  # written before lineage was recorded, or by an external tool
    out["commit"] = msgspec.structs.asdict(commit)
    log: EventLog = request.app.state.deployment.log
    start = max(commit.from_offset, commit.to_offset - SCAN_RECORDS)
    out["scanned_from"] = start
    out["events"] = _events(log, commit.topic, commit.partition, start, commit.to_offset, row, limit)
    return out


def _events(
    log: EventLog, topic: str, partition: int, start: int, end: int, row: dict[str, Any], limit: int
) -> list[dict[str, Any]]:
    """The events of the row's learner (and course, if it has one) in ``[start, end)``."""
    learner, course = row.get("learner"), row.get("course")
    found: list[dict[str, Any]] = []
    offset = start
    while offset < end and len(found) < limit:
        records = log.read(topic, partition, offset, min(READ_BATCH, end - offset))
        if not records:
            break
        for rec in records:
            if rec.offset >= end:
                break
            try:
                event = decode_event(rec.value)
            except msgspec.DecodeError:  # junk the runtime dead-lettered, or an erased learner's sealed value
                continue
            if (learner is None or event.learner == learner) and (course is None or event.course == course):
                found.append({"offset": rec.offset, "event": msgspec.to_builtins(msgspec.structs.asdict(event))})
        offset = records[-1].offset + 1
    return found[:limit]
