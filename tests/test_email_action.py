"""The email action against a real local SMTP server: content, recipients, retries, dead letters."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edupulse.alerts import AlertLedger
from edupulse.alerts.email import EMAIL_TOPIC, EmailSender
from edupulse.alerts.senders import configured_senders
from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.errors import ConfigError
from edupulse.insights.rule_file import parse_rules
from edupulse.stream.outbox import OutboxRelay
from edupulse.stream.store.base import Commit, OutboxMessage
from edupulse.stream.store.sqlite import SqliteStore
from tests.conftest import free_port
from tests.smtp_server import SmtpServer
from tests.test_rules import _run, attempt

ALERT = {
    "type": "edupulse.alert",
    "id": "a1b2",
    "tenant": "t",
    "rule": "struggling",
    "learner": "lrn-7f3a",
    "course": "https://example.edu/courses/algebra",
    "opened_us": 1,
    "reason": "3 failed attempts on skill 'fractions' & <decimals> within 24 h",
    "status": "open",
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "state.db")
    store.setup([])
    yield store
    store.close()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[AlertLedger]:
    ledger = AlertLedger(tmp_path / "alerts.db")
    yield ledger
    ledger.close()


def _message(alert_id: str = "a1b2", to: tuple[str, ...] = ("tutor@example.edu",)) -> OutboxMessage:
    body = json.dumps({**ALERT, "id": alert_id, "email_to": to}).encode()
    return OutboxMessage(EMAIL_TOPIC, alert_id, body, f"{alert_id}:email")


def _relay(store: SqliteStore, ledger: AlertLedger, port: int, *, attempts: int = 4) -> OutboxRelay:
    settings = Settings(
        rules={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none", "timeout_s": 5,
               "email_from": "alerts@example.edu", "alert_link": "https://ep.example.edu/alerts/{id}"}
    )  # fmt: skip
    senders = configured_senders(settings.rules)
    assert set(senders) == {EMAIL_TOPIC}  # no webhook URL: no webhook sender
    return OutboxRelay(store, ledger, senders, max_attempts=attempts, backoff_s=0.1)


def test_an_alert_email_has_text_html_the_reason_and_a_link(store: SqliteStore, ledger: AlertLedger) -> None:
    store.commit(Commit("events", 0, 1, outbox=[_message(to=("tutor@example.edu", "head@example.edu"))]))
    with SmtpServer() as server:
        relay = _relay(store, ledger, server.port)
        assert relay.run_once().delivered == 1
        relay.stop()
    ((rcpts, msg),) = server.messages
    assert rcpts == ["tutor@example.edu", "head@example.edu"]
    assert msg["From"] == "alerts@example.edu"
    assert msg["Subject"].startswith("[edupulse] struggling: 3 failed attempts")
    assert msg["Message-ID"] == "<a1b2.email@edupulse>"
    text, html = (part.get_payload(decode=True).decode() for part in msg.walk() if not part.is_multipart())
    assert "Why: 3 failed attempts on skill 'fractions' & <decimals> within 24 h" in text
    assert "https://ep.example.edu/alerts/a1b2" in text
    assert "&amp; &lt;decimals&gt;" in html  # escaped in HTML
    assert 'href="https://ep.example.edu/alerts/a1b2"' in html
    assert store.pending_outbox(10) == []


def test_a_temporary_refusal_is_retried_with_backoff(store: SqliteStore, ledger: AlertLedger) -> None:
    store.commit(Commit("events", 0, 1, outbox=[_message()]))
    with SmtpServer(refuse_first=2) as server:
        relay = _relay(store, ledger, server.port)
        assert relay.run_once().retrying == 1
        assert relay.run_once().skipped == 1  # waiting 0.1 s
        time.sleep(0.15)
        assert relay.run_once().retrying == 1
        time.sleep(0.25)
        assert relay.run_once().delivered == 1
        relay.stop()
    assert server.attempts == 3 and len(server.messages) == 1
    delivery = ledger.delivery("a1b2:email")
    assert delivery is not None and (delivery.status, delivery.attempts) == ("delivered", 3)


def test_a_permanent_refusal_and_no_recipient_are_dead_letters_at_once(store: SqliteStore, ledger: AlertLedger) -> None:
    store.commit(Commit("events", 0, 1, outbox=[_message("refused"), _message("nobody", to=()), _message("ok")]))
    with SmtpServer(refuse_first=1, refuse_with="550 5.1.1 mailbox unavailable") as server:
        relay = _relay(store, ledger, server.port, attempts=5)
        stats = relay.run_once()
        relay.stop()
    assert (stats.dead, stats.delivered) == (2, 1)
    dead = {d.idempotency_key: d for d in ledger.deliveries("dead")}
    assert dead["refused:email"].attempts == 1 and "550" in (dead["refused:email"].last_error or "")
    assert "no email recipient" in (dead["nobody:email"].last_error or "")
    assert len(server.messages) == 1


def test_an_unreachable_server_is_retried_then_dead_lettered(store: SqliteStore, ledger: AlertLedger) -> None:
    store.commit(Commit("events", 0, 1, outbox=[_message()]))
    relay = _relay(store, ledger, free_port(), attempts=2)
    assert relay.run_once().retrying == 1
    time.sleep(0.15)
    assert relay.run_once().dead == 1
    relay.stop()
    (dead,) = ledger.deliveries("dead")
    assert "ConnectionRefusedError" in (dead.last_error or "")


def test_a_roster_can_add_recipients(store: SqliteStore) -> None:
    class Counsellors:
        def for_alert(self, tenant: str, learner: str, course: str) -> list[str]:
            return ["counsellor@example.edu", "tutor@example.edu"] if learner == "lrn-7f3a" else []

    with SmtpServer() as server:
        sender = EmailSender("127.0.0.1", server.port, security="none", sender="a@example.edu",
                             link="x/{id}", timeout_s=5, recipients=Counsellors())  # fmt: skip
        sender.send(_message())
    assert server.messages[0][0] == ["tutor@example.edu", "counsellor@example.edu"]  # once each


def test_a_rule_with_the_email_action_queues_its_recipients(tmp_path: Path) -> None:
    rules = "rules:\n  - {name: s, when: failed_attempts, count: 2, within_hours: 1, actions: [webhook, email],\n"
    rules += "     email_to: [tutor@example.edu]}"
    store = _run(tmp_path, [[attempt("ann", 0), attempt("ann", 0.5)]], rules=rules)
    messages = {m.topic: json.loads(m.payload) for _, m in store.pending_outbox(10)}
    assert messages["alerts.email"]["email_to"] == ["tutor@example.edu"]
    assert "email_to" not in messages["alerts.webhook"]
    store.close()
    with pytest.raises(ConfigError, match=r"rules\.0\.inactive\.email_to\.0"):
        parse_rules("rules:\n  - {name: q, when: inactive, days: 1, actions: [email], email_to: [not-an-address]}")


def test_a_serving_deployment_emails_its_alerts(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - {name: s, when: failed_attempts, count: 2, within_hours: 1, actions: [email],"
        " email_to: [tutor@example.edu]}\n"
    )
    with SmtpServer() as server:
        cfg = {"path": rules, "smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_security": "none"}
        with Deployment(Settings(data_dir=tmp_path / "data", rules=cfg)) as dep:
            dep.ingest.ingest(json.dumps([attempt("ann", 0), attempt("ann", 0.5)]).encode(), tenant="default")
            dep.start_processing()
            try:
                deadline = time.monotonic() + 15
                while not server.messages and time.monotonic() < deadline:
                    time.sleep(0.05)
            finally:
                dep.stop_processing()
            (delivered,) = dep.alerts.deliveries("delivered")
    ((rcpts, msg),) = server.messages
    assert rcpts == ["tutor@example.edu"]
    assert delivered.idempotency_key.endswith(":email")
    text = next(part for part in msg.walk() if part.get_content_type() == "text/plain")
    assert "http://127.0.0.1:8000/api/v1/alerts/" in text.get_payload(decode=True).decode()
