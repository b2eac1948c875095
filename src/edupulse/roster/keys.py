"""How a roster person is named in events: their LMS accounts, spelled as the event mappings spell them.

OneRoster's ``users.csv`` lists a person's other ids in ``userIds`` as ``{type:id}``
entries. Events name a learner by the id their source gives (``events.canvas_ids``:
``canvas-user:ID``; ``events.moodle``: ``moodle-user:ID``; xAPI: ``account:HOME|NAME``),
so the roster keeps each entry in that form. Access checks (``roster.base.learner_keys``)
then match a person's events to them, and pseudonyms of those keys are the events'.

Types: ``Canvas`` and ``Moodle`` (any case); a type that is a URL is an xAPI account's
home page (``{https://lms.example.edu:11842}``). Other types are ignored.
"""

from __future__ import annotations

import re

from edupulse.events.canvas_ids import learner_id as canvas_learner
from edupulse.events.moodle import learner_id as moodle_learner

__all__ = ["lms_keys"]

_ENTRY = re.compile(r"\{([^{}]*)\}")


def lms_keys(user_ids: str) -> list[str]:
    """The learner keys of the ``{type:id}`` entries of a ``userIds`` field, in order, without repeats."""
    keys: dict[str, None] = {}
    for entry in _ENTRY.findall(user_ids):
        kind, _, value = entry.rpartition(":")  # the id is after the last colon: a URL type has its own
        kind, value = kind.strip(), value.strip()
        if not kind or not value:
            continue
        key = _key(kind, value)
        if key is not None:
            keys[key] = None
    return list(keys)


def _key(kind: str, value: str) -> str | None:
    lowered = kind.lower()
    if lowered == "canvas":
        return canvas_learner(value)
    if lowered == "moodle":
        return moodle_learner(value)
    if lowered.startswith(("https://", "http://")):
        return f"account:{kind}|{value}"
    return None
