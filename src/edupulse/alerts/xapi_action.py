"""The xAPI action: an alert recorded back in an LRS as a statement by the system.

The statement says "<system agent> flagged <alert>": the actor is the configured
system agent (an account), the verb ``https://edupulse.dev/xapi/verbs/flagged``, the
object an activity standing for the alert (its rule as the name, its reason as the
description). The learner is the alert's *subject*, referenced in the context
extension ``https://edupulse.dev/xapi/extensions/alert-subject`` as an agent, not as
the actor: the learner did nothing here. The course is a ``grouping`` context
activity.

Learner ids: edupulse keeps a learner as the id string of their identifier
(``account:<homePage>|<name>``, ``mailto:...``, ``sha1:...``, ``openid:...``), which
turns back into the same agent. Any other id is a pseudonym: it is sent as an account
on the configured pseudonym home page, never dressed up as a real identifier, so the
receiving LRS learns no more about the learner than edupulse holds.

The statement id is a UUID 5 of the alert id, and the statement is the same on every
attempt, so the LRS stores it once however often the relay repeats it (an LRS answers
a repeat of an identical statement with success). A 400, 409 (the id holds a different
statement), 413 or 422 refuses the statement itself: dead-lettered at once. Other
failures (401/403 while credentials are being fixed, 5xx, timeouts) are retried.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from edupulse.alerts.email import RejectedError
from edupulse.alerts.webhook import DeliveryError
from edupulse.stream.store.base import OutboxMessage

__all__ = ["ALERT_ACTIVITY_TYPE", "FLAGGED_VERB", "SUBJECT_EXTENSION", "XAPI_TOPIC", "XapiSender", "statement_of"]

XAPI_TOPIC = "alerts.xapi"
FLAGGED_VERB = "https://edupulse.dev/xapi/verbs/flagged"
ALERT_ACTIVITY_TYPE = "https://edupulse.dev/xapi/activities/alert"
SUBJECT_EXTENSION = "https://edupulse.dev/xapi/extensions/alert-subject"
RULE_EXTENSION = "https://edupulse.dev/xapi/extensions/rule"
_NAMESPACE = uuid.UUID("6f1d2c9e-4b7a-5e35-9c1e-3a2b8e0d7f41")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PERMANENT = frozenset({400, 409, 413, 422})  # the statement itself is refused: retrying cannot help


def statement_id(alert_id: str) -> str:
    """The statement id of an alert: the same alert always gives the same id."""
    return str(uuid.uuid5(_NAMESPACE, alert_id))


def agent_of(learner: str, *, pseudonym_home: str) -> dict[str, Any]:
    """The xAPI agent of an edupulse learner id; a pseudonym becomes an account on ``pseudonym_home``."""
    if learner.startswith("account:") and "|" in learner:
        home, name = learner[len("account:") :].split("|", 1)
        return {"objectType": "Agent", "account": {"homePage": home, "name": name}}
    for prefix, field in (("mailto:", "mbox"), ("sha1:", "mbox_sha1sum"), ("openid:", "openid")):
        if learner.startswith(prefix):
            return {"objectType": "Agent", field: learner if field == "mbox" else learner[len(prefix) :]}
    return {"objectType": "Agent", "account": {"homePage": pseudonym_home, "name": learner}}


def statement_of(
    alert: dict[str, Any], *, agent: dict[str, Any], pseudonym_home: str, alerts_home: str
) -> dict[str, Any]:
    """The xAPI statement recording one alert."""
    opened = _EPOCH + timedelta(microseconds=int(alert["opened_us"]))
    context: dict[str, Any] = {"extensions": {RULE_EXTENSION: alert["rule"]}}
    if alert.get("learner"):
        context["extensions"][SUBJECT_EXTENSION] = agent_of(alert["learner"], pseudonym_home=pseudonym_home)
    if alert.get("course"):
        context["contextActivities"] = {"grouping": [{"objectType": "Activity", "id": alert["course"]}]}
    return {
        "id": statement_id(alert["id"]),
        "actor": agent,
        "verb": {"id": FLAGGED_VERB, "display": {"en-US": "flagged"}},
        "object": {
            "objectType": "Activity",
            "id": f"{alerts_home.rstrip('/')}/{alert['id']}",
            "definition": {
                "type": ALERT_ACTIVITY_TYPE,
                "name": {"en-US": f"alert of rule {alert['rule']}"},
                "description": {"en-US": alert["reason"]},
            },
        },
        "context": context,
        "timestamp": opened.isoformat(timespec="microseconds"),
    }


class XapiSender:
    """POSTs each alert as an xAPI statement to an LRS, with Basic auth."""

    def __init__(
        self,
        endpoint: str,
        *,
        username: str | None,
        password: str | None,
        agent_name: str,
        agent_home: str,
        pseudonym_home: str,
        timeout_s: float,
    ) -> None:
        self.url = endpoint.rstrip("/") + "/statements"
        self.agent = {
            "objectType": "Agent",
            "name": agent_name,
            "account": {"homePage": agent_home, "name": agent_name},
        }
        self.pseudonym_home = pseudonym_home
        self.alerts_home = agent_home.rstrip("/") + "/alerts"
        auth = httpx.BasicAuth(username, password or "") if username else None
        self._client = httpx.Client(timeout=timeout_s, auth=auth)

    def send(self, message: OutboxMessage) -> None:
        """Store one alert's statement, or raise saying why not (``RejectedError``: do not retry)."""
        alert = json.loads(message.payload)
        stmt = statement_of(alert, agent=self.agent, pseudonym_home=self.pseudonym_home, alerts_home=self.alerts_home)
        headers = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"}
        try:
            response = self._client.post(self.url, content=json.dumps(stmt).encode(), headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"POST {self.url} failed: {exc!r}") from exc
        if response.is_success:
            return
        text = f"POST {self.url} answered HTTP {response.status_code}: {response.text[:300]}"
        permanent = response.status_code in _PERMANENT
        raise RejectedError(text) if permanent else DeliveryError(text)

    def close(self) -> None:
        self._client.close()
