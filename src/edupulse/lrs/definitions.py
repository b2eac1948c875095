"""Canonical activity definitions: what the LRS knows of each activity, from its statements.

A new definition is merged into the known one: language maps gain or update their
languages, other properties take the newest value. A cache of the last written
definition per activity spares the store a write when nothing changed, which is the
common case (the same activities appear in statement after statement).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import msgspec

from edupulse.lrs.index import all_activities
from edupulse.lrs.store.base import StatementStore

__all__ = ["ActivityDefinitions", "merge_definition"]

_LANGUAGE_MAPS = ("name", "description")
_CACHED = 10_000
_encode = msgspec.json.Encoder(order="sorted").encode


def merge_definition(known: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    merged = dict(known)
    for field, value in new.items():
        if field in _LANGUAGE_MAPS and isinstance(merged.get(field), dict):
            merged[field] = {**merged[field], **value}
        else:
            merged[field] = value
    return merged


class ActivityDefinitions:
    """Keeps the store's activity definitions up to date as statements arrive."""

    def __init__(self, store: StatementStore) -> None:
        self.store = store
        self._known: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._sent: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def learn(self, tenant: str, statements: Iterable[dict[str, Any]]) -> None:
        for stmt in statements:
            for activity in all_activities(stmt):
                definition = activity.get("definition")
                if definition:
                    self._learn_one(tenant, activity["id"], definition)

    def _learn_one(self, tenant: str, activity_id: str, definition: dict[str, Any]) -> None:
        key = (tenant, activity_id)
        with self._lock:
            if self._sent.get(key) == definition:
                return  # the same definition as last time: nothing can change
            self._sent[key] = definition
            if len(self._sent) > _CACHED:
                self._sent.clear()
            known = self._known.get(key)
            if known is None:
                stored = self.store.activity(tenant, activity_id)
                known = msgspec.json.decode(stored) if stored else {}
            merged = merge_definition(known, definition)
            if merged != known:
                self.store.put_activity(tenant, activity_id, _encode(merged))
            self._known[key] = merged
            self._known.move_to_end(key)
            if len(self._known) > _CACHED:
                self._known.popitem(last=False)

    def get(self, tenant: str, activity_id: str) -> dict[str, Any] | None:
        raw = self.store.activity(tenant, activity_id)
        return msgspec.json.decode(raw) if raw else None
