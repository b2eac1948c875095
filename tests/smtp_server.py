"""A real SMTP server for tests (aiosmtpd) on a loopback port, refusing its first messages on request."""

from __future__ import annotations

import email
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from tests.conftest import free_port

__all__ = ["SmtpServer"]


class SmtpServer:
    """Accepts mail on 127.0.0.1; answers ``refuse_with`` (e.g. ``451 ...``) to the first ``refuse_first`` messages."""

    def __init__(self, *, refuse_first: int = 0, refuse_with: str = "451 4.3.0 try again later") -> None:
        self.refuse_first, self.refuse_with = refuse_first, refuse_with
        self.attempts = 0
        self.messages: list[tuple[list[str], Message]] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.attempts <= self.refuse_first:
            return self.refuse_with
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
