"""The lakehouse: Delta tables that keep every event, SQL over them, and replay from them.

Importing this package loads nothing heavy; its modules load pyarrow, deltalake and
DuckDB, so the rest of edupulse imports them only where the lake is used.
"""

__all__ = ["EVENTS_TABLE"]

EVENTS_TABLE = "events"
