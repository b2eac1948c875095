"""Reading a request body within a size limit, for every ingest endpoint."""

from __future__ import annotations

from fastapi import Request

from edupulse.api.errors import PayloadTooLarge
from edupulse.errors import InvalidEventError

__all__ = ["read_limited"]


async def read_limited(request: Request, limit: int, *, unit: str, empty: str | None) -> bytes:
    """The body, refusing anything over ``limit`` bytes without reading it all.

    ``unit`` names what the client should split (a batch, an envelope); ``empty`` is the
    message for an empty body, or None if an empty body is allowed.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body has {declared} bytes; the limit is {limit} (split the {unit})")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is over the limit of {limit} bytes (split the {unit})")
        chunks.append(chunk)
    body = b"".join(chunks)
    if empty is not None and not body.strip():
        raise InvalidEventError(empty)
    return body
