"""Outputs relayed onto Kafka (alerts, predictions, feature snapshots) are sealed per learner.

With ``privacy.seal_events`` the deployment's log seals the value of each output whose
key names a learner with that learner's data key; readers through it (the lake sink)
get the plain value. Once the learner is erased, their outputs on the topic never
open: the sink passes over them, and a late output of theirs is not appended at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from deltalake import DeltaTable

from edupulse.config import Settings
from edupulse.lake.sink import LakeSink
from edupulse.lake.tables import LakeTable, json_rows
from edupulse.log.kafka import KafkaLog
from edupulse.privacy.crypto import is_sealed
from edupulse.privacy.log import ProtectedLog
from edupulse.privacy.setup import open_protector
from edupulse.privacy.vault.service import Identity
from edupulse.stream.log_sender import LogSender
from edupulse.stream.store.base import OutboxMessage
from tests.services import kafka_servers, postgres_dsn, track

ANA, BOB = "pseudo-ana-" + uuid.uuid4().hex[:8], "pseudo-bob-" + uuid.uuid4().hex[:8]


@pytest.fixture
def sealed_log(tmp_path: Path) -> Iterator[tuple[ProtectedLog, KafkaLog, str]]:
    kafka = track(KafkaLog(kafka_servers(), postgres_dsn(), schema=f"test_kafka_{uuid.uuid4().hex[:12]}"))
    settings = Settings(data_dir=tmp_path / "data", privacy={"seal_events": True})
    topic = f"alerts-{uuid.uuid4().hex[:12]}"
    log = ProtectedLog(kafka, open_protector(settings), topic="events", outputs=(topic,))
    log.protector.vault.sealers({p: Identity("default", f"mailto:{p}@example.edu") for p in (ANA, BOB)})
    yield log, kafka, topic
    log.close()


def _message(topic: str, learner: str, n: int) -> OutboxMessage:
    body = {"rule": "inactive", "learner": learner, "course": "algebra", "n": n}
    return OutboxMessage(topic, f"default\x1f{learner}", msgspec.json.encode(body), f"{topic}/{learner}/{n}")


def _values(log: KafkaLog | ProtectedLog, topic: str) -> list[bytes]:
    return [r.value for r in log.read(topic, 0, 0, 100)]


def test_outputs_are_sealed_on_kafka_open_for_the_lake_and_never_once_the_learner_is_erased(
    sealed_log: tuple[ProtectedLog, KafkaLog, str], tmp_path: Path
) -> None:
    log, kafka, topic = sealed_log
    sender = LogSender(log, partitions=1)
    course_alert = OutboxMessage(topic, "default\x1f", b'{"rule": "course", "course": "algebra"}', f"{topic}/c")
    messages = [_message(topic, ANA, 1), _message(topic, BOB, 1), course_alert]
    sender.send_batch(messages)
    sender.send_batch(messages)  # a relay restarted after appending: sealing differs, the digest does not

    raw = _values(kafka, topic)
    assert len(raw) == 3
    assert [is_sealed(v) for v in raw] == [True, True, False]  # an output of no learner stays plain
    assert not any(ANA.encode() in v or b"inactive" in v for v in raw)
    assert _values(log, topic) == [m.payload for m in messages]

    assert log.protector.vault.forget("default", ANA)  # erasure shreds Ana's key
    sender.send_batch([_message(topic, ANA, 2)])  # an output of hers still in the outbox: not appended
    assert len(_values(kafka, topic)) == 3
    assert log.output_sealer is not None and log.output_sealer.dropped == 1
    assert is_sealed(_values(log, topic)[0])  # it stays sealed for readers moving on by offset

    sink = LakeSink(log, LakeTable(topic, topic, json_rows, ("date", "course")), tmp_path / "lake")
    assert sink.run_once(force=True) == 2
    rows = DeltaTable(str(tmp_path / "lake" / topic)).to_pyarrow_table().to_pylist()
    assert sorted(str(r.get("learner")) for r in rows) == sorted([BOB, "None"])
    lake_bytes = b"".join(p.read_bytes() for p in (tmp_path / "lake").rglob("*") if p.is_file())
    assert ANA.encode() not in lake_bytes
