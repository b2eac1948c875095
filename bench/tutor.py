"""The tutor: latency of ``POST /api/v1/tutor/retrieve`` and retrieval quality.

- ``latency_ms``: round trips to a running ``edupulse serve`` over the Software Carpentry
  shell lesson excerpt (tests/data/tutor), 50 learners with graded attempts on its
  skills: retrieval without a question (weak skills and recent failures), with a
  question (embedded by the model on every request), and a baseline in the same run,
  interleaved: ``GET /api/v1/learner/mastery``, a plain keyed lookup of the same view.
- ``search_us``: the embedded index alone, one brute-force search over a course of
  the lesson's passages and over a synthetic course of 5,000 passages.
- ``quality``: recall@5 and MRR on the labelled questions (tests/data/tutor/questions.json).

    .venv/bin/python bench/tutor.py [--requests 300]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from _common import REPO, edupulse_command, edupulse_server, emit, machine, percentiles, wait_for_quiet, wait_processed
from edupulse.config import Settings
from edupulse.tutor.chunking import Chunk
from edupulse.tutor.embedder import DIM
from edupulse.tutor.evaluate import evaluate, load_labelled
from edupulse.tutor.index.embedded import EmbeddedIndex
from edupulse.tutor.tutor import open_tutor

DATA = REPO / "tests" / "data" / "tutor"
SKILLS = ["introducing-the-shell", "navigating-files-and-directories", "pipes-and-filters", "loops", "shell-scripts"]
LEARNERS = 50
TARGET_P95_MS = 20.0


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
        learner = "account:https://example.edu|l{}".format
        busy = wait_for_quiet()
        samples: dict[str, list[float]] = {"baseline_mastery_lookup": [], "retrieve": [], "retrieve_question": []}
        with server.client(timeout=30) as client:
            for i in range(requests + 20):  # the first 20 of each warm up (model load, caches)
                who = learner(rng.randrange(LEARNERS))
                base = timed(client, "GET", "/api/v1/learner/mastery", params={"learner": who})
                plain = timed(client, "POST", "/api/v1/tutor/retrieve", json={"learner": who, "course": "shell"})
                body = {"learner": who, "course": "shell", "question": f"{questions[i % len(questions)]} ({i})"}
                asked = timed(client, "POST", "/api/v1/tutor/retrieve", json=body)
                if i >= 20:
                    samples["baseline_mastery_lookup"].append(base)
                    samples["retrieve"].append(plain)
                    samples["retrieve_question"].append(asked)
    out: dict[str, Any] = {k: percentiles(v) for k, v in samples.items()}
    base95 = out["baseline_mastery_lookup"]["p95"]
    out["p95_ratio_vs_baseline"] = {
        k: round(out[k]["p95"] / base95, 2) for k in ("retrieve", "retrieve_question") if base95
    }
    out["target_p95_ms"] = TARGET_P95_MS
    out["machine_busy_before"] = busy
    out["requests"] = requests
    return out


def search_us(tmp: Path) -> dict[str, float]:
    index = EmbeddedIndex(tmp / "synthetic.sqlite")
    rng = np.random.default_rng(0)
    out = {}
    for n in (136, 5000):
        course = f"c{n}"
        vecs = rng.standard_normal((n, DIM)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        chunks = [Chunk("t", course, "s", i, ("T",), f"p{i}", ("k",)) for i in range(n)]
        index.replace_source("t", course, "s", chunks, vecs)
        index.search("t", course, vecs[0], 5)  # load
        started = time.perf_counter()
        for i in range(500):
            index.search("t", course, vecs[i % n], 5)
        out[f"{n}_passages"] = round((time.perf_counter() - started) / 500 * 1e6, 1)
    index.close()
    return out


def quality(tmp: Path) -> dict[str, Any]:
    from edupulse.tutor.ingest import import_content  # noqa: PLC0415

    tutor = open_tutor(Settings(tutor={"index_path": tmp / "quality.sqlite"}), threads=2)
    try:
        import_content(tutor, DATA / "shell-novice", tenant="t", course="shell")
        q = evaluate(tutor, "t", "shell", load_labelled(DATA / "questions.json"))
    finally:
        tutor.close()
    return {"questions": q.questions, "recall_at_5": q.recall_at_k, "mrr": q.mrr}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        result = {
            "benchmark": "tutor",
            "machine": machine(),
            "quality": quality(Path(tmp)),
            "search_us": search_us(Path(tmp)),
            "latency_ms": latency(args.requests, random.Random(0)),
        }
    emit(result)


if __name__ == "__main__":
    main()
