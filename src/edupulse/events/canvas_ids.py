"""Canvas ids as edupulse names them, shared by both Canvas live event formats (mapping ``canvas-1``).

Ids are Canvas's own, as ``canvas-KIND:ID``; a Caliper id
``urn:instructure:canvas:user:42`` is the same ``canvas-user:42``, so a learner's
events in both formats meet. The learner id is made by ``learner_id`` alone.
"""

from __future__ import annotations

from edupulse.events.vocabulary import Verb

__all__ = ["MAPPING_VERSION", "SOURCE_FORMAT", "canvas_id", "enrollment_verb", "learner_id", "object_kind"]

MAPPING_VERSION = "canvas-1"
SOURCE_FORMAT = "canvas"
_URN = "urn:instructure:canvas:"
_LEAVING = frozenset({"deleted", "inactive", "rejected"})


def canvas_id(value: object, kind: str = "") -> str | None:
    """``canvas-KIND:ID`` from a Canvas id (``42`` and a kind) or a Caliper id (``urn:instructure:canvas:KIND:42``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    if value.startswith(_URN) and ":" in value[len(_URN) :]:
        return f"canvas-{value[len(_URN) :]}"
    return f"canvas-{kind}:{value}" if kind else value


def learner_id(value: object) -> str | None:
    """The one place a Canvas learner id is made: ``canvas-user:ID``."""
    return canvas_id(value, "user")


def object_kind(object_id: str) -> str | None:
    """The Canvas kind of a ``canvas-KIND:ID`` object (``assignment``), else None."""
    kind, colon, _ = object_id.partition(":")
    return kind[len("canvas-") :] if colon and kind.startswith("canvas-") else None


def enrollment_verb(state: object) -> Verb:
    """An enrollment that is deleted, inactive or rejected is a leaving; any other state an enrollment."""
    return Verb.UNENROLLED if isinstance(state, str) and state in _LEAVING else Verb.ENROLLED
