"""The LRS of one deployment: its store, and the statement, document and activity services."""

from __future__ import annotations

from typing import Literal

from edupulse.log.base import EventLog
from edupulse.lrs.documents import Documents
from edupulse.lrs.reader import StatementReader
from edupulse.lrs.store.sqlite import SqliteLrsStore
from edupulse.lrs.writer import StatementWriter

__all__ = ["Lrs"]


class Lrs:
    """Statements in (``writer``) and out (``reader``), documents, activity definitions."""

    def __init__(
        self,
        log: EventLog,
        store: SqliteLrsStore,
        *,
        max_batch: int,
        unknown_verbs: Literal["reject", "other"],
        max_page: int = 500,
    ) -> None:
        self.store = store
        self.writer = StatementWriter(log, store, max_batch=max_batch, unknown_verbs=unknown_verbs)
        self.definitions = self.writer.definitions
        self.reader = StatementReader(store, self.definitions, max_limit=max_page)
        self.documents = Documents(store)

    def close(self) -> None:
        self.store.close()
