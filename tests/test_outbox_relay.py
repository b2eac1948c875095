"""The outbox relay against a real local HTTP receiver: signatures, retries, backoff, dead letters."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from edupulse.alerts import AlertLedger, WebhookSender, sign, verify
from edupulse.alerts.webhook import SIGNATURE_HEADER
from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.stream.outbox import OutboxRelay
from edupulse.stream.store.base import Commit, OutboxMessage
from edupulse.stream.store.sqlite import SqliteStore
from tests.conftest import free_port
from tests.webhook_receiver import Receiver

SECRET = "s3cret"  # noqa: S105 - a test secret


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


def _message(key: str) -> OutboxMessage:
    return OutboxMessage(
        "alerts.webhook", key, b'{"id": "%s", "type": "edupulse.alert"}' % key.encode(), f"{key}:webhook"
    )


def _relay(store: SqliteStore, ledger: AlertLedger, url: str, *, attempts: int = 5) -> OutboxRelay:
    sender = WebhookSender(url, secret=SECRET, timeout_s=5)
    return OutboxRelay(store, ledger, {"alerts.webhook": sender}, max_attempts=attempts, backoff_s=0.2)


def test_signature_round_trip() -> None:
    body = b'{"a": 1}'
    header = sign(SECRET, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify(SECRET, body, header)
    assert not verify(SECRET, body + b" ", header)
    assert not verify("other", body, header)
    assert not verify(SECRET, body, None)


def test_receiver_failing_twice_gets_the_alert_on_the_third_attempt_after_backoff(
    store: SqliteStore, ledger: AlertLedger
) -> None:
    store.commit(Commit("events", 0, 1, outbox=[_message("a1")]))
    with Receiver(fail_first=2) as receiver:
        relay = _relay(store, ledger, receiver.url)
        assert relay.run_once().retrying == 1
        assert relay.run_once().skipped == 1  # backing off: 0.2 s before the second attempt
        assert len(receiver.requests) == 1
        time.sleep(0.25)
        assert relay.run_once().retrying == 1
        assert relay.run_once().skipped == 1  # the wait doubled: 0.4 s
        time.sleep(0.45)
        assert relay.run_once().delivered == 1
        relay.stop()
    assert store.pending_outbox(10) == []
    delivery = ledger.delivery("a1:webhook")
    assert delivery is not None
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    assert len(receiver.requests) == 3
    for headers, body in receiver.requests:  # every attempt: the same key, a valid signature
        assert headers["Idempotency-Key"] == "a1:webhook"
        assert verify(SECRET, body, headers[SIGNATURE_HEADER])
        assert body == _message("a1").payload


def test_after_max_attempts_a_message_becomes_a_dead_letter(store: SqliteStore, ledger: AlertLedger) -> None:
    store.commit(Commit("events", 0, 1, outbox=[_message("d1"), _message("ok")]))
    with Receiver(fail_first=1) as receiver:  # d1 gets the one 503
        relay = _relay(store, ledger, receiver.url, attempts=1)
        stats = relay.run_once()
        relay.stop()
    assert (stats.dead, stats.delivered) == (1, 1)
    (dead,) = ledger.deliveries("dead")
    assert dead.idempotency_key == "d1:webhook"
    assert "HTTP 503" in (dead.last_error or "")
    assert ledger.delivery_counts() == {"dead": 1, "delivered": 1}
    assert store.pending_outbox(10) == []


def test_unreachable_receiver_is_retried_not_crashed(store: SqliteStore, ledger: AlertLedger) -> None:
    store.commit(Commit("events", 0, 1, outbox=[_message("u1")]))
    relay = _relay(store, ledger, f"http://127.0.0.1:{free_port()}/nobody", attempts=2)
    assert relay.run_once().retrying == 1
    time.sleep(0.25)
    assert relay.run_once().dead == 1
    relay.stop()
    (dead,) = ledger.deliveries("dead")
    assert dead.attempts == 2
    assert "ConnectError" in (dead.last_error or "")


def test_messages_delivered_before_a_replay_are_not_sent_again(tmp_path: Path, ledger: AlertLedger) -> None:
    first = SqliteStore(tmp_path / "first.db")
    first.setup([])
    first.commit(Commit("events", 0, 1, outbox=[_message("r1")]))
    with Receiver() as receiver:
        relay = _relay(first, ledger, receiver.url)
        assert relay.run_once().delivered == 1
        relay.stop()
        # A replay rebuilds the state file, outbox included: the same message is pending again.
        rebuilt = SqliteStore(tmp_path / "rebuilt.db")
        rebuilt.setup([])
        rebuilt.commit(Commit("events", 0, 1, outbox=[_message("r1"), _message("r2")]))
        relay = _relay(rebuilt, ledger, receiver.url)
        stats = relay.run_once()
        relay.stop()
    assert (stats.skipped, stats.delivered) == (1, 1)
    assert [h["Idempotency-Key"] for h, _ in receiver.requests] == ["r1:webhook", "r2:webhook"]
    assert rebuilt.pending_outbox(10) == []
    first.close()
    rebuilt.close()


def test_delivered_messages_are_purged_after_the_retention_and_never_sent_twice(
    store: SqliteStore, ledger: AlertLedger
) -> None:
    store.commit(Commit("events", 0, 1, outbox=[_message("p1"), _message("p2")]))
    with Receiver() as receiver:
        sender = WebhookSender(receiver.url, secret=SECRET, timeout_s=5)
        senders = {"alerts.webhook": sender}
        relay = OutboxRelay(store, ledger, senders, max_attempts=2, backoff_s=1, keep_delivered_s=0.2, purge_every_s=0)
        first = relay.run_once()
        assert (first.delivered, first.purged) == (2, 0)  # delivered just now: kept for the retention
        time.sleep(0.3)
        assert relay.run_once().purged == 2
        # Committed again after the purge (a replay): new to the outbox, but the ledger knows it.
        store.commit(Commit("events", 0, 2, outbox=[_message("p1")]))
        assert relay.run_once().skipped == 1
        relay.stop()
    assert len(receiver.requests) == 2
    assert store.pending_outbox(10) == []
    assert store.purge_outbox(time.time_ns() // 1000 + 1) == 1  # only the skipped copy was left


def test_the_deployment_relay_keeps_delivered_messages_for_the_setting(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, runtime={"outbox_kept_hours": 0.5})
    with Deployment(settings) as dep:
        dep.start_processing()
        relay = dep.relay
        assert relay is not None and relay.keep_delivered_us == 1_800_000_000


def test_topics_without_a_sender_stay_pending(store: SqliteStore, ledger: AlertLedger) -> None:
    other = OutboxMessage("dead-letters", "k", b"x", "k")
    store.commit(Commit("events", 0, 1, outbox=[other]))
    relay = OutboxRelay(store, ledger, {}, max_attempts=1, backoff_s=1)
    assert relay.run_once() == relay.run_once()
    assert [m for _, m in store.pending_outbox(10)] == [other]


def test_webhook_url_must_be_http() -> None:
    with pytest.raises(ValidationError, match=r"rules\.webhook_url"):
        Settings(rules={"webhook_url": "ftp://example.edu/hook"})
    assert Settings(rules={"webhook_url": "https://example.edu/hook"}).rules.webhook_url == "https://example.edu/hook"
