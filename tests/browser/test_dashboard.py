"""The dashboard in a real browser: each role signs in, opens every page it may, sees the
numbers the API gives, sees a page change live when events arrive, acts on an alert; every
page passes axe-core with no serious or critical violation; screenshots are kept."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe

from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.events.xapi import SKILLS_EXTENSION
from edupulse.roster.oneroster import import_roster
from tests.access_callers import AUTH_SETTINGS, CHEM, EVE, token
from tests.browser.conftest import artifacts
from tests.conftest import LiveServer, basic, free_port
from tests.risk_models import store_tiny_models
from tests.roster_files import write_roster
from tests.statements import START, statement
from tests.test_rules import RULES

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

BIO = "https://example.edu/courses/bio"
BEA = "mailto:bea@school.example"
# name -> (roster subject, the pages it may open)
ROLES = {
    "admin": ("a-root", ["/ui/", "/ui/course?course={chem}", "/ui/learner?learner={eve}", "/ui/alerts", "/ui/health"]),
    "instructor": ("t-alan", ["/ui/", "/ui/course?course={chem}", "/ui/learner?learner={eve}", "/ui/alerts"]),
    "counsellor": ("g-dan", ["/ui/", "/ui/learner?learner={bea}", "/ui/alerts"]),
    "learner": ("s-eve", ["/ui/", "/ui/learner?learner={eve}", "/ui/alerts"]),
}


def _xapi(learner: str, course: str, hours: float, *, verb: str = "failed", skill: str = "stoichiometry") -> Any:
    stmt = statement(verb=verb, course=course, when=START + timedelta(hours=hours), score=0.2)
    stmt["actor"] = {"objectType": "Agent", "mbox": learner}
    stmt["context"]["extensions"] = {SKILLS_EXTENSION: [skill]}
    return stmt


class Site:
    """The server under test, a source key to post events with, and its API for comparisons."""

    def __init__(self, server: LiveServer, deployment: Deployment) -> None:
        self.server = server
        self.url = server.url
        self.deployment = deployment
        headers = basic(deployment.credentials.create("lms", tenant="default"))
        self.source = httpx.Client(base_url=server.url, headers={**headers, "X-Experience-API-Version": "1.0.3"})

    def post(self, statements: list[Any]) -> None:
        assert self.source.post("/xapi/statements", json=statements).status_code == 200

    def api(self, who: str, path: str, **params: str) -> Any:
        auth = {"Authorization": f"Bearer {token(ROLES[who][0])}"}
        response = httpx.get(self.url + path, params=params, headers=auth, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def settle(self) -> None:
        """Wait until every event in the log is processed."""
        deadline = time.monotonic() + 15
        while self.api("admin", "/api/v1/status")["lag"] and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("dashboard")
    rules = tmp / "rules.yaml"
    rules.write_text(RULES)
    # webhooks to a closed port: deliveries fail, then are dead-lettered (the health page shows them)
    hook = f"http://127.0.0.1:{free_port()}/hook"
    settings = Settings(
        data_dir=tmp / "data",
        log={"partitions": 2},
        auth=AUTH_SETTINGS,
        rules={"path": rules, "webhook_url": hook, "max_attempts": 1, "backoff_s": 0.1, "timeout_s": 1},
    )
    store_tiny_models(settings.data_dir)
    with Deployment(settings) as dep, LiveServer(dep) as server:
        import_roster(dep.roster, [write_roster(tmp / "roster")], tenant="default", checkpoint_dir=tmp / "imports")
        s = Site(server, dep)
        s.post([_xapi(EVE, CHEM, h) for h in (0, 1, 2)] + [_xapi(BEA, BIO, h, verb="passed") for h in (0, 5)])
        s.settle()
        yield s


def _signed_in(browser: Browser, site: Site, who: str) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(site.url + "/ui/signin")
    page.get_by_label("Token").fill(token(ROLES[who][0]))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(site.url + "/ui/")
    return page


def _path(template: str, site: Site) -> str:
    dep = site.deployment
    keys = {"chem": CHEM, "eve": dep.learner_key("default", EVE), "bea": dep.learner_key("default", BEA)}
    return template.format(**{k: httpx.QueryParams({"v": v})["v"] for k, v in keys.items()})


def _until(page: Page, predicate: str, timeout_s: float = 5.0) -> None:
    """Poll a JS function in the page (``wait_for_function`` would need the CSP to allow eval)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(predicate):
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        time.sleep(0.01)


def _check_accessible(page: Page, name: str) -> None:
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert bad == [], f"{name}: " + "; ".join(f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in bad)


@pytest.mark.parametrize("who", sorted(ROLES))
def test_each_role_opens_its_pages_accessibly(browser: Browser, site: Site, who: str) -> None:
    page = _signed_in(browser, site, who)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    for template in ROLES[who][1]:
        url = site.url + _path(template, site)
        response = page.goto(url)
        assert response is not None and response.status == 200, (who, template)
        _until(page, "() => document.body.dataset.live === 'open'")  # the live stream is open
        name = f"{who}-{template.split('?')[0].strip('/').replace('/', '-') or 'ui'}"
        page.screenshot(path=str(artifacts() / f"{name}.png"), full_page=True)
        _check_accessible(page, name)
    assert errors == []  # no script error, no blocked resource (the pages keep their own CSP)
    page.close()


def _text(page: Page, selector: str) -> str:
    return page.locator(selector).first.inner_text().replace(",", "")


def test_numbers_match_the_api(browser: Browser, site: Site) -> None:
    site.settle()
    page = _signed_in(browser, site, "admin")
    courses = site.api("admin", "/api/v1/courses")
    assert _text(page, "#events") == str(sum(c["events"] for c in courses))
    assert _text(page, "#course-count") == str(len(courses))
    page.goto(site.url + _path("/ui/course?course={chem}", site))
    course = site.api("admin", "/api/v1/course", course=CHEM)
    assert _text(page, "#events") == str(course["events"])
    assert _text(page, "#active-learners") == str(course["active_learners_7d"])
    assert _text(page, "#attempts") == str(course["attempts"])
    assert _text(page, "#learners") == str(site.api("admin", "/api/v1/course/learners", course=CHEM)["total"])
    at_risk = site.api("admin", "/api/v1/course/at-risk", course=CHEM)["learners"]
    assert page.locator("#at-risk tbody tr").count() == len(at_risk) > 0
    page.goto(site.url + _path("/ui/learner?learner={eve}", site))
    (eve,) = site.api("admin", "/api/v1/learner", learner=EVE)
    assert _text(page, "#learner-courses td.events") == str(eve["events"])
    mastery = site.api("admin", "/api/v1/learner/mastery", learner=EVE)
    assert page.locator("#mastery tbody tr").count() == len(mastery)
    page.goto(site.url + "/ui/health")
    status = site.api("admin", "/api/v1/status")
    assert _text(page, "#log-events") == str(status["events"])
    assert page.locator("#partitions tbody tr").count() == len(status["partitions"])
    page.close()


def test_pages_change_live_within_a_second(browser: Browser, site: Site) -> None:
    page = _signed_in(browser, site, "instructor")
    page.goto(site.url + _path("/ui/course?course={chem}", site))
    _until(page, "() => document.body.dataset.live === 'open'")
    page.evaluate("window.notReloaded = true")
    waits = []
    for i in range(3):
        before = int(_text(page, "#events"))
        sent = time.monotonic()
        site.post([_xapi(EVE, CHEM, 30 + i, verb="experienced")])
        _until(page, f"() => Number(document.getElementById('events').textContent.replace(/,/g, '')) === {before + 1}")
        waits.append(time.monotonic() - sent)
        time.sleep(0.6)  # past the page's refresh throttle: each wait is an event on a quiet page
    (artifacts().parent / "live-update-seconds.json").write_text(json.dumps(waits))
    assert page.evaluate("window.notReloaded") is True  # updated in place, never reloaded
    assert sorted(waits)[1] < 1.0, f"event to page: {waits} s"
    page.close()


def test_alert_acknowledged_and_noted_in_the_inbox(browser: Browser, site: Site) -> None:
    page = _signed_in(browser, site, "instructor")
    page.goto(site.url + "/ui/alerts?status=open")
    alert = page.locator("li.alert").first
    alert_id = alert.get_attribute("data-alert")
    alert.get_by_label("Note").fill("called Eve")
    alert.get_by_role("button", name="Acknowledge").click()
    _until(page, "() => document.getElementById('action-result').textContent.startsWith('Done')")
    found = site.api("instructor", f"/api/v1/alerts/{alert_id}")
    assert found["status"] == "acknowledged"
    assert [(h["action"], h["note"]) for h in found["history"]] == [("acknowledged", "called Eve")]
    page.goto(site.url + "/ui/alerts")
    assert "called Eve" in page.locator(f"li.alert[data-alert='{alert_id}'] .history").inner_text()
    page.screenshot(path=str(artifacts() / "instructor-alert-acknowledged.png"), full_page=True)
    page.close()


def test_each_role_is_refused_what_it_may_not_see(browser: Browser, site: Site) -> None:
    refused = {
        "instructor": ["/ui/course?course=https%3A%2F%2Fexample.edu%2Fcourses%2Fbio", "/ui/health"],
        "learner": ["/ui/course?course={chem}", "/ui/learner?learner={bea}", "/ui/health"],
        "counsellor": ["/ui/course?course={chem}", "/ui/learner?learner={eve}"],
    }
    for who, templates in refused.items():
        page = _signed_in(browser, site, who)
        for template in templates:
            response = page.goto(site.url + _path(template, site))
            assert response is not None and response.status == 403, (who, template)
            assert "403" in page.locator("#error-message").inner_text()
        page.close()
    page = browser.new_page()
    response = page.goto(site.url + "/ui/")
    assert response is not None and response.status == 401
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Token").fill("not.a.token")
    page.get_by_role("button", name="Sign in").click()
    assert page.locator("#signin-error").is_visible()
    page.close()


def test_learners_and_counsellors_find_their_pages_from_the_overview(browser: Browser, site: Site) -> None:
    for who, learner in (("learner", EVE), ("counsellor", BEA)):
        page = _signed_in(browser, site, who)
        page.locator("#people a").first.click()
        page.wait_for_url("**/ui/learner?**")
        assert page.locator("#learner-key").inner_text() == site.deployment.learner_key("default", learner)
        page.close()


def test_sign_out_ends_the_session(browser: Browser, site: Site) -> None:
    page = _signed_in(browser, site, "learner")
    cookie = next(c for c in page.context.cookies() if c["name"] == "edupulse_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(site.url + "/ui/signin")
    response = page.goto(site.url + "/ui/")
    assert response is not None and response.status == 401
    page.close()


def test_screenshots_are_kept() -> None:
    assert Path(artifacts()).is_dir()
