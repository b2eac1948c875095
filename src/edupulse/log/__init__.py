"""The partitioned, replayable event log: a protocol and one module per backend."""

from edupulse.log.base import Appended, EventLog, LogRecord, Record, partition_for

__all__ = ["Appended", "EventLog", "LogRecord", "Record", "partition_for"]
