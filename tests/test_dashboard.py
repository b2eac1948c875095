"""The dashboard without a browser: sessions, the cookie's limits, errors as pages, assets,
page data equal to the API's, and the event-rate meter. (tests/browser drives it in Chromium.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from edupulse.api.app import create_app
from edupulse.config import Settings
from edupulse.dashboard.rate import RateMeter
from edupulse.deployment import Deployment
from edupulse.roster.oneroster import import_roster
from tests.access_callers import AUTH_SETTINGS, CHEM, EVE, token
from tests.conftest import LiveServer, basic
from tests.roster_files import write_roster
from tests.statements import statement


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("dash")
    settings = Settings(data_dir=tmp / "data", log={"partitions": 2}, auth=AUTH_SETTINGS)
    with Deployment(settings) as dep:
        import_roster(dep.roster, [write_roster(tmp / "roster")], tenant="default", checkpoint_dir=tmp / "imports")
        yield dep


@pytest.fixture(scope="module")
def server(deployment: Deployment) -> Iterator[LiveServer]:
    with LiveServer(deployment) as live:
        stmt = statement(course=CHEM, score=0.5)
        stmt["actor"] = {"mbox": EVE}
        auth = {**basic(deployment.credentials.create("lms", tenant="default")), "X-Experience-API-Version": "1.0.3"}
        assert httpx.post(live.url + "/xapi/statements", json=[stmt], headers=auth).status_code == 200
        deadline = time.monotonic() + 10
        while deployment.store.committed_offsets("events") == {} and time.monotonic() < deadline:
            time.sleep(0.02)
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def test_a_session_cookie_reads_pages_but_cannot_change_state_without_the_dashboard_header(
    client: httpx.Client,
) -> None:
    response = client.post("/ui/signin", data={"token": token("t-alan")})
    assert response.status_code == 303 and response.headers["location"] == "/ui/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    assert client.get("/ui/course", params={"course": CHEM}).status_code == 200
    assert client.get("/api/v1/course", params={"course": CHEM}).status_code == 200
    # another site's form could post with the cookie (were it not SameSite): it gets no credentials
    assert client.post("/api/v1/alerts/x/ack", json={}).status_code == 401
    dashboard = {"X-Edupulse-Dashboard": "1"}
    assert client.post("/api/v1/alerts/x/ack", json={}, headers=dashboard).status_code == 404
    # the same access checks as the API: an instructor of chem is refused bio, as a page
    refused = client.get("/ui/course", params={"course": "https://example.edu/courses/bio"})
    assert refused.status_code == 403 and "does not teach course" in refused.text
    assert refused.headers["content-type"].startswith("text/html")
    signed_out = client.post("/ui/signout")
    assert signed_out.status_code == 303 and 'edupulse_session=""' in signed_out.headers["set-cookie"]
    assert client.get("/ui/").status_code == 401


def test_sign_in_names_what_is_wrong(client: httpx.Client) -> None:
    for form, status, words in (
        ({}, 401, "paste the sign-in token"),
        ({"token": "not a token"}, 401, "paste the sign-in token"),
        ({"token": token("nobody")}, 403, "roster"),
        ({"token": token("t-alan")[:-4] + "AAAA"}, 401, "signature"),
    ):
        response = client.post("/ui/signin", data=form)
        assert response.status_code == status, form
        assert words in response.text.lower() or words in response.text, (form, response.text[-600:])
        assert "set-cookie" not in response.headers


def test_the_cookie_is_secure_under_tls(deployment: Deployment) -> None:
    with TestClient(
        create_app(deployment, process=False), base_url="https://dash.example", follow_redirects=False
    ) as tls:
        response = tls.post("/ui/signin", data={"token": token("a-root")})
        assert response.status_code == 303 and "Secure" in response.headers["set-cookie"]


def test_errors_on_pages_are_pages_and_data_errors_json(client: httpx.Client) -> None:
    anonymous = client.get("/ui/")
    assert anonymous.status_code == 401 and 'href="/ui/signin"' in anonymous.text
    assert anonymous.headers["www-authenticate"].startswith("Bearer")  # no browser password prompt
    auth = {"Authorization": f"Bearer {token('a-root')}"}
    missing = client.get("/ui/course", headers=auth)
    assert missing.status_code == 400 and "course" in missing.text and "<main" in missing.text
    data = client.get("/ui/data/course", headers=auth)
    assert data.status_code == 400 and data.json()["error"] == "bad_request"


def test_page_data_equals_the_api(client: httpx.Client) -> None:
    auth = {"Authorization": f"Bearer {token('a-root')}"}
    page = client.get("/ui/data/course", params={"course": CHEM}, headers=auth).json()
    api = client.get("/api/v1/course", params={"course": CHEM}, headers=auth).json()
    assert page["summary"] == api
    learners = client.get("/api/v1/course/learners", params={"course": CHEM, "page_size": 25}, headers=auth).json()
    assert page["learners"] == learners
    assert sum(b["learners"] for b in page["score_bands"]) == learners["total"]
    overview = client.get("/ui/data", headers=auth).json()
    assert overview["events"] == sum(c["events"] for c in client.get("/api/v1/courses", headers=auth).json())
    html = client.get("/ui/course", params={"course": CHEM}, headers=auth)
    assert html.headers["content-security-policy"].startswith("default-src 'self'")


def test_assets_are_served_from_installed_packages(client: httpx.Client) -> None:
    plotly = client.get("/ui/static/plotly.min.js")
    assert plotly.status_code == 200 and b"plotly.js" in plotly.content[:200]
    assert client.get("/ui/static/dashboard.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/ui/static/%2e%2e%2fpyproject.toml").status_code == 404
    assert client.get("/ui/static/nope.js").json()["error"] == "not_found"


def test_rate_meter_reports_growth_over_its_window() -> None:
    meter = RateMeter(window_s=10, min_span_s=1)
    assert meter.rate("k", 100, now=0.0) is None  # one sample: not known yet
    assert meter.rate("k", 150, now=0.5) is None  # too short a span
    assert meter.rate("k", 300, now=2.0) == pytest.approx(100.0)
    assert meter.rate("k", 300, now=30.0) == pytest.approx(0.0)  # old samples leave the window
    assert meter.rate("other", 5, now=30.0) is None  # keys are apart


def test_screens_do_not_leak_to_the_repository() -> None:
    ignored = (Path(__file__).resolve().parents[1] / ".gitignore").read_text()
    assert "test-artifacts/" in ignored.splitlines()
