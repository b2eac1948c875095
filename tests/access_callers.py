"""The callers of the access tests: source keys of each scope, and people with signed tokens."""

from __future__ import annotations

import base64
import time
from typing import Any

import jwt

from edupulse.deployment import Deployment

SECRET = "test-only-hs256-secret-of-32-bytes!!"  # noqa: S105 - a test key
ISSUER = "https://idp.example.edu"
AUDIENCE = "edupulse"
AUTH_SETTINGS = {"jwt_hs256_secret": SECRET, "jwt_issuer": ISSUER, "jwt_audience": AUDIENCE}
CHEM = "https://example.edu/courses/chem"
EVE = "mailto:eve@school.example"

# name -> roster subject, for people
PEOPLE = {
    "admin": "a-root",  # roster administrator
    "alan": "t-alan",  # teaches chem (Eve's class), advises Bea and Cy
    "ada": "t-ada",  # teaches bio (Bea, Cy)
    "eve": "s-eve",  # a learner in chem
    "bea": "s-bea",  # a learner in bio
    "dan": "g-dan",  # Bea's guardian
    "stranger": "nobody",  # a valid token for someone not in the roster
}
KEYS = {"ingest_key": ("ingest",), "read_key": ("read",), "admin_key": ("admin",)}
CALLERS = ["anonymous", "bad_token", *KEYS, *PEOPLE]


def token(subject: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": subject, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600, **claims}
    return jwt.encode(body, SECRET, algorithm="HS256")


def headers_for(deployment: Deployment) -> dict[str, dict[str, str]]:
    """The Authorization header of every caller."""
    out: dict[str, dict[str, str]] = {"anonymous": {}, "bad_token": {"Authorization": "Bearer a.b.c"}}
    for name, scopes in KEYS.items():
        new = deployment.credentials.create(name, tenant="default", scopes=scopes)
        out[name] = {"Authorization": "Basic " + base64.b64encode(f"{new.key}:{new.secret}".encode()).decode()}
    for name, subject in PEOPLE.items():
        out[name] = {"Authorization": f"Bearer {token(subject)}"}
    return out
