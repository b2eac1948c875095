"""``/ui/signin`` and ``/ui/signout``: a browser session from the institution's token."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from edupulse.dashboard.render import page
from edupulse.dashboard.session import COOKIE, check_token, session_cookie
from edupulse.errors import AuthError, ForbiddenError

__all__ = ["router"]

router = APIRouter(prefix="/ui", tags=["dashboard"])
_MAX_FORM = 16_384


@router.get("/signin", summary="Dashboard: the sign-in page", response_class=HTMLResponse)
def signin_form(request: Request) -> HTMLResponse:
    return page(request, "signin.html", {"title": "Sign in", "error": None})


@router.post(
    "/signin",
    summary="Dashboard: sign in with a token (form field `token`); sets an HttpOnly session cookie",
    response_class=HTMLResponse,
    responses={303: {"description": "Signed in: on to the overview"}, 401: {}, 403: {}},
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "properties": {"token": {"type": "string"}}, "required": ["token"]}
                }
            }
        }
    },
)
async def signin(request: Request) -> Response:
    token = await _form_token(request)
    try:
        await check_token(request, token)
    except (AuthError, ForbiddenError) as exc:
        status = 403 if isinstance(exc, ForbiddenError) else 401
        return page(request, "signin.html", {"title": "Sign in", "error": str(exc)}, status=status)
    response = RedirectResponse("/ui/", status_code=303)
    response.set_cookie(**session_cookie(request, token))  # type: ignore[arg-type]
    return response


async def _form_token(request: Request) -> str:
    body = await request.body()
    if len(body) > _MAX_FORM:
        return ""
    try:
        fields = parse_qs(body.decode(), max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        return ""
    return (fields.get("token") or [""])[0].strip()


@router.post(
    "/signout",
    summary="Dashboard: sign out (clears the session cookie)",
    responses={303: {"description": "Signed out: on to the sign-in page"}},
)
def signout(request: Request) -> Response:
    response = RedirectResponse("/ui/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response
