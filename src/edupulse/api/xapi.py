"""``/xapi/statements``: xAPI statements in, durable canonical events out."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.concurrency import run_in_threadpool

from edupulse.api.auth import require
from edupulse.api.errors import PayloadTooLarge
from edupulse.errors import InvalidEventError
from edupulse.privacy.credentials import Principal

__all__ = ["router"]

router = APIRouter(prefix="/xapi", tags=["xAPI"])
XAPI_VERSION = "1.0.3"


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing anything over ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body has {declared} bytes; the limit is {limit} (split the batch)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is over the limit of {limit} bytes (split the batch)")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        raise InvalidEventError("the body is empty; send one xAPI statement or a JSON array of them")
    return body


@router.post(
    "/statements",
    summary="Store one xAPI statement or a JSON array of them",
    responses={
        200: {"description": "The ids of the stored statements, in request order"},
        400: {"description": "A statement is invalid; the message names the item and field"},
        401: {"description": "Missing or wrong credentials"},
        409: {"description": "A statement id was already used for different content"},
        413: {"description": "The body is over the size limit"},
    },
)
async def post_statements(
    request: Request,
    principal: Annotated[Principal, Depends(require("ingest"))],
    batch_policy: Annotated[Literal["atomic", "partial"] | None, Header(alias="X-Edupulse-Batch-Policy")] = None,
) -> Response:
    deployment = request.app.state.deployment
    settings = deployment.settings.ingest
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if content_type != "application/json":
        raise InvalidEventError(f"Content-Type must be application/json, got {content_type!r}")
    body = await read_body(request, settings.max_body_bytes)
    policy = batch_policy or settings.batch_policy
    report = await run_in_threadpool(deployment.ingest.ingest, body, tenant=principal.tenant, policy=policy)
    if report.stored:
        deployment.appended.ring()  # wake the runtime, in this process or another
    headers = {"X-Experience-API-Version": XAPI_VERSION}
    if policy == "partial":
        problems = [{"index": p.index, "path": p.path, "message": p.message} for p in report.problems]
        content = {"ids": report.ids, "stored": report.stored, "duplicates": report.duplicates, "problems": problems}
        return Response(msgspec.json.encode(content), media_type="application/json", headers=headers)
    return Response(msgspec.json.encode(report.ids), media_type="application/json", headers=headers)
