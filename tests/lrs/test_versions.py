"""Version negotiation, the About resource, and the alternate request syntax."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from tests.lrs.conftest import Xapi
from tests.lrs.golden import golden


def test_about_needs_no_version_and_lists_both(client: TestClient) -> None:
    response = client.get("/xapi/about")
    assert response.status_code == 200
    assert {"1.0.3", "2.0.0"} <= set(response.json()["version"])


@pytest.mark.parametrize(
    ("sent", "spoken"), [("1.0", "1.0.3"), ("1.0.2", "1.0.3"), ("2.0.0", "2.0.0"), ("2.0", "2.0.0")]
)
def test_a_request_gets_the_version_it_speaks(client: TestClient, auth: str, sent: str, spoken: str) -> None:
    response = client.get("/xapi/statements", headers={"Authorization": auth, "X-Experience-API-Version": sent})
    assert response.status_code == 200
    assert response.headers["X-Experience-API-Version"] == spoken


@pytest.mark.parametrize("sent", [None, "0.9", "1.1.0", "3.0.0", "latest"])
def test_a_missing_or_unknown_version_is_400(client: TestClient, auth: str, sent: str | None) -> None:
    headers = {"Authorization": auth} | ({"X-Experience-API-Version": sent} if sent else {})
    response = client.get("/xapi/statements", headers=headers)
    assert response.status_code == 400
    assert "X-Experience-API-Version" in response.json()["message"]
    assert response.headers["X-Experience-API-Version"] == "2.0.0"  # lrs.default_version


def test_version_2_rules_apply_to_version_2_requests_only(xapi: Xapi, xapi2: Xapi) -> None:
    naive = {**golden("6fbd600f-d17c-4c74-801a-2ec2e53231f7"), "timestamp": "2026-09-07T09:00:00"}
    assert xapi2.post(naive).status_code == 400  # 2.0.0: a timestamp needs its time zone
    assert xapi.post(naive).status_code == 200
    agents = {**golden("7fbd600f-d17c-4c74-801a-2ec2e53231f7")}
    agents["context"] = {"contextAgents": [{"objectType": "contextAgent", "agent": {"mbox": "mailto:a@b.c"}}]}
    assert xapi.post(agents).status_code == 400  # contextAgents is 2.0.0 only
    assert xapi2.post(agents).status_code == 200


def test_alternate_request_syntax_in_1_0_3_only(client: TestClient, auth: str) -> None:
    form = {"Authorization": auth, "X-Experience-API-Version": "1.0.3"}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = client.post("/xapi/statements?method=GET", content=urlencode(form), headers=headers)
    assert response.status_code == 200 and "statements" in response.json()
    form["X-Experience-API-Version"] = "2.0.0"
    response = client.post("/xapi/statements?method=GET", content=urlencode(form), headers=headers)
    assert response.status_code == 400
