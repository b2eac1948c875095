"""Checking statements whose parts were seen before, without checking those parts again.

xAPI traffic repeats itself: the same learners, verbs, activities and contexts appear
in statement after statement, byte for byte. A statement is split into its top-level
properties as raw JSON; an actor, verb, object or context whose exact bytes already
passed the checks (under the same version rules, and for a context, beside the same
kind of object) is reused as decoded then, and the rest is decoded and checked in
full. The outcome is the same as checking everything (a part is only cached after it
passed); only the work differs. Reused parts are shared: callers must not mutate them.
"""

from __future__ import annotations

from typing import Any

import msgspec

from edupulse.errors import InvalidEventError
from edupulse.lrs.validate.statement import check_statement, object_kind

__all__ = ["CheckedParts"]

_CACHED = ("actor", "verb", "object")
_decode_parts = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
_decode = msgspec.json.decode


class CheckedParts:
    """A bounded memory of statement parts that passed the checks, by their exact bytes."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self._parts: dict[tuple[str, bool, str, bytes], Any] = {}

    def check(self, raw: bytes, path: str, *, v2: bool) -> dict[str, Any]:
        """The decoded statement of ``raw``, checked; raises ``Invalid`` as ``check_statement`` does."""
        try:
            parts = _decode_parts(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return check_statement(_full(raw, path), path, v2=v2)  # not an object: the full path says why
        stmt: dict[str, Any] = {}
        keys: dict[str, tuple[str, bool, str, bytes]] = {}
        trusted: set[str] = set()
        for name, value in parts.items():
            if name in _CACHED or name == "context":
                keys[name] = (name, v2, "", bytes(value))
            stmt[name] = None
        for name in _CACHED:
            if name in keys and (hit := self._parts.get(keys[name])) is not None:
                stmt[name] = hit
                trusted.add(name)
        if "context" in keys and "object" in trusted:
            hit = self._parts.get(_context_key(keys["context"], stmt))
            if hit is not None:
                stmt["context"] = hit
                trusted.add("context")
        for name, value in parts.items():
            if name not in trusted:
                stmt[name] = _full(value, f"{path}.{name}")
        check_statement(stmt, path, v2=v2, trusted=frozenset(trusted))
        self._remember(stmt, keys, trusted)
        return stmt

    def _remember(self, stmt: dict[str, Any], keys: dict[str, tuple[str, bool, str, bytes]], trusted: set[str]) -> None:
        if len(self._parts) > self.max_entries:
            self._parts.clear()
        for name, key in keys.items():
            if name not in trusted:
                self._parts[_context_key(key, stmt) if name == "context" else key] = stmt[name]


def _context_key(key: tuple[str, bool, str, bytes], stmt: dict[str, Any]) -> tuple[str, bool, str, bytes]:
    """A context is checked beside its statement's kind of object (revision and platform need an Activity)."""
    return ("context", key[1], object_kind(stmt), key[3])


def _full(raw: bytes | msgspec.Raw, path: str) -> Any:
    try:
        return _decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidEventError(f"{path} is not valid JSON: {exc}", path=path) from exc
