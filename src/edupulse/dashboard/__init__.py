"""The live dashboard: server-rendered pages under ``/ui`` served by the API process.

``install(app)`` adds the pages, their data endpoints, the sign-in routes, the assets,
the session cookie middleware and the HTML error pages to the API's app.
"""

from __future__ import annotations

import inspect

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from edupulse.dashboard import assets, routes, signin
from edupulse.dashboard.render import is_page, render_error
from edupulse.dashboard.session import SessionCookie
from edupulse.errors import EdupulseError

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Add the dashboard to the API's app (after its error handlers are installed)."""
    app.include_router(signin.router)
    app.include_router(assets.router)
    app.include_router(routes.router)
    app.add_middleware(SessionCookie)
    for kind in (EdupulseError, RequestValidationError):
        _html_errors(app, kind)


def _html_errors(app: FastAPI, kind: type[Exception]) -> None:
    """Errors on a page become a page (same status and message); elsewhere, the API's JSON."""
    api_handler = app.exception_handlers[kind]

    async def handle(request: Request, exc: Exception) -> Response:
        answer = api_handler(request, exc)
        response: Response = await answer if inspect.isawaitable(answer) else answer
        return render_error(request, response) if is_page(request) else response

    app.add_exception_handler(kind, handle)
