"""The tutor: latency of ``POST /api/v1/tutor/retrieve`` and retrieval quality.

- ``latency_ms``: round trips to a running ``edupulse serve`` over the Software Carpentry
  shell lesson excerpt (tests/data/tutor), 50 learners with graded attempts on its
  skills: retrieval without a question (weak skills and recent failures), with a new
  question every time (embedded by the model on every request), with a question asked
  before (the cache), and a baseline in the same run, interleaved: ``GET
  /api/v1/learner/mastery``, a plain keyed lookup of the same view. ``machine_busy``
  is the share of the machine's CPU used by all processes while the samples were taken;
  ``api_cpu_ms_per_request`` the API processes' CPU time per request of each kind.
- ``embedding``: one question's embedding in this process, the previous configuration
  (batch tokenizer, padding on, 256 tokens, onnxruntime's default session options) and
  the current one (``MiniLmEmbedder.embed_question``), alternated: CPU and wall ms.
- ``search_us``: one search of the embedded index (brute force, in memory) and of the
  pgvector index (HNSW in PostgreSQL, a round trip) over a course of the lesson's size
  and a synthetic course of 5,000 passages, in the same run (pgvector: if PostgreSQL
  answers at ``EDUPULSE_TEST_POSTGRES_DSN`` or the test server's address).
- ``quality``: recall@5 and MRR on the labelled questions (tests/data/tutor/questions.json),
  exact (embedded) and by pgvector's HNSW index (the planner kept from sorting).

    .venv/bin/python bench/tutor.py [--requests 300]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from _common import (
    REPO,
    Server,
    busy_core_seconds,
    edupulse_command,
    edupulse_server,
    emit,
    machine,
    percentiles,
    wait_for_quiet,
    wait_processed,
)
from edupulse.config import Settings
from edupulse.tutor.chunking import Chunk
from edupulse.tutor.embedder import DIM, MiniLmEmbedder, model_files
from edupulse.tutor.evaluate import evaluate, load_labelled
from edupulse.tutor.index.base import VectorIndex
from edupulse.tutor.index.embedded import EmbeddedIndex
from edupulse.tutor.index.pgvector import PgvectorIndex
from edupulse.tutor.tutor import Tutor, open_tutor

DATA = REPO / "tests" / "data" / "tutor"
SKILLS = ["introducing-the-shell", "navigating-files-and-directories", "pipes-and-filters", "loops", "shell-scripts"]
LEARNERS = 50
TARGET_P95_MS = 20.0
BENCH_SCHEMA = f"bench_tutor_{os.getpid()}"
KINDS = ("baseline_mastery_lookup", "retrieve", "retrieve_question", "retrieve_question_asked_before")
LEARNER = "account:https://example.edu|l{}".format


def statements(rng: random.Random) -> list[dict[str, Any]]:
    start = datetime(2026, 9, 7, tzinfo=UTC)
    out = []
    for n in range(LEARNERS):
        for i in range(40):
            ok = rng.random() < 0.6
            out.append(
                {
                    "actor": {"account": {"homePage": "https://example.edu", "name": f"l{n}"}},
                    "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
                    "object": {"id": f"https://example.edu/shell/q{i}"},
                    "result": {"success": ok, "score": {"scaled": 1.0 if ok else 0.0}},
                    "context": {
                        "contextActivities": {"grouping": [{"id": "https://example.edu/shell"}]},
                        "extensions": {"https://edupulse.dev/xapi/extensions/skills": [rng.choice(SKILLS)]},
                    },
                    "timestamp": (start + timedelta(minutes=n * 100 + i)).isoformat(),
                }
            )
    return out


def timed(client: httpx.Client, method: str, url: str, **kwargs: Any) -> float:
    started = time.perf_counter()
    r = client.request(method, url, **kwargs)
    elapsed = (time.perf_counter() - started) * 1000
    if r.status_code != 200:
        raise RuntimeError(f"{method} {url}: {r.status_code} {r.text[:300]}")
    return elapsed


def latency(requests: int, rng: random.Random) -> dict[str, Any]:
    questions = [q for q, _ in load_labelled(DATA / "questions.json")]
    with edupulse_server() as server:
        cmd = [*edupulse_command(), "content", "import", str(DATA / "shell-novice"), "--course", "shell"]
        subprocess.run([*cmd, "--data-dir", str(server.data_dir)], check=True, capture_output=True, timeout=600)
        stmts = statements(rng)
        with server.client(timeout=30) as client:
            for i in range(0, len(stmts), 500):
                client.post("/xapi/statements", json=stmts[i : i + 500], headers={"X-Experience-API-Version": "1.0.3"})
        wait_processed(server, len(stmts))
        busy_before = wait_for_quiet()
        samples: dict[str, list[float]] = {k: [] for k in KINDS}
        cores_before, started = busy_core_seconds(), time.monotonic()
        with server.client(timeout=30) as client:
            for i in range(requests + 20):  # the first 20 of each warm up (model load, caches)
                for kind, (method, url, body) in requests_of(i, LEARNER(rng.randrange(LEARNERS)), questions).items():
                    took = timed(client, method, url, **body)
                    if i >= 20:
                        samples[kind].append(took)
        busy = (busy_core_seconds() - cores_before) / ((time.monotonic() - started) * (os.cpu_count() or 1))
        cpu = api_cpu_ms(server, questions, rng)
    out: dict[str, Any] = {k: percentiles(v) for k, v in samples.items()}
    out["api_cpu_ms_per_request"] = cpu
    base95 = out["baseline_mastery_lookup"]["p95"]
    out["p95_ratio_vs_baseline"] = {k: round(out[k]["p95"] / base95, 2) for k in KINDS[1:] if base95}
    out["target_p95_ms"] = TARGET_P95_MS
    out["machine_busy_before"] = busy_before
    out["machine_busy"] = round(busy, 2)
    out["requests"] = requests
    return out


def api_cpu_ms(server: Server, questions: list[str], rng: random.Random, n: int = 100) -> dict[str, float]:
    """CPU time the API processes spend on one request of each kind (100 in a row each):
    unlike latency, it does not depend on how busy the machine is."""
    out = {}
    with server.client(timeout=30) as client:
        for kind in KINDS:
            before = server.tree_cpu_seconds()["api"]
            for i in range(n):
                method, url, body = requests_of(1000 + i, LEARNER(rng.randrange(LEARNERS)), questions)[kind]
                timed(client, method, url, **body)
            out[kind] = round((server.tree_cpu_seconds()["api"] - before) / n * 1000, 2)
    return out


def requests_of(i: int, who: str, questions: list[str]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """The requests of round ``i``, one of each kind, for learner ``who``."""
    retrieve = "/api/v1/tutor/retrieve"
    new = {"learner": who, "course": "shell", "question": f"{questions[i % len(questions)]} ({i})"}
    again = {"learner": who, "course": "shell", "question": questions[i % 5]}  # five questions, asked again and again
    return {
        "baseline_mastery_lookup": ("GET", "/api/v1/learner/mastery", {"params": {"learner": who}}),
        "retrieve": ("POST", retrieve, {"json": {"learner": who, "course": "shell"}}),
        "retrieve_question": ("POST", retrieve, {"json": new}),
        "retrieve_question_asked_before": ("POST", retrieve, {"json": again}),
    }


def _previous_embedder() -> Any:
    """The question path as it was: batch tokenizer with padding, 256 tokens, default session options."""
    import onnxruntime as ort  # noqa: PLC0415
    from tokenizers import Tokenizer  # noqa: PLC0415

    model, tokenizer = model_files()
    tok = Tokenizer.from_file(str(tokenizer))
    tok.enable_truncation(256)
    tok.enable_padding()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

    def embed(text: str) -> Any:
        (e,) = tok.encode_batch([text])
        ids = np.array([e.ids], dtype=np.int64)
        mask = np.array([e.attention_mask], dtype=np.int64)
        return session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": 0 * ids})

    return embed


def embedding(rounds: int = 5) -> dict[str, Any]:
    questions = [f"{q} ({i})" for i, (q, _) in enumerate(load_labelled(DATA / "questions.json"))]
    variants = {"previous": _previous_embedder(), "current": MiniLmEmbedder().embed_question}
    for embed in variants.values():
        embed(questions[0])
    cpu: dict[str, list[float]] = {k: [] for k in variants}
    wall: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(rounds):
        for name, embed in variants.items():  # alternated: both see the same machine
            for q in questions:
                c, w = time.process_time(), time.perf_counter()
                embed(q)
                cpu[name].append((time.process_time() - c) * 1000)
                wall[name].append((time.perf_counter() - w) * 1000)
    return {
        name: {"cpu_ms_mean": round(float(np.mean(cpu[name])), 2), "wall_ms": percentiles(wall[name])}
        for name in variants
    }


def _synthetic(n: int, rng: np.random.Generator) -> tuple[list[Chunk], Any]:
    vecs = rng.standard_normal((n, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return [Chunk("t", f"c{n}", "s", i, ("T",), f"p{i}", ("k",)) for i in range(n)], vecs


def _per_search_us(index: VectorIndex, course: str, vecs: Any) -> float:
    index.search("t", course, vecs[0], 5)  # load
    started = time.perf_counter()
    for i in range(300):
        index.search("t", course, vecs[i % len(vecs)], 5)
    return round((time.perf_counter() - started) / 300 * 1e6, 1)


def search_us(tmp: Path, dsn: str | None) -> dict[str, Any]:
    indexes: dict[str, VectorIndex] = {"embedded": EmbeddedIndex(tmp / "synthetic.sqlite")}
    if dsn is not None:
        indexes["pgvector"] = PgvectorIndex(dsn, schema=BENCH_SCHEMA)
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {name: {} for name in indexes}
    try:
        for n in (136, 5000):
            chunks, vecs = _synthetic(n, rng)
            for index in indexes.values():
                index.replace_source("t", f"c{n}", "s", chunks, vecs)
            for name, index in indexes.items():
                out[name][f"{n}_passages"] = _per_search_us(index, f"c{n}", vecs)
    finally:
        for index in indexes.values():
            index.close()
    if dsn is None:
        out["pgvector"] = "skipped: no PostgreSQL (scripts/services/postgres.sh up)"
    return out


def quality(tmp: Path, dsn: str | None) -> dict[str, Any]:
    from edupulse.tutor.ingest import import_content  # noqa: PLC0415

    tutor = open_tutor(Settings(tutor={"index_path": tmp / "quality.sqlite"}), threads=2)
    labelled = load_labelled(DATA / "questions.json")
    out: dict[str, Any] = {"questions": len(labelled)}
    try:
        import_content(tutor, DATA / "shell-novice", tenant="t", course="shell")
        exact = evaluate(tutor, "t", "shell", labelled)
        out["exact"] = {"recall_at_5": exact.recall_at_k, "mrr": exact.mrr}
        if dsn is not None:
            copy = _hnsw_copy(tutor, dsn)
            try:
                hnsw = evaluate(copy, "t", "shell", labelled)
            finally:
                copy.close()
            out["pgvector_hnsw"] = {"recall_at_5": hnsw.recall_at_k, "mrr": hnsw.mrr}
    finally:
        tutor.close()
    return out


def _hnsw_copy(tutor: Tutor, dsn: str) -> Tutor:
    """The tutor's course copied into pgvector, searched through the HNSW index only."""
    forced = make_conninfo(dsn, options="-c enable_sort=off -c enable_seqscan=off")
    index = PgvectorIndex(forced, schema=BENCH_SCHEMA)
    passages = [h.chunk for h in tutor.index.search("t", "shell", np.ones(DIM, dtype=np.float32), 10_000)]
    vectors = tutor.embedder.embed([c.embedding_text() for c in passages])
    by_source: dict[str, list[int]] = {}
    for i, c in enumerate(passages):
        by_source.setdefault(c.source, []).append(i)
    for source, rows in by_source.items():
        index.replace_source("t", "shell", source, [passages[i] for i in rows], vectors[rows])
    return Tutor(tutor.settings, tutor.embedder, index, None)


def _postgres() -> str | None:
    dsn = os.environ.get("EDUPULSE_TEST_POSTGRES_DSN", "postgresql://edupulse@127.0.0.1:15432/edupulse")
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except psycopg.Error:
        return None
    return dsn


def _drop_schema(dsn: str | None) -> None:
    if dsn is not None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(BENCH_SCHEMA)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    import tempfile  # noqa: PLC0415

    dsn = _postgres()
    _drop_schema(dsn)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = {
                "benchmark": "tutor",
                "machine": machine(),
                "quality": quality(Path(tmp), dsn),
                "search_us": search_us(Path(tmp), dsn),
                "embedding": embedding(),
                "latency_ms": latency(args.requests, random.Random(0)),
            }
    finally:
        _drop_schema(dsn)
    emit(result)


if __name__ == "__main__":
    main()
