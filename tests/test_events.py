"""The canonical model and the xAPI mapping: round trips, errors, and normalisation."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edupulse.errors import InvalidEventError
from edupulse.events.model import SCHEMA_VERSION, LearningEvent, Result, decode_event, decode_events, encode_event
from edupulse.events.vocabulary import Verb, verb_from_name
from edupulse.events.xapi import (
    MAPPING_VERSION,
    SKILLS_EXTENSION,
    VerbRef,
    decode_statements,
    digest,
    id_text,
    parse_duration,
    parse_timestamp,
    to_event,
    verb_of,
)
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.statements import StatementIngest
from tests.statements import statement

text = st.text(min_size=0, max_size=20)
events = st.builds(
    LearningEvent,
    event_id=text,
    tenant=text,
    learner=text,
    verb=st.sampled_from(list(Verb)),
    object_id=text,
    object_type=st.none() | text,
    course=st.none() | text,
    skills=st.lists(text, max_size=3).map(tuple),
    result=st.none()
    | st.builds(
        Result,
        score=st.none() | st.floats(-1, 1),
        success=st.none() | st.booleans(),
        completion=st.none() | st.booleans(),
        duration_s=st.none() | st.floats(0, 1e6),
    ),
    event_time_us=st.integers(-(2**62), 2**62),
    stored_time_us=st.integers(0, 2**62),
    source_format=st.sampled_from(["xapi", "caliper"]),
    mapping_version=text,
    payload=st.binary(max_size=50),
)


@given(st.lists(events, max_size=70))
def test_events_round_trip_through_the_log_encoding(batch: list[LearningEvent]) -> None:
    assert decode_events([encode_event(e) for e in batch]) == batch


def test_a_new_event_carries_the_schema_version() -> None:
    (item,) = decode_statements(json.dumps(statement()).encode())
    assert not isinstance(item.statement, InvalidEventError)
    event = to_event(item.statement, item.raw, tenant="t", event_id="e", stored_us=5, verb=Verb.ANSWERED)
    assert event.schema_version == SCHEMA_VERSION
    assert event.mapping_version == MAPPING_VERSION
    assert json.loads(event.payload) == statement()


def test_on_the_log_the_statement_travels_beside_its_event(tmp_path: Path) -> None:
    log = SqliteLog(tmp_path / "log.sqlite")
    try:
        log.ensure_topic("events", 2)
        first = json.dumps(statement("ada", statement_id="9dc99b37-e920-4a68-a066-917faca28949")).encode()
        second = json.dumps(statement("bob"), indent=1).encode()  # stored byte for byte, spacing included
        StatementIngest(log, topic="events").ingest(b"[" + first + b",\n" + second + b"]", tenant="t")

        records = [r for p in range(2) for r in log.read("events", p, 0, 10)]
        events = {decode_event(r.value).learner: (r, decode_event(r.value)) for r in records}
        for name, raw in (("ada", first), ("bob", second)):
            record, event = events[f"account:https://example.edu|{name}"]
            assert event.payload == b""
            assert log.read_payloads("events", record.partition, [record.offset]) == {record.offset: raw}
    finally:
        log.close()


def _event(stmt: dict[str, object]) -> LearningEvent:
    (item,) = decode_statements(json.dumps(stmt).encode())
    assert not isinstance(item.statement, InvalidEventError), item.statement
    verb = verb_of(item.statement.verb)
    assert verb is not None
    return to_event(item.statement, item.raw, tenant="t", event_id="e", stored_us=7, verb=verb)


def test_mapping_of_a_full_statement() -> None:
    stmt = statement("ada", verb="answered", score=0.75, duration_s=90)
    stmt["context"]["extensions"] = {SKILLS_EXTENSION: ["fractions", "algebra"]}
    stmt["object"]["definition"] = {"type": "http://adlnet.gov/expapi/activities/question"}
    event = _event(stmt)
    assert event.learner == "account:https://example.edu|ada"
    assert event.verb is Verb.ANSWERED
    assert event.course == "https://example.edu/courses/algebra"
    assert event.object_type == "question"
    assert event.skills == ("algebra", "fractions")
    assert event.result == Result(score=0.75, success=True, completion=None, duration_s=90.0)
    assert event.event_time_us == parse_timestamp(stmt["timestamp"])  # type: ignore[arg-type]


def test_raw_score_is_scaled_and_missing_timestamp_uses_stored_time() -> None:
    stmt = statement()
    del stmt["timestamp"]
    stmt["result"] = {"score": {"raw": 15, "min": 10, "max": 20}}
    event = _event(stmt)
    assert event.result is not None and event.result.score == 0.5
    assert event.event_time_us == 7


def test_course_falls_back_to_the_first_parent() -> None:
    stmt = statement()
    stmt["context"] = {"contextActivities": {"parent": [{"id": "https://example.edu/courses/x"}]}}
    assert _event(stmt).course == "https://example.edu/courses/x"


@pytest.mark.parametrize(
    ("actor", "learner"),
    [
        ({"mbox": "mailto:ada@example.edu"}, "mailto:ada@example.edu"),
        ({"mbox_sha1sum": "abc123"}, "sha1:abc123"),
        ({"openid": "https://id.example.edu/ada"}, "openid:https://id.example.edu/ada"),
    ],
)
def test_every_agent_identifier_becomes_a_learner(actor: dict[str, str], learner: str) -> None:
    assert _event({**statement(), "actor": actor}).learner == learner


def test_verbs_are_normalised_by_last_segment_or_display() -> None:
    assert verb_of(VerbRef("https://w3id.org/xapi/video/verbs/played")) is Verb.PLAYED
    assert verb_of(VerbRef("http://id.tincanapi.com/verb/viewed")) is Verb.VIEWED
    assert verb_of(VerbRef("http://adlnet.gov/expapi/verbs/experienced")) is Verb.VIEWED
    assert verb_of(VerbRef("https://example.edu/v/42", {"en-US": "Submitted"})) is Verb.SUBMITTED
    assert verb_of(VerbRef("https://example.edu/v/juggled")) is None
    assert verb_from_name("logged_in") is Verb.LOGGED_IN


def test_digest_ignores_key_order_and_stored_but_not_content() -> None:
    stmt = statement(score=0.5)
    shuffled = json.loads(json.dumps(dict(reversed(list(stmt.items())))))
    assert _digest(stmt) == _digest(shuffled)
    assert _digest(stmt) == _digest({**stmt, "stored": "2026-01-01T00:00:00Z"})
    assert _digest(stmt) != _digest(statement(score=0.75))


def test_digest_ignores_authority_version_and_nested_key_order_but_not_nested_content() -> None:
    stmt = statement()
    a, b = "https://example.edu/x/a", "https://example.edu/x/b"
    stmt["context"]["extensions"] = {a: {"p": 1, "q": [1, 2]}, b: "b"}
    reordered = json.loads(json.dumps(stmt))
    reordered["context"]["extensions"] = {b: "b", a: {"q": [1, 2], "p": 1}}
    base = _digest(stmt)
    assert base == _digest(reordered)
    assert base == _digest({**stmt, "authority": {"mbox": "mailto:lrs@example.edu"}, "version": "1.0.3"})
    changed = json.loads(json.dumps(stmt))
    changed["context"]["extensions"][a]["q"] = [2, 1]
    assert base != _digest(changed)
    as_float = json.loads(json.dumps(stmt))
    as_float["context"]["extensions"][a]["p"] = 1.0
    assert base != _digest(as_float)


def test_digest_is_stable() -> None:
    """Stored digests decide duplicates forever: a change of the canonical form is a breaking change."""
    stmt = statement("ada", score=0.5, duration_s=30, statement_id="9dc99b37-e920-4a68-a066-917faca28949")
    assert _digest(stmt).hex() == "f90504712383d9abe6a5628bbf6e2aa4"


def _digest(stmt: dict[str, object]) -> bytes:
    (item,) = decode_statements(json.dumps(stmt).encode())
    assert not isinstance(item.statement, InvalidEventError)
    return digest(item.statement)


@given(st.uuids())
def test_id_text_is_the_canonical_uuid_text(value: uuid.UUID) -> None:
    assert id_text(value) == str(value)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT30S", 30), ("PT1M30.5S", 90.5), ("PT2H", 7200), ("P1DT1S", 86401), ("P1W", 604800)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["P", "PT", "30S", "PT-1S", "P1DT", "1 minute"])
def test_bad_durations(text: str) -> None:
    assert parse_duration(text) is None


def test_timestamps_with_and_without_zone() -> None:
    assert parse_timestamp("1970-01-01T00:00:01Z") == 1_000_000
    assert parse_timestamp("1970-01-01T01:00:01+01:00") == 1_000_000
    assert parse_timestamp("1970-01-01T00:00:01") == 1_000_000
    assert parse_timestamp("not a time") is None


@given(st.binary(max_size=300))
def test_no_bytes_crash_the_decoder(body: bytes) -> None:
    try:
        items = list(decode_statements(body))
    except InvalidEventError:
        return
    for item in items:
        if isinstance(item.statement, InvalidEventError):
            assert item.statement.path.startswith("$")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    )
)
def test_no_json_value_crashes_the_decoder(value: object) -> None:
    body = json.dumps(value).encode()
    try:
        items = list(decode_statements(body))
    except InvalidEventError as exc:  # not an object or array: one error for the body
        assert not isinstance(value, dict | list) and str(exc)
        return
    for item in items:  # each item decodes, or has an error that says where
        if isinstance(item.statement, InvalidEventError):
            assert item.statement.path.startswith(item.path) and str(item.statement)
