"""The tutor's parts, opened together from the settings: embedder, index, skill map."""

from __future__ import annotations

import functools
from pathlib import Path

from edupulse.config import TutorSettings
from edupulse.tutor.embedder import Embedder, MiniLmEmbedder, Vectors
from edupulse.tutor.index.base import VectorIndex
from edupulse.tutor.index.embedded import EmbeddedIndex
from edupulse.tutor.skills import SkillMap, load_skill_map

__all__ = ["Tutor", "open_tutor"]


class Tutor:
    """What retrieval and import need, with a cache of the embeddings of skill descriptions."""

    def __init__(
        self, settings: TutorSettings, embedder: Embedder, index: VectorIndex, skill_map: SkillMap | None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.index = index
        self.skill_map = skill_map
        self.embed_query = functools.lru_cache(maxsize=4096)(self._embed_one)

    def _embed_one(self, text: str) -> Vectors:
        vector: Vectors = self.embedder.embed([text])[0]
        return vector

    def describe(self, skill: str) -> str:
        return self.skill_map.describe(skill) if self.skill_map else skill.replace("-", " ")

    def close(self) -> None:
        self.index.close()


def open_tutor(settings: TutorSettings, index_path: Path, *, threads: int = 1) -> Tutor:
    """The tutor over the embedded index at ``index_path``."""
    skill_map = load_skill_map(settings.skill_map) if settings.skill_map is not None else None
    return Tutor(settings, MiniLmEmbedder(threads=threads), EmbeddedIndex(index_path), skill_map)
