"""The question path of the embedder: unpadded, cut at ``question_tokens``, cached by the tutor."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from edupulse.config import TutorSettings
from edupulse.tutor.embedder import MiniLmEmbedder, Vectors
from edupulse.tutor.index.embedded import EmbeddedIndex
from edupulse.tutor.tutor import Tutor


@pytest.fixture(scope="module")
def embedder() -> MiniLmEmbedder:
    return MiniLmEmbedder(question_tokens=16)


class Counting:
    """The real embedder, counting the questions it runs the model for."""

    model_id = "counting"
    dim = 384

    def __init__(self, inner: MiniLmEmbedder) -> None:
        self.inner = inner
        self.questions: list[str] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        return self.inner.embed(texts)

    def embed_question(self, text: str) -> Vectors:
        self.questions.append(text)
        return self.inner.embed_question(text)


@pytest.fixture
def tutor(embedder: MiniLmEmbedder, tmp_path: Path) -> Iterator[tuple[Tutor, Counting]]:
    counting = Counting(embedder)
    index = EmbeddedIndex(tmp_path / "t.sqlite")
    yield Tutor(TutorSettings(question_cache=2), counting, index, None), counting
    index.close()


def test_a_question_embeds_as_the_passage_path_does(embedder: MiniLmEmbedder) -> None:
    question = "How do I save the output of a command to a file?"
    alone = embedder.embed_question(question)
    batched = embedder.embed([question, "a much longer text that makes the batch pad the question " * 3])[0]
    assert alone.shape == (384,)
    assert float(alone @ batched) == pytest.approx(1.0, abs=1e-4)  # padding is masked out of the mean


def test_a_long_question_is_cut_at_question_tokens(embedder: MiniLmEmbedder) -> None:
    head = "how do i list the files in my home directory sorted by size"  # 13 word pieces, + [CLS] [SEP]
    long = head + " and then " + "also copy them into a backup folder " * 30
    assert float(embedder.embed_question(long) @ embedder.embed([long])[0]) < 0.95  # the passage path reads more
    cut = embedder.embed_question(long)
    assert float(cut @ embedder.embed_question(head + " and")) == pytest.approx(1.0, abs=1e-4)


def test_the_tutor_caches_questions_whatever_their_spacing(tutor: tuple[Tutor, Counting]) -> None:
    t, counting = tutor
    first = t.embed_question("What does a pipe do?")
    again = t.embed_question("  What  does a pipe\tdo? ")
    assert again is first
    assert not first.flags.writeable  # shared between requests: nobody may change it
    t.embed_question("What is a loop?")
    t.embed_question("What is a variable?")  # the cache holds 2: the pipe question is dropped
    t.embed_question("What does a pipe do?")
    assert counting.questions == [
        "What does a pipe do?",
        "What is a loop?",
        "What is a variable?",
        "What does a pipe do?",
    ]
    assert np.allclose(t.embed_question("What does a pipe do?"), first)
