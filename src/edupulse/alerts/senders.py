"""The senders of a deployment: one per alert action whose destination is configured.

An action without a configured destination (no webhook URL, SMTP host or xAPI URL) has no
sender: its messages stay pending in the outbox until one is set, and are then
delivered.
"""

from __future__ import annotations

from collections.abc import Sequence

from edupulse.alerts.aggregates import rule_topic
from edupulse.alerts.email import EMAIL_TOPIC, EmailSender, Recipients
from edupulse.alerts.webhook import WebhookSender
from edupulse.alerts.xapi_action import XAPI_TOPIC, XapiSender
from edupulse.config import RulesSettings
from edupulse.insights.aggregate_rules import AggregateRule
from edupulse.insights.rules import WEBHOOK_TOPIC
from edupulse.stream.outbox import Sender

__all__ = ["configured_senders"]


def configured_senders(
    cfg: RulesSettings, *, aggregates: Sequence[AggregateRule] = (), recipients: Recipients | None = None
) -> dict[str, Sender]:
    """A sender per outbox topic that ``cfg`` (and an aggregate rule's own ``webhook_url``) gives a destination for.

    ``recipients``: who else receives alert emails (a roster's counsellors, a course's
    administrators); None: only the rules' ``email_to``.
    """
    senders: dict[str, Sender] = {}
    secret = cfg.webhook_secret.get_secret_value() if cfg.webhook_secret is not None else None
    if cfg.webhook_url is not None:
        senders[WEBHOOK_TOPIC] = WebhookSender(cfg.webhook_url, secret=secret, timeout_s=cfg.timeout_s)
    for rule in aggregates:
        if rule.webhook_url is not None:
            senders[rule_topic(rule, "webhook")] = WebhookSender(
                rule.webhook_url, secret=secret, timeout_s=cfg.timeout_s
            )
    if cfg.smtp_host is not None:
        senders[EMAIL_TOPIC] = EmailSender(
            cfg.smtp_host,
            cfg.smtp_port,
            security=cfg.smtp_security,
            sender=cfg.email_from,
            link=cfg.alert_link,
            timeout_s=cfg.timeout_s,
            user=cfg.smtp_user,
            password=cfg.smtp_password.get_secret_value() if cfg.smtp_password is not None else None,
            recipients=recipients,
        )
    if cfg.xapi_url is not None:
        senders[XAPI_TOPIC] = XapiSender(
            cfg.xapi_url,
            username=cfg.xapi_username,
            password=cfg.xapi_password.get_secret_value() if cfg.xapi_password is not None else None,
            agent_name=cfg.xapi_agent_name,
            agent_home=cfg.xapi_agent_home,
            pseudonym_home=cfg.xapi_pseudonym_home,
            timeout_s=cfg.timeout_s,
        )
    return senders
