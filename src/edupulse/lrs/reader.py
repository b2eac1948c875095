"""``GET /xapi/statements``: one statement by id, or pages of a query, in the asked format."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import msgspec

from edupulse.errors import NotFoundError
from edupulse.lrs.definitions import ActivityDefinitions
from edupulse.lrs.formats import canonical, ids_only
from edupulse.lrs.prepare import iso_time
from edupulse.lrs.query import Request, decode_more, encode_more, parse_request
from edupulse.lrs.store.base import StatementStore, StoredStatement

__all__ = ["StatementReader", "Statements"]

_decode = msgspec.json.decode
_encode = msgspec.json.encode


class Statements(msgspec.Struct, frozen=True):
    """What a GET returns: the JSON body, the attachments it refers to, and header values."""

    body: bytes
    consistent_through: str
    last_modified_us: int | None
    attachments: list[tuple[str, str, bytes]]  # (sha2, content type, content) when asked for
    multipart: bool = False  # attachments were asked for: answer multipart/mixed


class StatementReader:
    def __init__(self, store: StatementStore, definitions: ActivityDefinitions, *, max_limit: int = 500) -> None:
        self.store = store
        self.definitions = definitions
        self.max_limit = max_limit

    def read(self, tenant: str, params: Mapping[str, str], languages: list[str], path: str) -> Statements:
        if "more" in params:
            if len(params) > 1:
                raise NotFoundError("a more link is used as it is, without other parameters")
            request = decode_more(params["more"], max_limit=self.max_limit)
        else:
            request = parse_request(params, max_limit=self.max_limit)
        through = iso_time(time.time_ns() // 1000)
        if request.statement_id is not None:
            found = self._one(tenant, request)
            body = self._format(found, request, tenant, languages)
            attachments = self._attachments([found], request)
            return Statements(body, through, found.stored_us, attachments, request.attachments)
        return self._page(tenant, request, languages, path, through)

    def _one(self, tenant: str, request: Request) -> StoredStatement:
        assert request.statement_id is not None  # noqa: S101 - the caller checked
        found = self.store.get(tenant, request.statement_id)
        if found is None or found.voided != request.voided:
            what = "voided statement" if request.voided else "statement"
            state = " (it is voided: ask with voidedStatementId)" if found is not None and found.voided else ""
            raise NotFoundError(f"no {what} with id {request.statement_id}{state}")
        return found

    def _page(self, tenant: str, request: Request, languages: list[str], path: str, through: str) -> Statements:
        query = request.query
        if query.through_seq is None:
            query = msgspec.structs.replace(query, through_seq=self.store.last_seq())
        rows = self.store.query(tenant, query)
        more = ""
        if query.limit and len(rows) > query.limit:
            rows = rows[: query.limit]
            assert query.through_seq is not None  # noqa: S101 - set above
            more = f"{path}?more={encode_more(request, rows[-1].seq, query.through_seq)}"
        parts = b",".join(self._format(r, request, tenant, languages) for r in rows)
        body = b'{"statements":[' + parts + b'],"more":' + _encode(more) + b"}"
        last = max((r.stored_us for r in rows), default=None)
        return Statements(body, through, last, self._attachments(rows, request), request.attachments)

    def _format(self, row: StoredStatement, request: Request, tenant: str, languages: list[str]) -> bytes:
        if request.format == "exact":
            return row.body
        stmt: dict[str, Any] = _decode(row.body)
        if request.format == "ids":
            return _encode(ids_only(stmt))
        return _encode(canonical(stmt, languages, lambda iri: self.definitions.get(tenant, iri)))

    def _attachments(self, rows: list[StoredStatement], request: Request) -> list[tuple[str, str, bytes]]:
        if not request.attachments:
            return []
        found: dict[str, tuple[str, str, bytes]] = {}
        for row in rows:
            for att in _decode(row.body).get("attachments") or ():
                sha2 = att["sha2"]
                content = self.store.attachment(sha2) if sha2 not in found else None
                if content is not None:
                    found[sha2] = (sha2, content[0], content[1])
        return list(found.values())
