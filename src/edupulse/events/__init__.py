"""The canonical event model and one module per input format."""

from edupulse.events.model import SCHEMA_VERSION, LearningEvent, decode_events, encode_event
from edupulse.events.vocabulary import Verb

__all__ = ["SCHEMA_VERSION", "LearningEvent", "Verb", "decode_events", "encode_event"]
