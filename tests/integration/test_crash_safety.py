"""Crash safety of the embedded deployment, proved by killing the real server.

A client streams 50,000 xAPI statements in batches to ``edupulse serve`` and retries
every batch that failed, while the test kills the server with SIGKILL at seeded
moments and restarts it on the same data directory. Live micro-batches are kept small
so that processing trails ingest: the kills land mid-request and mid-backlog alike.
Once everything is accepted and processed, every learner-course row served by the API
must equal a reference computed here from the statements alone: nothing lost, nothing
counted twice. Finally ``edupulse replay`` rebuilds the state from the log and must
reproduce the live rows exactly.

Lateness is made independent of how learners share partitions: an event is either
within the allowed lateness of every event sent before it (never late, whatever its
partition), or more than the allowed lateness behind an earlier event of the same
learner (always late, since a learner's events share one partition).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from edupulse.config import Settings
from edupulse.deployment import Deployment, ProcessLock
from edupulse.insights.engagement import COURSE_VIEW, LEARNER_VIEW
from edupulse.privacy.setup import open_pseudonymiser

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

SEED = 20_240_901
STATEMENTS = 50_000
BATCH = 250
PARTITIONS = 4
LEARNERS = 300
KILLS = 8
LATENESS_HOURS = 48
LATE_SHARE = 0.01
# Small live micro-batches make processing trail ingest by thousands of records, so the
# kills land while the runtime is committing a backlog, not only while it is idle.
LIVE_BATCH = 8

TENANT = "default"
HOME_PAGE = "https://lms.example.edu"
COURSE_TYPE = "http://adlnet.gov/expapi/activities/course"
COURSES = [f"https://lms.example.edu/course/{name}" for name in ("algebra", "biology", "chemistry", "history")]
START = datetime(2024, 9, 2, 8, 0, tzinfo=UTC)
SPAN = timedelta(days=60)
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
LATENESS_US = LATENESS_HOURS * HOUR_US
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

STARTUP_S = 45.0
STREAM_S = 300.0
CATCH_UP_S = 120.0
REQUEST_TIMEOUT_S = 15.0
XAPI_HEADERS = {"Content-Type": "application/json", "X-Experience-API-Version": "1.0.3"}


# -- the statements -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fact:
    """What the reference needs to know of one statement."""

    learner: str
    course: str
    time_us: int
    attempt: bool
    score: float | None
    duration_s: float | None


def _iso(time_us: int) -> str:
    return (EPOCH + timedelta(microseconds=time_us)).isoformat()


def _duration(rng: random.Random) -> tuple[str, float]:
    """An ISO 8601 duration and its seconds (halves only, so sums are exact in binary)."""
    seconds = rng.randrange(10, 1800) / 2
    minutes, rest = divmod(seconds, 60)
    text = f"PT{int(minutes)}M{rest:g}S" if minutes else f"PT{rest:g}S"
    return text, seconds


def _answered(rng: random.Random) -> tuple[str, dict[str, Any], bool, float | None, float | None]:
    scaled = rng.randrange(0, 21) / 20
    duration, seconds = _duration(rng)
    result = {"score": {"scaled": scaled}, "success": scaled >= 0.5, "duration": duration}
    return "http://adlnet.gov/expapi/verbs/answered", result, True, scaled, seconds


def _graded(rng: random.Random) -> tuple[str, dict[str, Any], bool, float | None, float | None]:
    raw, top = rng.randrange(0, 41), 40.0
    verb = "passed" if raw >= 24 else "failed"
    result = {"score": {"raw": raw, "min": 0, "max": top}, "success": raw >= 24, "completion": True}
    return f"http://adlnet.gov/expapi/verbs/{verb}", result, True, (raw - 0) / (top - 0), None


def _played(rng: random.Random) -> tuple[str, dict[str, Any], bool, float | None, float | None]:
    duration, seconds = _duration(rng)
    return "https://w3id.org/xapi/video/verbs/played", {"duration": duration}, False, None, seconds


def _completed(rng: random.Random) -> tuple[str, dict[str, Any], bool, float | None, float | None]:
    duration, seconds = _duration(rng)
    return "http://adlnet.gov/expapi/verbs/completed", {"completion": True, "duration": duration}, False, None, seconds


def _viewed(rng: random.Random) -> tuple[str, dict[str, Any] | None, bool, float | None, float | None]:
    verb = rng.choice(["http://adlnet.gov/expapi/verbs/experienced", "https://w3id.org/xapi/adl/verbs/logged-in"])
    return verb, None, False, None, None


_KINDS = [(_answered, 35), (_graded, 5), (_played, 15), (_completed, 5), (_viewed, 40)]


def _statement(rng: random.Random, learner: int, course: str, time_us: int) -> tuple[dict[str, Any], Fact]:
    make = rng.choices([k for k, _ in _KINDS], weights=[w for _, w in _KINDS])[0]
    verb, result, attempt, score, seconds = make(rng)
    name = f"u{learner:04d}"
    stmt: dict[str, Any] = {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "actor": {
            "objectType": "Agent",
            "name": f"Learner {learner}",
            "account": {"homePage": HOME_PAGE, "name": name},
        },
        "verb": {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[-1]}},
        "object": {
            "objectType": "Activity",
            "id": f"{course}/item/{rng.randrange(60)}",
            "definition": {"type": "http://adlnet.gov/expapi/activities/question"},
        },
        "context": {
            "platform": "crash-safety-test",
            "contextActivities": {
                "grouping": [{"objectType": "Activity", "id": course, "definition": {"type": COURSE_TYPE}}]
            },
        },
        "timestamp": _iso(time_us),
    }
    if result is not None:
        stmt["result"] = result
    fact = Fact(f"account:{HOME_PAGE}|{name}", course, time_us, attempt, score, seconds)
    return stmt, fact


def generate(n: int, seed: int) -> tuple[list[dict[str, Any]], list[Fact]]:
    """``n`` valid statements in sending order, deterministic for a seed.

    Time moves forward overall; most events lag the clock by up to six hours (out of
    order, but never late); about one in a hundred is days behind its learner's newest
    event (late under the policy, whatever the partitioning).
    """
    rng = random.Random(seed)
    enrolled = [rng.sample(COURSES, rng.choice((1, 1, 2))) for _ in range(LEARNERS)]
    weights = [rng.uniform(0.3, 3.0) ** 2 for _ in range(LEARNERS)]
    step_us = SPAN / timedelta(microseconds=1) / n
    clock = int((START - EPOCH) / timedelta(microseconds=1))
    newest: dict[int, int] = {}
    statements, facts = [], []
    for _ in range(n):
        clock += int(rng.expovariate(1 / step_us))
        learner = rng.choices(range(LEARNERS), weights=weights)[0]
        if learner in newest and rng.random() < LATE_SHARE:
            time_us = newest[learner] - rng.randrange(3 * DAY_US, 9 * DAY_US)
        else:
            time_us = clock - rng.randrange(0, 6 * HOUR_US)
            newest[learner] = max(newest.get(learner, time_us), time_us)
        stmt, fact = _statement(rng, learner, rng.choice(enrolled[learner]), time_us)
        statements.append(stmt)
        facts.append(fact)
    return statements, facts


# -- the reference ------------------------------------------------------------------


@dataclass(slots=True)
class Expected:
    events: int = 0
    first_seen_us: int = 2**62
    last_seen_us: int = -(2**62)
    time_on_task_s: float = 0.0
    attempts: int = 0
    score_sum: float = 0.0
    scored: int = 0
    late_events: int = 0
    days: Counter[int] = field(default_factory=Counter)

    def add(self, fact: Fact, late: bool) -> None:
        self.events += 1
        self.first_seen_us = min(self.first_seen_us, fact.time_us)
        self.last_seen_us = max(self.last_seen_us, fact.time_us)
        self.attempts += fact.attempt
        if fact.duration_s is not None:
            self.time_on_task_s += fact.duration_s
        if fact.score is not None:
            self.score_sum += fact.score
            self.scored += 1
        if late:
            self.late_events += 1
        else:
            self.days[fact.time_us // DAY_US] += 1


def _day(day: int) -> str:
    return (EPOCH + timedelta(days=day)).date().isoformat()


def _lateness(facts: list[Fact]) -> list[bool]:
    """Whether each event is late, decided without knowing the partitioning.

    A partition's watermark lies between the newest time of the event's own learner
    and the newest time of all events sent before it; the generator must keep every
    event clearly on one side, or the reference could not be exact.
    """
    learner_max: dict[str, int] = {}
    overall = -(2**62)
    late = []
    for fact in facts:
        mine = learner_max.get(fact.learner)
        surely_late = mine is not None and fact.time_us < mine - LATENESS_US
        surely_on_time = fact.time_us >= overall - LATENESS_US
        if surely_late == surely_on_time:
            raise AssertionError(f"the lateness of {fact} depends on the partitioning; fix the generator")
        late.append(surely_late)
        learner_max[fact.learner] = max(mine if mine is not None else fact.time_us, fact.time_us)
        overall = max(overall, fact.time_us)
    return late


def reference(facts: list[Fact]) -> dict[tuple[str, str], Expected]:
    """Engagement per (course, learner), folded in each learner's sending order."""
    out: dict[tuple[str, str], Expected] = {}
    for fact, late in zip(facts, _lateness(facts), strict=True):
        out.setdefault((fact.course, fact.learner), Expected()).add(fact, late)
    return out


def expected_row(course: str, learner: str, e: Expected) -> dict[str, Any]:
    return {
        "tenant": TENANT, "course": course, "learner": learner,
        "events": e.events, "active_days": len(e.days),
        "first_seen_us": e.first_seen_us, "last_seen_us": e.last_seen_us,
        "time_on_task_s": round(e.time_on_task_s, 6), "attempts": e.attempts, "scored": e.scored,
        "mean_score": round(e.score_sum / e.scored, 6) if e.scored else None,
        "late_events": e.late_events,
        "activity": {_day(d): n for d, n in sorted(e.days.items())},
    }  # fmt: skip


def expected_course(course: str, rows: list[Expected]) -> dict[str, Any]:
    daily: Counter[int] = Counter()
    for e in rows:
        daily.update(e.days)
    scored = sum(e.scored for e in rows)
    return {
        "course": course,
        "events": sum(e.events for e in rows),
        "learners": len(rows),
        "attempts": sum(e.attempts for e in rows),
        "scored": scored,
        "mean_score": sum(e.score_sum for e in rows) / scored if scored else None,
        "time_on_task_s": sum(e.time_on_task_s for e in rows),
        "late_events": sum(e.late_events for e in rows),
        "daily": {_day(d): n for d, n in sorted(daily.items())},
    }


FLOATS = ("time_on_task_s", "mean_score")


def assert_row(got: dict[str, Any], want: dict[str, Any], *, tolerance: float = 1e-9) -> None:
    """Equal, with floats compared to within ``tolerance``; the message says where."""
    where = f"{want.get('course')} / {want.get('learner', '(course totals)')}"
    assert set(got) >= set(want), f"{where}: missing fields {set(want) - set(got)}"
    for name, value in want.items():
        if name in FLOATS and value is not None:
            assert got[name] == pytest.approx(value, abs=tolerance), f"{where}: {name}"
        else:
            assert got[name] == value, f"{where}: {name} is {got[name]!r}, expected {value!r}"


# -- the server, the client and the killer ------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from edupulse.cli import main; main()", *args]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUPULSE_")}
    env["EDUPULSE_RUNTIME__ALLOWED_LATENESS_HOURS"] = str(LATENESS_HOURS)
    env["EDUPULSE_RUNTIME__LIVE_BATCH_SIZE"] = str(LIVE_BATCH)
    env["EDUPULSE_RUNTIME__LIVE_MAX_BATCH_SIZE"] = str(LIVE_BATCH)  # no adaptive growth: keep a backlog
    return env


def wait_processor_gone(data_dir: Path, timeout_s: float = 120.0) -> None:
    """The server's processor process outlives the server by as long as it takes to close its
    stores (seconds on a loaded machine); replay needs the data directory to itself."""
    lock = ProcessLock(data_dir)
    deadline = time.monotonic() + timeout_s
    while lock.held_elsewhere():
        assert time.monotonic() < deadline, f"a processor still holds {data_dir} {timeout_s} s after the server stopped"
        time.sleep(0.2)


def run_cli(*args: str, timeout: float = 120) -> str:
    done = subprocess.run(cli(*args), env=clean_env(), capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"edupulse {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


class Server:
    """``edupulse serve`` as a child process that can be killed and restarted."""

    def __init__(self, data_dir: Path, log_path: Path) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.starts = 0

    def start(self) -> None:
        port = free_port()
        args = cli("serve", "--data-dir", str(self.data_dir), "--host", "127.0.0.1", "--port", str(port),
                   "--partitions", str(PARTITIONS))  # fmt: skip
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts} on port {port}\n".encode())
            self.proc = subprocess.Popen(args, env=clean_env(), stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1
        self.url = f"http://127.0.0.1:{port}"
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"the server was not healthy within {STARTUP_S}s:\n{self.log_tail()}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Graceful stop (SIGTERM), SIGKILL if that takes too long."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


class Streamer(threading.Thread):
    """Posts every batch until it is accepted, retrying what failed, within a deadline."""

    def __init__(self, server: Server, auth: tuple[str, str], batches: list[list[dict[str, Any]]]) -> None:
        super().__init__(name="statement-streamer", daemon=True)
        self.server = server
        self.auth = auth
        self.batches = batches
        self.accepted = 0
        self.failures = 0
        self.duplicates = 0
        self.error: BaseException | None = None
        self._progress = threading.Condition()
        self._deadline = time.monotonic() + STREAM_S

    def run(self) -> None:
        try:
            with httpx.Client(auth=self.auth, timeout=REQUEST_TIMEOUT_S) as client:
                for batch in self.batches:
                    self._send(client, batch)
                    with self._progress:
                        self.accepted += 1
                        self._progress.notify_all()
        except BaseException as exc:  # reported to the test thread, which fails on it
            self.error = exc
        finally:
            with self._progress:
                self._progress.notify_all()

    def _send(self, client: httpx.Client, batch: list[dict[str, Any]]) -> None:
        body = json.dumps(batch).encode()
        ids = [s["id"] for s in batch]
        headers = XAPI_HEADERS
        while time.monotonic() < self._deadline:
            try:
                response = client.post(self.server.url + "/xapi/statements", content=body, headers=headers)
            except httpx.TransportError:
                self.failures += 1
                # Retries ask for the partial-policy report, which counts what was already stored.
                headers = {**XAPI_HEADERS, "X-Edupulse-Batch-Policy": "partial"}
                time.sleep(0.05)
                continue
            if response.status_code == 200:
                self._accepted(response.json(), ids)
                return
            if response.status_code < 500:
                raise AssertionError(f"a valid batch was refused: {response.status_code} {response.text[:500]}")
            self.failures += 1
            headers = {**XAPI_HEADERS, "X-Edupulse-Batch-Policy": "partial"}
            time.sleep(0.05)
        raise TimeoutError(f"statements still not accepted after {STREAM_S}s")

    def _accepted(self, body: Any, ids: list[str]) -> None:
        if isinstance(body, list):  # the default (atomic) policy answers with the ids
            assert body == ids, "the server acknowledged other ids than it was sent"
            return
        assert body["ids"] == ids, f"a retried batch was not fully accepted: {body}"
        assert not body["problems"], f"a retried batch was not fully accepted: {body}"
        assert body["stored"] + body["duplicates"] == len(ids)
        self.duplicates += body["duplicates"]

    def wait_for(self, batches: int, timeout: float) -> None:
        """Block until ``batches`` batches are accepted (or the streamer stopped)."""
        with self._progress:
            ok = self._progress.wait_for(lambda: self.accepted >= batches or not self.is_alive(), timeout)
        assert ok, f"only {self.accepted} batches accepted after {timeout}s"


def wait_caught_up(server: Server, auth: tuple[str, str], events: int) -> dict[str, Any]:
    deadline = time.monotonic() + CATCH_UP_S
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = httpx.get(server.url + "/api/v1/status", auth=auth, timeout=REQUEST_TIMEOUT_S).json()
        if status["lag"] == 0 and status["processed"] >= events:
            return status
        time.sleep(0.2)
    raise AssertionError(f"the runtime did not catch up within {CATCH_UP_S}s: {status}")


# -- reading the state --------------------------------------------------------------


def api_learner_rows(client: httpx.Client, learners: set[str]) -> dict[tuple[str, str], dict[str, Any]]:
    rows = {}
    for learner in sorted(learners):
        response = client.get("/api/v1/learner", params={"learner": learner})
        assert response.status_code == 200, f"{learner}: {response.status_code} {response.text[:300]}"
        for row in response.json():
            rows[(row["course"], row["learner"])] = row
    return rows


def api_course_listing(client: httpx.Client, course: str) -> dict[tuple[str, str], dict[str, Any]]:
    rows, page = {}, 1
    while True:
        params: dict[str, Any] = {"course": course, "page": page, "page_size": 100}
        body = client.get("/api/v1/course/learners", params=params).json()
        for row in body["learners"]:
            rows[(row["course"], row["learner"])] = row
        if page * 100 >= body["total"]:
            assert len(rows) == body["total"], f"{course}: pages hold {len(rows)} learners, total says {body['total']}"
            return rows
        page += 1


def stored_rows(data_dir: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every learner-course row and every per-partition course row, read from the store."""
    with Deployment(Settings(data_dir=data_dir, log={"partitions": PARTITIONS})) as deployment:
        learners = deployment.store.select(LEARNER_VIEW.name, {"tenant": TENANT}, order_by="learner")
        courses = deployment.store.select(COURSE_VIEW.name, {"tenant": TENANT}, order_by="course")
    return learners, courses


def check_api(server: Server, auth: tuple[str, str], want: dict[tuple[str, str], Expected]) -> None:
    """Every row the API serves equals the reference, and no row is missing or extra."""
    with httpx.Client(base_url=server.url, auth=auth, timeout=REQUEST_TIMEOUT_S) as client:
        got = api_learner_rows(client, {learner for _, learner in want})
        assert set(got) == set(want), "the API serves other learner-course pairs than were sent"
        for (course, learner), e in want.items():
            assert_row(got[(course, learner)], expected_row(course, learner, e))
        listed: dict[tuple[str, str], dict[str, Any]] = {}
        for course in COURSES:
            listed |= api_course_listing(client, course)
        assert set(listed) == set(want), "the course listings hold other learners than were sent"
        for pair, row in listed.items():
            assert {k: v for k, v in got[pair].items() if k != "activity"} == row
        courses = {c["course"]: c for c in client.get("/api/v1/courses").json()}
        assert sum(c["events"] for c in courses.values()) == STATEMENTS
        for course in COURSES:
            rows = [e for (c, _), e in want.items() if c == course]
            expected = expected_course(course, rows)
            summary = client.get("/api/v1/course", params={"course": course}).json()
            assert_row(summary, expected, tolerance=1e-6)
            assert_row(courses[course], {k: v for k, v in expected.items() if k != "daily"}, tolerance=1e-6)


# -- the test -----------------------------------------------------------------------


def stream_with_kills(
    server: Server, auth: tuple[str, str], batches: list[list[dict[str, Any]]]
) -> tuple[int, Streamer]:
    """Stream every batch while killing the server at seeded moments; the kills and the client."""
    rng = random.Random(SEED + 1)
    kill_points = sorted(rng.sample(range(5, len(batches) - 5), KILLS))
    streamer = Streamer(server, auth, batches)
    streamer.start()
    kills = 0
    for point in kill_points:
        streamer.wait_for(point, STREAM_S)
        if streamer.error is not None:
            break
        time.sleep(rng.uniform(0.0, 0.2))
        server.kill()
        kills += 1
        server.start()
    streamer.join(STREAM_S)
    assert not streamer.is_alive(), "the streamer did not finish"
    if streamer.error is not None:
        raise streamer.error
    # Once more, right after the last acknowledgement, while the runtime may still be catching up.
    server.kill()
    server.start()
    return kills + 1, streamer


def test_kill_9_during_ingest_loses_nothing_and_counts_nothing_twice(tmp_path: Path) -> None:
    started = time.monotonic()
    statements, facts = generate(STATEMENTS, SEED)
    assert len({s["id"] for s in statements}) == STATEMENTS
    want = reference(facts)
    assert sum(e.late_events for e in want.values()) > 0, "the generator should produce some late events"
    batches = [statements[i : i + BATCH] for i in range(0, STATEMENTS, BATCH)]

    data_dir = tmp_path / "data"
    key = json.loads(run_cli("keys", "create", "--data-dir", str(data_dir), "--name", "crash-test", "--json"))
    auth = (key["key"], key["secret"])
    pseudonyms = open_pseudonymiser(Settings(data_dir=data_dir))  # views key learners by pseudonym
    want = {(course, pseudonyms.pseudonym(TENANT, learner)): e for (course, learner), e in want.items()}
    server = Server(data_dir, tmp_path / "server.log")
    server.start()
    try:
        kills, streamer = stream_with_kills(server, auth, batches)
        status = wait_caught_up(server, auth, STATEMENTS)
        assert status["events"] == STATEMENTS, f"the log holds {status['events']} events, not {STATEMENTS}"
        check_api(server, auth, want)
    finally:
        server.stop()

    report = json.loads(run_cli("status", "--data-dir", str(data_dir), "--json"))
    assert (report["events"], report["processed"], report["lag"]) == (STATEMENTS, STATEMENTS, 0)
    live = stored_rows(data_dir)
    for row in live[0]:
        assert_row(row, expected_row(row["course"], row["learner"], want[(row["course"], row["learner"])]))
    assert len(live[0]) == len(want)

    wait_processor_gone(data_dir)
    replayed = json.loads(run_cli("replay", "--data-dir", str(data_dir)))
    assert replayed["events"] == STATEMENTS
    again = stored_rows(data_dir)
    assert again[0] == live[0], "replay after the crashes built other learner rows than live processing"
    assert again[1] == live[1], "replay after the crashes built other course rows than live processing"

    sys.stderr.write(
        f"\ncrash safety: {kills} kills, {server.starts} starts, {streamer.failures} failed posts retried, "
        f"{streamer.duplicates} statements already stored when retried, "
        f"{time.monotonic() - started:.1f}s\n"
    )
    assert kills >= 5
