"""The document resources: ``/xapi/activities/state``, ``/xapi/activities/profile`` and
``/xapi/agents/profile`` (GET, HEAD, PUT, POST, DELETE), with ETag concurrency.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from edupulse.api.auth import require, require_audited
from edupulse.api.routing import get_and_head
from edupulse.api.xapi import http_date, is_v2, read_body
from edupulse.lrs.index import agent_key
from edupulse.lrs.query import parse_time
from edupulse.lrs.store.base import DocumentKey, DocumentKind
from edupulse.lrs.validate import Invalid, check_actor
from edupulse.lrs.validate.values import check_iri, check_uuid
from edupulse.privacy.credentials import Principal

__all__ = ["router"]

router = APIRouter(prefix="/xapi", tags=["xAPI documents"])

# kind -> (id parameter, required parameters, optional parameters)
_RESOURCES: dict[DocumentKind, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "state": ("stateId", ("activityId", "agent"), ("registration",)),
    "activity_profile": ("profileId", ("activityId",), ()),
    "agent_profile": ("profileId", ("agent",), ()),
}
_PATHS: dict[str, DocumentKind] = {
    "/activities/state": "state",
    "/activities/profile": "activity_profile",
    "/agents/profile": "agent_profile",
}


def _key(kind: DocumentKind, params: Mapping[str, str], *, method: str) -> tuple[DocumentKey, int | None]:
    id_param, required, optional = _RESOURCES[kind]
    allowed = {id_param, *required, *optional}
    if method == "GET":
        allowed.add("since")
    for name in params:
        if name not in allowed:
            raise Invalid(name, f"unknown parameter {name!r} for this resource")
    for name in required:
        if name not in params:
            raise Invalid(name, f"the {name} parameter is required")
    if method in ("PUT", "POST") and id_param not in params:
        raise Invalid(id_param, f"the {id_param} parameter is required")
    if method == "DELETE" and kind != "state" and id_param not in params:
        raise Invalid(id_param, f"the {id_param} parameter is required")
    agent = ""
    if "agent" in params:
        try:
            value = msgspec.json.decode(params["agent"])
        except msgspec.DecodeError:
            raise Invalid("agent", "agent must be an Agent as JSON") from None
        agent = agent_key(check_actor(value, "agent")) or ""
    registration = check_uuid(params["registration"], "registration").lower() if "registration" in params else None
    single = id_param in params
    if kind == "state" and single and registration is None:
        registration = ""
    key = DocumentKey(
        kind=kind,
        activity=check_iri(params["activityId"], "activityId") if "activityId" in params else "",
        agent=agent,
        registration=registration if kind == "state" else "",
        doc_id=params.get(id_param, ""),
    )
    since = parse_time(params["since"], "since") if "since" in params and not single else None
    if "since" in params and single:
        raise Invalid("since", f"since lists documents; it cannot go with {id_param}")
    return key, since


def _document_routes(path: str, kind: DocumentKind) -> None:
    @get_and_head(router, path, summary=f"One {kind} document, or the ids of them")
    async def get_documents(
        request: Request, principal: Annotated[Principal, Depends(require_audited("read"))]
    ) -> Response:
        documents = request.app.state.deployment.lrs.documents
        key, since = _key(kind, request.query_params, method="GET")
        if not key.doc_id:
            ids = await run_in_threadpool(documents.ids, principal.tenant, key, since)
            return Response(msgspec.json.encode(ids), media_type="application/json")
        doc = await run_in_threadpool(documents.get, principal.tenant, key)
        headers = {"ETag": doc.etag, "Last-Modified": http_date(doc.updated_us)}
        return Response(doc.content, media_type=doc.content_type, headers=headers)

    @router.put(path, status_code=204, summary=f"Store a {kind} document (POST: merge JSON into it)")
    async def put_document(request: Request, principal: Annotated[Principal, Depends(require("ingest"))]) -> Response:
        deployment = request.app.state.deployment
        key, _ = _key(kind, request.query_params, method=request.method)
        content = await read_body(request, deployment.settings.ingest.max_body_bytes, allow_empty=True)
        content_type = request.headers.get("content-type", "application/octet-stream")
        match, none_match = request.headers.get("if-match"), request.headers.get("if-none-match")
        documents = deployment.lrs.documents
        if request.method == "PUT":
            concurrency = kind != "state" or is_v2(request)
            await run_in_threadpool(
                documents.put,
                principal.tenant,
                key,
                content,
                content_type,
                if_match=match,
                if_none_match=none_match,
                concurrency=concurrency,
            )
        else:
            await run_in_threadpool(
                documents.post, principal.tenant, key, content, content_type, if_match=match, if_none_match=none_match
            )
        return Response(status_code=204)

    router.add_api_route(
        path, put_document, methods=["POST"], status_code=204, summary=f"Merge JSON into a {kind} document"
    )

    @router.delete(path, status_code=204, summary=f"Delete a {kind} document (state: or all of a context)")
    async def delete_documents(
        request: Request, principal: Annotated[Principal, Depends(require("ingest"))]
    ) -> Response:
        documents = request.app.state.deployment.lrs.documents
        key, _ = _key(kind, request.query_params, method="DELETE")
        match, none_match = request.headers.get("if-match"), request.headers.get("if-none-match")
        await run_in_threadpool(documents.delete, principal.tenant, key, if_match=match, if_none_match=none_match)
        return Response(status_code=204)


for _path, _kind in _PATHS.items():
    _document_routes(_path, _kind)
