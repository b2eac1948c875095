"""Email actions: an alert sent over SMTP as plain text and HTML, with a link to it.

Recipients are the rule's ``email_to`` addresses (carried in the outbox message, so a
replay queues the same message) plus whatever a ``Recipients`` directory adds for the
alert's learner and course (for example the learner's counsellor from a roster).

A refusal the server marks temporary (4xx), a dropped connection or a timeout is a
failed attempt the relay retries with backoff; a permanent refusal (5xx) or an alert
with nobody to send to is dead-lettered at once: retrying cannot change the answer.
The ``Message-ID`` is derived from the idempotency key, so every attempt at one alert
action carries the same one and mail systems can drop a repeat.
"""

from __future__ import annotations

import html
import json
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any, Literal, Protocol

from edupulse.alerts.webhook import DeliveryError
from edupulse.errors import TerminalError
from edupulse.stream.store.base import OutboxMessage

__all__ = ["EMAIL_TOPIC", "EmailSender", "Recipients", "RejectedError", "compose"]

EMAIL_TOPIC = "alerts.email"


class RejectedError(TerminalError):
    """The SMTP server refused an email for good, or it had no recipient: dead-lettered."""


class Recipients(Protocol):
    """More recipients of an alert, by learner and course (a roster's counsellors).

    The seam for rosters: a OneRoster import can answer "who counsels this learner in
    this course" here; the sender adds them to the rule's ``email_to``.
    """

    def for_alert(self, tenant: str, learner: str, course: str) -> list[str]: ...


def compose(alert: dict[str, Any], *, sender: str, recipients: list[str], link: str) -> EmailMessage:
    """The email of one alert: subject, plain text and an HTML alternative."""
    msg = EmailMessage()
    msg["Subject"] = f"[edupulse] {alert['rule']}: {alert['reason']}"[:200]
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    course = alert.get("course") or "(no course)"
    learner = alert.get("learner") or "(none)"
    lines = [
        f"Rule {alert['rule']!r} raised an alert.",
        "",
        f"Why: {alert['reason']}",
        f"Learner (pseudonym): {learner}",
        f"Course: {course}",
        "",
        f"See, acknowledge or resolve it: {link}",
    ]
    msg.set_content("\n".join(lines) + "\n")
    e = html.escape
    msg.add_alternative(
        f"<p>Rule <b>{e(alert['rule'])}</b> raised an alert.</p>"
        f"<p><b>Why:</b> {e(alert['reason'])}<br><b>Learner (pseudonym):</b> {e(learner)}<br>"
        f"<b>Course:</b> {e(course)}</p>"
        f'<p><a href="{e(link, quote=True)}">See, acknowledge or resolve the alert</a></p>',
        subtype="html",
    )
    return msg


class EmailSender:
    """Sends the email of each outbox message of the ``email`` action through one SMTP server."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Literal["starttls", "tls", "none"],
        sender: str,
        link: str,
        timeout_s: float,
        user: str | None = None,
        password: str | None = None,
        recipients: Recipients | None = None,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.sender, self.link, self.timeout_s = sender, link, timeout_s
        self._login = (user, password or "") if user else None
        self._recipients = recipients

    def send(self, message: OutboxMessage) -> None:
        """Send one alert's email, or raise saying why not (``RejectedError``: do not retry)."""
        alert = json.loads(message.payload)
        to = list(alert.get("email_to", ()))
        if self._recipients is not None:
            to += self._recipients.for_alert(alert["tenant"], alert["learner"], alert["course"])
        to = list(dict.fromkeys(to))
        if not to:
            raise RejectedError(f"alert {alert['id']} has no email recipient: give its rule `email_to`")
        email = compose(alert, sender=self.sender, recipients=to, link=self.link.replace("{id}", alert["id"]))
        email["Message-ID"] = f"<{message.idempotency_key.replace(':', '.')}@edupulse>"
        try:
            with self._connect() as smtp:
                smtp.send_message(email)
        except smtplib.SMTPResponseException as exc:
            text = f"SMTP {self.host}:{self.port} refused: {exc.smtp_code} {exc.smtp_error!r}"
            raise (RejectedError(text) if exc.smtp_code >= 500 else DeliveryError(text)) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            text = f"SMTP {self.host}:{self.port} refused every recipient: {codes}"
            raise (RejectedError(text) if min(codes) >= 500 else DeliveryError(text)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {self.host}:{self.port} failed: {exc!r}") from exc

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout_s, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        try:
            if self.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self._login is not None:
                smtp.login(*self._login)
        except BaseException:
            smtp.close()  # a failed upgrade or login must not leave the connection open
            raise
        return smtp

    def close(self) -> None:
        """Nothing held between sends: each email opens its own connection."""
