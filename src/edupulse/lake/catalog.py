"""Which tables the lake has, and where they live.

A table is fed by one log topic. Feature snapshots, predictions and alerts leave the
stream runtime through the outbox, the relay appends them to topics of their own
(``stream/log_sender.py``), and each is a table with one line here (``json_rows``: one
column per field of the topic's JSON values). They are partitioned by the day they
reached the log and by course (null for an output without one).
"""

from __future__ import annotations

from pathlib import Path

from edupulse.config import Settings
from edupulse.errors import NotFoundError
from edupulse.lake.tables import EVENTS_TABLE, LakeTable, events_to_arrow, json_rows
from edupulse.stream.log_sender import LOG_TOPICS
from edupulse.stream.runtime import EVENTS_TOPIC

__all__ = ["TABLES", "table_path", "table_spec"]

TABLES: tuple[LakeTable, ...] = (
    LakeTable(EVENTS_TABLE, EVENTS_TOPIC, events_to_arrow, ("date", "course"), payloads=True),
    *(LakeTable(topic, topic, json_rows, ("date", "course")) for topic in LOG_TOPICS),
)


def table_spec(name: str) -> LakeTable:
    for spec in TABLES:
        if spec.name == name:
            return spec
    raise NotFoundError(f"no lake table {name!r}; the lake has {[t.name for t in TABLES]}")


def table_path(settings: Settings, name: str) -> Path:
    """The directory of a lake table (its Delta log is in ``_delta_log`` under it)."""
    return settings.lake_path / table_spec(name).name
