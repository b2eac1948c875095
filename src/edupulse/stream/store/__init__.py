"""Keyed state, serving views, outbox and offsets: a protocol and one module per backend."""

from edupulse.stream.store.base import Change, Commit, OutboxMessage, StateStore, ViewSpec

__all__ = ["Change", "Commit", "OutboxMessage", "StateStore", "ViewSpec"]
