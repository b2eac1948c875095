"""``/ui/static/...``: the dashboard's script and style, and plotly.js from the installed
``plotly`` package, so that no CDN and no Node are needed at run time."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from edupulse.errors import NotFoundError

__all__ = ["asset_path", "router"]

router = APIRouter(prefix="/ui/static", tags=["dashboard"])
_OWN = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
_CACHE = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}


def asset_path(name: str) -> Path:
    """Where an asset is on disk, or ``NotFoundError``."""
    if name == "plotly.min.js":
        return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    if name in _OWN:
        return Path(str(resources.files("edupulse.dashboard") / "static" / name))
    raise NotFoundError(f"no dashboard asset {name!r}; there are {sorted([*_OWN, 'plotly.min.js'])}")


@router.get("/{asset}", summary="Dashboard: its script, style, and plotly.js", response_class=FileResponse)
def asset(asset: str) -> FileResponse:
    media = _OWN.get(asset, "text/javascript")
    return FileResponse(asset_path(asset), media_type=media, headers=_CACHE)
