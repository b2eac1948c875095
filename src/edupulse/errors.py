"""One root exception; subclasses say whether a retry can help.

Transient errors (a busy database, a broker that is restarting) are retried by the
runtime; terminal errors (bad input, a conflicting duplicate) are reported or
dead-lettered and never retried.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConfigError",
    "ConflictError",
    "EdupulseError",
    "FencedError",
    "ForbiddenError",
    "InvalidEventError",
    "NotFoundError",
    "TerminalError",
    "TransientError",
]


class EdupulseError(Exception):
    """Root of every error edupulse raises on purpose."""

    transient: bool = False


class TransientError(EdupulseError):
    """Retrying the same operation later may succeed."""

    transient = True


class FencedError(TransientError):
    """A commit was refused because another worker committed the partition since this one read it.

    The partition was reassigned (a rebalance, a stalled worker): the stale owner's batch
    is dropped and its state restored from the store, so nothing is counted twice.
    """


class TerminalError(EdupulseError):
    """Retrying cannot help; the input or the setup must change."""


class ConfigError(TerminalError):
    """A setting is missing or wrong; the message names it."""


class InvalidEventError(TerminalError):
    """An incoming event is malformed; ``path`` points at the offending field."""

    def __init__(self, message: str, *, path: str = "$") -> None:
        super().__init__(message)
        self.path = path


class ConflictError(TerminalError):
    """An id was reused for different content."""


class NotFoundError(TerminalError):
    """The requested thing does not exist."""


class AuthError(TerminalError):
    """The caller is not authenticated (HTTP 401)."""


class ForbiddenError(TerminalError):
    """The caller is authenticated but not allowed to do this (HTTP 403)."""
