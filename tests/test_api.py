"""The HTTP API end to end: ingest, serving views, live stream, and every kind of bad input."""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

import httpx
import pytest

from edupulse.privacy.credentials import NewKey
from tests.conftest import LiveServer, basic
from tests.statements import learner_key, random_statements, statement

JSON = {"Content-Type": "application/json", "X-Experience-API-Version": "1.0.3"}


def post(server: LiveServer, key: NewKey, body: Any, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        server.url + "/xapi/statements", content=content, headers={**basic(key), **JSON, **headers}, timeout=10
    )


def get(server: LiveServer, key: NewKey, path: str, **params: Any) -> httpx.Response:
    return httpx.get(server.url + path, params=params, headers=basic(key), timeout=10)


def wait_for(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def learner_row(server: LiveServer, key: NewKey, learner: str, course: str) -> dict[str, Any] | None:
    response = get(server, key, "/api/v1/learner", learner=learner_key(learner), course=course)
    return response.json()[0] if response.status_code == 200 else None


# -- the happy path ----------------------------------------------------------------------


def test_posted_statements_reach_the_metrics(live_server: LiveServer, key: NewKey) -> None:
    course = "https://example.edu/courses/algebra"
    batch = [
        statement("ada", verb="answered", score=1.0, duration_s=30),
        statement("ada", verb="answered", score=0.0, duration_s=60),
        statement("ada", verb="experienced"),
        statement("bob", verb="answered", score=0.5),
    ]
    response = post(live_server, key, batch)
    assert response.status_code == 200, response.text
    ids = response.json()
    assert len(ids) == 4 and len(set(ids)) == 4

    row = wait_for(lambda: (r := learner_row(live_server, key, "ada", course)) and r["events"] == 3 and r)
    assert row["attempts"] == 2
    assert row["scored"] == 2
    assert row["mean_score"] == pytest.approx(0.5)
    assert row["time_on_task_s"] == pytest.approx(90)
    assert row["active_days"] == 1
    assert row["activity"] == {"2026-09-07": 3}

    summary = get(live_server, key, "/api/v1/course", course=course).json()
    assert summary["events"] == 4
    assert summary["learners"] == 2
    assert summary["attempts"] == 3
    assert summary["active_learners_7d"] == 2
    page = get(live_server, key, "/api/v1/course/learners", course=course, sort="events").json()
    pseudonym = live_server.deployment.learner_key
    assert [r["learner"] for r in page["learners"]] == [pseudonym("default", learner_key(n)) for n in ("ada", "bob")]
    assert page["total"] == 2


def test_course_learners_are_paginated(live_server: LiveServer, key: NewKey) -> None:
    batch = random_statements(300, seed=3, learners=40, courses=1)
    assert post(live_server, key, batch).status_code == 200
    course = "https://example.edu/courses/c0"
    wait_for(lambda: get(live_server, key, "/api/v1/status").json()["lag"] == 0)
    seen = []
    for page in (1, 2, 3):
        body = get(live_server, key, "/api/v1/course/learners", course=course, page=page, page_size=15).json()
        assert body["total"] == 40
        seen += [r["learner"] for r in body["learners"]]
    assert len(seen) == 40 and len(set(seen)) == 40
    last_seen = [
        r["last_seen_us"]
        for r in get(live_server, key, "/api/v1/course/learners", course=course, page_size=40).json()["learners"]
    ]
    assert last_seen == sorted(last_seen, reverse=True)


def test_sse_stream_reports_updates(live_server: LiveServer, key: NewKey) -> None:
    received: list[dict[str, Any]] = []
    ready = threading.Event()

    def listen() -> None:
        url = live_server.url + "/api/v1/stream"
        with httpx.stream(
            "GET", url, params={"course": "https://example.edu/courses/sse"}, headers=basic(key), timeout=10
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            event = None
            for line in response.iter_lines():
                ready.set()
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "learner_course":
                    received.append(json.loads(line[6:]))
                    if received[-1]["events"] == 2:
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(5)
    course = "https://example.edu/courses/sse"
    post(live_server, key, [statement("cy", course=course)])
    post(live_server, key, [statement("cy", course=course, verb="completed")])
    post(live_server, key, [statement("other", course="https://example.edu/courses/elsewhere")])
    thread.join(10)
    assert [r["events"] for r in received] == [1, 2]
    assert all(r["course"] == course for r in received)


def test_sse_resumes_from_last_event_id(live_server: LiveServer, key: NewKey) -> None:
    post(live_server, key, [statement("dee", course="https://example.edu/courses/resume")])
    wait_for(lambda: learner_row(live_server, key, "dee", "https://example.edu/courses/resume"))
    headers = {**basic(key), "Last-Event-ID": "0"}
    with httpx.stream("GET", live_server.url + "/api/v1/stream", headers=headers, timeout=10) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                pseudonym = live_server.deployment.learner_key("default", learner_key("dee"))
                assert json.loads(line[6:])["learner"] == pseudonym
                break


# -- idempotency ---------------------------------------------------------------------------


def test_same_id_same_content_is_stored_once(live_server: LiveServer, key: NewKey) -> None:
    stmt = statement("eve", statement_id="8f0a6c1e-2b7d-4c3a-9e1f-0a2b3c4d5e6f")
    assert post(live_server, key, stmt).json() == ["8f0a6c1e-2b7d-4c3a-9e1f-0a2b3c4d5e6f"]
    reordered = dict(reversed(list(stmt.items())))  # same content, other key order
    assert post(live_server, key, reordered).status_code == 200
    wait_for(lambda: get(live_server, key, "/api/v1/status").json()["lag"] == 0)
    assert get(live_server, key, "/api/v1/status").json()["events"] == 1


def test_same_id_different_content_is_a_conflict(live_server: LiveServer, key: NewKey) -> None:
    sid = "0b6a7d36-5f6e-4d1c-8a39-1c2d3e4f5a6b"
    assert post(live_server, key, statement("fay", statement_id=sid)).status_code == 200
    fresh = statement("fay", statement_id="11111111-2222-4333-8444-555555555555")
    response = post(live_server, key, [fresh, statement("fay", verb="completed", statement_id=sid)])
    assert response.status_code == 409
    assert sid in response.json()["message"]
    wait_for(lambda: get(live_server, key, "/api/v1/status").json()["lag"] == 0)
    assert get(live_server, key, "/api/v1/status").json()["events"] == 1  # the batch stored nothing


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2", "not valid JSON"),
        (b'"a string"', "JSON object"),
        (b"", "empty"),
        (json.dumps([statement(), {**statement(), "verb": {"id": 7}}]).encode(), "$[1].verb.id"),
        (json.dumps({k: v for k, v in statement().items() if k != "actor"}).encode(), "actor"),
        (json.dumps({**statement(), "actor": {"objectType": "Agent"}}).encode(), "no identifier"),
        (json.dumps({**statement(), "actor": {"mbox": "a@b.c"}}).encode(), "$.actor.mbox"),
        (json.dumps({**statement(), "timestamp": "yesterday"}).encode(), "$.timestamp"),
        (json.dumps({**statement(), "id": "not-a-uuid"}).encode(), "$.id"),
        (json.dumps({**statement(), "result": {"duration": "90 seconds"}}).encode(), "$.result.duration"),
        (json.dumps({**statement(), "result": {"score": {"scaled": 3}}}).encode(), "$.result.score.scaled"),
        (json.dumps({**statement(), "colour": "red"}).encode(), "colour"),
        (json.dumps({**statement(), "object": {"id": "no scheme"}}).encode(), "$.object.id"),
    ],
)
def test_bad_statements_get_400_naming_the_problem(
    live_server: LiveServer, key: NewKey, body: bytes, fragment: str
) -> None:
    response = post(live_server, key, body)
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload["error"] == "bad_request"
    assert fragment in payload["message"]


def test_unknown_verb_is_rejected_with_the_vocabulary(live_server: LiveServer, key: NewKey) -> None:
    live_server.deployment.lrs.writer.unknown_verbs = "reject"  # the setting ingest.unknown_verbs=reject
    stmt = {**statement(), "verb": {"id": "https://example.edu/verbs/juggled"}}
    response = post(live_server, key, [statement(), stmt])
    assert response.status_code == 400
    body = response.json()
    assert "juggled" in body["message"] and "$[1].verb.id" in body["message"]
    assert "answered" in body["message"]
    assert body["problems"] == [{"index": 1, "path": "$[1].verb.id", "message": body["problems"][0]["message"]}]


def test_atomic_batch_with_a_bad_item_stores_nothing(live_server: LiveServer, key: NewKey) -> None:
    batch = [statement("gus"), {"actor": {}}, statement("gus", verb="completed"), {"verb": 1}]
    response = post(live_server, key, batch)
    assert response.status_code == 400
    assert [p["index"] for p in response.json()["problems"]] == [1, 3]
    time.sleep(0.2)
    assert get(live_server, key, "/api/v1/status").json()["events"] == 0


def test_partial_batch_stores_the_good_items_and_lists_the_bad(live_server: LiveServer, key: NewKey) -> None:
    good = [statement("hal", statement_id="22222222-3333-4444-8555-666666666666"), statement("hal", verb="completed")]
    batch = [good[0], {"actor": {}}, good[1]]
    response = post(live_server, key, batch, **{"X-Edupulse-Batch-Policy": "partial"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["stored"] == 2 and len(body["ids"]) == 2
    assert body["ids"][0] == "22222222-3333-4444-8555-666666666666"
    assert [p["index"] for p in body["problems"]] == [1]
    row = wait_for(lambda: learner_row(live_server, key, "hal", "https://example.edu/courses/algebra"))
    assert row["events"] == 2


def test_oversized_body_is_413(live_server: LiveServer, key: NewKey) -> None:
    limit = live_server.deployment.settings.ingest.max_body_bytes
    response = post(live_server, key, b"[" + b" " * (limit + 1) + b"]")
    assert response.status_code == 413
    assert "limit" in response.json()["message"]


def test_too_many_statements_is_400(live_server: LiveServer, key: NewKey) -> None:
    live_server.deployment.lrs.writer.max_batch = 5
    response = post(live_server, key, [statement(f"l{i}") for i in range(6)])
    assert response.status_code == 400
    assert "at most 5" in response.json()["message"]


def test_wrong_content_type_is_400(live_server: LiveServer, key: NewKey) -> None:
    response = httpx.post(
        live_server.url + "/xapi/statements",
        content=b"{}",
        headers={**basic(key), **JSON, "Content-Type": "text/plain"},
    )
    assert response.status_code == 400
    assert "Content-Type" in response.json()["message"]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer abc",
        "Basic !!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"ep_unknown:secret").decode(),
    ],
)
def test_bad_auth_is_401(live_server: LiveServer, header: str | None) -> None:
    headers = {**JSON, **({"Authorization": header} if header else {})}
    response = httpx.post(live_server.url + "/xapi/statements", content=json.dumps(statement()), headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.json()["message"]


def test_wrong_secret_is_401(live_server: LiveServer, key: NewKey) -> None:
    wrong = NewKey(key.key, "not-the-secret", key.name, key.tenant, key.scopes)
    assert post(live_server, wrong, statement()).status_code == 401


def test_read_only_key_cannot_ingest(live_server: LiveServer) -> None:
    reader = live_server.deployment.credentials.create("dashboard", tenant="default", scopes=("read",))
    response = post(live_server, reader, statement())
    assert response.status_code == 403
    assert "ingest" in response.json()["message"]


def test_tenants_are_isolated(live_server: LiveServer, key: NewKey) -> None:
    other = live_server.deployment.credentials.create("other", tenant="other-school")
    post(live_server, other, statement("ivy", course="https://example.edu/courses/private"))
    wait_for(lambda: get(live_server, other, "/api/v1/status").json()["lag"] == 0)
    assert get(live_server, other, "/api/v1/courses").json()[0]["events"] == 1
    assert get(live_server, key, "/api/v1/courses").json() == []
    missing = get(live_server, key, "/api/v1/course", course="https://example.edu/courses/private")
    assert missing.status_code == 404


def test_bad_query_parameters_are_400(live_server: LiveServer, key: NewKey) -> None:
    response = get(live_server, key, "/api/v1/course/learners", course="x", page=0)
    assert response.status_code == 400
    assert "page" in response.json()["message"]
    assert get(live_server, key, "/api/v1/course/learners").status_code == 400
    assert get(live_server, key, "/api/v1/learner", learner="nobody").status_code == 404
    huge = get(live_server, key, "/api/v1/course/learners", course="x", page=2**63)  # found by schemathesis: was a 500
    assert huge.status_code == 400 and "page" in huge.json()["message"]


def test_health_and_openapi(live_server: LiveServer) -> None:
    health = httpx.get(live_server.url + "/healthz").json()
    assert health["status"] == "ok" and health["processing"] is True
    spec = httpx.get(live_server.url + "/openapi.json").json()
    assert "/xapi/statements" in spec["paths"]
    assert "/api/v1/stream" in spec["paths"]
