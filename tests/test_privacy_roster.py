"""The OneRoster import and the events agree on who a person is, and the masking roster knows them.

A person's LMS accounts (users.csv ``userIds``) are kept in the form the event mappings
give learners (Canvas, Moodle, xAPI accounts), so access checks, and pseudonyms of those
keys, match that person's events; and every person imported is masked in free text.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.events.canvas_live import map_live_event
from edupulse.roster.keys import lms_keys
from edupulse.roster.oneroster import import_roster
from tests.access_callers import AUTH_SETTINGS, headers_for
from tests.canvas_events import LIVE, STUDENT
from tests.conftest import LiveServer
from tests.roster_files import write_roster
from tests.statements import statement
from tests.test_api import post, wait_for

BIO = "https://example.edu/courses/bio"
HOME = "https://lms.example.edu:8443"
ACCOUNT = f"account:{HOME}|11842"


def test_lms_ids_take_the_form_the_event_mappings_give_learners() -> None:
    keys = lms_keys(f"{{Canvas:{STUDENT}}},{{moodle:88}},{{{HOME}:11842}},{{SIS:S001}},{{broken}}")

    canvas = map_live_event(LIVE["asset_accessed"], json.dumps(LIVE["asset_accessed"]), tenant="t")[0].learner
    assert keys == [canvas, "moodle-user:88", ACCOUNT]
    assert canvas == f"canvas-user:{STUDENT}"


def _roster_with_accounts(directory: Path) -> Path:
    write_roster(directory)
    users = directory / "users.csv"
    text = users.read_text().replace(
        "s-bea,,,true,org1,student,bea,,", f's-bea,,,true,org1,student,bea,"{{{HOME}:11842}},{{Canvas:4711}}",'
    )
    users.write_text(text)
    return directory


def test_an_imported_person_is_matched_to_their_lms_events_and_masked_in_free_text(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", log={"partitions": 2}, auth=AUTH_SETTINGS)
    with Deployment(settings) as dep, LiveServer(dep) as server:
        scrubber = dep.log.protector.scrubber  # type: ignore[attr-defined]
        assert scrubber.scrub("ask Bea Ortiz (11842)") == "ask Bea Ortiz (11842)"  # not known yet
        roster = _roster_with_accounts(tmp_path / "roster")
        import_roster(
            dep.roster, [roster], tenant="default", checkpoint_dir=tmp_path / "imports", masking=scrubber.roster
        )
        assert scrubber.scrub("ask Bea Ortiz (11842)") == "ask [name] ([id])"

        stmt = statement(course=BIO, verb="answered", score=1.0)
        stmt["actor"] = {"objectType": "Agent", "account": {"homePage": HOME, "name": "11842"}}
        source = dep.credentials.create("lms", tenant="default", scopes=("ingest", "read"))
        assert post(server, source, [stmt]).status_code == 200
        h = headers_for(dep)
        url = server.url + "/api/v1/learner"
        wait_for(lambda: httpx.get(url, params={"learner": ACCOUNT}, headers=h["admin"], timeout=10).json())

        # Ada teaches Bea biology: the event of Bea's LMS account is Bea's
        got = httpx.get(url, params={"learner": ACCOUNT}, headers=h["ada"], timeout=10)
        assert got.status_code == 200 and [r["course"] for r in got.json()] == [BIO]
        assert httpx.get(url, params={"learner": ACCOUNT}, headers=h["eve"], timeout=10).status_code == 403

    with Deployment(settings) as again:  # another process (a restart) learns the imported people from the store
        assert again.log.protector.scrubber.scrub("Ortiz, Bea: 4711") == "[name]: [id]"  # type: ignore[attr-defined]
