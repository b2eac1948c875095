"""``/api/v1/privacy``: erasure requests (GDPR article 17), for admins."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Body, Depends, Request
from starlette.concurrency import run_in_threadpool

from edupulse.api.auth import Access, access
from edupulse.privacy.erasure import erase_serving

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"])
Admin = Annotated[Access, Depends(access("everything"))]
Learner = Annotated[str, Body(embed=True, min_length=1, max_length=2000)]

PURGE = (
    "embedded: the log's records are deleted and the lake's files vacuumed by `edupulse forget LEARNER` "
    "with processing stopped; Kafka: the records stay sealed under the shredded key until the topic's retention"
)


@router.post("/erasures", status_code=202, summary="Erase a learner: everything a running deployment can, at once")
async def erase(request: Request, admin: Admin, learner: Learner) -> dict[str, Any]:
    """Erase a learner of the caller's tenant, named by identifier (e-mail, mailto:, account:HOME|NAME,
    sha1:, openid:, an LMS id) or pseudonym: shred their key, record their tombstone, delete their LRS
    statements, view rows, state, outbox messages and lake rows; ``steps`` says what each step did."""
    admin.caller.require_admin()  # administrators (roster admins, admin keys) only
    dep = request.app.state.deployment
    tenant = admin.caller.tenant
    report = await run_in_threadpool(erase_serving, dep.settings, tenant, learner, vault=dep.vault, store=dep.store)
    dep.note_erased(report.pseudonym, report.erased_us)  # this process's runtime; others poll the tombstones
    return {**msgspec.structs.asdict(report), "purge": PURGE}
