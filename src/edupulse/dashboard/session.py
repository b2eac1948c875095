"""Browser sessions: a sign-in page that turns a person's token into an HttpOnly cookie.

The cookie holds the institution's token (a JWT) itself, so every request is checked
exactly as an API call with ``Authorization: Bearer <token>`` is (``api.auth.access``):
``SessionCookie`` copies the cookie into that header when a request has none. A request
that changes state (any method but GET and HEAD) gets the cookie's credentials only with
the ``X-Edupulse-Dashboard`` header, which another site's form or script cannot send
(besides ``SameSite=Strict``), so the cookie cannot be used for cross-site requests.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import TYPE_CHECKING

from starlette.datastructures import MutableHeaders
from starlette.requests import Request

from edupulse.access.tokens import looks_like_jwt
from edupulse.api.auth import authenticate_caller
from edupulse.errors import AuthError, ForbiddenError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from edupulse.access.caller import Caller

__all__ = ["COOKIE", "CSRF_HEADER", "SessionCookie", "check_token", "session_cookie"]

COOKIE = "edupulse_session"
CSRF_HEADER = "x-edupulse-dashboard"
_SAFE = {"GET", "HEAD", "OPTIONS"}


class SessionCookie:
    """ASGI middleware: a signed-in browser's cookie stands for its Bearer token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = MutableHeaders(scope=scope)
            token = _cookie(headers.get("cookie"))
            allowed = scope["method"] in _SAFE or CSRF_HEADER in headers
            if token and allowed and "authorization" not in headers:
                headers["authorization"] = f"Bearer {token}"
        await self.app(scope, receive, send)


def _cookie(header: str | None) -> str | None:
    if not header or COOKIE not in header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except ValueError:  # http.cookies.CookieError
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None and looks_like_jwt(morsel.value) else None


async def check_token(request: Request, token: str) -> Caller:
    """The person behind ``token``, checked as an API call with it would be, or an error."""
    if not looks_like_jwt(token):
        raise AuthError("paste the sign-in token (a JWT: three dot-separated parts) your institution issued")
    scope = dict(request.scope)
    scope["headers"] = [
        *[(k, v) for k, v in request.scope["headers"] if k != b"authorization"],
        (b"authorization", f"Bearer {token}".encode()),
    ]
    caller = await authenticate_caller(Request(scope))
    try:
        caller.require_reader()
    except ForbiddenError as exc:
        raise ForbiddenError(f"{exc}; the dashboard is for people with a role in the roster") from exc
    return caller


def session_cookie(request: Request, token: str) -> dict[str, object]:
    """The ``set_cookie`` arguments of a session: HttpOnly, SameSite=Strict, Secure under TLS."""
    return {
        "key": COOKIE,
        "value": token,
        "httponly": True,
        "samesite": "strict",
        "secure": request.url.scheme == "https",
        "path": "/",
    }
