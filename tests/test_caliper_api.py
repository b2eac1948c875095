"""POST /caliper end to end: Bearer auth, status codes, events reaching the metrics, no 500s."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edupulse.deployment import Deployment
from edupulse.privacy.credentials import NewKey
from tests.caliper import COURSE, body, event_id, submitted, thinned
from tests.conftest import LiveServer, basic, shared_data
from tests.test_caliper import json_values, mutations, nested_mutations


def bearer(key: NewKey) -> dict[str, str]:
    return {"Authorization": f"Bearer {key.key}:{key.secret}"}


def post(server: LiveServer, data: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(server.url + "/caliper", content=data, headers=headers, timeout=10)


JSON = {"Content-Type": "application/json"}


def test_an_envelope_is_stored_and_reaches_the_metrics(live_server: LiveServer, key: NewKey) -> None:
    data = body(submitted(1), submitted(2, learner="ben"), thinned(3))
    response = post(live_server, data, {**bearer(key), **JSON})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "stored": 3,
        "duplicates": 0,
        "entities": 0,
        "ids": [event_id(1), event_id(2), event_id(3)],
    }
    again = post(live_server, data, {**bearer(key), **JSON})
    assert again.json()["duplicates"] == 3

    learner = "https://school.example/people/ana"
    deadline = time.monotonic() + 10
    row: dict[str, Any] = {}
    while time.monotonic() < deadline:
        rows = httpx.get(
            live_server.url + "/api/v1/learner", params={"learner": learner, "course": COURSE}, headers=basic(key)
        )
        if rows.status_code == 200 and rows.json() and rows.json()[0]["events"] == 2:
            row = rows.json()[0]
            break
        time.sleep(0.05)
    assert row, "the events did not reach the learner's metrics"
    assert row["attempts"] == 1  # Submitted is an attempt, Viewed is not
    assert row["time_on_task_s"] == pytest.approx(90)


def test_every_example_envelope_is_accepted(live_server: LiveServer, deployment: Deployment) -> None:
    directory = shared_data("caliper_v1p2")
    for path in sorted(directory.glob("caliperEnvelope*.json")):
        # A tenant per file: two examples reuse one event id for different events (a 409 within a tenant).
        key = deployment.credentials.create("sensor", tenant=path.stem)
        response = post(live_server, path.read_bytes(), {**bearer(key), **JSON})
        assert response.status_code == 200, f"{path.name}: {response.text}"
        content = json.loads(path.read_bytes())
        assert response.json()["stored"] + response.json()["entities"] == len(content["data"])


def test_a_bad_event_is_a_400_naming_it(live_server: LiveServer, key: NewKey) -> None:
    response = post(live_server, body(submitted(1), thinned(2, action="Paused")), {**bearer(key), **JSON})
    assert response.status_code == 400
    content = response.json()
    assert "ViewEvent does not allow the action Paused" in content["message"]
    assert content["problems"] == [
        {"index": 1, "path": "$.data[1].action", "message": content["problems"][0]["message"]}
    ]
    partial = post(
        live_server,
        body(submitted(1), thinned(2, action="Paused")),
        {**bearer(key), **JSON, "X-Edupulse-Batch-Policy": "partial"},
    )
    assert partial.status_code == 200
    assert (partial.json()["stored"], [p["path"] for p in partial.json()["problems"]]) == (1, ["$.data[1].action"])


def test_an_unsupported_caliper_version_is_a_422_and_a_malformed_one_a_400(
    live_server: LiveServer, key: NewKey
) -> None:
    v1p0 = post(
        live_server, body(thinned(), version="http://purl.imsglobal.org/ctx/caliper/v1p0"), {**bearer(key), **JSON}
    )
    assert v1p0.status_code == 422
    assert "supports Caliper 1.1 and 1.2" in v1p0.json()["message"]
    assert post(live_server, body(thinned(), version="1.2"), {**bearer(key), **JSON}).status_code == 400


def test_a_reused_id_is_a_409(live_server: LiveServer, key: NewKey) -> None:
    assert post(live_server, body(submitted(7)), {**bearer(key), **JSON}).status_code == 200
    response = post(live_server, body(submitted(7, action="Started")), {**bearer(key), **JSON})
    assert response.status_code == 409
    assert event_id(7) in response.json()["message"]


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({}, "missing Authorization header"),
        ({"Authorization": "Bearer nope"}, "must be <key>:<secret>"),
        ({"Authorization": "Bearer ep_0000:wrong"}, "unknown key or wrong secret"),
        ({"Authorization": "Token abc"}, "unsupported authorization scheme"),
    ],
)
def test_without_a_valid_token_it_is_a_401(live_server: LiveServer, headers: dict[str, str], fragment: str) -> None:
    response = post(live_server, body(thinned()), {**headers, **JSON})
    assert response.status_code == 401
    assert fragment in response.json()["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_basic_credentials_and_keys_without_ingest_scope_are_refused(
    live_server: LiveServer, key: NewKey, deployment: Deployment
) -> None:
    assert post(live_server, body(thinned()), {**basic(key), **JSON}).status_code == 401
    reader = deployment.credentials.create("dashboard", tenant="default", scopes=("read",))
    response = post(live_server, body(thinned()), {**bearer(reader), **JSON})
    assert response.status_code == 401  # the Caliper endpoint rules: insufficient privilege is a 401
    assert "lacks the 'ingest' scope" in response.json()["message"]


def test_content_type_and_size(live_server: LiveServer, key: NewKey, deployment: Deployment) -> None:
    for content_type in ("text/plain", "application/ld+json", None):
        headers = bearer(key) | ({"Content-Type": content_type} if content_type else {})
        response = post(live_server, body(thinned()), headers)
        assert response.status_code == 415, content_type
        assert "Content-Type must be application/json" in response.json()["message"]
    ok = post(live_server, body(thinned()), {**bearer(key), "Content-Type": "application/json; charset=utf-8"})
    assert ok.status_code == 200
    limit = deployment.settings.ingest.max_body_bytes
    big = body(thinned() | {"extensions": {"pad": "x" * limit}})
    assert post(live_server, big, {**bearer(key), **JSON}).status_code == 413
    empty = post(live_server, b"  ", {**bearer(key), **JSON})
    assert (empty.status_code, "empty" in empty.json()["message"]) == (400, True)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    data=st.one_of(
        json_values.map(lambda v: json.dumps(v).encode()),
        mutations().map(body),
        nested_mutations().map(body),
        st.binary(max_size=48),
    )
)
def test_no_input_gets_a_500(live_server: LiveServer, key: NewKey, data: bytes) -> None:
    response = post(live_server, data, {**bearer(key), **JSON})
    assert response.status_code in (200, 400, 409, 422), response.text
