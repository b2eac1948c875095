"""Documents (state, activity profiles, agent profiles): ETags, preconditions, JSON merge.

The ETag of a document is the SHA-1 of its content, in quotes. Preconditions follow
RFC 7232: ``If-Match`` (a list of ETags or ``*``) must match the current document,
``If-None-Match`` must not; otherwise 412. A PUT without either header to a document
that exists is a 409 where the spec asks for concurrency control (profiles, and state
in xAPI 2.0). POST merges JSON objects, top-level key by key.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import msgspec

from edupulse.errors import ConflictError, EdupulseError, InvalidEventError, NotFoundError
from edupulse.lrs.store.base import Document, DocumentKey, DocumentStore

__all__ = ["Documents", "PreconditionFailed", "etag_of"]

JSON_TYPE = "application/json"


class PreconditionFailed(EdupulseError):
    """An If-Match or If-None-Match header does not hold (HTTP 412)."""


def etag_of(content: bytes) -> str:
    return '"' + hashlib.sha1(content, usedforsecurity=False).hexdigest() + '"'


def _holds(header: str | None, current: Document | None) -> bool | None:
    """Whether an ETag list header matches the current document (None if no header)."""
    if header is None:
        return None
    if current is None:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or current.etag in tags


class Documents:
    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    def get(self, tenant: str, key: DocumentKey) -> Document:
        document = self.store.get_document(tenant, key)
        if document is None:
            raise NotFoundError(f"no document {key.doc_id!r} here")
        return document

    def ids(self, tenant: str, key: DocumentKey, since_us: int | None) -> list[str]:
        return self.store.document_ids(tenant, key, since_us)

    def _check(self, tenant: str, key: DocumentKey, if_match: str | None, if_none_match: str | None) -> Document | None:
        current = self.store.get_document(tenant, key)
        if _holds(if_match, current) is False:
            raise PreconditionFailed("If-Match does not match the document's current ETag (it changed, or is gone)")
        if _holds(if_none_match, current):
            raise PreconditionFailed("If-None-Match matches the document: it already exists")
        return current

    def put(
        self,
        tenant: str,
        key: DocumentKey,
        content: bytes,
        content_type: str,
        *,
        if_match: str | None,
        if_none_match: str | None,
        concurrency: bool,
    ) -> None:
        current = self._check(tenant, key, if_match, if_none_match)
        if concurrency and if_match is None and if_none_match is None:
            if current is not None:
                raise ConflictError(
                    "the document exists: send If-Match with its ETag to replace it (or If-None-Match: * to create)"
                )
            if key.kind != "state":
                raise InvalidEventError("a PUT of a profile needs If-Match (its ETag) or If-None-Match: *")
        if content_type.split(";", maxsplit=1)[0].strip() == JSON_TYPE:
            _json_object(content, require_object=False)
        self.store.put_document(tenant, key, Document(content, content_type, etag_of(content), time.time_ns() // 1000))

    def post(
        self,
        tenant: str,
        key: DocumentKey,
        content: bytes,
        content_type: str,
        *,
        if_match: str | None,
        if_none_match: str | None,
    ) -> None:
        current = self._check(tenant, key, if_match, if_none_match)
        if current is not None:
            if (
                current.content_type.split(";")[0].strip() != JSON_TYPE
                or content_type.split(";", maxsplit=1)[0].strip() != JSON_TYPE
            ):
                raise InvalidEventError("POST merges JSON documents: both the stored and the sent must be JSON objects")
            merged = {**_json_object(current.content), **_json_object(content)}
            content, content_type = msgspec.json.encode(merged), JSON_TYPE
        elif content_type.split(";")[0].strip() == JSON_TYPE:
            _json_object(content)
        self.store.put_document(tenant, key, Document(content, content_type, etag_of(content), time.time_ns() // 1000))

    def delete(self, tenant: str, key: DocumentKey, *, if_match: str | None, if_none_match: str | None) -> None:
        if key.doc_id:
            self._check(tenant, key, if_match, if_none_match)
        self.store.delete_documents(tenant, key)


def _json_object(content: bytes, *, require_object: bool = True) -> Any:
    try:
        value = msgspec.json.decode(content)
    except msgspec.DecodeError:
        raise InvalidEventError("the document is declared application/json but is not valid JSON") from None
    if require_object and not isinstance(value, dict):
        raise InvalidEventError("POST merges JSON objects; the document is JSON but not an object")
    return value
