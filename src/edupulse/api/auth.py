"""HTTP Basic authentication with per-source credentials (key as user, secret as password)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine
from typing import Annotated

from fastapi import Depends, Request

from edupulse.errors import AuthError
from edupulse.privacy.credentials import Principal, Scope

__all__ = ["authenticate", "require"]


async def authenticate(request: Request) -> Principal:
    """The principal behind the request's Authorization header, or a 401.

    Async on purpose: verification is a dictionary look-up almost always (keys are
    cached), and a sync dependency would cost every request a hop through the thread pool.
    """
    header = request.headers.get("authorization")
    if not header:
        raise AuthError("missing Authorization header; send HTTP Basic credentials (key:secret)")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise AuthError(f"unsupported authorization scheme {scheme!r}; use HTTP Basic with key:secret")
    try:
        key, sep, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthError("the Basic credentials are not valid base64 of key:secret") from None
    if not sep:
        raise AuthError("the Basic credentials must be key:secret")
    credentials = request.app.state.deployment.credentials
    principal: Principal = credentials.verify(key, secret)
    return principal


def require(scope: Scope) -> Callable[[Principal], Coroutine[None, None, Principal]]:
    """A dependency that authenticates and checks one scope."""

    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        principal.require(scope)
        return principal

    return check
