"""Authentication with per-source credentials.

HTTP Basic (key as user, secret as password) for xAPI and the read API; a Bearer
token ``key:secret`` for Caliper sensors, which send their API key as a Bearer token.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine
from typing import Annotated

from fastapi import Depends, Request

from edupulse.errors import AuthError, ForbiddenError
from edupulse.privacy.credentials import Principal, Scope

__all__ = ["BearerAuthError", "authenticate", "authenticate_bearer", "require", "require_bearer"]


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


class BearerAuthError(AuthError):
    """A missing or wrong Bearer token (HTTP 401 with a Bearer challenge)."""

    challenge = 'Bearer realm="edupulse"'


async def authenticate_bearer(request: Request) -> Principal:
    """The principal behind ``Authorization: Bearer <key>:<secret>``, or a 401."""
    header = request.headers.get("authorization")
    if not header:
        raise BearerAuthError("missing Authorization header; send `Authorization: Bearer <key>:<secret>`")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BearerAuthError(f"unsupported authorization scheme {scheme!r}; use `Bearer <key>:<secret>`")
    key, sep, secret = token.strip().partition(":")
    if not sep or not key or not secret:
        raise BearerAuthError("the Bearer token must be <key>:<secret>, as `edupulse keys create` prints them")
    credentials = request.app.state.deployment.credentials
    try:
        principal: Principal = credentials.verify(key, secret)
    except AuthError as exc:
        raise BearerAuthError(str(exc)) from None
    return principal


def require_bearer(scope: Scope) -> Callable[[Principal], Coroutine[None, None, Principal]]:
    """A dependency that authenticates a Bearer token and checks one scope.

    A missing scope is a 401 too, as the Caliper endpoint rules ask ("cannot determine
    that the Sensor has sufficient privilege").
    """

    async def check(principal: Annotated[Principal, Depends(authenticate_bearer)]) -> Principal:
        try:
            principal.require(scope)
        except ForbiddenError as exc:
            raise BearerAuthError(str(exc)) from None
        return principal

    return check
