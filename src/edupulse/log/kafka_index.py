"""What the Kafka log keeps in PostgreSQL: record ids, payloads and the committed ends.

Kafka alone cannot refuse a repeated id or keep a payload beside a record without
returning it on every read, so these tables in one schema hold:

- ``record_keys``: ``id_keys(topic, [id])`` -> digest, partition, offset, for
  idempotent appends. The key is a 16-byte keyed hash of the topic and id
  (``log.ids``), as in the embedded log: the index never holds a statement id in
  clear. Schemas of earlier versions kept the ids in ``record_ids``; migration 3
  rehashes them into ``record_keys`` and drops that table (``create_schema``);
- ``payloads``: (topic, partition, offset) -> payload;
- ``partition_ends``: (topic, partition) -> the offset after the last record whose
  append committed here. Readers see records below it only, so a record is never
  readable before its payload and id are stored;
- ``orphans``: (topic, partition, first, next) -> offsets in Kafka that no committed
  append placed: records an append produced before it died (or lost PostgreSQL)
  without committing. Its caller retried them, so readers skip these copies.

Appends to one partition are serialised by a transaction-scoped advisory lock, so
the committed end of a partition only ever moves past records that are complete.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql

from edupulse.log.ids import id_keys
from edupulse.postgres import Migration, migrate

__all__ = ["MIGRATIONS", "Conn", "IdRow", "Index", "create_schema"]

Conn = psycopg.Connection[tuple[Any, ...]]

IdRow = tuple[bytes | None, int, int]  # digest, partition, offset

MIGRATIONS = [
    Migration(
        1,
        "ids, payloads and committed ends",
        """
        CREATE TABLE IF NOT EXISTS {schema}.record_ids (
            topic text NOT NULL, id text NOT NULL, digest bytea,
            partition integer NOT NULL, "offset" bigint NOT NULL,
            PRIMARY KEY (topic, id));
        CREATE TABLE IF NOT EXISTS {schema}.payloads (
            topic text NOT NULL, partition integer NOT NULL, "offset" bigint NOT NULL, payload bytea NOT NULL,
            PRIMARY KEY (topic, partition, "offset"));
        CREATE TABLE IF NOT EXISTS {schema}.partition_ends (
            topic text NOT NULL, partition integer NOT NULL, next_offset bigint NOT NULL,
            PRIMARY KEY (topic, partition));
        """,
    ),
    Migration(
        2,
        "orphaned offsets",
        """
        CREATE TABLE IF NOT EXISTS {schema}.orphans (
            topic text NOT NULL, partition integer NOT NULL, first bigint NOT NULL, next bigint NOT NULL,
            PRIMARY KEY (topic, partition, first));
        """,
    ),
    Migration(
        3,
        "record ids as keyed hashes",
        """
        CREATE TABLE IF NOT EXISTS {schema}.record_keys (
            key bytea PRIMARY KEY, digest bytea, partition integer NOT NULL, "offset" bigint NOT NULL);
        """,
    ),
]

_REKEY_BATCH = 10_000


def create_schema(conn: Conn, schema: str) -> None:
    """Create or upgrade the index's tables; safe when several processes start at once.

    The migrations' lock is held to the end of the transaction, so the rekeying of an
    earlier version's ``record_ids`` runs once, before any process appends.
    """
    with conn.transaction():
        migrate(conn, schema, "kafka-log", MIGRATIONS)
        _rekey_record_ids(conn, schema)


def _rekey_record_ids(conn: Conn, schema: str) -> None:
    """Move the ids of ``record_ids`` (earlier versions: in clear) into ``record_keys``, then drop it."""
    if conn.execute("SELECT to_regclass(%s)", (f'"{schema}".record_ids',)).fetchone() in (None, (None,)):
        return
    ident = sql.Identifier(schema)
    insert = sql.SQL("INSERT INTO {}.record_keys VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING").format(ident)
    with conn.cursor(name="edupulse_rekey") as rows, conn.cursor() as out:
        rows.execute(sql.SQL('SELECT topic, id, digest, partition, "offset" FROM {}.record_ids').format(ident))
        while chunk := rows.fetchmany(_REKEY_BATCH):
            out.executemany(insert, [(id_keys(t, [i])[0], d, p, o) for t, i, d, p, o in chunk])
    conn.execute(sql.SQL("DROP TABLE {}.record_ids").format(ident))


class Index:
    """Statements on the index's tables, run on a connection the caller owns (and its transaction)."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        ident = sql.Identifier(schema)
        self._claim = sql.SQL(
            "INSERT INTO {}.record_keys SELECT k, d, -1, -1 FROM unnest(%s::bytea[], %s::bytea[]) AS u(k, d) "
            "ON CONFLICT DO NOTHING RETURNING key"
        ).format(ident)
        self._known = sql.SQL(
            'SELECT key, digest, partition, "offset" FROM {}.record_keys WHERE key = ANY(%s::bytea[])'
        ).format(ident)
        self._place = sql.SQL(
            'UPDATE {}.record_keys r SET partition=u.p, "offset"=u.o '
            "FROM unnest(%s::bytea[], %s::int[], %s::bigint[]) AS u(k, p, o) WHERE r.key=u.k"
        ).format(ident)
        self._copy_payloads = sql.SQL(
            'COPY {}.payloads (topic, partition, "offset", payload) FROM STDIN (FORMAT BINARY)'
        ).format(ident)
        self._advance = sql.SQL(
            "INSERT INTO {0}.partition_ends AS e VALUES (%s, %s, %s) ON CONFLICT (topic, partition) "
            "DO UPDATE SET next_offset=greatest(e.next_offset, excluded.next_offset)"
        ).format(ident)
        self._ends = sql.SQL("SELECT partition, next_offset FROM {}.partition_ends WHERE topic=%s").format(ident)
        self._add_orphans = sql.SQL("INSERT INTO {}.orphans VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING").format(
            ident
        )
        self._orphans = sql.SQL(
            "SELECT partition, first, next FROM {}.orphans WHERE topic=%s ORDER BY partition, first"
        ).format(ident)
        self._payloads = sql.SQL(
            'SELECT "offset", payload FROM {}.payloads WHERE topic=%s AND partition=%s AND "offset" = ANY(%s)'
        ).format(ident)
        self._drop_payloads = sql.SQL(
            'DELETE FROM {}.payloads WHERE topic=%s AND partition=%s AND "offset" < %s'
        ).format(ident)

    @property
    def channel(self) -> str:
        """The LISTEN/NOTIFY channel on which appends to this index announce themselves."""
        return f"edupulse_log_{self.schema}"[:63]

    def notify(self, conn: Conn, topic: str) -> None:
        """Tell listeners, when the transaction commits, that ``topic`` has new records."""
        conn.execute("SELECT pg_notify(%s, %s)", (self.channel, topic))

    def lock_partitions(self, conn: Conn, topic: str, parts: Iterable[int]) -> None:
        """Hold, until the transaction ends, the append lock of each partition (in order: no deadlock)."""
        key = f"edupulse-log:{self.schema}:{topic}"
        for part in sorted(set(parts)):
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s), %s)", (key, part))

    def claim_ids(self, conn: Conn, topic: str, ids: Sequence[str], digests: Sequence[bytes | None]) -> set[str]:
        """Insert new ids (sorted, so concurrent claims lock rows in one order); returns those that were new.

        A claim of an id another transaction is claiming waits for it to end.
        """
        keys = _keys(topic, ids)
        order = sorted(range(len(ids)), key=keys.__getitem__)
        rows = conn.execute(self._claim, ([keys[i] for i in order], [digests[i] for i in order])).fetchall()
        by_key = dict(zip(keys, ids, strict=True))
        return {by_key[bytes(row[0])] for row in rows}

    def known_ids(self, conn: Conn, topic: str, ids: Sequence[str]) -> dict[str, IdRow]:
        keys = _keys(topic, ids)
        by_key = dict(zip(keys, ids, strict=True))
        rows = conn.execute(self._known, (keys,)).fetchall()
        return {by_key[bytes(k)]: (None if d is None else bytes(d), int(p), int(o)) for k, d, p, o in rows}

    def place_ids(self, conn: Conn, topic: str, placed: Sequence[tuple[str, int, int]]) -> None:
        if placed:
            ids, parts, offsets = zip(*placed, strict=True)
            conn.execute(self._place, (_keys(topic, ids), list(parts), list(offsets)))

    def add_payloads(self, conn: Conn, topic: str, rows: Sequence[tuple[int, int, bytes]]) -> None:
        """Store payloads by position; COPY, as binding arrays of large values costs more than the write."""
        if not rows:
            return
        with conn.cursor() as cur, cur.copy(self._copy_payloads) as copy:
            copy.set_types(["text", "int4", "int8", "bytea"])
            for part, offset, payload in rows:
                copy.write_row((topic, part, offset, payload))

    def advance(self, conn: Conn, topic: str, ends: dict[int, int]) -> None:
        """Move the committed end of partitions forward (never back)."""
        with conn.cursor() as cur:
            cur.executemany(self._advance, [(topic, part, end) for part, end in sorted(ends.items())])

    def committed_ends(self, conn: Conn, topic: str) -> dict[int, int]:
        return {int(p): int(e) for p, e in conn.execute(self._ends, (topic,)).fetchall()}

    def add_orphans(self, conn: Conn, topic: str, ranges: Sequence[tuple[int, int, int]]) -> None:
        """Record (partition, first, next) ranges of offsets no committed append placed."""
        if ranges:
            with conn.cursor() as cur:
                cur.executemany(self._add_orphans, [(topic, *r) for r in ranges])

    def orphans(self, conn: Conn, topic: str) -> dict[int, list[tuple[int, int]]]:
        """Each partition's orphaned offset ranges, ``[first, next)``, in order."""
        out: dict[int, list[tuple[int, int]]] = {}
        for part, first, nxt in conn.execute(self._orphans, (topic,)).fetchall():
            out.setdefault(int(part), []).append((int(first), int(nxt)))
        return out

    def payloads(self, conn: Conn, topic: str, partition: int, offsets: Sequence[int]) -> dict[int, bytes]:
        rows = conn.execute(self._payloads, (topic, partition, sorted(set(offsets)))).fetchall()
        return {int(o): bytes(b) for o, b in rows}

    def drop_payloads(self, conn: Conn, topic: str, partition: int, before: int) -> None:
        conn.execute(self._drop_payloads, (topic, partition, before))


def _keys(topic: str, ids: Iterable[str]) -> list[bytes]:
    return [k for k in id_keys(topic, ids) if k is not None]
