"""Retrieval quality on a labelled set: recall@k and mean reciprocal rank.

A labelled set is JSON ``{"questions": [{"q": "...", "relevant": ["source#passage", ...]}]}``.
Recall@k is the share of a question's relevant passages in its top k, averaged over
questions; MRR is the mean of 1/rank of the first relevant passage (0 if none in the
top ``depth``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from edupulse.tutor.tutor import Tutor

__all__ = ["Quality", "evaluate", "load_labelled"]


@dataclass(frozen=True, slots=True)
class Quality:
    questions: int
    k: int
    recall_at_k: float
    mrr: float


def load_labelled(path: Path) -> list[tuple[str, set[str]]]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return [(item["q"], set(item["relevant"])) for item in raw["questions"]]


def evaluate(
    tutor: Tutor, tenant: str, course: str, labelled: list[tuple[str, set[str]]], *, k: int = 5, depth: int = 20
) -> Quality:
    """Rank the course's passages for each question by cosine alone (no learner) and score them;
    questions are embedded as the API embeds them (uncached)."""
    recall = reciprocal = 0.0
    for question, relevant in labelled:
        vector = tutor.embedder.embed_question(question)
        ranked = [f"{h.chunk.source}#{h.chunk.ordinal}" for h in tutor.index.search(tenant, course, vector, depth)]
        recall += len(relevant.intersection(ranked[:k])) / len(relevant)
        first = next((i for i, ref in enumerate(ranked, 1) if ref in relevant), None)
        reciprocal += 1 / first if first else 0.0
    n = len(labelled)
    return Quality(n, k, round(recall / n, 4), round(reciprocal / n, 4))
