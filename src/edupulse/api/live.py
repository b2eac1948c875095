"""``/api/v1/stream``: server-sent events of view changes, resumable with Last-Event-ID."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Annotated, Any, Protocol

import msgspec
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from edupulse.access.caller import Caller
from edupulse.api.auth import Access, access
from edupulse.stream.store.base import Change, StateStore

__all__ = ["Bell", "ChangeNotifier", "router"]

router = APIRouter(prefix="/api/v1", tags=["live"])
KEEPALIVE_S = 15.0


class Bell(Protocol):
    """What wakes the live streams: a ``Doorbell`` (embedded), or a waiter on the state
    store's change notifications (scale-out: ``PostgresStore.wait_for_changes``)."""

    def wait(self, timeout_s: float) -> bool:
        """Block until a commit may have changed views, or the timeout; True if woken."""


class ChangeNotifier:
    """Wakes this process's live streams when a runtime (here or in another process) commits."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: set[asyncio.Event] = set()
        self._stop = threading.Event()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def watch(self, bell: Bell) -> threading.Thread:
        """One thread per process listens for commits and fans them out to every stream."""

        def listen() -> None:
            while not self._stop.is_set():
                if bell.wait(0.5):
                    self.notify()

        thread = threading.Thread(target=listen, name="change-notifier", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def notify(self, *_: object) -> None:
        """Thread-safe: called by the runtime after each commit."""
        if self._loop is not None and self._waiters:
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for event in self._waiters:
            event.set()

    async def wait(self, timeout: float) -> None:
        event = asyncio.Event()
        self._waiters.add(event)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(event)


def _matches(change: Change, caller: Caller, course: str | None, learner: str | None) -> bool:
    row = change.row
    if row.get("tenant") != caller.tenant or not caller.sees_row(row):
        return False
    if course is not None and row.get("course") != course:
        return False
    return learner is None or row.get("learner") == learner


async def _events(
    request: Request, store: StateStore, notifier: ChangeNotifier, start: int, filters: dict[str, Any]
) -> AsyncIterator[bytes]:
    seq = start
    yield b"retry: 2000\n\n"
    while not await request.is_disconnected():
        changes = await run_in_threadpool(store.changes_since, seq, 500)
        for change in changes:
            seq = change.seq
            if _matches(change, **filters):
                data = msgspec.json.encode(change.row)
                yield b"id: %d\nevent: %s\ndata: %s\n\n" % (seq, change.view.encode(), data)
        if len(changes) < 500:
            waited = asyncio.get_running_loop().time()
            await notifier.wait(KEEPALIVE_S)
            if asyncio.get_running_loop().time() - waited >= KEEPALIVE_S - 0.01:
                yield b": keepalive\n\n"


@router.get(
    "/stream",
    summary="Live view changes as server-sent events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    request: Request,
    reader: Annotated[Access, Depends(access("read"))],
    course: Annotated[str | None, Query(min_length=1)] = None,
    learner: Annotated[str | None, Query(min_length=1)] = None,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0)] = None,
) -> StreamingResponse:
    deployment = request.app.state.deployment
    if learner is not None:
        learner = deployment.learner_key(reader.caller.tenant, learner)  # an identifier or a pseudonym
        reader.caller.check_learner(learner)
    elif course is not None:
        reader.caller.check_course(course)
    await run_in_threadpool(reader.audit, f"stream:{learner or course or '*'}")
    store = deployment.store
    start = last_event_id if last_event_id is not None else await run_in_threadpool(store.last_change)
    filters = {"caller": reader.caller, "course": course, "learner": learner}
    return StreamingResponse(
        _events(request, store, request.app.state.notifier, start, filters),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
