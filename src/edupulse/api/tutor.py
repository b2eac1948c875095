"""``/api/v1/tutor``: passages for a learner's weak skills, and optional answers."""

from __future__ import annotations

import threading
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from edupulse.api.auth import Access, access
from edupulse.errors import InvalidEventError
from edupulse.tutor.tutor import Tutor, open_tutor

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/tutor", tags=["tutor"])
Reader = Annotated[Access, Depends(access("read"))]
_OPEN = threading.Lock()


class BadRequest(InvalidEventError):
    """The request body is not a retrieval request (400)."""


class RetrieveRequest(msgspec.Struct, forbid_unknown_fields=True):
    learner: Annotated[str, msgspec.Meta(min_length=1)]
    course: Annotated[str, msgspec.Meta(min_length=1)]
    question: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)] | None = None
    k: Annotated[int, msgspec.Meta(ge=1, le=50)] | None = None
    answer: bool = False


def tutor_of(request: Request) -> Tutor:
    """The app's tutor, opened on first use (loading the model takes a fraction of a second)."""
    state = request.app.state
    with _OPEN:
        if getattr(state, "tutor", None) is None:
            state.tutor = open_tutor(state.deployment.settings)
    tutor: Tutor = state.tutor
    return tutor


def _retrieve(request: Request, reader: Access, req: RetrieveRequest) -> dict[str, Any]:
    from edupulse.tutor.answer import answer  # noqa: PLC0415
    from edupulse.tutor.retrieve import retrieve  # noqa: PLC0415

    dep = request.app.state.deployment
    key = dep.learner_key(reader.caller.tenant, req.learner)  # an identifier or a pseudonym
    reader.caller.check_learner(key)  # the learner, their counsellors and instructors
    reader.audit(f"tutor:{key}")
    tutor = tutor_of(request)
    out = retrieve(
        tutor,
        dep.store,
        tenant=reader.caller.tenant,
        learner=key,
        course=req.course,
        question=req.question,
        k=req.k,
    )
    if req.answer:
        if not req.question:
            raise BadRequest("an answer needs a question: send 'question' with 'answer': true")
        out["answer"] = answer(tutor.settings, req.question, out["passages"])
    return out


@router.post("/retrieve", summary="Passages for a learner's weakest skills and recent failures, with citations")
async def retrieve_passages(
    request: Request,
    reader: Reader,
    body: Annotated[
        dict[str, Any],
        Body(examples=[{"learner": "ada", "course": "shell", "question": "How do I send output to a file?"}]),
    ],
) -> Response:
    try:
        req = msgspec.convert(body, RetrieveRequest)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"the body must be {{'learner', 'course', 'question'?, 'k'?, 'answer'?}}: {exc}") from None
    out = await run_in_threadpool(_retrieve, request, reader, req)
    return Response(msgspec.json.encode(out), media_type="application/json")
