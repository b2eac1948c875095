"""Caliper 1.1/1.2: the spec's examples, golden mappings, malformed input, idempotency, payloads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edupulse.errors import ConflictError, InvalidEventError
from edupulse.events.caliper import MAPPING_VERSION, CaliperItem, decode_envelope, digest, to_event
from edupulse.events.model import LearningEvent, Result, decode_event
from edupulse.events.vocabulary import Verb
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.caliper import CaliperIngest, EnvelopeRejected
from edupulse.stream.runtime import EVENTS_TOPIC
from tests.caliper import COURSE, V1P1, V1P2, body, envelope, event_id, submitted, thinned
from tests.conftest import shared_data

EXAMPLES = ("caliper_v1p2",)


def items(data: bytes) -> list[CaliperItem]:
    return list(decode_envelope(data, max_items=1000))


def example_body(path: Path) -> bytes:
    """An example file as an envelope: envelopes as they are, single events or entities wrapped."""
    content = json.loads(path.read_bytes())
    if "data" in content:
        return path.read_bytes()
    return json.dumps(envelope(content, send_time="2020-01-22T10:05:01.000Z")).encode()


def mapped(data: bytes) -> list[LearningEvent]:
    out = []
    for entry in items(data):
        assert not isinstance(entry.item, InvalidEventError), entry.item
        if entry.is_event:
            out.append(to_event(entry.item, entry.raw, tenant="t", stored_us=1))
    return out


@pytest.fixture
def log(tmp_path: Path) -> Iterator[SqliteLog]:
    log = SqliteLog(tmp_path / "log.db")
    log.ensure_topic(EVENTS_TOPIC, 2)
    yield log
    log.close()


def stored(log: SqliteLog) -> list[tuple[LearningEvent, bytes]]:
    """Every event on the log with its payload."""
    out = []
    for partition in range(2):
        records = log.read(EVENTS_TOPIC, partition, 0, 1000)
        payloads = log.read_payloads(EVENTS_TOPIC, partition, [r.offset for r in records])
        out += [(decode_event(r.value), payloads[r.offset]) for r in records]
    return out


# -- every example of the specification ----------------------------------------------------


def test_every_example_file_is_accepted() -> None:
    directory = shared_data(*EXAMPLES)
    files = sorted(directory.glob("*.json"))
    assert len(files) >= 60
    events = entities = 0
    for path in files:
        for entry in items(example_body(path)):
            assert not isinstance(entry.item, InvalidEventError), f"{path.name}: {entry.item}"
            if entry.is_event:
                to_event(entry.item, entry.raw, tenant="t", stored_us=1)
                events += 1
            else:
                entities += 1
    assert (events, entities) == (143, 89)  # 53 event files, 90 events and 89 entities in 14 envelopes


def test_entity_only_envelopes_are_accepted_and_store_no_events(log: SqliteLog) -> None:
    path = shared_data(*EXAMPLES, "caliperEnvelopeEntityBatch.json")
    report = CaliperIngest(log).ingest(path.read_bytes(), tenant="t")
    assert (report.stored, report.entities, report.ids) == (0, 3, [])
    assert stored(log) == []


def test_a_mixed_envelope_stores_its_events_and_counts_its_entities(log: SqliteLog) -> None:
    path = shared_data(*EXAMPLES, "caliperEnvelopeMixedBatch.json")
    content = json.loads(path.read_bytes())
    n_events = sum(1 for item in content["data"] if item["type"].endswith("Event"))
    report = CaliperIngest(log).ingest(path.read_bytes(), tenant="t")
    assert report.stored == n_events > 0
    assert report.entities == len(content["data"]) - n_events


# One example per event type: learner, verb, object id, object type, course, (score, completion, duration), time.
S16 = "https://example.edu/terms/201601/courses/7/sections/1"
S18 = "https://example.edu/terms/201801/courses/7/sections/1"
ANA = "https://example.edu/users/554433"
GOLDEN: dict[str, tuple[Any, ...]] = {
    "AnnotationBookmarked": (
        ANA, "interacted", "https://example.com/#/texts/imscaliperimplguide/cfi/6/10!/4/2/2/2@0:0", "Page", S16, None,
        "2016-11-15T10:15:00"),
    "AssessmentItemCompleted": (ANA, "answered", f"{S16}/assess/1/items/3", "AssessmentItem", S16, (None, True, None),
                                "2016-11-15T10:15:12"),
    "AssessmentStarted": (ANA, "started", f"{S16}/assess/1", "Assessment", S16, None, "2016-11-15T10:15:00"),
    "AssessmentSubmitted": (ANA, "submitted", f"{S16}/assess/1", "Assessment", S16, (None, True, 630.0),
                            "2016-11-15T10:25:30"),
    "AssignableActivated": ("https://example.edu/users/112233", "other", f"{S16}/assess/1", "Assessment", S16, None,
                            "2016-11-12T10:15:00"),
    "FeedbackCommented": (ANA, "commented", f"{S18}/resources/1/syllabus.pdf", "DigitalResource", S18, None,
                          "2018-11-15T10:05:00"),
    "ForumSubscribed": (ANA, "interacted", f"{S16}/forums/1", "Forum", S16, None, "2016-11-15T10:16:00"),
    "GeneralCreated": (ANA, "other", f"{S16}/resources/123", "Document", None, None, "2016-11-15T10:15:00"),
    "GradeGraded": (ANA, "graded", f"{S16}/assess/1/users/554433/attempts/1", "Attempt", S16, (10 / 15, None, None),
                    "2016-11-15T10:57:06"),
    "MediaPausedVideo": (ANA, "paused", "https://example.edu/UQVK-dsU7-Y", "VideoObject", S16, None,
                         "2016-11-15T10:15:00"),
    "MessagePosted": (ANA, "posted", f"{S16}/forums/2/topics/1/messages/2", "Message", S16, None,
                      "2016-11-15T10:15:00"),
    "NavigationNavigatedToWebPage": (ANA, "navigated", f"{S16}/pages/2", "WebPage", S16, None, "2016-11-15T10:15:00"),
    "QuestionnaireItemCompletedOpenEndedQuestion": (
        ANA, "answered", "https://example.edu/surveys/100/questionnaires/30/items/2", "QuestionnaireItem", S18,
        (None, True, 252.0), "2018-11-12T10:15:00"),
    "QuestionnaireSubmitted": (ANA, "submitted", "https://example.edu/surveys/100/questionnaires/30", "Questionnaire",
                               S18, (None, True, None), "2018-11-12T10:15:00"),
    "ResourceManagementCopied": (ANA, "other", f"{S18}/resources/1/syllabus.pdf", "DigitalResource", S18, None,
                                 "2018-11-15T10:05:00"),
    "SearchSearched": (ANA, "searched", "https://example.edu/catalog", "SoftwareApplication", S18, None,
                       "2018-11-15T10:05:00"),
    "SessionTimedOut": ("https://example.edu/users/112233", "logged-out",
                        "https://example.edu/sessions/7d6b88adf746f0692e2e873308b78c60fb13a864", "Session", None,
                        None, "2016-11-15T11:15:00"),
    "SurveyInvitationAccepted": (ANA, "interacted", "https://example.edu/surveys/100/invitations/users/112233",
                                 "SurveyInvitation", S18, None, "2018-11-15T10:05:00"),
    "SurveyOptedIn": (ANA, "interacted", "https://example.edu/survey/1", "Survey", S18, None, "2018-11-15T10:05:00"),
    "ThreadMarkedAsRead": (ANA, "viewed", f"{S16}/forums/1/topics/1", "Thread", S16, None, "2016-11-15T10:16:00"),
    "ToolLaunchLaunched": (ANA, "launched", "https://example.com/lti/tool", "SoftwareApplication", S18, None,
                           "2018-11-15T10:15:00"),
    "ToolUseUsed": (ANA, "interacted", "https://example.edu", "SoftwareApplication", S16, None, "2016-11-15T10:15:00"),
    "ViewViewedDocument": (ANA, "viewed", "https://example.edu/etexts/201.epub", "Document", S16, None,
                           "2016-11-15T10:15:00"),
    "ForumSubscribedThinned": (ANA, "interacted", f"{S18}/forums/1", None, S18, None, "2018-11-15T10:16:00"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_mapping(name: str) -> None:
    path = shared_data(*EXAMPLES, f"caliperEvent{name}.json")
    (event,) = mapped(example_body(path))
    learner, verb, object_id, object_type, course, result, when = GOLDEN[name]
    raw = json.loads(path.read_bytes())
    assert event.event_id == raw["id"]
    assert (event.learner, event.verb.value, event.object_id, event.object_type, event.course) == (
        learner, verb, object_id, object_type, course,
    )  # fmt: skip
    got = None if event.result is None else (event.result.score, event.result.completion, event.result.duration_s)
    assert got == (pytest.approx(result) if result else None)
    assert event.event_time_us == int(datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp()) * 1_000_000
    assert (event.source_format, event.mapping_version) == ("caliper", MAPPING_VERSION)
    assert json.loads(event.payload) == raw


def test_the_golden_examples_cover_all_22_event_types() -> None:
    directory = shared_data(*EXAMPLES)
    types = {json.loads((directory / f"caliperEvent{name}.json").read_bytes())["type"] for name in GOLDEN}
    assert len(types) == 22, sorted(types)


# -- mapping of built events ---------------------------------------------------------------------


def test_mapping_of_a_full_event() -> None:
    (event,) = mapped(body(submitted(3, learner="ben")))
    assert event == LearningEvent(
        event_id=event_id(3),
        tenant="t",
        learner="https://school.example/people/ben",
        verb=Verb.SUBMITTED,
        object_id="https://school.example/quizzes/cells",
        object_type="Assessment",
        course=COURSE,
        skills=("https://school.example/objectives/mitosis",),
        result=Result(score=None, completion=True, duration_s=90.0),
        event_time_us=int(datetime(2025, 3, 4, 9, 30, tzinfo=UTC).timestamp()) * 1_000_000,
        stored_time_us=1,
        source_format="caliper",
        mapping_version=MAPPING_VERSION,
        payload=event.payload,
    )


def test_a_thinned_event_maps_its_iris() -> None:
    (event,) = mapped(body(thinned()))
    assert (event.learner, event.object_id, event.object_type, event.course) == (
        "https://school.example/people/ana", "https://school.example/readings/chapter-3", None, COURSE,
    )  # fmt: skip


def test_a_grade_given_by_a_teacher_is_about_the_learner_not_the_teacher() -> None:
    attempt = submitted()["generated"]
    graded = submitted(
        type="GradeEvent",
        action="Graded",
        actor={"id": "https://school.example/people/teacher-kim", "type": "Person"},
        object=attempt,
        generated={
            "id": f"{attempt['id']}/score",
            "type": "Score",
            "attempt": attempt["id"],
            "maxScore": 10,
            "scoreGiven": 7,
            "scoredBy": "https://school.example/people/teacher-kim",
        },
        profile="GradingProfile",
    )
    del graded["membership"]
    (event,) = mapped(body(graded))
    assert (event.learner, event.verb, event.result) == (
        "https://school.example/people/ana", Verb.GRADED, Result(score=0.7),
    )  # fmt: skip
    assert event.mapping_version == MAPPING_VERSION == "caliper-2"


def test_a_group_that_is_not_a_course_is_not_the_course() -> None:
    team = {
        "id": "https://school.example/groups/7",
        "type": "Group",
        "subOrganizationOf": {"id": COURSE, "type": "CourseOffering"},
    }
    (event,) = mapped(body(submitted(group=team)))
    assert event.course == COURSE
    (event,) = mapped(body(submitted(group={"id": "https://school.example/groups/8", "type": "Group"})))
    assert event.course is None
    member = {"id": f"{COURSE}/m/1", "type": "Membership", "organization": {"id": COURSE, "type": "CourseSection"}}
    without_group = {k: v for k, v in submitted().items() if k != "group"} | {"membership": member}
    assert mapped(body(without_group))[0].course == COURSE  # no group: the membership's course
    member["organization"] = COURSE  # a thinned organization may be anything: not taken as the course
    assert mapped(body(without_group))[0].course is None


def test_1p1_events_are_accepted() -> None:
    old = submitted(version=V1P1)
    (event,) = mapped(body(old, version=V1P1))
    assert event.verb is Verb.SUBMITTED
    outcome = {
        **thinned(5, action="Graded", kind="OutcomeEvent"),
        "@context": V1P1,
        "generated": {
            "id": "https://school.example/results/1",
            "type": "Result",
            "resultScore": 3,
            "maxResultScore": 4,
        },
    }
    (event,) = mapped(body(outcome, version=V1P1))
    assert event.result is not None and event.result.score == 0.75
    annotation = {**thinned(6, action="Commented", kind="AnnotationEvent"), "@context": V1P1}
    assert mapped(body(annotation, version=V1P1))[0].verb is Verb.COMMENTED
    # A 1.1 profile published later brings its types with its own context.
    survey = thinned(7, action="OptedIn", kind="SurveyEvent") | {"@context": f"{V1P1}/SurveyProfile-extension"}
    assert mapped(body(survey, version=V1P1))[0].object_id == "https://school.example/readings/chapter-3"


def test_foreign_contexts_beside_the_caliper_one_are_accepted() -> None:
    event = thinned() | {
        "@context": ["https://schema.org/docs/jsonldcontext.json", {"q": "https://schema.org/q"}, V1P2]
    }
    assert len(mapped(body(event))) == 1


# -- malformed input: 400 naming the problem ------------------------------------------------------


def first_problem(data: bytes) -> InvalidEventError:
    try:
        found = [e.item for e in items(data) if isinstance(e.item, InvalidEventError)]
    except InvalidEventError as exc:
        return exc
    assert found, "the input was accepted"
    return found[0]


def ann(**changes: Any) -> dict[str, Any]:
    return {**thinned(9, action="Bookmarked", kind="AnnotationEvent"), **changes}


def attempt(**changes: Any) -> dict[str, Any]:
    return {"id": "https://s.example/a/1", "type": "Attempt", **changes}


QUESTIONNAIRE = {"id": "https://s.example/q", "type": "Questionnaire", "items": []}
MALFORMED: list[tuple[str, bytes, str, str]] = [
    ("wrong action for the type", body(submitted(action="Viewed")), "$.data[0].action",
     "AssessmentEvent does not allow the action Viewed; allowed: Paused, Reset, Restarted, Resumed, Started, "
     "Submitted"),
    ("unknown event type", body(thinned(kind="ViewEvnt")), "$.data[0].type", "unknown event type 'ViewEvnt'"),
    ("unknown action", body(thinned(action="Teleported")), "$.data[0].action", "unknown action 'Teleported'"),
    ("missing actor", body({k: v for k, v in thinned().items() if k != "actor"}), "$.data[0].actor",
     "the event has no actor"),
    ("missing eventTime", body({k: v for k, v in thinned().items() if k != "eventTime"}), "$.data[0].eventTime",
     "no eventTime"),
    ("null object", body(thinned() | {"object": None}), "$.data[0].object", "no object"),
    ("id not a UUID URN", body(thinned() | {"id": "https://x.example/e/1"}), "$.data[0].id", "urn:uuid:"),
    ("object IRI with a space", body(thinned() | {"object": "chapter 3"}), "$.data[0].object",
     "must be a DigitalResource or Result object or its IRI"),
    ("entity id not an IRI", body(submitted(object={"id": "quiz-1", "type": "Assessment"})), "$.data[0].object.id",
     "absolute IRI"),
    ("wrong object type", body(submitted(object={"id": "https://s.example/p/1", "type": "Person"})),
     "$.data[0].object.type", "expected an Assessment (or a subtype), got Person"),
    ("wrong nested entity type", body(submitted(generated=attempt(assignee={"id": COURSE, "type": "CourseSection"}))),
     "$.data[0].generated.assignee.type", "expected a Person (or a subtype), got CourseSection"),
    ("actor not an agent", body(submitted(actor={"id": "https://s.example/d/1", "type": "Document"})),
     "$.data[0].actor.type", "expected a Person"),
    ("unknown entity type", body(submitted(group={"id": COURSE, "type": "Classroom"})), "$.data[0].group.type",
     "unknown type 'Classroom'"),
    ("bad nested date", body(submitted(generated=attempt(startedAtTime="2025-03-04"))),
     "$.data[0].generated.startedAtTime", "ISO 8601 date-time"),
    ("bad duration", body(submitted(generated=attempt(duration="90s"))),
     "$.data[0].generated.duration", "ISO 8601 duration"),
    ("count not an integer", body(submitted(generated=attempt(count="1"))),
     "$.data[0].generated.count", "must be an integer, got '1'"),
    ("unknown role", body(submitted(membership={"id": f"{COURSE}/m/1", "type": "Membership", "roles": ["Wizard"]})),
     "$.data[0].membership.roles", "unknown role 'Wizard'"),
    ("event time without zone", body(thinned() | {"eventTime": "2025-03-04T10:00:00"}), "$.data[0].eventTime",
     "time zone"),
    ("unknown event property", body(thinned() | {"eventtime": "2025-03-04T10:00:00Z"}), "$.data[0].eventtime",
     "unknown event property 'eventtime'"),
    ("extensions not a map", body(thinned() | {"extensions": "x"}), "$.data[0].extensions", "must be an object"),
    ("unknown profile", body(thinned() | {"profile": "FunProfile"}), "$.data[0].profile", "unknown profile"),
    ("copied without generated", body(thinned(action="Copied", kind="ResourceManagementEvent")),
     "$.data[0].generated", "ResourceManagementEvent with action Copied requires the generated property"),
    ("launch without federatedSession", body(thinned(action="Launched", kind="ToolLaunchEvent")),
     "$.data[0].federatedSession", "requires the federatedSession property"),
    ("unknown context", body(thinned() | {"@context": "http://example.com/ctx"}), "$.data[0].@context",
     "unknown @context"),
    ("context differs from dataVersion", body(thinned() | {"@context": V1P1}), "$.data[0].@context",
     "the item is Caliper 1.1 but the envelope's dataVersion is 1.2"),
    ("item not an object", body("just text"), "$.data[0]", "must be a Caliper event or entity object"),  # type: ignore[arg-type]
    ("second item bad", body(thinned(), thinned(3, action="Paused")), "$.data[1].action",
     "ViewEvent does not allow the action Paused"),
    # The envelope.
    ("bad dataVersion", body(thinned(), version="1.2"), "$.dataVersion", "dataVersion must be"),
    ("bad sendTime", body(thinned(), send_time="yesterday"), "$.sendTime", "sendTime must be an ISO 8601 date-time"),
    ("sendTime without zone", body(thinned(), send_time="2025-03-04T10:00:00"), "$.sendTime", "sendTime"),
    ("empty data", body(), "$.data", "data is empty"),
    ("no envelope", json.dumps(thinned()).encode(), "$", "send a Caliper envelope"),
    ("unknown envelope field", json.dumps({**envelope(thinned()), "extra": 1}).encode(), "$", "extra"),
    ("sensor not a string", json.dumps({**envelope(thinned()), "sensor": 5}).encode(), "$.sensor", "str"),
    ("not JSON", b"{\"sensor\": ", "$", "not valid JSON"),
    # 1.1 versus 1.2.
    ("1.2 event type in 1.1", body({**thinned(action="Searched", kind="SearchEvent"), "@context": V1P1}, version=V1P1),
     "$.data[0].type", "SearchEvent is a Caliper 1.2 event type; this data is Caliper 1.1"),
    ("only foreign contexts", body(thinned() | {"@context": ["https://schema.org/docs/jsonldcontext.json"]}),
     "$.data[0].@context", "the @context names no Caliper context"),
    ("1.1-only action in 1.2", body(ann(action="Commented")), "$.data[0].action",
     "AnnotationEvent does not allow the action Commented (it was deprecated in 1.1 and removed in 1.2)"),
    ("1.1-only event type in 1.2", body(thinned(action="Graded", kind="OutcomeEvent")), "$.data[0].type",
     "OutcomeEvent was removed in Caliper 1.2"),
    ("1.2 entity in 1.1", body(thinned() | {"@context": V1P1, "object": QUESTIONNAIRE}, version=V1P1),
     "$.data[0].object.type", "Questionnaire is not a Caliper 1.1 entity type (it exists in Caliper 1.2)"),
    ("1.1 entity in 1.2", body(thinned() | {"object": {"id": "https://s.example/e", "type": "EpubVolume"}}),
     "$.data[0].object.type", "EpubVolume is not a Caliper 1.2 entity type"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "data", "path", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_input_is_named(case: str, data: bytes, path: str, message: str) -> None:
    error = first_problem(data)
    assert error.path == path, str(error)
    assert message in str(error)
    assert f"at {path}" in str(error) or path == "$"


# -- ingest: atomic envelopes, idempotency, payloads -----------------------------------------


def test_ingest_keeps_the_event_bytes_as_payload_and_stamps_the_mapping(log: SqliteLog) -> None:
    first = submitted(1, learner="ana")
    second = json.dumps(thinned(2), indent=3)  # stored byte for byte, spacing included
    data = b'{"sensor":"s:1","sendTime":"2025-03-04T10:00:00Z","dataVersion":"%s","data":[%s,\n%s]}' % (
        V1P2.encode(), json.dumps(first).encode(), second.encode(),
    )  # fmt: skip
    report = CaliperIngest(log).ingest(data, tenant="t")
    assert (report.stored, report.duplicates, report.ids) == (2, 0, [event_id(1), event_id(2)])
    by_id = {event.event_id: (event, payload) for event, payload in stored(log)}
    assert by_id[event_id(2)][1] == second.encode()
    assert json.loads(by_id[event_id(1)][1]) == first
    assert {e.mapping_version for e, _ in by_id.values()} == {MAPPING_VERSION}
    assert {e.payload for e, _ in by_id.values()} == {b""}


def test_a_resent_event_is_stored_once_and_a_changed_one_is_a_conflict(log: SqliteLog) -> None:
    ingest = CaliperIngest(log)
    ingest.ingest(body(submitted(1)), tenant="t")
    reordered = json.dumps(envelope(dict(reversed(list(submitted(1).items()))))).encode()
    report = ingest.ingest(reordered, tenant="t")
    assert (report.stored, report.duplicates) == (0, 1)
    with pytest.raises(ConflictError, match="already stored with different content"):
        ingest.ingest(body(submitted(2), submitted(1, action="Started")), tenant="t")
    assert len(stored(log)) == 1  # the envelope was atomic: event 2 was not stored either
    assert ingest.ingest(body(submitted(1)), tenant="other").stored == 1  # ids are per tenant


def test_digest_ignores_key_order_and_spelling_but_not_content() -> None:
    event = submitted(1)
    respelled = json.loads(json.dumps(dict(reversed(list(event.items())))).replace('"maxScore": 10', '"maxScore": 1e1'))
    assert digest(respelled) != digest(event)  # 1e1 is the float 10.0, not the integer 10
    respelled["object"]["maxScore"] = 10
    assert digest(respelled) == digest(event)
    assert digest(submitted(1, action="Started")) != digest(event)


def test_digest_is_stable() -> None:
    # Digests are kept in the log for good: the canonical form must never change.
    assert digest(submitted(1)).hex() == "6d7ffa219d621f21d62340795d0c3e3b"


def test_atomic_envelopes_store_nothing_when_one_event_is_bad(log: SqliteLog) -> None:
    data = body(submitted(1), thinned(2, action="Paused"), submitted(3))
    with pytest.raises(EnvelopeRejected) as caught:
        CaliperIngest(log).ingest(data, tenant="t")
    assert [p.path for p in caught.value.problems] == ["$.data[1].action"]
    assert stored(log) == []
    report = CaliperIngest(log).ingest(data, tenant="t", policy="partial")
    assert (report.stored, report.ids) == (2, [event_id(1), event_id(3)])
    assert [p.index for p in report.problems] == [1]


def test_an_envelope_over_the_batch_limit_is_refused(log: SqliteLog) -> None:
    with pytest.raises(InvalidEventError, match="at most 2 items"):
        CaliperIngest(log, max_batch=2).ingest(body(thinned(1), thinned(2), thinned(3)), tenant="t")


def with_extension(raw_json: bytes) -> bytes:
    """A valid envelope whose event's extension ``n`` is ``raw_json`` as it is."""
    return body(thinned() | {"extensions": {"n": 1}}).replace(b'"n": 1', b'"n": ' + raw_json)


DEEP_ENTITY = json.loads(
    '{"id": "https://a.example", "type": "Document", "isPartOf": ' * 40 + '"https://b.example"' + "}" * 40
)
EXTREME: list[tuple[str, bytes, str | None]] = [
    ("a huge integer", body(submitted(generated=attempt(count=10**30))), None),
    ("a huge integer in extensions", body(thinned() | {"extensions": {"n": -(10**40)}}), None),
    ("a number beyond a float", with_extension(b"1e400"), "out of range"),
    ("a deeply nested body", with_extension(b"[" * 5000 + b"]" * 5000), "nested too deeply"),
    ("deeply nested entities", body(thinned() | {"object": DEEP_ENTITY}), "nested more than 32 levels"),
    ("a lone surrogate", body(thinned() | {"extensions": {"s": "\ud800"}}), "not valid JSON"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "data", "error"), EXTREME, ids=[e[0] for e in EXTREME])
def test_extreme_input_is_stored_or_refused_never_a_crash(
    log: SqliteLog, case: str, data: bytes, error: str | None
) -> None:
    if error is None:
        assert CaliperIngest(log).ingest(data, tenant="t").stored == 1
    else:
        with pytest.raises(InvalidEventError, match=error):
            CaliperIngest(log).ingest(data, tenant="t")


# -- no input crashes the parser ------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
FIELDS = ["@context", "id", "type", "actor", "action", "object", "eventTime", "generated", "group", "profile"]


def mutations() -> st.SearchStrategy[dict[str, Any]]:
    """Valid events with one property replaced by anything, removed, or added."""
    base = st.sampled_from([submitted(), thinned(), ann()])
    return st.builds(
        lambda event, key, value, drop: {k: v for k, v in event.items() if k != key} if drop else event | {key: value},
        base,
        st.sampled_from(FIELDS) | st.text(max_size=8),
        json_values | st.sampled_from(["Person", "urn:uuid:x", V1P1, "Viewed", "2025-01-01T00:00:00Z"]),
        st.booleans(),
    )


def nested_mutations() -> st.SearchStrategy[dict[str, Any]]:
    """Valid events with one value anywhere inside (an entity's property, a list item) replaced by anything."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        event = json.loads(json.dumps(draw(st.sampled_from([submitted(), thinned(), ann()]))))
        node: Any = event
        while True:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            key = draw(st.sampled_from(keys))
            child = node[key]
            if isinstance(child, dict | list) and child and draw(st.booleans()):
                node = child
                continue
            node[key] = draw(json_values)
            return event

    return build()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nested_mutations().map(body))
def test_no_nested_value_crashes_the_checks(data: bytes) -> None:
    try:
        for entry in items(data):
            if not isinstance(entry.item, InvalidEventError) and entry.is_event:
                to_event(entry.item, entry.raw, tenant="t", stored_us=1)
    except InvalidEventError:
        pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values.map(lambda v: json.dumps(v).encode()), mutations().map(body), st.binary(max_size=64)))
def test_no_input_crashes_the_parser(data: bytes) -> None:
    try:
        for entry in items(data):
            if not isinstance(entry.item, InvalidEventError) and entry.is_event:
                to_event(entry.item, entry.raw, tenant="t", stored_us=1)
    except InvalidEventError:
        pass
