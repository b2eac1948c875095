"""Optional answers: an OpenAI-compatible chat endpoint writes one from the passages.

Retrieval never depends on it: unset ``tutor.llm_url`` and requests asking for an
answer get the passages and ``answer: null``.
"""

from __future__ import annotations

from typing import Any

import httpx

from edupulse.config import TutorSettings
from edupulse.errors import TransientError

__all__ = ["AnswerError", "answer"]

_SYSTEM = (
    "You are a patient tutor. Answer the learner's question using only the numbered passages; "
    "cite them as [1], [2]. If they do not contain the answer, say so."
)


class AnswerError(TransientError):
    """The answer endpoint failed or answered something unreadable."""


def _prompt(question: str, passages: list[dict[str, Any]]) -> str:
    numbered = "\n\n".join(
        f"[{i}] ({p['citation']['source']}: {p['citation']['section']})\n{p['text']}" for i, p in enumerate(passages, 1)
    )
    return f"Passages:\n\n{numbered}\n\nQuestion: {question}"


def answer(settings: TutorSettings, question: str, passages: list[dict[str, Any]]) -> str | None:
    """The endpoint's answer, or None when no endpoint is configured."""
    if settings.llm_url is None:
        return None
    headers = {}
    if settings.llm_api_key is not None:
        headers["Authorization"] = f"Bearer {settings.llm_api_key.get_secret_value()}"
    body = {
        "model": settings.llm_model,
        "messages": [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": _prompt(question, passages)}],
    }
    url = settings.llm_url.rstrip("/") + "/chat/completions"
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=settings.llm_timeout_s)
        response.raise_for_status()
        content = response.json()["choices"][0]["message"]["content"]
    except httpx.HTTPError as exc:
        raise AnswerError(f"the answer endpoint {url} failed: {exc}") from exc
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise AnswerError(f"the answer endpoint {url} sent no chat completion: {exc!r}") from exc
    if not isinstance(content, str):
        raise AnswerError(f"the answer endpoint {url} sent a non-text answer")
    return content
