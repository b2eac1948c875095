"""Idempotency keys of record ids, shared by both logs' indexes: a keyed hash, never the id.

Both the embedded log (``record_keys`` in its SQLite file) and the Kafka log's
PostgreSQL index store ``id_keys(topic, [id])`` instead of the id: 16 bytes that are
shorter than most ids and that name no statement, so an erased learner's statement ids
are not readable in either index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

__all__ = ["id_keys"]


def id_keys(topic: str, record_ids: Iterable[str | None]) -> list[bytes | None]:
    """The idempotency keys of record ids of a topic: 16 bytes of BLAKE2b each (None for None).

    The hash covers the topic's length, the topic and the id, so no (topic, id) pair can
    spell another's input. With 128 bits, two distinct ids of a log share a key with a
    probability of about n² / 2¹²⁹: below 10⁻²⁴ for a billion ids.
    """
    prefix = hashlib.blake2b(f"{len(topic)}:{topic}:".encode(), digest_size=16)
    keys: list[bytes | None] = []
    for record_id in record_ids:
        if record_id is None:
            keys.append(None)
            continue
        hasher = prefix.copy()  # cheaper than hashing the prefix again
        hasher.update(record_id.encode())
        keys.append(hasher.digest())
    return keys
