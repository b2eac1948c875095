"""State, activity profile and agent profile documents: ETags, preconditions, merging."""

from __future__ import annotations

import hashlib
import json

from tests.lrs.conftest import Xapi

AGENT = json.dumps({"mbox": "mailto:ada@example.edu"})
PROFILE = {"activityId": "https://example.edu/quiz/1", "profileId": "settings"}
STATE = {"activityId": "https://example.edu/quiz/1", "agent": AGENT, "stateId": "bookmark"}


def test_etag_is_the_quoted_sha1_of_the_content(xapi: Xapi) -> None:
    body = b'{"page": 3}'
    headers = {"If-None-Match": "*", "Content-Type": "application/json"}
    put = xapi.request("PUT", "/activities/profile", params=PROFILE, content=body, headers=headers)
    assert put.status_code == 204
    got = xapi.request("GET", "/activities/profile", params=PROFILE)
    assert got.content == body and got.headers["content-type"] == "application/json"
    assert got.headers["ETag"] == '"' + hashlib.sha1(body).hexdigest() + '"'  # noqa: S324 - the spec's choice


def test_profile_concurrency(xapi: Xapi) -> None:
    def put(body: bytes, **headers: str) -> int:
        headers = {"Content-Type": "application/json", **headers}
        return int(
            xapi.request("PUT", "/activities/profile", params=PROFILE, content=body, headers=headers).status_code
        )

    assert put(b'{"a": 1}') == 400  # a profile PUT needs If-Match or If-None-Match
    assert put(b'{"a": 1}', **{"If-None-Match": "*"}) == 204
    assert put(b'{"a": 2}', **{"If-None-Match": "*"}) == 412  # it exists now
    assert put(b'{"a": 2}') == 409  # exists, and no precondition
    assert put(b'{"a": 2}', **{"If-Match": '"0000"'}) == 412
    etag = xapi.request("GET", "/activities/profile", params=PROFILE).headers["ETag"]
    assert put(b'{"a": 2}', **{"If-Match": etag}) == 204
    assert xapi.request("GET", "/activities/profile", params=PROFILE).json() == {"a": 2}
    delete = xapi.request("DELETE", "/activities/profile", params=PROFILE, headers={"If-Match": etag})
    assert delete.status_code == 412  # the document changed since that ETag


def test_post_merges_json_objects_and_refuses_to_merge_anything_else(xapi: Xapi) -> None:
    assert xapi.request("POST", "/activities/state", params=STATE, json={"a": 1, "b": 1}).status_code == 204
    assert xapi.request("POST", "/activities/state", params=STATE, json={"b": 2, "c": 3}).status_code == 204
    assert xapi.request("GET", "/activities/state", params=STATE).json() == {"a": 1, "b": 2, "c": 3}
    text = {"Content-Type": "text/plain"}
    assert xapi.request("POST", "/activities/state", params=STATE, content=b"x", headers=text).status_code == 400


def test_state_ids_since_and_delete_all(xapi: Xapi) -> None:
    context = {k: v for k, v in STATE.items() if k != "stateId"}
    for state_id in ("one", "two"):
        xapi.request("PUT", "/activities/state", params={**context, "stateId": state_id}, json={"x": state_id})
    assert xapi.request("GET", "/activities/state", params=context).json() == ["one", "two"]
    assert xapi.request("GET", "/activities/state", params={**context, "since": "2999-01-01T00:00:00Z"}).json() == []
    assert xapi.request("DELETE", "/activities/state", params=context).status_code == 204
    assert xapi.request("GET", "/activities/state", params=context).json() == []
    assert xapi.request("GET", "/activities/state", params=STATE).status_code == 404


def test_agent_profile_and_agents_and_activities(xapi: Xapi) -> None:
    params = {"agent": AGENT, "profileId": "prefs"}
    assert xapi.request("PUT", "/agents/profile", params=params, json={"dark": True}, headers={"If-None-Match": "*"})
    assert xapi.request("GET", "/agents/profile", params=params).json() == {"dark": True}
    person = xapi.request("GET", "/agents", params={"agent": AGENT}).json()
    assert person == {"objectType": "Person", "mbox": ["mailto:ada@example.edu"]}
    activity = xapi.request("GET", "/activities", params={"activityId": "https://example.edu/never"}).json()
    assert activity == {"objectType": "Activity", "id": "https://example.edu/never"}
    assert xapi.request("GET", "/agents/profile", params={"agent": "{not json"}).status_code == 400
