"""Cross-process wake-ups: a writer rings, every waiting process wakes at once.

Waiters bind a Unix datagram socket in Linux's abstract namespace (no path-length
limit, nothing left on disk if a process dies) and register its name as an empty file
in a shared directory; ringing sends one byte to every registered name. A waiter that
died is noticed by the refused send and unregistered. A lost datagram costs at most
the waiter's timeout, never correctness: waiters re-check the store after waking.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import select
import socket
import threading
import time
from pathlib import Path

__all__ = ["Doorbell"]

_REFRESH_S = 1.0  # how long a ringer trusts its list of waiters


class Doorbell:
    """Rings and waits for one directory's worth of processes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._prefix = "edupulse-" + hashlib.blake2b(str(directory.resolve()).encode(), digest_size=8).hexdigest()
        self._sock: socket.socket | None = None
        self._name: str | None = None
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)
        self._peers: list[str] = []
        self._peers_at = 0.0
        self._lock = threading.Lock()

    def _listen(self) -> socket.socket:
        with self._lock:
            if self._sock is None:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._name = f"{os.getpid()}-{threading.get_ident()}-{time.monotonic_ns()}"
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sock.bind(self._address(self._name))
                sock.setblocking(False)
                (self.directory / self._name).touch()
                self._sock = sock
            return self._sock

    def _address(self, name: str) -> str:
        return f"\0{self._prefix}/{name}"

    def wait(self, timeout_s: float) -> bool:
        """Block until a ring or the timeout; True if rung. The first call registers."""
        sock = self._listen()
        readable, _, _ = select.select([sock], [], [], max(0.0, timeout_s))
        if not readable:
            return False
        with contextlib.suppress(BlockingIOError):
            while sock.recv(64):  # one wake-up for any number of rings
                pass
        return True

    def ring(self) -> None:
        """Wake every registered waiter (cheap: one datagram each, never blocks)."""
        now = time.monotonic()
        if now - self._peers_at > _REFRESH_S:
            try:
                self._peers = [p.name for p in self.directory.iterdir()]
            except FileNotFoundError:
                self._peers = []
            self._peers_at = now
        for name in self._peers:
            try:
                self._sender.sendto(b"!", self._address(name))
            except BlockingIOError:
                pass  # its queue is full: it has wake-ups pending already
            except (ConnectionRefusedError, FileNotFoundError):
                (self.directory / name).unlink(missing_ok=True)  # its process is gone

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None
            if self._name is not None:
                (self.directory / self._name).unlink(missing_ok=True)
        self._sender.close()
