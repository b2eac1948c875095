"""``/api/v1/sql``: read-only SQL over the lake's history, for administrators (audited with the query).

Only one SELECT per request; anything else is a 400 naming what was sent. The query
sees the rows of the key's own tenant only, and cannot touch files (see ``lake.sql``).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Body, Depends, Request, Response

from edupulse.api.auth import Access, access

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["lake"])
Admin = Annotated[Access, Depends(access("admin"))]


class SqlRequest(msgspec.Struct):
    sql: Annotated[str, msgspec.Meta(min_length=1)]
    max_rows: Annotated[int, msgspec.Meta(ge=1)] | None = None


@router.post("/sql", summary="Run one read-only SELECT over the lake (DuckDB SQL); admin scope")
def sql(
    request: Request,
    admin: Admin,
    body: Annotated[dict[str, Any], Body(examples=[{"sql": "SELECT verb, count(*) AS n FROM events GROUP BY verb"}])],
) -> Response:
    from edupulse.lake.sql import SqlError, query  # noqa: PLC0415 - DuckDB and Arrow load on first use

    try:
        req = msgspec.convert(body, SqlRequest)
    except msgspec.ValidationError as exc:
        raise SqlError(f"the body must be {{'sql': 'SELECT ...', 'max_rows': N}}: {exc}") from None
    admin.audit(f"sql:{req.sql}")
    settings = request.app.state.deployment.settings
    limit = min(req.max_rows or settings.lake.sql_max_rows, settings.lake.sql_max_rows)
    table = query(
        settings,
        req.sql,
        tenant=admin.caller.tenant,
        read_only=True,
        max_rows=limit + 1,
        timeout_s=settings.lake.sql_timeout_s,
    )
    rows = table.slice(0, limit).to_pylist()
    out = {"columns": table.column_names, "rows": rows, "truncated": table.num_rows > limit}
    return Response(msgspec.json.encode(out), media_type="application/json")
