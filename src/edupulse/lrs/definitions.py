"""Canonical activity definitions: what the LRS knows of each activity, from its statements.

A new definition is merged into the known one: language maps gain or update their
languages, other properties take the newest value. The store holds the only copy, so
several API processes writing statements stay consistent: each request reads the
definitions of its activities at once, and writes (reading them again, merging and
writing in one transaction) only when something changed, which is rare (the same
activities come back in statement after statement with the same definitions).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from edupulse.lrs.index import all_activities
from edupulse.lrs.store.base import StatementStore

__all__ = ["ActivityDefinitions", "merge_definition"]

_LANGUAGE_MAPS = ("name", "description")
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

    def learn(self, tenant: str, statements: Iterable[dict[str, Any]]) -> None:
        """Merge the definitions of the statements' activities, in their order, into the store."""
        sent: dict[str, list[dict[str, Any]]] = {}
        for stmt in statements:
            for activity in all_activities(stmt):
                definition = activity.get("definition")
                if definition:
                    seen = sent.setdefault(activity["id"], [])
                    if not seen or (seen[-1] is not definition and seen[-1] != definition):
                        seen.append(definition)
        if not sent:
            return
        ids = list(sent)
        if _changes(self.store.activities(tenant, ids), sent):
            self.store.update_activities(tenant, ids, lambda stored: _changes(stored, sent))

    def get(self, tenant: str, activity_id: str) -> dict[str, Any] | None:
        raw = self.store.activity(tenant, activity_id)
        return msgspec.json.decode(raw) if raw else None


def _changes(stored: dict[str, bytes], sent: dict[str, list[dict[str, Any]]]) -> dict[str, bytes]:
    """The definitions that merging ``sent`` into ``stored`` changes, encoded."""
    changed: dict[str, bytes] = {}
    for activity_id, definitions in sent.items():
        raw = stored.get(activity_id)
        known: dict[str, Any] = msgspec.json.decode(raw) if raw else {}
        merged = known
        for definition in definitions:
            merged = merge_definition(merged, definition)
        if merged != known:
            changed[activity_id] = _encode(merged)
    return changed
