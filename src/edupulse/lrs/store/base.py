"""What every LRS store offers: statements with their query indexes, attachments, activities
and documents (state, activity profiles, agent profiles).

The embedded store is ``lrs.store.sqlite``; a PostgreSQL one implements the same protocol.
Statements are handed over already validated and completed (id, stored, authority,
version set); the store indexes them for the query parameters of ``GET /xapi/statements``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol

import msgspec

__all__ = [
    "Document",
    "DocumentKey",
    "DocumentKind",
    "DocumentStore",
    "NewStatement",
    "StatementQuery",
    "StatementStore",
    "StoredStatement",
]

DocumentKind = Literal["state", "activity_profile", "agent_profile"]


class NewStatement(msgspec.Struct, frozen=True, gc=False):
    """A completed statement to store, with what its query columns need.

    Its agents and activities the store derives from ``body`` itself (``index.agents_of``,
    ``index.activities_of``), when it indexes them.
    """

    id: str
    stored_us: int
    body: bytes  # the statement as JSON, with id, stored, authority and version
    verb: str
    registration: str | None
    voids: str | None = None  # the id this statement voids, if it is a voiding statement
    target: str | None = None  # the id its object refers to, if the object is a StatementRef
    attachments: tuple[str, ...] = ()  # sha2 of each attachment


class StoredStatement(msgspec.Struct, frozen=True, gc=False):
    seq: int
    id: str
    stored_us: int
    body: bytes
    voided: bool


class StatementQuery(msgspec.Struct, frozen=True):
    """The filters of ``GET /xapi/statements`` and where a page starts."""

    agent: str | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_activities: bool = False
    related_agents: bool = False
    since_us: int | None = None
    until_us: int | None = None
    limit: int = 0
    ascending: bool = False
    after_seq: int | None = None  # continue after this statement (the ``more`` cursor)
    through_seq: int | None = None  # ignore statements stored after the first page was read


class StatementStore(Protocol):
    def put(self, tenant: str, statements: Sequence[NewStatement]) -> None:
        """Store statements not stored yet (by id; a stored id is left as it is), durably."""

    def get(self, tenant: str, statement_id: str) -> StoredStatement | None:
        """One statement by id, voided or not."""

    def is_voiding(self, tenant: str, statement_id: str) -> bool:
        """Whether the statement stored under this id is a voiding statement."""

    def query(self, tenant: str, query: StatementQuery) -> list[StoredStatement]:
        """Statements matching the filters, voided ones left out, up to ``query.limit + 1``."""

    def last_seq(self) -> int:
        """The sequence number of the newest stored statement (0 if none)."""

    def put_attachment(self, sha2: str, content_type: str, content: bytes) -> None:
        """Keep an attachment's content by its SHA-2 (idempotent)."""

    def attachment(self, sha2: str) -> tuple[str, bytes] | None:
        """The content type and content of an attachment."""

    def put_activity(self, tenant: str, activity_id: str, definition: bytes) -> None:
        """Record the canonical definition of an activity (JSON)."""

    def activity(self, tenant: str, activity_id: str) -> bytes | None:
        """The canonical definition of an activity (JSON), or None if never seen."""

    def activities(self, tenant: str, activity_ids: Sequence[str]) -> dict[str, bytes]:
        """The canonical definitions (JSON) of those of the activities that have one."""

    def update_activities(
        self, tenant: str, activity_ids: Sequence[str], update: Callable[[dict[str, bytes]], dict[str, bytes]]
    ) -> None:
        """Read the definitions of the activities and store those ``update`` returns, atomically:
        no other writer, in this process or another, comes between the read and the write."""

    def close(self) -> None: ...


class DocumentKey(msgspec.Struct, frozen=True):
    """Where a document lives: its kind, the activity and/or agent, the registration, its id."""

    kind: DocumentKind
    activity: str = ""
    agent: str = ""
    registration: str | None = None  # None: no registration (one document), any registration (ids, delete)
    doc_id: str = ""


class Document(msgspec.Struct, frozen=True):
    content: bytes
    content_type: str
    etag: str
    updated_us: int


class DocumentStore(Protocol):
    def get_document(self, tenant: str, key: DocumentKey) -> Document | None: ...

    def document_ids(self, tenant: str, key: DocumentKey, since_us: int | None) -> list[str]:
        """Ids of the documents at ``key`` (its ``doc_id`` ignored), updated after ``since_us``."""

    def put_document(self, tenant: str, key: DocumentKey, document: Document) -> None: ...

    def delete_documents(self, tenant: str, key: DocumentKey) -> None:
        """Delete one document, or every one at ``key`` when its ``doc_id`` is empty."""
