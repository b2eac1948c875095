"""Alerts end to end: rules raise them live, the relay signs and delivers them, people act on them."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from edupulse.alerts import verify
from edupulse.alerts.webhook import SIGNATURE_HEADER
from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.replay import replay
from tests.conftest import LiveServer, basic
from tests.statements import learner_key
from tests.test_rules import RULES, attempt
from tests.webhook_receiver import Receiver

SECRET = "hook-secret"  # noqa: S105 - a test secret


def _until(check: Callable[[], Any], timeout_s: float = 15) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_alert_raised_delivered_and_acted_on_and_kept_across_replay(tmp_path: Path) -> None:
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(RULES)
    with Receiver(fail_first=1) as receiver:
        settings = Settings(
            data_dir=tmp_path / "data",
            log={"partitions": 2},
            rules={"path": rules_path, "webhook_url": receiver.url, "webhook_secret": SECRET, "backoff_s": 0.1},
        )
        with Deployment(settings) as dep, LiveServer(dep) as server:
            auth = basic(dep.credentials.create("mentor-desk", tenant="default"))
            auth["X-Experience-API-Version"] = "1.0.3"
            client = httpx.Client(base_url=server.url, headers=auth, timeout=10)
            body = [attempt("ann", h) for h in (0, 1, 2)]
            assert client.post("/xapi/statements", json=body).status_code == 200

            (alert,) = _until(lambda: client.get("/api/v1/alerts", params={"status": "open"}).json())
            ann = dep.learner_key("default", learner_key("ann"))
            assert (alert["rule"], alert["learner"], alert["history"]) == ("struggling", ann, [])
            # The receiver answered 503 once; the relay retried after its backoff.
            _until(lambda: len(receiver.requests) >= 2)
            headers, payload = receiver.requests[-1]
            assert verify(SECRET, payload, headers[SIGNATURE_HEADER])
            assert headers["Idempotency-Key"] == alert["id"] + ":webhook"
            deliveries = client.get("/api/v1/alerts/deliveries").json()
            assert deliveries["counts"] == {"delivered": 1}
            assert deliveries["deliveries"][0]["attempts"] == 2

            aid = alert["id"]
            acked = client.post(f"/api/v1/alerts/{aid}/ack", json={"note": "calling ann"}).json()
            assert acked["status"] == "acknowledged"
            assert [(h["action"], h["actor"], h["note"]) for h in acked["history"]] == [
                ("acknowledged", "mentor-desk", "calling ann")
            ]
            conflict = client.post(f"/api/v1/alerts/{aid}/ack")
            assert conflict.status_code == 409
            assert "acknowledged" in conflict.text
            assert client.post(f"/api/v1/alerts/{aid}/note", json={"note": "left a message"}).status_code == 200
            missing = client.post(f"/api/v1/alerts/{aid}/note", json={})
            assert missing.status_code == 400
            assert "note" in missing.text
            assert client.post("/api/v1/alerts/nope/resolve").status_code == 404
            resolved = client.post(f"/api/v1/alerts/{aid}/resolve").json()
            assert resolved["status"] == "resolved"
            assert [h["action"] for h in resolved["history"]] == ["acknowledged", "noted", "resolved"]
            assert client.get("/api/v1/alerts", params={"status": "open"}).json() == []
            assert client.get("/api/v1/alerts", params={"course": "other"}).json() == []
            assert client.get("/api/v1/alerts", params={"status": "maybe"}).status_code == 400
            assert httpx.get(server.url + "/api/v1/alerts").status_code == 401
            sent = len(receiver.requests)

        replay(settings)  # rebuilds state.db, outbox included
        with Deployment(settings) as dep, LiveServer(dep) as server:
            client = httpx.Client(base_url=server.url, headers=auth, timeout=10)
            (again,) = client.get("/api/v1/alerts").json()
            assert again["id"] == aid
            assert again["status"] == "resolved"  # the lifecycle survives the replay
            time.sleep(1.2)  # two relay passes: the rebuilt outbox must not be sent again
            assert len(receiver.requests) == sent
            assert dep.store.pending_outbox(10) == []
