"""The tutor's parts, opened together from the settings: embedder, index, skill map."""

from __future__ import annotations

import functools

from edupulse.config import Settings, TutorSettings
from edupulse.tutor.embedder import Embedder, MiniLmEmbedder, Vectors
from edupulse.tutor.index.base import VectorIndex
from edupulse.tutor.index.embedded import EmbeddedIndex
from edupulse.tutor.skills import SkillMap, load_skill_map

__all__ = ["Tutor", "open_index", "open_tutor"]


class Tutor:
    """What retrieval and import need, with caches of the embeddings of skill descriptions
    and of questions (read-only vectors, shared by the requests that hit them)."""

    def __init__(
        self, settings: TutorSettings, embedder: Embedder, index: VectorIndex, skill_map: SkillMap | None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.index = index
        self.skill_map = skill_map
        self.embed_description = functools.lru_cache(maxsize=4096)(self._description)
        self._question = functools.lru_cache(maxsize=settings.question_cache)(self._embed_question)

    def _description(self, text: str) -> Vectors:
        vector: Vectors = self.embedder.embed([text])[0]
        vector.setflags(write=False)
        return vector

    def _embed_question(self, text: str) -> Vectors:
        vector = self.embedder.embed_question(text)
        vector.setflags(write=False)
        return vector

    def embed_question(self, question: str) -> Vectors:
        """The question's vector; asked again (whatever its spacing), it costs no inference."""
        return self._question(" ".join(question.split()))

    def describe(self, skill: str) -> str:
        return self.skill_map.describe(skill) if self.skill_map else skill.replace("-", " ")

    def close(self) -> None:
        self.index.close()


def open_index(settings: Settings) -> VectorIndex:
    """The deployment's index: pgvector in its PostgreSQL schema when scaled out, else the embedded file."""
    if settings.deployment == "scaleout":
        from edupulse.tutor.index.pgvector import PgvectorIndex  # noqa: PLC0415

        pg = settings.postgres
        return PgvectorIndex(
            pg.dsn, schema=pg.schema_name, ef_search=settings.tutor.hnsw_ef_search, pool_size=min(pg.pool_size, 2)
        )
    return EmbeddedIndex(settings.tutor_index_path)


def open_tutor(settings: Settings, *, threads: int = 1, index: VectorIndex | None = None) -> Tutor:
    """The tutor of a deployment (or over ``index``)."""
    tutor = settings.tutor
    skill_map = load_skill_map(tutor.skill_map) if tutor.skill_map is not None else None
    embedder = MiniLmEmbedder(threads=threads, question_tokens=tutor.question_tokens)
    return Tutor(tutor, embedder, index or open_index(settings), skill_map)
