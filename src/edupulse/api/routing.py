"""Route helpers shared by the routers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query

from edupulse.errors import NotFoundError

__all__ = ["Page", "PageSize", "as_asked", "get_and_head"]

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


@contextmanager
def as_asked(key: str, learner: str) -> Iterator[None]:
    """A learner not found is named as the caller named them, not by the pseudonym they are stored under."""
    try:
        yield
    except NotFoundError as exc:
        raise NotFoundError(str(exc).replace(repr(key), repr(learner))) from exc
