"""Route helpers shared by the routers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query

__all__ = ["Page", "PageSize", "get_and_head"]

# Pages of a paginated list: numbered from 1, bounded so that an offset always fits a
# 64-bit integer (a page beyond the end is an empty page, never a server error).
Page = Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1")]
PageSize = Annotated[int, Query(ge=1, le=500, description="Rows per page")]

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def get_and_head(router: APIRouter, path: str, **kwargs: Any) -> Callable[[Endpoint], Endpoint]:
    """Register an endpoint for GET and for HEAD (the same answer without its body; HEAD kept out of the schema)."""

    def register(endpoint: Endpoint) -> Endpoint:
        router.add_api_route(path, endpoint, methods=["GET"], **kwargs)
        router.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False)
        return endpoint

    return register
