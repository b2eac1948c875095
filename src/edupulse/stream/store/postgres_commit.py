"""A ``Commit`` as the statements of one PostgreSQL transaction, each over arrays.

Every kind of row is written by ONE statement whose parameters are arrays, one per
column, sent in binary: ``INSERT ... SELECT FROM unnest(...) ON CONFLICT ...``. Rows go
in key order (B-tree inserts in order touch fewer pages). Values are checked and
converted here, before anything is sent, the way SQLite's column affinity would store
them: a bool or an integral float in an ``int`` column becomes an int, an int in a
``real`` column a float.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from edupulse.errors import TerminalError
from edupulse.stream.store.base import LINEAGE_COLUMNS, Column, Commit, OutboxMessage, Row, ViewSpec
from edupulse.stream.store.postgres_schema import ident, view_table

__all__ = ["ViewPlan", "fence", "statements"]

Statement = tuple[bytes, Sequence[Any] | dict[str, Any]]
_json_encode = msgspec.json.Encoder().encode
_ARRAY_TYPES: dict[Column, str] = {"int": "bigint[]", "real": "float8[]", "text": "text[]", "json": "text[]"}


def _ints(view: str, column: str, values: list[Any]) -> list[Any]:
    if all(type(v) is int or v is None for v in values):
        return values
    return [int(v) if isinstance(v, bool | float) and float(v).is_integer() else v for v in values]


def _reals(view: str, column: str, values: list[Any]) -> list[Any]:
    return [float(v) if isinstance(v, int) else v for v in values]


def _texts(view: str, column: str, values: list[Any]) -> list[Any]:
    return values


def _jsons(view: str, column: str, values: list[Any]) -> list[Any]:
    try:
        return [None if v is None else _json_encode(v).decode() for v in values]
    except (msgspec.EncodeError, TypeError) as exc:
        raise TerminalError(f"column {column!r} of view {view!r} holds a value that is not JSON: {exc}") from exc


_CONVERT: dict[Column, Callable[[str, str, list[Any]], list[Any]]] = {
    "int": _ints,
    "real": _reals,
    "text": _texts,
    "json": _jsons,
}


class ViewPlan:
    """The upsert statement of one view, built once, and its parameters for a batch of rows."""

    def __init__(self, schema: str, spec: ViewSpec) -> None:
        self.spec = spec
        cols = spec.all_columns
        names = ", ".join(map(ident, cols))
        arrays = ", ".join(f"%b::{_ARRAY_TYPES[spec.columns[c]]}" for c in cols)
        picks = ", ".join(f"t.{ident(c)}{'::jsonb' if spec.columns[c] == 'json' else ''}" for c in cols)
        picks += ", %b::bigint, %b::bigint"  # the lineage stamp: the same for every row of a commit
        updated = [*(ident(c) for c in cols if c not in spec.key), *LINEAGE_COLUMNS]
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in updated)
        self.query = (
            f"INSERT INTO {view_table(schema, spec.name)} ({names}, {', '.join(LINEAGE_COLUMNS)}) "
            f"SELECT {picks} FROM unnest({arrays}) AS t({names}) "
            f"ON CONFLICT ({', '.join(map(ident, spec.key))}) DO UPDATE SET {updates}"
        ).encode()

    def params(self, rows: list[Row], stamp: tuple[int | None, int | None] = (None, None)) -> list[Any]:
        """The lineage stamp, then one array per column; of rows with the same key, the last wins."""
        spec = self.spec
        latest: dict[tuple[Any, ...], Row] = {}
        for row in rows:
            key = tuple(row.get(k) for k in spec.key)
            if None in key:
                missing = [k for k in spec.key if row.get(k) is None]
                raise TerminalError(f"a row of view {spec.name!r} lacks its key column(s) {missing}: {row}")
            latest[key] = row
        try:
            ordered = [latest[k] for k in sorted(latest)]
        except TypeError:  # keys of mixed types: the database will say which value is wrong
            ordered = list(latest.values())
        arrays = [_CONVERT[spec.columns[c]](spec.name, c, [r.get(c) for r in ordered]) for c in spec.all_columns]
        return [*stamp, *arrays]


def statements(schema: str, channel: str, commit: Commit, views: Sequence[ViewPlan]) -> list[Statement]:
    """The statements of the commit's transaction, in order; checks every value first."""
    out = _state(f'"{schema}"', commit)
    stamp = (commit.partition, commit.next_offset) if commit.lineage is not None else (None, None)
    for view in views:
        out.append((view.query, view.params(commit.views[view.spec.name], stamp)))
    if commit.lineage is not None:
        out.append(
            (
                f'INSERT INTO "{schema}".commits VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT '
                "(partition, to_offset, topic) DO UPDATE SET from_offset = EXCLUDED.from_offset, "
                "committed_us = EXCLUDED.committed_us, lineage = EXCLUDED.lineage".encode(),
                [
                    commit.partition,
                    commit.next_offset,
                    commit.topic,
                    commit.from_offset or 0,
                    time.time_ns() // 1000,
                    _json_encode(commit.lineage),
                ],
            )
        )
    out += _outbox(f'"{schema}"', commit.outbox)
    out += _changes(f'"{schema}"', channel, commit.views)
    out.append(
        (
            f'INSERT INTO "{schema}".offsets VALUES (%s, %s, %s) '
            "ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset".encode(),
            [commit.topic, commit.partition, commit.next_offset],
        )
    )
    return out


def fence(schema: str, commit: Commit) -> Statement:
    """Set the partition's offset if it is still ``from_offset`` (or absent and 0): one row
    changes when the commit may go on, none when another worker committed since."""
    query = (
        f'INSERT INTO "{schema}".offsets AS o VALUES (%s, %s, %s) ON CONFLICT (topic, partition) '
        "DO UPDATE SET next_offset = EXCLUDED.next_offset WHERE o.next_offset = %s"
    )
    if commit.from_offset:  # an absent row counts as offset 0: only a commit from 0 may create it
        query = (
            f'UPDATE "{schema}".offsets SET next_offset = %s WHERE topic = %s AND partition = %s AND next_offset = %s'
        )
        return query.encode(), [commit.next_offset, commit.topic, commit.partition, commit.from_offset]
    return query.encode(), [commit.topic, commit.partition, commit.next_offset, commit.from_offset]


def _state(schema: str, commit: Commit) -> list[Statement]:
    puts = sorted((op, key.encode(), value) for (op, key), value in commit.state.items() if value is not None)
    dels = [(op, key.encode()) for (op, key), value in commit.state.items() if value is None]
    out: list[Statement] = []
    if puts:
        query = (
            f"INSERT INTO {schema}.state (operator, partition, key, value) "
            "SELECT t.op, %b, t.key, t.value FROM unnest(%b::text[], %b::bytea[], %b::bytea[]) AS t(op, key, value) "
            "ON CONFLICT (operator, partition, key) DO UPDATE SET value = EXCLUDED.value"
        )
        ops, keys, values = (list(c) for c in zip(*puts, strict=True))
        out.append((query.encode(), [commit.partition, ops, keys, values]))
    if dels:
        query = (
            f"DELETE FROM {schema}.state WHERE partition = %b AND (operator, key) IN "
            "(SELECT * FROM unnest(%b::text[], %b::bytea[]))"
        )
        out.append((query.encode(), [commit.partition, [op for op, _ in dels], [key for _, key in dels]]))
    return out


def _outbox(schema: str, messages: list[OutboxMessage]) -> list[Statement]:
    """New messages; a repeated idempotency key (in this commit or stored) keeps the first."""
    first: dict[str, OutboxMessage] = {}
    for m in messages:
        if not isinstance(m.payload, bytes):
            raise TerminalError(f"outbox message {m.idempotency_key!r} has a {type(m.payload).__name__} payload")
        first.setdefault(m.idempotency_key, m)
    if not first:
        return []
    query = (
        f"INSERT INTO {schema}.outbox (topic, key, payload, idempotency_key, created_us) "
        "SELECT t.topic, t.key, t.payload, t.idem, %b FROM unnest(%b::text[], %b::text[], %b::bytea[], %b::text[]) "
        "WITH ORDINALITY AS t(topic, key, payload, idem, n) ORDER BY t.n ON CONFLICT (idempotency_key) DO NOTHING"
    )
    kept = list(first.values())
    columns = [[m.topic for m in kept], [m.key for m in kept], [m.payload for m in kept], list(first)]
    return [(query.encode(), [time.time_ns() // 1000, *columns])]


def _changes(schema: str, channel: str, views: dict[str, list[Row]]) -> list[Statement]:
    """The change feed, numbered from the counter row; its lock, held to the commit, orders commits."""
    names = [name for name, rows in views.items() for _ in rows]
    if not names:
        return []
    try:
        rows = [_json_encode(row).decode() for rows in views.values() for row in rows]
    except (msgspec.EncodeError, TypeError) as exc:
        raise TerminalError(f"a view row cannot be encoded as JSON for the change feed: {exc}") from exc
    query = (
        f"WITH c AS (UPDATE {schema}.change_counter SET last = last + %(n)b WHERE id = 1 RETURNING last) "
        f"INSERT INTO {schema}.changes (seq, view, row) SELECT c.last - %(n)b + t.n, t.view, t.row "
        "FROM c, unnest(%(views)b::text[], %(rows)b::text[]) WITH ORDINALITY AS t(view, row, n)"
    )
    return [
        (query.encode(), {"n": len(rows), "views": names, "rows": rows}),
        (b"SELECT pg_notify(%s, '')", [channel]),
    ]
