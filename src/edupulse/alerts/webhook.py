"""Signed webhooks: an alert POSTed as JSON, with an HMAC-SHA256 signature of the body.

Headers: ``Idempotency-Key`` (the same for every attempt at one alert action: receivers
dedupe on it), ``X-Edupulse-Signature: sha256=<hex>`` (HMAC-SHA256 of the exact body
bytes with the shared secret) when a secret is set. Any 2xx answer is a delivery.
"""

from __future__ import annotations

import hashlib
import hmac

import httpx

from edupulse.errors import TransientError
from edupulse.stream.store.base import OutboxMessage

__all__ = ["SIGNATURE_HEADER", "DeliveryError", "WebhookSender", "sign", "verify"]

SIGNATURE_HEADER = "X-Edupulse-Signature"


class DeliveryError(TransientError):
    """A webhook attempt failed; it is retried with backoff, then dead-lettered."""


def sign(secret: str, body: bytes) -> str:
    """The signature header value of a body: ``sha256=`` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether a received signature header matches the body (constant-time compare)."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


class WebhookSender:
    """POSTs outbox messages to one URL."""

    def __init__(self, url: str, *, secret: str | None, timeout_s: float) -> None:
        self.url = url
        self._secret = secret
        self._client = httpx.Client(timeout=timeout_s)

    def send(self, message: OutboxMessage) -> None:
        """Deliver one message, or raise ``DeliveryError`` saying why not."""
        headers = {"Content-Type": "application/json", "Idempotency-Key": message.idempotency_key}
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = sign(self._secret, message.payload)
        try:
            response = self._client.post(self.url, content=message.payload, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"POST {self.url} failed: {exc!r}") from exc
        if not response.is_success:
            raise DeliveryError(f"POST {self.url} answered HTTP {response.status_code}: {response.text[:200]}")

    def close(self) -> None:
        self._client.close()
