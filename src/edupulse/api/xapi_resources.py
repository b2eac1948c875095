"""``/xapi/about``, ``/xapi/activities`` (an activity's canonical definition) and
``/xapi/agents`` (the Person object of an agent).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from edupulse import __version__
from edupulse.api.auth import require, require_audited
from edupulse.api.routing import get_and_head
from edupulse.errors import NotFoundError
from edupulse.lrs.validate import Invalid, check_actor
from edupulse.lrs.validate.agents import IFI_FIELDS
from edupulse.lrs.validate.values import check_iri
from edupulse.privacy.credentials import Principal

__all__ = ["router"]

router = APIRouter(prefix="/xapi", tags=["xAPI resources"])
VERSIONS = ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "2.0.0"]


def _only(request: Request, name: str) -> str:
    params = request.query_params
    for other in params:
        if other != name:
            raise Invalid(other, f"unknown parameter {other!r}; this resource takes only {name}")
    if name not in params:
        raise Invalid(name, f"the {name} parameter is required")
    return params[name]


@get_and_head(router, "/about", summary="The xAPI versions this LRS speaks")
async def about() -> Response:
    body = {"version": VERSIONS, "extensions": {"https://edupulse.dev/xapi/extensions/version": __version__}}
    return Response(msgspec.json.encode(body), media_type="application/json")


@get_and_head(router, "/activities", summary="An activity with its canonical definition")
async def activity(request: Request, principal: Annotated[Principal, Depends(require("read"))]) -> Response:
    activity_id = check_iri(_only(request, "activityId"), "activityId")
    lrs = request.app.state.deployment.lrs
    definition = await run_in_threadpool(lrs.definitions.get, principal.tenant, activity_id)
    body: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    if definition:
        body["definition"] = definition
    return Response(msgspec.json.encode(body), media_type="application/json")


@get_and_head(router, "/agents", summary="The Person object of an agent")
async def agents(request: Request, principal: Annotated[Principal, Depends(require_audited("read"))]) -> Response:
    try:
        agent = msgspec.json.decode(_only(request, "agent"))
    except msgspec.DecodeError:
        raise Invalid("agent", "agent must be an Agent as JSON") from None
    check_actor(agent, "agent")
    if agent.get("objectType") == "Group":
        raise NotFoundError("the agents resource describes Agents (a Person), not Groups")
    person: dict[str, Any] = {"objectType": "Person"}
    if "name" in agent:
        person["name"] = [agent["name"]]
    for field in IFI_FIELDS:
        if field in agent:
            person[field] = [agent[field]]
    _ = principal
    return Response(msgspec.json.encode(person), media_type="application/json")
