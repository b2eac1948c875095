"""Validation to the letter of the spec, rule by rule, and no input that crashes the API."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edupulse.lrs.validate import Invalid, check_statement
from tests.lrs.golden import golden

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def apply(stmt: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = stmt
        for part in parents:
            node = node[part]
        node[last] = value

    return apply


def _drop(path: str) -> Mutation:
    def apply(stmt: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = stmt
        for part in parents:
            node = node[part]
        del node[last]

    return apply


BAD: list[tuple[str, Mutation, str]] = [
    ("two identifiers", _set("actor.openid", "https://ada.example.edu"), "$.actor"),
    ("mbox without mailto", _set("actor.mbox", "ada@example.edu"), "$.actor.mbox"),
    ("sha1 of the wrong length", lambda s: s.update(actor={"mbox_sha1sum": "abc"}), "$.actor.mbox_sha1sum"),
    ("account without name", lambda s: s.update(actor={"account": {"homePage": "https://x.y"}}), "$.actor.account"),
    ("group without members", lambda s: s.update(actor={"objectType": "Group"}), "$.actor.member"),
    ("verb id not an IRI", _set("verb.id", "answered"), "$.verb.id"),
    ("display not a language map", _set("verb.display", {"english!": "x"}), "$.verb.display"),
    ("null property", _set("result.success", None), "$.result.success"),
    ("unknown property", _set("verb.colour", "red"), "$.verb.colour"),
    ("lower-case objectType", _set("object.objectType", "activity"), "$.object.objectType"),
    ("unknown interactionType", _set("object.definition.interactionType", "essay"), "interactionType"),
    ("choices for true-false", _set("object.definition.interactionType", "true-false"), "choices"),
    ("repeated choice ids", _set("object.definition.choices", [{"id": "a"}, {"id": "a"}]), "choices[1].id"),
    ("extension key not an IRI", _set("context.extensions", {"attempt": 1}), "$.context.extensions"),
    ("scaled above 1", _set("result.score.scaled", 1.5), "$.result.score.scaled"),
    ("raw above max", _set("result.score.raw", 11), "$.result.score.raw"),
    ("bad duration", _set("result.duration", "30 seconds"), "$.result.duration"),
    ("bad registration", _set("context.registration", "not-a-uuid"), "$.context.registration"),
    ("bad language tag", _set("context.language", "en_US"), "$.context.language"),
    ("team is not a group", _set("context.team", {"mbox": "mailto:a@b.c"}), "$.context.team.objectType"),
    ("negative zero offset", _set("timestamp", "2026-09-07T09:00:00-00:00"), "$.timestamp"),
    ("month 13", _set("timestamp", "2026-13-07T09:00:00Z"), "$.timestamp"),
    ("bad id", _set("id", "6fbd600fd17c4c74801a2ec2e53231f7"), "$.id"),
    ("no verb", _drop("verb"), "$.verb"),
    ("unsupported version", _set("version", "0.95"), "$.version"),
    ("statement ref without id", _set("object", {"objectType": "StatementRef"}), "$.object.id"),
    ("platform with an agent object", _set("object", {"objectType": "Agent", "mbox": "mailto:a@b.c"}), "platform"),
]


@pytest.mark.parametrize(("mutation", "where"), [(m, w) for _, m, w in BAD], ids=[name for name, _, _ in BAD])
def test_each_rule_is_enforced_and_named(mutation: Mutation, where: str) -> None:
    stmt = copy.deepcopy(golden("6fbd600f-d17c-4c74-801a-2ec2e53231f7"))
    stmt["context"]["platform"] = "web"
    check_statement(copy.deepcopy(stmt))  # the golden statement is valid
    mutation(stmt)
    with pytest.raises(Invalid) as caught:
        check_statement(stmt)
    assert where in caught.value.path


def test_valid_edge_cases_pass() -> None:
    stmt = golden("6fbd600f-d17c-4c74-801a-2ec2e53231f7")
    stmt["timestamp"] = "2026-09-07T09:00:00.123456+05:30"
    stmt["result"]["duration"] = "P1DT2H3M4.56S"
    stmt["context"]["extensions"]["https://example.edu/ext/none"] = None  # null is fine inside extensions
    stmt["object"] = {
        "objectType": "SubStatement",
        "actor": {"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}]},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
        "object": {"id": "https://example.edu/quiz/2"},
    }
    stmt["context"].pop("language")
    check_statement(stmt)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
FIELDS = st.sampled_from(["actor", "verb", "object", "result", "context", "timestamp", "id", "attachments"])


def _near_statements() -> st.SearchStrategy[Any]:
    """Statements with one field replaced by arbitrary JSON: deep into the validator, not just its door."""
    return st.tuples(FIELDS, JSON).map(lambda fv: {**golden("6fbd600f-d17c-4c74-801a-2ec2e53231f7"), fv[0]: fv[1]})


ENDPOINTS = [
    ("POST", "/xapi/statements", {}),
    ("PUT", "/xapi/statements", {"statementId": "6fbd600f-d17c-4c74-801a-2ec2e53231f7"}),
    (
        "PUT",
        "/xapi/activities/state",
        {"activityId": "https://x.y/a", "agent": '{"mbox":"mailto:a@b.c"}', "stateId": "s"},
    ),
    ("POST", "/xapi/activities/profile", {"activityId": "https://x.y/a", "profileId": "p"}),
    ("POST", "/xapi/agents/profile", {"agent": '{"mbox":"mailto:a@b.c"}', "profileId": "p"}),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON | _near_statements(), endpoint=st.sampled_from(ENDPOINTS), version=st.sampled_from(["1.0.3", "2.0.0"]))
def test_no_json_body_gets_a_5xx(
    client: TestClient, auth: str, body: Any, endpoint: tuple[str, str, dict[str, str]], version: str
) -> None:
    method, path, params = endpoint
    headers = {"Authorization": auth, "X-Experience-API-Version": version, "If-None-Match": "*"}
    response = client.request(method, path, params=params, json=body, headers=headers)
    assert response.status_code < 500, response.text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "agent",
                "verb",
                "activity",
                "since",
                "limit",
                "format",
                "more",
                "statementId",
                "registration",
                "ascending",
                "related_agents",
            ]
        ),
        st.text(max_size=30),
        max_size=4,
    )
)
def test_no_query_gets_a_5xx(client: TestClient, auth: str, params: dict[str, str]) -> None:
    headers = {"Authorization": auth, "X-Experience-API-Version": "1.0.3"}
    for path in ("/xapi/statements", "/xapi/activities/state", "/xapi/agents", "/xapi/activities"):
        assert client.get(path, params=params, headers=headers).status_code < 500
