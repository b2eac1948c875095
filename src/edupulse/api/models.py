"""``/api/v1/models``: the model registry for operators: versions, aliases, promote and roll back.

Models serve the whole deployment, so reading them takes tenant-wide access
(administrators, read keys) and moving an alias takes an administrator. A promotion
reaches running processors and workers within ``models.poll_interval_s``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Request

from edupulse.api.auth import Access, access
from edupulse.ml import model_admin

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/models", tags=["models"])
Reader = Annotated[Access, Depends(access("everything"))]
Admin = Annotated[Access, Depends(access("admin"))]
Name = Annotated[Literal["risk", "mastery"], Path(description="The model: risk or mastery.")]
Version = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")]
Alias = Annotated[Literal["champion", "challenger"], Body(embed=True)]


@router.get("", summary="Every stored version of each model, with the aliases naming them")
def list_models(request: Request, reader: Reader) -> dict[str, Any]:
    return model_admin.listing(request.app.state.deployment.settings)


@router.get("/{name}", summary="The champion's card (data snapshot, features, parameters, metrics), alias history")
def show_champion(request: Request, reader: Reader, name: Name) -> dict[str, Any]:
    return model_admin.show(request.app.state.deployment.settings, name)


@router.get("/{name}/versions/{version}", summary="One version's card, and the alias history")
def show_version(request: Request, reader: Reader, name: Name, version: Version) -> dict[str, Any]:
    return model_admin.show(request.app.state.deployment.settings, name, version)


@router.post("/{name}/versions/{version}/promote", summary="Point an alias (default champion) at this version")
def promote(request: Request, admin: Admin, name: Name, version: Version, alias: Alias = "champion") -> dict[str, Any]:
    settings = request.app.state.deployment.settings
    return model_admin.promote(settings, name, version, alias=alias, actor=f"api:{admin.caller.name}")


@router.post("/{name}/rollback", summary="Put back the version the alias (default champion) named before")
def rollback(request: Request, admin: Admin, name: Name, alias: Alias = "champion") -> dict[str, Any]:
    settings = request.app.state.deployment.settings
    return model_admin.rollback(settings, name, alias=alias, actor=f"api:{admin.caller.name}")
