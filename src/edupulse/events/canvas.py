"""Canvas Live Events, one JSON event per line, as canonical events (mapping ``canvas-1``).

Canvas emits each live event in one of two formats; the format is read per line:

- the canvas format, ``{"metadata": {...}, "body": {...}}`` (``events.canvas_live``);
- the caliper format, a Caliper 1.1 envelope or one bare event with Canvas's
  extensions (``events.canvas_caliper``).

Both name learners, courses and objects alike (``canvas-user:42``, ``events.canvas_ids``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from edupulse.errors import InvalidEventError
from edupulse.events.canvas_caliper import map_caliper
from edupulse.events.canvas_ids import MAPPING_VERSION
from edupulse.events.canvas_live import map_live_event
from edupulse.events.model import LearningEvent

__all__ = ["MAPPING_VERSION", "decode_line", "map_line"]

_decode = msgspec.json.Decoder().decode


def map_line(text: str, *, tenant: str) -> list[LearningEvent]:
    """The canonical events of one line (none for events of no user); InvalidEventError if it is bad."""
    raw = decode_line(text)
    if "metadata" in raw or "body" in raw:
        return map_live_event(raw, text, tenant=tenant)
    if "data" in raw or ("actor" in raw and "action" in raw):
        return map_caliper(raw, text, tenant=tenant)
    raise InvalidEventError(
        "neither a canvas-format live event (metadata and body) nor a Caliper envelope (sensor, sendTime, "
        "dataVersion, data) or event (type, actor, action, object, eventTime)"
    )


def decode_line(text: str) -> dict[str, Any]:
    """The line's JSON object; InvalidEventError if it is not one."""
    try:
        value = _decode(text.strip().encode())
    except (msgspec.DecodeError, RecursionError) as exc:
        raise InvalidEventError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidEventError("the line's JSON is not an object (one Canvas live event per line)")
    return value
