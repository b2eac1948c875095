"""A few PostgreSQL connections shared by the threads of one Kafka log handle.

Appends to different partitions run at once, each in a transaction of its own
connection; the pool opens connections on demand up to its size, replaces broken ones,
and makes a thread wait when all are busy.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from edupulse.errors import TransientError
from edupulse.log.kafka_index import Conn

__all__ = ["ConnectionPool"]


class ConnectionPool:
    """Up to ``size`` autocommit connections to ``dsn``, lent one at a time."""

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn = dsn
        self._idle: queue.LifoQueue[Conn] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._all: list[Conn] = []
        self._lock = threading.Lock()
        self._closed = False

    def connect(self) -> Conn:
        try:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise TransientError(
                f"cannot connect to PostgreSQL at {self.dsn} for the Kafka log's index: {exc}; "
                "start it (scripts/services/postgres.sh up) or fix EDUPULSE_POSTGRES__DSN"
            ) from exc
        with self._lock:
            self._all.append(conn)
        return conn

    @contextmanager
    def connection(self) -> Iterator[Conn]:
        if not self._slots.acquire(timeout=60):
            raise TransientError("no PostgreSQL connection of the Kafka log came free within 60 s")
        try:
            conn = self._take()
            try:
                yield conn
            finally:
                if conn.closed or conn.broken or self._closed:
                    conn.close()
                else:
                    self._idle.put(conn)
        finally:
            self._slots.release()

    def _take(self) -> Conn:
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return self.connect()
            if not (conn.closed or conn.broken):
                return conn

    def close(self) -> None:
        self._closed = True
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
