"""The normalised verb vocabulary that every input format maps onto."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ATTEMPT_VERBS", "Verb", "verb_from_name"]


class Verb(StrEnum):
    """What a learner did, in one word shared by xAPI, Caliper and LMS logs."""

    ACCESSED = "accessed"
    ANSWERED = "answered"
    ATTEMPTED = "attempted"
    COMMENTED = "commented"
    COMPLETED = "completed"
    ENROLLED = "enrolled"
    EXITED = "exited"
    FAILED = "failed"
    GRADED = "graded"
    INITIALIZED = "initialized"
    INTERACTED = "interacted"
    LAUNCHED = "launched"
    LOGGED_IN = "logged-in"
    LOGGED_OUT = "logged-out"
    NAVIGATED = "navigated"
    PASSED = "passed"
    PAUSED = "paused"
    PLAYED = "played"
    POSTED = "posted"
    PROGRESSED = "progressed"
    RESUMED = "resumed"
    SCORED = "scored"
    SEARCHED = "searched"
    SEEKED = "seeked"
    SKIPPED = "skipped"
    STARTED = "started"
    SUBMITTED = "submitted"
    TERMINATED = "terminated"
    UNENROLLED = "unenrolled"
    VIEWED = "viewed"
    OTHER = "other"


# Verbs that record a learner's attempt at an assessable item.
ATTEMPT_VERBS = frozenset({Verb.ANSWERED, Verb.ATTEMPTED, Verb.SUBMITTED, Verb.PASSED, Verb.FAILED, Verb.SCORED})

# Words that sources use for the same act, mapped to the vocabulary.
_SYNONYMS: dict[str, Verb] = {
    "experienced": Verb.VIEWED,
    "read": Verb.VIEWED,
    "watched": Verb.VIEWED,
    "registered": Verb.ENROLLED,
    "joined": Verb.ENROLLED,
    "unregistered": Verb.UNENROLLED,
    "left": Verb.UNENROLLED,
    "withdrew": Verb.UNENROLLED,
    "loggedin": Verb.LOGGED_IN,
    "login": Verb.LOGGED_IN,
    "logged-in": Verb.LOGGED_IN,
    "loggedout": Verb.LOGGED_OUT,
    "logout": Verb.LOGGED_OUT,
    "logged-out": Verb.LOGGED_OUT,
    "responded": Verb.ANSWERED,
    "replied": Verb.POSTED,
    "shared": Verb.POSTED,
    "asked": Verb.POSTED,
    "suspended": Verb.PAUSED,
    "progressed": Verb.PROGRESSED,
    "mastered": Verb.PASSED,
    "satisfied": Verb.COMPLETED,
    "navigatedto": Verb.NAVIGATED,
    "opened": Verb.ACCESSED,
    "downloaded": Verb.ACCESSED,
    "accessed": Verb.ACCESSED,
    "closed": Verb.EXITED,
}

_BY_NAME: dict[str, Verb] = {v.value: v for v in Verb if v is not Verb.OTHER} | _SYNONYMS


def verb_from_name(name: str) -> Verb | None:
    """The vocabulary verb for a source's word (``played``, ``Submitted``), or None."""
    word = name.strip().lower().replace("_", "-")
    return _BY_NAME.get(word) or _BY_NAME.get(word.replace("-", ""))
