"""One place that turns edupulse errors into HTTP responses with clear messages."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from edupulse.errors import (
    AuthError,
    ConflictError,
    EdupulseError,
    ForbiddenError,
    InvalidEventError,
    NotFoundError,
    TransientError,
)

__all__ = ["PayloadTooLarge", "install_error_handlers"]


class PayloadTooLarge(InvalidEventError):
    """The request body is over the configured limit (HTTP 413)."""


_STATUS: list[tuple[type[EdupulseError], int, str]] = [
    (PayloadTooLarge, 413, "payload_too_large"),
    (InvalidEventError, 400, "bad_request"),
    (AuthError, 401, "unauthorized"),
    (ForbiddenError, 403, "forbidden"),
    (NotFoundError, 404, "not_found"),
    (ConflictError, 409, "conflict"),
    (TransientError, 503, "unavailable"),
]


def _response(exc: EdupulseError) -> JSONResponse:
    status, code = 500, "internal_error"
    for kind, kind_status, kind_code in _STATUS:
        if isinstance(exc, kind):
            status, code = kind_status, kind_code
            break
    if status == 400 and not isinstance(exc, InvalidEventError):
        status, code = 400, "bad_request"
    body: dict[str, object] = {"error": code, "message": str(exc)}
    problems = getattr(exc, "problems", None)
    if problems:
        body["problems"] = [{"index": p.index, "path": p.path, "message": p.message} for p in problems]
    challenge = getattr(exc, "challenge", 'Basic realm="edupulse"')
    headers = {"WWW-Authenticate": challenge} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": "1"}
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map every edupulse error, and FastAPI's own parameter errors, to a clear 4xx/5xx."""

    async def on_edupulse(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, EdupulseError)  # noqa: S101 - registered for this type only
        return _response(exc)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)  # noqa: S101
        problems = [{"path": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in exc.errors()]
        first = problems[0] if problems else {"path": "?", "message": "invalid request"}
        message = f"{first['path']}: {first['message']}"
        return JSONResponse({"error": "bad_request", "message": message, "problems": problems}, status_code=400)

    app.add_exception_handler(EdupulseError, on_edupulse)
    app.add_exception_handler(RequestValidationError, on_validation)
