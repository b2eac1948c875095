"""Which skills a passage teaches.

With a skill map (a JSON object ``{"skill": ["keyword", ...]}``), a passage carries
every skill one of whose keywords appears in its heading trail, or at least twice in
its text (whole words, any case). Without one, a passage carries the skill named by
its document's top heading, lower-cased with spaces as dashes (``Pipes and Filters``
-> ``pipes-and-filters``): a course whose chapters are its skills needs no map.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from edupulse.tutor.chunking import Chunk
from edupulse.tutor.documents import ContentError

__all__ = ["SkillMap", "load_skill_map", "slug"]

_NON_WORD = re.compile(r"[^a-z0-9]+")
_TEXT_HITS = 2


def slug(title: str) -> str:
    return _NON_WORD.sub("-", title.lower()).strip("-")


class SkillMap:
    """Keywords per skill, compiled once."""

    def __init__(self, keywords: Mapping[str, Sequence[str]]) -> None:
        self.keywords = {skill: list(words) for skill, words in keywords.items()}
        self._patterns = {
            skill: re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE)
            for skill, words in keywords.items()
            if words
        }

    def tag(self, chunk: Chunk) -> tuple[str, ...]:
        found = [
            skill
            for skill, pattern in self._patterns.items()
            if any(pattern.search(title) for title in chunk.trail) or len(pattern.findall(chunk.text)) >= _TEXT_HITS
        ]
        return tuple(sorted(found))

    def describe(self, skill: str) -> str:
        """A text that stands for the skill when there is no question: its name and keywords."""
        words = self.keywords.get(skill, [])
        return " ".join([skill.replace("-", " "), *words])


def heading_skill(chunk: Chunk) -> tuple[str, ...]:
    return (slug(chunk.trail[0]),) if chunk.trail and slug(chunk.trail[0]) else ()


def load_skill_map(path: Path) -> SkillMap:
    """Read a skill map file; a clear error names what is wrong with it."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ContentError(f"skill map {path}: cannot be read as JSON ({exc})") from exc
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(w, str) and w for w in v) for k, v in raw.items()
    ):
        raise ContentError(f'skill map {path}: must be an object {{"skill": ["keyword", ...]}}')
    return SkillMap(raw)
