"""``/xapi/statements``: xAPI statements in (POST, PUT) and out (GET, HEAD).

Statements in are validated to the letter of the spec, appended to the log as
canonical events and stored in the LRS store; see ``lrs.writer``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.concurrency import run_in_threadpool

from edupulse.api.auth import require, require_audited
from edupulse.api.body import read_limited
from edupulse.api.routing import get_and_head
from edupulse.errors import InvalidEventError
from edupulse.lrs.multipart import build_multipart, parse_multipart
from edupulse.lrs.validate.values import check_uuid
from edupulse.lrs.writer import Part
from edupulse.privacy.credentials import Principal

__all__ = ["authority_of", "http_date", "is_v2", "languages_of", "read_body", "router"]

router = APIRouter(prefix="/xapi", tags=["xAPI"])
KEYS_HOME = "https://edupulse.dev/keys"


async def read_body(request: Request, limit: int, *, allow_empty: bool = False) -> bytes:
    """The request body, refusing anything over ``limit`` bytes without reading it all."""
    empty = None if allow_empty else "the body is empty; send one xAPI statement or a JSON array of them"
    return await read_limited(request, limit, unit="batch", empty=empty)


def authority_of(principal: Principal) -> dict[str, Any]:
    """The authority the LRS stamps on statements a key sends."""
    return {"objectType": "Agent", "name": principal.name, "account": {"homePage": KEYS_HOME, "name": principal.key}}


def http_date(us: int) -> str:
    """An HTTP date (RFC 7231), as Last-Modified wants it."""
    return format_datetime(datetime.fromtimestamp(us / 1_000_000, UTC), usegmt=True)


def is_v2(request: Request) -> bool:
    return getattr(request.state, "xapi_version", "1.0.3") == "2.0.0"


def languages_of(request: Request) -> list[str]:
    """The Accept-Language tags, most wanted first, in lower case."""
    tags = []
    for item in request.headers.get("accept-language", "").split(","):
        tag, _, quality = item.strip().partition(";q=")
        if tag:
            try:
                tags.append((float(quality or 1), tag.lower()))
            except ValueError:
                continue
    return [t for _, t in sorted(tags, key=lambda x: -x[0])]


async def _statements_body(request: Request, limit: int) -> tuple[bytes, dict[str, Part]]:
    content_type = request.headers.get("content-type", "application/json")
    kind = content_type.split(";")[0].strip().lower()
    body = await read_body(request, limit)
    if kind == "application/json":
        return body, {}
    if kind == "multipart/mixed":
        return parse_multipart(body, content_type)
    raise InvalidEventError(f"Content-Type must be application/json or multipart/mixed, got {kind!r}")


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
    if request.query_params:
        raise InvalidEventError(f"POST /xapi/statements takes no query parameters, got {list(request.query_params)}")
    body, parts = await _statements_body(request, settings.max_body_bytes)
    policy = batch_policy or settings.batch_policy
    report = await run_in_threadpool(
        deployment.lrs.writer.write,
        body,
        tenant=principal.tenant,
        authority=authority_of(principal),
        v2=is_v2(request),
        parts=parts,
        policy=policy,
    )
    if report.stored:
        deployment.appended.ring()  # wake the runtime, in this process or another
    if policy == "partial":
        problems = [{"index": p.index, "path": p.path, "message": p.message} for p in report.problems]
        content = {"ids": report.ids, "stored": report.stored, "duplicates": report.duplicates, "problems": problems}
        return Response(msgspec.json.encode(content), media_type="application/json")
    return Response(msgspec.json.encode(report.ids), media_type="application/json")


@router.put("/statements", status_code=204, summary="Store one statement under the id given as statementId")
async def put_statement(request: Request, principal: Annotated[Principal, Depends(require("ingest"))]) -> Response:
    deployment = request.app.state.deployment
    params = dict(request.query_params)
    statement_id = params.pop("statementId", None)
    if statement_id is None:
        raise InvalidEventError("PUT /xapi/statements needs the statementId query parameter")
    if params:
        raise InvalidEventError(f"PUT /xapi/statements takes only statementId, got {list(params)}")
    check_uuid(statement_id, "statementId")
    body, parts = await _statements_body(request, deployment.settings.ingest.max_body_bytes)
    report = await run_in_threadpool(
        deployment.lrs.writer.write,
        body,
        tenant=principal.tenant,
        authority=authority_of(principal),
        v2=is_v2(request),
        parts=parts,
        statement_id=statement_id,
    )
    if report.stored:
        deployment.appended.ring()
    return Response(status_code=204)


@get_and_head(router, "/statements", summary="Statements by id or by query, with paging")
async def get_statements(
    request: Request, principal: Annotated[Principal, Depends(require_audited("read"))]
) -> Response:
    lrs = request.app.state.deployment.lrs
    params = dict(request.query_params)
    result = await run_in_threadpool(lrs.reader.read, principal.tenant, params, languages_of(request), request.url.path)
    headers = {"X-Experience-API-Consistent-Through": result.consistent_through}
    if result.last_modified_us:
        headers["Last-Modified"] = http_date(result.last_modified_us)
    if result.multipart:
        body, content_type = build_multipart(result.body, result.attachments)
        return Response(body, media_type=content_type, headers=headers)
    return Response(result.body, media_type="application/json", headers=headers)
