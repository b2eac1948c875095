"""Pages from Jinja templates, and errors on pages shown as pages (same status as the API's)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["HTML_HEADERS", "is_page", "page", "render_error"]

# Scripts and styles from this server only (plotly.js sets inline styles on its charts).
HTML_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _when(us: int | None) -> str:
    if not us:
        return "—"
    return datetime.fromtimestamp(us / 1e6, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("edupulse.dashboard", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["num"] = _num
    return env


def page(request: Request, template: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    """Render ``template`` with the page's data (and the data as JSON, for the charts)."""
    html = _env().get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status, headers=HTML_HEADERS)


def is_page(request: Request) -> bool:
    """A dashboard page (HTML), as opposed to its data, assets or the JSON API."""
    path = request.url.path
    return path.startswith("/ui") and not path.startswith(("/ui/data/", "/ui/static/"))


def render_error(request: Request, response: Response) -> Response:
    """The JSON error response of the API, as a page naming the problem (status unchanged)."""
    try:
        message = json.loads(bytes(response.body))["message"]
    except (ValueError, KeyError, TypeError):
        message = "the request failed"
    context = {"status": response.status_code, "message": message, "title": "Cannot show this page"}
    out = page(request, "error.html", context, status=response.status_code)
    if response.status_code == 401:  # a Basic challenge would open the browser's own password prompt
        out.headers["WWW-Authenticate"] = 'Bearer realm="edupulse"'
    return out
