"""``/api/v1/privacy``: erasure requests (GDPR article 17), for admins."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Body, Depends, Request
from starlette.concurrency import run_in_threadpool

from edupulse.api.auth import Access, access
from edupulse.privacy.erasure import shred

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"])
Admin = Annotated[Access, Depends(access("everything"))]
Learner = Annotated[str, Body(embed=True, min_length=1, max_length=2000)]

PURGE = (
    "the learner's key is shredded (their payloads, in every store and backup, no longer open), "
    "their tombstone recorded and their LRS statements deleted; the log records, lake rows and "
    "view rows are deleted by `edupulse forget LEARNER` with processing stopped"
)


@router.post("/erasures", status_code=202, summary="Erase a learner: shred their key now, purge the rest offline")
async def erase(request: Request, admin: Admin, learner: Learner) -> dict[str, Any]:
    """Erase a learner of the caller's tenant, named by identifier (e-mail, mailto:, account:HOME|NAME,
    sha1:, openid:, an LMS id) or pseudonym."""
    admin.caller.require_admin()  # administrators (roster admins, admin keys) only
    dep = request.app.state.deployment
    report = await run_in_threadpool(shred, dep.settings, admin.caller.tenant, learner, vault=dep.vault)
    dep.note_erased(report.pseudonym, report.erased_us)
    return {**msgspec.structs.asdict(report), "purge": PURGE}
