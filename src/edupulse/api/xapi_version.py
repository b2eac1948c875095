"""xAPI version negotiation and the alternate request syntax, as one ASGI middleware.

Every ``/xapi`` request but ``/xapi/about`` must say ``X-Experience-API-Version``
(1.0.x or 2.0.x), else 400; every response says the version it speaks (1.0.3 or
2.0.0). xAPI 1.0.3's alternate request syntax (a POST with ``?method=PUT`` and the
headers, parameters and content as form fields, for browsers) is rewritten into the
plain request before routing; xAPI 2.0 removed it, so there it is a 400.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edupulse.lrs.prepare import iso_time

__all__ = ["XapiVersion"]

_V1 = re.compile(r"^1\.0(\.\d+)?$")
_V2 = re.compile(r"^2\.0(\.\d+)?$")
_FORM_HEADERS = frozenset(
    ("authorization", "x-experience-api-version", "content-type", "content-length", "if-match", "if-none-match")
)
_METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")


def _error(status: int, message: str, version: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = msgspec.json.encode({"error": "bad_request", "message": message})
    headers = [(b"content-type", b"application/json"), (b"x-experience-api-version", version.encode())]
    return status, headers, body


class XapiVersion:
    def __init__(self, app: ASGIApp, default_version: str = "2.0.0") -> None:
        self.app = app
        self.default_version = default_version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/xapi"):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST" and b"method=" in scope.get("query_string", b""):
            rewritten = await self._alternate(scope, receive)
            if len(rewritten) == 3:
                await _respond(send, *rewritten)
                return
            scope, receive = rewritten
        await self._versioned(scope, receive, send)

    async def _versioned(self, scope: Scope, receive: Receive, send: Send) -> None:
        header = _header(scope, b"x-experience-api-version")
        about = scope["path"].rstrip("/") == "/xapi/about"
        if header is not None and _V2.match(header):
            version = "2.0.0"
        elif header is not None and _V1.match(header):
            version = "1.0.3"
        elif about and header is None:
            version = "2.0.0"
        else:
            problem = "is missing" if header is None else f"is {header!r}, which this LRS does not speak"
            message = f"the X-Experience-API-Version header {problem}; send 1.0.3 or 2.0.0"
            await _respond(send, *_error(400, message, self.default_version))
            return
        scope.setdefault("state", {})["xapi_version"] = version
        extra = [(b"x-experience-api-version", version.encode())]
        if scope["method"] in ("GET", "HEAD") and scope["path"].rstrip("/") == "/xapi/statements":
            extra.append((b"x-experience-api-consistent-through", iso_now().encode()))

        async def send_versioned(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in names)]
            await send(message)

        await self.app(scope, receive, send_versioned)

    async def _alternate(self, scope: Scope, receive: Receive) -> Any:
        params = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        method = params.pop("method", "").upper()
        if params:
            return _error(400, "the alternate request syntax takes only the method query parameter", "1.0.3")
        if method not in _METHODS:
            return _error(400, f"method must be one of {', '.join(_METHODS)}, got {method!r}", "1.0.3")
        content_type = (_header(scope, b"content-type") or "").split(";")[0].strip()
        if content_type != "application/x-www-form-urlencoded":
            return _error(400, "the alternate request syntax is sent as application/x-www-form-urlencoded", "1.0.3")
        body = await _read(receive)
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        version = form.get("X-Experience-API-Version", "")
        if _V2.match(version) or _V2.match(_header(scope, b"x-experience-api-version") or ""):
            return _error(400, "xAPI 2.0 has no alternate request syntax; send the plain request", "2.0.0")
        headers = [h for h in scope["headers"] if h[0] not in (b"content-type", b"content-length")]
        content = form.pop("content", "").encode()
        for name in list(form):
            if name.lower() in _FORM_HEADERS:
                headers = [h for h in headers if h[0] != name.lower().encode()]
                headers.append((name.lower().encode(), form.pop(name).encode("latin-1")))
        if not any(h[0] == b"content-type" for h in headers) and content:
            headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(content)).encode()))
        new_scope = {**scope, "method": method, "headers": headers, "query_string": urlencode(form).encode()}
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": content, "more_body": False}

        return new_scope, replay


def iso_now() -> str:
    return iso_time(time.time_ns() // 1000)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _read(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
