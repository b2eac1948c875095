"""What every vector index offers; the contract tests hold each backend to it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from edupulse.tutor.chunking import Chunk
from edupulse.tutor.embedder import Vectors

__all__ = ["Hit", "VectorIndex"]


@dataclass(frozen=True, slots=True)
class Hit:
    """A passage and its cosine similarity to the query."""

    chunk: Chunk
    score: float


class VectorIndex(Protocol):
    """Passages of courses with their unit vectors, searched by cosine within one course."""

    def replace_source(self, tenant: str, course: str, source: str, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        """Make ``chunks`` the passages of one source document (re-import replaces, never duplicates)."""

    def search(
        self,
        tenant: str,
        course: str,
        vector: Vectors,
        k: int,
        *,
        skills: Collection[str] | None = None,
    ) -> list[Hit]:
        """The ``k`` passages of the course closest to ``vector``, best first; with ``skills``,
        only passages tagged with one of them."""

    def skills(self, tenant: str, course: str) -> set[str]:
        """Every skill some passage of the course carries."""

    def count(self, tenant: str, course: str) -> int:
        """Passages of the course."""

    def close(self) -> None: ...
