"""Alerts after the stream raised them: delivery of their actions, and their lifecycle."""

from edupulse.alerts.ledger import AlertLedger
from edupulse.alerts.webhook import WebhookSender, sign, verify

__all__ = ["AlertLedger", "WebhookSender", "sign", "verify"]
