"""Brute-force search over a course's passages held in memory, shared by the backends.

Each backend stores passages durably and bumps a generation number on every change; a
:class:`MatrixCache` reloads a course when the generation moved, so every process sees
an import made by another. The product runs on one BLAS thread: a product this small
gains nothing from more, and on a busy machine waiting for them cost 20x (bench/tutor.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from edupulse.tutor.chunking import Chunk
from edupulse.tutor.embedder import DIM, Vectors
from edupulse.tutor.index.base import Hit

__all__ = ["CourseMatrix", "MatrixCache", "PassageRow"]

# (source, ordinal, trail JSON, text, skills JSON, vector bytes)
PassageRow = tuple[str, int, str, str, str, bytes]


@dataclass(slots=True)
class CourseMatrix:
    generation: int
    chunks: list[Chunk]
    matrix: Vectors
    skill_masks: dict[str, np.ndarray[Any, np.dtype[np.bool_]]]


def encode_row(chunk: Chunk, vector: Vectors) -> tuple[str, int, str, str, str, bytes]:
    vec = np.asarray(vector, dtype=np.float32).reshape(DIM)
    return (chunk.source, chunk.ordinal, json.dumps(chunk.trail), chunk.text, json.dumps(chunk.skills), vec.tobytes())


def build(tenant: str, course: str, generation: int, rows: Sequence[PassageRow]) -> CourseMatrix:
    chunks = [
        Chunk(tenant, course, src, ordinal, tuple(json.loads(trail)), text, tuple(json.loads(skills)))
        for src, ordinal, trail, text, skills, _ in rows
    ]
    packed = np.frombuffer(b"".join(bytes(r[5]) for r in rows), dtype=np.float32).reshape(len(rows), DIM)
    masks: dict[str, np.ndarray[Any, np.dtype[np.bool_]]] = {}
    for i, chunk in enumerate(chunks):
        for skill in chunk.skills:
            masks.setdefault(skill, np.zeros(len(chunks), dtype=bool))[i] = True
    return CourseMatrix(generation, chunks, packed.copy(), masks)  # owned and aligned, as BLAS wants it


class MatrixCache:
    """Courses in memory, each reloaded when the backend's generation moved."""

    def __init__(self, generation: Callable[[], int], rows: Callable[[str, str], Sequence[PassageRow]]) -> None:
        self._generation = generation
        self._rows = rows
        self._lock = threading.Lock()
        self._courses: dict[tuple[str, str], CourseMatrix] = {}
        self._blas = ThreadpoolController()

    def course(self, tenant: str, course: str) -> CourseMatrix:
        generation = self._generation()
        with self._lock:
            cached = self._courses.get((tenant, course))
        if cached is not None and cached.generation == generation:
            return cached
        loaded = build(tenant, course, generation, self._rows(tenant, course))
        with self._lock:
            self._courses[(tenant, course)] = loaded
        return loaded

    def search(self, tenant: str, course: str, vector: Vectors, k: int, skills: Collection[str] | None) -> list[Hit]:
        data = self.course(tenant, course)
        if not data.chunks or k <= 0:
            return []
        with self._blas.limit(limits=1, user_api="blas"):
            scores = data.matrix @ np.asarray(vector, dtype=np.float32).reshape(-1)
        if skills is not None:
            mask = np.zeros(len(data.chunks), dtype=bool)
            for skill in skills:
                if skill in data.skill_masks:
                    mask |= data.skill_masks[skill]
            scores = np.where(mask, scores, -np.inf)
        k = min(k, len(data.chunks))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [Hit(data.chunks[i], float(scores[i])) for i in top if np.isfinite(scores[i])]
