"""``/api/v1/me``, ``/api/v1/roster/users/{id}`` (identified data) and ``/api/v1/audit``."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from edupulse.api.auth import Access, access
from edupulse.errors import ForbiddenError, NotFoundError

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["people"])
Reader = Annotated[Access, Depends(access("read"))]
Admin = Annotated[Access, Depends(access("admin"))]


@router.get("/me", summary="Who the caller is, their roles and scope")
def me(reader: Reader) -> dict[str, Any]:
    caller = reader.caller
    out: dict[str, Any] = {"name": caller.name, "tenant": caller.tenant, "kind": caller.kind, "roles": caller.roles}
    if caller.person is not None:
        p = caller.person
        out |= {"courses": sorted(p.courses), "advisees": sorted(p.advisees), "students": sorted(p.students)}
    return out


@router.get("/roster/users/{sourced_id}", summary="A roster user's names and e-mail (identified; needs a purpose)")
def roster_user(request: Request, reader: Reader, sourced_id: str) -> dict[str, Any]:
    purpose = reader.need_purpose()
    user = request.app.state.deployment.roster.user(reader.caller.tenant, sourced_id)
    if user is None:
        raise NotFoundError(f"no roster user {sourced_id!r}")
    if not reader.caller.may_identify(user):
        raise ForbiddenError(f"{reader.caller.name} may not see who {sourced_id!r} is")
    reader.audit(f"user:{sourced_id}", kind="identified")
    return msgspec.structs.asdict(user) | {"purpose": purpose}


@router.get("/audit", summary="The audit log of personal-data reads, oldest first (administrators)")
async def audit(
    request: Request,
    admin: Admin,
    after: Annotated[int, Query(ge=0, le=2**62, description="Entries after this sequence number.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    subject: Annotated[str | None, Query(min_length=1)] = None,
) -> list[dict[str, Any]]:
    roster = request.app.state.deployment.roster
    rows = await run_in_threadpool(
        lambda: roster.audit_entries(admin.caller.tenant, after=after, limit=limit, subject=subject)
    )
    return [msgspec.structs.asdict(r) for r in rows]
