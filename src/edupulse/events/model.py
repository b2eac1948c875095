"""The canonical learning event: what every input format becomes.

Events travel on the log as MessagePack arrays (compact, and decoded in bulk at about a
microsecond each). ``SCHEMA_VERSION`` changes whenever a field is added or its meaning
changes; readers accept every older version they know.

Versions: 1, the first; 2 added ``extensions`` (facts a format carries beyond the common
fields, such as an assessment's due date). A version-1 array simply lacks the trailing
field and decodes with ``extensions`` empty.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from edupulse.events.vocabulary import Verb

__all__ = ["SCHEMA_VERSION", "ExtensionValue", "LearningEvent", "Result", "decode_events", "encode_event"]

SCHEMA_VERSION = 2

ExtensionValue = str | int | float | bool


class Result(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """The outcome of an attempt. ``score`` is scaled to 0..1."""

    score: float | None = None
    success: bool | None = None
    completion: bool | None = None
    duration_s: float | None = None


class LearningEvent(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One thing a learner did, in the one shape all processing sees.

    Times are epoch microseconds (UTC): integers are exact, cheap to compare and
    identical across the SQLite and Kafka backends. ``payload`` holds the original
    input bytes, kept for audit and re-mapping. ``extensions`` holds what a format
    knows beyond the common fields, under names its mapping documents (OULAD:
    ``due_us``, ``weight``, ``assessment_type``, demographics...).

    On the log the payload travels apart from the event: ingest appends the event with
    an empty ``payload`` as the record's value and the original bytes as the record's
    payload (``Record.payload``), so processing never reads them. Events read from the
    log therefore have ``payload == b""``; ``EventLog.read_payloads(topic, partition,
    offsets)`` returns the originals, by offset.
    """

    event_id: str
    tenant: str
    learner: str
    verb: Verb
    object_id: str
    object_type: str | None
    course: str | None
    skills: tuple[str, ...]
    result: Result | None
    event_time_us: int
    stored_time_us: int
    source_format: str
    mapping_version: str
    payload: bytes = b""
    schema_version: int = SCHEMA_VERSION
    extensions: dict[str, ExtensionValue] | None = None

    @property
    def partition_key(self) -> bytes:
        """The log key: all of a learner's events share a partition, hence an order."""
        return f"{self.tenant}\x1f{self.learner}".encode()


_encoder = msgspec.msgpack.Encoder()
_batch_decoder = msgspec.msgpack.Decoder(list[LearningEvent])
_one_decoder = msgspec.msgpack.Decoder(LearningEvent)


def encode_event(event: LearningEvent) -> bytes:
    """The bytes of one event as stored on the log."""
    return _encoder.encode(event)


def decode_events(values: Sequence[bytes]) -> list[LearningEvent]:
    """Decode many log values at once.

    Concatenated MessagePack values behind one array header form a valid array, so a
    whole batch is decoded in a single call.
    """
    n = len(values)
    if n < 16:
        header = bytes([0x90 | n])
    elif n < 65536:
        header = b"\xdc" + n.to_bytes(2, "big")
    else:
        header = b"\xdd" + n.to_bytes(4, "big")
    return _batch_decoder.decode(header + b"".join(values))


def decode_event(value: bytes) -> LearningEvent:
    """Decode one log value."""
    return _one_decoder.decode(value)
