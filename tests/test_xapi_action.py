"""The xAPI action against edupulse's own LRS (a real server): the statement, idempotency, refusals."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from edupulse.alerts import AlertLedger
from edupulse.alerts.senders import configured_senders
from edupulse.alerts.xapi_action import (
    FLAGGED_VERB,
    SUBJECT_EXTENSION,
    XAPI_TOPIC,
    agent_of,
    statement_id,
    statement_of,
)
from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.insights.rules import ALERTS_VIEW
from edupulse.stream.outbox import OutboxRelay
from edupulse.stream.store.base import Commit, OutboxMessage
from edupulse.stream.store.sqlite import SqliteStore
from tests.conftest import LiveServer, basic
from tests.statements import START, learner_key, statement

COURSE = "https://example.edu/courses/algebra"
PSEUDO = "https://pseudo.example.edu"


def _alert(alert_id: str, learner: str, *, reason: str = "no activity for 7 days") -> dict[str, object]:
    opened = int(START.timestamp() * 1_000_000)
    return {"type": "edupulse.alert", "id": alert_id, "tenant": "default", "rule": "gone-quiet",
            "learner": learner, "course": COURSE, "opened_us": opened, "reason": reason, "status": "open"}  # fmt: skip


def _message(alert: dict[str, object]) -> OutboxMessage:
    return OutboxMessage(XAPI_TOPIC, str(alert["id"]), json.dumps(alert).encode(), f"{alert['id']}:xapi")


def test_learner_ids_become_agents_and_pseudonyms_stay_pseudonyms() -> None:
    assert agent_of("account:https://example.edu|ann", pseudonym_home=PSEUDO)["account"] == {
        "homePage": "https://example.edu",
        "name": "ann",
    }
    assert agent_of("mailto:ann@example.edu", pseudonym_home=PSEUDO)["mbox"] == "mailto:ann@example.edu"
    assert agent_of("sha1:abc", pseudonym_home=PSEUDO)["mbox_sha1sum"] == "abc"
    assert agent_of("openid:https://id.example/ann", pseudonym_home=PSEUDO)["openid"] == "https://id.example/ann"
    assert agent_of("p_9f8e7d", pseudonym_home=PSEUDO)["account"] == {"homePage": PSEUDO, "name": "p_9f8e7d"}
    stmt = statement_of(_alert("a1", "p_9f8e7d"), agent={"mbox": "mailto:x@y"}, pseudonym_home=PSEUDO, alerts_home="h")
    assert stmt["id"] == statement_id("a1") != statement_id("a2")
    assert stmt["context"]["contextActivities"]["grouping"][0]["id"] == COURSE
    assert stmt["object"]["id"] == "h/a1"
    assert stmt["timestamp"].startswith(START.isoformat()[:19])


def test_alert_statements_land_once_in_our_own_lrs_and_raise_no_alerts(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {name: gone-quiet, when: inactive, days: 1}\n")
    settings = Settings(data_dir=tmp_path / "data", log={"partitions": 1}, rules={"path": rules})
    with Deployment(settings) as dep, LiveServer(dep) as server:
        key = dep.credentials.create("alerts-back", tenant="default")
        xapi = {"xapi_url": server.url + "/xapi/", "xapi_username": key.key, "xapi_password": key.secret}
        cfg = Settings(rules={**xapi, "xapi_pseudonym_home": PSEUDO}).rules
        senders = configured_senders(cfg)
        assert set(senders) == {XAPI_TOPIC}
        learner = learner_key("ann")
        dep.store.commit(Commit("events", 0, 1, outbox=[_message(_alert("a1", learner))]))
        relay = OutboxRelay(dep.store, dep.alerts, senders, max_attempts=3, backoff_s=0.1)
        assert relay.run_once().delivered == 1
        # The same statement again (a crash before the relay's record): the LRS keeps one.
        senders[XAPI_TOPIC].send(_message(_alert("a1", learner)))
        # The same id with other content: a 409, dead-lettered at once.
        dep.store.commit(Commit("events", 0, 2, outbox=[OutboxMessage(XAPI_TOPIC, "a1", json.dumps(
            _alert("a1", learner, reason="changed")).encode(), "a1:xapi-again")]))  # fmt: skip
        assert relay.run_once().dead == 1
        relay.stop()
        assert "HTTP 409" in (dep.alerts.deliveries("dead")[0].last_error or "")

        headers = {**basic(key), "X-Experience-API-Version": "1.0.3"}
        got = httpx.get(server.url + "/xapi/statements", params={"statementId": statement_id("a1")}, headers=headers)
        assert got.status_code == 200, got.text
        stmt = got.json()
        assert stmt["verb"]["id"] == FLAGGED_VERB
        assert stmt["actor"]["account"] == {"homePage": "https://edupulse.dev", "name": "edupulse"}
        assert stmt["context"]["extensions"][SUBJECT_EXTENSION]["account"] == {
            "homePage": "https://example.edu",
            "name": "ann",
        }
        listed = httpx.get(server.url + "/xapi/statements", params={"verb": FLAGGED_VERB}, headers=headers).json()
        assert len(listed["statements"]) == 1

        # Processed by the rules: the system agent is no learner, so it never goes quiet.
        later = statement("bob", verb="experienced", when=START.replace(day=START.day + 5))
        posted = httpx.post(server.url + "/xapi/statements", json=later, headers=headers)
        assert posted.status_code == 200, posted.text
        runtime = dep.runtime(batch_size=10)
        runtime.assign_all()
        runtime.run_until_caught_up()
        assert dep.store.select(ALERTS_VIEW.name, {}) == []


def test_wrong_credentials_are_retried_not_dead_lettered(tmp_path: Path, live_server: LiveServer) -> None:
    cfg = Settings(rules={"xapi_url": live_server.url + "/xapi", "xapi_username": "nobody",
                          "xapi_password": "wrong"}).rules  # fmt: skip
    store = SqliteStore(tmp_path / "s.db")
    store.setup([])
    ledger = AlertLedger(tmp_path / "a.db")
    store.commit(Commit("events", 0, 1, outbox=[_message(_alert("a2", "p_1"))]))
    relay = OutboxRelay(store, ledger, configured_senders(cfg), max_attempts=2, backoff_s=0.05)
    assert relay.run_once().retrying == 1
    time.sleep(0.1)
    assert relay.run_once().dead == 1
    relay.stop()
    assert "HTTP 401" in (ledger.deliveries("dead")[0].last_error or "")
    store.close()
    ledger.close()


@pytest.mark.parametrize("url", ["ftp://lrs.example.edu/xapi", "lrs.example.edu"])
def test_xapi_url_must_be_http(url: str) -> None:
    with pytest.raises(ValueError, match=r"rules\.xapi_url"):
        Settings(rules={"xapi_url": url})
