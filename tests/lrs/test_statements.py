"""Statements through the LRS: golden round trips in every format, voiding, paging, the log."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from edupulse.deployment import Deployment
from edupulse.events.model import decode_event
from edupulse.events.vocabulary import Verb
from edupulse.events.xapi import MAPPING_VERSION
from edupulse.lrs.statements import StatementIngest
from edupulse.stream.runtime import EVENTS_TOPIC
from tests.lrs.conftest import Xapi
from tests.lrs.golden import golden, ids_format

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def new_id() -> str:
    return str(uuid.uuid4())


def completed(stored: dict[str, Any]) -> dict[str, Any]:
    """A returned statement without what the LRS added (stored, authority, version)."""
    return {k: v for k, v in stored.items() if k not in ("stored", "authority", "version")}


def log_events(deployment: Deployment) -> list[Any]:
    log = deployment.log
    return [
        decode_event(r.value) for p in range(log.partitions(EVENTS_TOPIC)) for r in log.read(EVENTS_TOPIC, p, 0, 10_000)
    ]


def test_exact_format_returns_the_statement_as_sent_plus_what_the_lrs_adds(xapi: Xapi) -> None:
    sid = new_id()
    assert xapi.post(golden(sid)).json() == [sid]
    response = xapi.get(statementId=sid)
    assert response.status_code == 200
    stored = response.json()
    expected = golden(sid)
    expected["context"]["contextActivities"]["grouping"] = [expected["context"]["contextActivities"]["grouping"]]
    assert completed(stored) == expected
    assert stored["version"] == "1.0.0"
    assert stored["authority"]["objectType"] == "Agent" and stored["stored"].endswith("Z")
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert response.headers["X-Experience-API-Consistent-Through"]
    assert response.headers["Last-Modified"].endswith("GMT")


def test_ids_format_keeps_only_identifiers(xapi: Xapi) -> None:
    sid = new_id()
    xapi.post(golden(sid))
    assert completed(xapi.get(statementId=sid, format="ids").json()) | {"authority": None} == ids_format(sid) | {
        "authority": None
    }


def test_canonical_format_picks_one_language_by_accept_language(xapi: Xapi) -> None:
    sid = new_id()
    xapi.post(golden(sid))
    response = xapi.request(
        "GET", "/statements", params={"statementId": sid, "format": "canonical"}, headers={"Accept-Language": "fr"}
    )
    stmt = response.json()
    assert stmt["verb"]["display"] == {"fr-FR": "a répondu"}
    assert stmt["object"]["definition"]["name"] == {"fr-FR": "Quiz un"}
    assert stmt["context"]["extensions"] == {"https://example.edu/ext/attempt": 2}  # extensions are left alone


def test_version_2_statements_are_stamped_2_0_0(xapi2: Xapi) -> None:
    sid = new_id()
    assert xapi2.post(golden(sid)).status_code == 200
    response = xapi2.get(statementId=sid)
    assert response.json()["version"] == "2.0.0"
    assert response.headers["X-Experience-API-Version"] == "2.0.0"


def test_put_stores_under_the_given_id_and_is_idempotent(xapi: Xapi) -> None:
    sid = new_id()
    body = {k: v for k, v in golden(sid).items() if k != "id"}
    assert xapi.request("PUT", "/statements", params={"statementId": sid}, json=body).status_code == 204
    assert xapi.request("PUT", "/statements", params={"statementId": sid}, json=body).status_code == 204
    changed = {**body, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}
    assert xapi.request("PUT", "/statements", params={"statementId": sid}, json=changed).status_code == 409
    assert xapi.get(statementId=sid).json()["verb"]["id"].endswith("answered")


def test_every_accepted_statement_is_one_canonical_event_with_its_mapping_version(
    xapi: Xapi, deployment: Deployment
) -> None:
    sid = new_id()
    other = {**golden(new_id()), "verb": {"id": "https://example.edu/verbs/juggled"}}
    assert xapi.post([golden(sid), other]).status_code == 200
    xapi.post(golden(sid))  # a resend is not a second event
    events = {e.event_id: e for e in log_events(deployment)}
    assert len(events) == 2 and len(log_events(deployment)) == 2
    assert events[sid].verb is Verb.ANSWERED and events[sid].mapping_version == MAPPING_VERSION
    assert events[other["id"]].verb is Verb.OTHER  # any verb IRI is accepted; the event says "other"
    assert events[sid].course == "https://example.edu/courses/algebra"


def test_a_statement_in_the_log_but_not_the_store_is_completed_by_a_resend(xapi: Xapi, deployment: Deployment) -> None:
    """The crash window: the log append is durable, the store write never happened."""
    sid = new_id()
    body = golden(sid)

    StatementIngest(deployment.log).ingest(json.dumps(body).encode(), tenant="default")
    assert xapi.get(statementId=sid).status_code == 404
    assert xapi.post(body).json() == [sid]  # the client got no answer and resends
    assert xapi.get(statementId=sid).status_code == 200
    assert len(log_events(deployment)) == 1


def test_voiding_hides_the_target_from_queries_but_not_from_voided_statement_id(xapi: Xapi) -> None:
    target, voiding = new_id(), new_id()
    xapi.post(golden(target))
    void = {
        "id": voiding,
        "actor": golden(target)["actor"],
        "verb": {"id": VOIDED},
        "object": {"objectType": "StatementRef", "id": target},
    }
    assert xapi.post(void).status_code == 200
    assert xapi.get(statementId=target).status_code == 404
    assert xapi.get(voidedStatementId=target).json()["id"] == target
    ids = [s["id"] for s in xapi.get().json()["statements"]]
    assert voiding in ids and target not in ids
    # the voiding statement still answers a filter its target matches
    ids = [s["id"] for s in xapi.get(activity="https://example.edu/quiz/1").json()["statements"]]
    assert ids == [voiding]
    again = {**void, "id": new_id(), "object": {"objectType": "StatementRef", "id": voiding}}
    assert xapi.post(again).status_code == 400  # a voiding statement cannot be voided


def test_more_pages_through_a_query_as_of_its_first_page(xapi: Xapi) -> None:
    ids = [new_id() for _ in range(7)]
    for sid in ids:
        xapi.post(golden(sid))
    page = xapi.get(limit=3, ascending="true").json()
    seen = [s["id"] for s in page["statements"]]
    xapi.post(golden(new_id()))  # stored after the first page: not part of this query
    while page["more"]:
        page = xapi.client.get(page["more"], headers=xapi.headers).json()
        seen += [s["id"] for s in page["statements"]]
    assert seen == ids


def test_query_filters(xapi: Xapi) -> None:
    mine, other = new_id(), new_id()
    xapi.post(golden(mine))
    theirs = {**golden(other), "actor": {"mbox": "mailto:bob@example.edu"}, "context": {"language": "fr"}}
    xapi.post(theirs)

    def found(**params: str) -> list[str]:
        return [s["id"] for s in xapi.get(**params).json()["statements"]]

    assert found(agent='{"mbox": "mailto:ada@example.edu"}') == [mine]
    assert found(agent='{"mbox": "mailto:grace@example.edu"}') == []
    assert found(agent='{"mbox": "mailto:grace@example.edu"}', related_agents="true") == [mine]
    assert found(activity="https://example.edu/courses/algebra") == []
    assert found(activity="https://example.edu/courses/algebra", related_activities="true") == [mine]
    assert found(registration="ec531277-b57b-4c15-8d91-d292c5b2b8f7") == [mine]
    assert sorted(found(verb="http://adlnet.gov/expapi/verbs/answered")) == sorted([mine, other])
    assert xapi.get(statementId=mine, verb="http://x.y/z").status_code == 400
    assert xapi.get(colour="red").status_code == 400


def test_attachments_travel_in_multipart_mixed(xapi: Xapi) -> None:
    content = b"a certificate of completion"
    sha2 = hashlib.sha256(content).hexdigest()
    stmt = golden(new_id())
    stmt["attachments"] = [
        {
            "usageType": "https://example.edu/attachments/certificate",
            "display": {"en-US": "certificate"},
            "contentType": "text/plain",
            "length": len(content),
            "sha2": sha2,
        }
    ]

    boundary = "xyzzy"
    body = (
        (
            f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{json.dumps(stmt)}\r\n"
            f"--{boundary}\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"
            f"X-Experience-API-Hash: {sha2}\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--".encode()
    )
    headers = {"Content-Type": f'multipart/mixed; boundary="{boundary}"'}
    assert xapi.request("POST", "/statements", content=body, headers=headers).status_code == 200
    response = xapi.get(statementId=stmt["id"], attachments="true")
    assert response.headers["content-type"].startswith("multipart/mixed")
    assert content in response.content and f"X-Experience-API-Hash: {sha2}".encode() in response.content
    without = {**stmt, "id": new_id()}
    assert xapi.post(without).status_code == 400  # declared, not sent, and no fileUrl
