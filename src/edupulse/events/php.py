"""A reader of PHP's ``serialize()`` format, for the values Moodle's logs hold.

Moodle stores an event's ``other`` data serialized: older sites (and sites that keep
the log store's serialized format) with PHP's ``serialize()``, newer ones as JSON.
This reads the scalar and array forms (``N;``, ``b:1;``, ``i:5;``, ``d:0.5;``,
``s:3:"abc";``, ``a:1:{...}``) and plain objects (``O:8:"stdClass":1:{...}``) as
dicts. String lengths count bytes, as PHP writes them. Anything else raises
``ValueError`` naming the offset; nothing is ever evaluated.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_DEPTH", "unserialize"]

MAX_DEPTH = 32
_SCALARS = frozenset(b"bid")


def unserialize(text: str) -> Any:
    """The value of one serialized PHP value; ``ValueError`` if it is not exactly one."""
    data = text.encode()
    value, end = _value(data, 0, 0)
    if end != len(data):
        raise ValueError(f"unexpected data after the value at byte {end}")
    return value


def _value(data: bytes, at: int, depth: int) -> tuple[Any, int]:
    if depth > MAX_DEPTH:
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
    kind = data[at : at + 1]
    if kind == b"N" and data[at + 1 : at + 2] == b";":
        return None, at + 2
    if data[at + 1 : at + 2] != b":":
        raise ValueError(f"no PHP value at byte {at}")
    if kind and kind[0] in _SCALARS:
        return _scalar(data, at)
    if kind == b"s":
        return _string(data, at + 2)
    if kind == b"a":
        return _array(data, at + 2, depth)
    if kind == b"O":
        _, at = _string(data, at + 2, end=b":")
        return _array(data, at, depth)
    raise ValueError(f"unsupported PHP value type {kind!r} at byte {at}")


def _scalar(data: bytes, at: int) -> tuple[Any, int]:
    end = data.find(b";", at)
    if end < 0:
        raise ValueError(f"unterminated value at byte {at}")
    kind, text = data[at : at + 1], data[at + 2 : end].decode("ascii", errors="replace")
    try:
        if kind == b"b":
            if text not in ("0", "1"):
                raise ValueError(text)
            return text == "1", end + 1
        if kind == b"i":
            return int(text), end + 1
        return float(text), end + 1
    except ValueError:
        raise ValueError(f"bad number {text[:20]!r} at byte {at}") from None


def _string(data: bytes, at: int, *, end: bytes = b";") -> tuple[str, int]:
    colon = data.find(b":", at)
    length_text = data[at:colon] if colon > 0 else b""
    if not length_text.isdigit() or data[colon + 1 : colon + 2] != b'"':
        raise ValueError(f"bad string length at byte {at}")
    start = colon + 2
    stop = start + int(length_text)
    if data[stop : stop + 1 + len(end)] != b'"' + end:
        raise ValueError(f"string at byte {at} is not {int(length_text)} bytes long")
    return data[start:stop].decode("utf-8", errors="replace"), stop + 1 + len(end)


def _array(data: bytes, at: int, depth: int) -> tuple[dict[str, Any] | list[Any], int]:
    colon = data.find(b":", at)
    count_text = data[at:colon] if colon > 0 else b""
    if not count_text.isdigit() or data[colon + 1 : colon + 2] != b"{":
        raise ValueError(f"bad array length at byte {at}")
    at = colon + 2
    items: dict[str, Any] = {}
    for _ in range(int(count_text)):
        key, at = _value(data, at, depth + 1)
        if not isinstance(key, int | str) or isinstance(key, bool):
            raise ValueError(f"an array key must be an integer or a string, before byte {at}")
        items[str(key)], at = _value(data, at, depth + 1)
    if data[at : at + 1] != b"}":
        raise ValueError(f"array not closed at byte {at}")
    if list(items) == [str(i) for i in range(len(items))]:
        return list(items.values()), at + 1
    return items, at + 1
