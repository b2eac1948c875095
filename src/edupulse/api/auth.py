"""Authentication with per-source credentials.

HTTP Basic (key as user, secret as password) for xAPI and the read API; a Bearer
token ``key:secret`` for Caliper sensors, which send their API key as a Bearer token.
People send a Bearer JWT (``access.tokens``); ``access(level)`` is the dependency of
every analytics endpoint: it takes either kind of caller, checks its level, and
carries the stated purpose into the audit log.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec
from fastapi import Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool

from edupulse.access.caller import Caller
from edupulse.access.tokens import TokenVerifier, looks_like_jwt
from edupulse.errors import AuthError, ForbiddenError, InvalidEventError
from edupulse.events.xapi import Agent, learner_id
from edupulse.privacy.credentials import Principal, Scope
from edupulse.roster.base import AuditEntry, AuditKind, Person

if TYPE_CHECKING:
    from edupulse.deployment import Deployment

__all__ = [
    "Access",
    "BearerAuthError",
    "PurposeError",
    "access",
    "authenticate",
    "authenticate_bearer",
    "authenticate_caller",
    "require",
    "require_audited",
    "require_bearer",
]


class PurposeError(InvalidEventError):
    """A read of identified data without a stated purpose (HTTP 400)."""


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


def _tokens(request: Request) -> TokenVerifier:
    verifier: TokenVerifier | None = getattr(request.app.state, "tokens", None)
    if verifier is None:
        settings = request.app.state.deployment.settings
        verifier = request.app.state.tokens = TokenVerifier(settings.auth, default_tenant=settings.tenant)
    return verifier


async def authenticate_caller(request: Request) -> Caller:
    """A source key (HTTP Basic, or Bearer ``key:secret``) or a person (Bearer JWT), or a 401."""
    header = request.headers.get("authorization")
    if not header:
        raise AuthError("missing Authorization header; send HTTP Basic key:secret, or a Bearer token")
    scheme, _, value = header.partition(" ")
    token = value.strip()
    if scheme.lower() == "bearer" and looks_like_jwt(token):
        try:
            claims = await run_in_threadpool(_tokens(request).verify, token)  # a JWKS URL may be fetched
        except AuthError as exc:
            raise BearerAuthError(str(exc)) from None
        deployment = request.app.state.deployment
        person = await run_in_threadpool(deployment.roster.person, claims.tenant, claims.subject)
        if person is None:
            raise ForbiddenError(
                f"{claims.subject!r} is not in tenant {claims.tenant!r}'s roster (see `edupulse import oneroster`)"
            )
        person = _with_pseudonyms(deployment, person)
        return Caller(f"user:{person.user.sourced_id}", claims.tenant, "person", person=person)
    principal = await (authenticate_bearer(request) if scheme.lower() == "bearer" else authenticate(request))
    return Caller(principal.name, principal.tenant, "key", frozenset(principal.scopes))


class Access:
    """An authorised request: its caller, stated purpose, and the audit of what it reads."""

    def __init__(self, request: Request, caller: Caller, purpose: str | None) -> None:
        self.caller = caller
        self.purpose = purpose
        self.action = f"{request.method} {request.url.path}"
        self._roster = request.app.state.deployment.roster

    def need_purpose(self) -> str:
        if not self.purpose:
            raise PurposeError("identified data needs a purpose: add ?purpose=... or the X-Purpose header")
        return self.purpose

    def audit(self, subject: str, kind: AuditKind = "personal") -> None:
        """Record that the caller read personal data of ``subject`` (append-only)."""
        entry = AuditEntry(
            at_us=time.time_ns() // 1000,
            tenant=self.caller.tenant,
            actor=self.caller.name,
            roles=" ".join(self.caller.roles),
            action=self.action,
            subject=subject[:500],
            purpose=(self.purpose or "unstated")[:200],
            kind=kind,
        )
        self._roster.audit(entry)


AccessLevel = Literal["read", "everything", "admin"]


def access(level: AccessLevel) -> Callable[..., Coroutine[None, None, Access]]:
    """A dependency: authenticate, check the level, and carry the purpose for the audit.

    ``read``: any reader (its rows are then filtered by scope); ``everything``: tenant-wide
    data (administrators, read keys); ``admin``: administrators.
    """

    async def check(
        request: Request,
        caller: Annotated[Caller, Depends(authenticate_caller)],
        purpose: Annotated[str | None, Query(max_length=200, description="Why the data is read (audited).")] = None,
        x_purpose: Annotated[str | None, Header(alias="X-Purpose", max_length=200)] = None,
    ) -> Access:
        {"read": caller.require_reader, "everything": caller.require_everything, "admin": caller.require_admin}[level]()
        return Access(request, caller, purpose or x_purpose)

    return check


def require_audited(scope: Scope) -> Callable[..., Coroutine[None, None, Principal]]:
    """``require(scope)``, and an audit entry for the read (LRS reads return agents' identifiers).

    The purpose comes from the ``X-Purpose`` header only: the xAPI resources refuse
    query parameters they do not define.
    """

    scoped = require(scope)

    async def check(request: Request) -> Principal:
        principal = await scoped(await authenticate(request))
        caller = Caller(principal.name, principal.tenant, "key", frozenset(principal.scopes))
        entry = Access(request, caller, request.headers.get("x-purpose"))
        await run_in_threadpool(entry.audit, _lrs_subject(request, principal.tenant), "identified")
        return principal

    return check


def _lrs_subject(request: Request, tenant: str) -> str:
    """What an LRS read is about, as the audit log keeps it: the agent's pseudonym, never the
    agent's identifier or the statement ids asked for (an erased learner leaves no trace there)."""
    agent = request.query_params.get("agent")
    if agent is not None:
        try:
            learner = learner_id(msgspec.json.decode(agent, type=Agent))
        except (msgspec.DecodeError, msgspec.ValidationError):
            return f"xapi:{request.url.path} agent:unreadable"
        return f"{request.app.state.deployment.learner_key(tenant, learner)}"
    return f"xapi:{request.url.path}"


def _with_pseudonyms(deployment: Deployment, person: Person) -> Person:
    """The person's learner keys (the roster's ids) together with their pseudonyms.

    Views, alerts and the lake key learners by pseudonym when pseudonymisation is on;
    the roster names them by their ids. Adding each id's pseudonym lets the scope checks
    compare the two (``Caller.check_learner``, ``sees_row``).
    """

    def both(keys: frozenset[str]) -> frozenset[str]:
        return keys | {deployment.learner_key(person.tenant, k) for k in keys}

    return msgspec.structs.replace(
        person, students=both(person.students), advisees=both(person.advisees), own=both(person.own)
    )
