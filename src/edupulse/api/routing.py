"""Route helpers shared by the routers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter

__all__ = ["get_and_head"]

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def get_and_head(router: APIRouter, path: str, **kwargs: Any) -> Callable[[Endpoint], Endpoint]:
    """Register an endpoint for GET and for HEAD (the same answer without its body; HEAD kept out of the schema)."""

    def register(endpoint: Endpoint) -> Endpoint:
        router.add_api_route(path, endpoint, methods=["GET"], **kwargs)
        router.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False)
        return endpoint

    return register
