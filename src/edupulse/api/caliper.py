"""``POST /caliper``: the Caliper 1.1/1.2 endpoint; envelopes in, durable canonical events out.

A sensor authenticates with ``Authorization: Bearer <key>:<secret>`` (the credentials
``edupulse keys create`` prints, with the ``ingest`` scope). Status codes follow the
Caliper endpoint rules: 400 for a missing or malformed envelope, 401 for any
authorization failure, 415 for a Content-Type other than application/json, 422 for an
unsupported ``dataVersion``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.concurrency import run_in_threadpool

from edupulse.api.auth import require_bearer
from edupulse.api.body import read_limited
from edupulse.events.caliper import UnsupportedDataVersion
from edupulse.lrs.caliper import CaliperIngest
from edupulse.privacy.credentials import Principal

__all__ = ["router"]

router = APIRouter(tags=["Caliper"])


def _error(status: int, code: str, message: str) -> Response:
    body = msgspec.json.encode({"error": code, "message": message})
    return Response(body, status_code=status, media_type="application/json")


@router.post(
    "/caliper",
    summary="Store the events of a Caliper 1.1 or 1.2 envelope",
    responses={
        200: {"description": "How many events were stored (and duplicates, entities, ids)"},
        400: {"description": "The envelope or an item is invalid; the message names its path"},
        401: {"description": "Missing or wrong Bearer token, or a key without the ingest scope"},
        409: {"description": "An event id was already used for different content"},
        413: {"description": "The body is over the size limit"},
        415: {"description": "The Content-Type is not application/json"},
        422: {"description": "The dataVersion is a Caliper version other than 1.1 and 1.2"},
    },
)
async def post_envelope(
    request: Request,
    principal: Annotated[Principal, Depends(require_bearer("ingest"))],
    batch_policy: Annotated[Literal["atomic", "partial"] | None, Header(alias="X-Edupulse-Batch-Policy")] = None,
) -> Response:
    deployment = request.app.state.deployment
    settings = deployment.settings.ingest
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return _error(415, "unsupported_media_type", f"Content-Type must be application/json, got {content_type!r}")
    empty = "the body is empty; send a Caliper envelope (sensor, sendTime, dataVersion, data)"
    body = await read_limited(request, settings.max_body_bytes, unit="envelope", empty=empty)
    policy = batch_policy or settings.batch_policy
    ingest = CaliperIngest(deployment.log, max_batch=settings.max_batch)
    try:
        report = await run_in_threadpool(ingest.ingest, body, tenant=principal.tenant, policy=policy)
    except UnsupportedDataVersion as exc:  # the Caliper endpoint rule: 422, not 400
        return _error(422, "unprocessable_entity", str(exc))
    if report.stored:
        deployment.appended.ring()  # wake the runtime, in this process or another
    content: dict[str, object] = {
        "stored": report.stored,
        "duplicates": report.duplicates,
        "entities": report.entities,
        "ids": report.ids,
    }
    if policy == "partial":
        content["problems"] = [{"index": p.index, "path": p.path, "message": p.message} for p in report.problems]
    return Response(msgspec.json.encode(content), media_type="application/json")
