"""``edupulse demo``: the embedded pipeline, its API, and a live simulated course."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
import uvicorn
from pydantic import SecretStr

from edupulse.api.app import create_app
from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.ml.demo_risk import ensure_demo_models
from edupulse.privacy.credentials import NewKey
from edupulse.roster.base import RosterRows
from edupulse.roster.model import User
from edupulse.sim import CourseSimulator, SimConfig
from edupulse.sim.sender import send

__all__ = ["DEMO_ADMIN", "run_demo"]

logger = logging.getLogger(__name__)

DEMO_ADMIN = "demo-admin"
"""The roster administrator the demo signs its dashboard user in as."""
_TOKEN_HOURS = 12


def run_demo(
    settings: Settings,
    sim: SimConfig,
    *,
    rate_per_s: float,
    duration_s: float | None = None,
    announce: Callable[[str, NewKey, str | None], None],
) -> None:
    """Serve the API and feed it a simulated course until interrupted (or ``duration_s``).

    Without stored at-risk models, first fits small ones on a simulated past term
    (``ml.demo_risk``), so that the demo scores learners live. ``announce`` gets the URL,
    the source key the simulator posts with, and a dashboard sign-in token (below).
    """
    trained = ensure_demo_models(settings.data_dir, sim)
    if trained is not None:
        logger.info("trained at-risk models %s on a simulated past term", trained)
    settings, token = _demo_sign_in(settings)
    with Deployment(settings) as deployment:
        key = deployment.credentials.create("demo", tenant=settings.tenant)
        if token is not None:
            admin = User(DEMO_ADMIN, "administrator", username=DEMO_ADMIN, given_name="Demo", family_name="Admin")
            deployment.roster.put(settings.tenant, RosterRows(users=[admin]))
        app = create_app(deployment)
        config = uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level="warning", access_log=False, lifespan="on"
        )
        server = uvicorn.Server(config)
        stop = threading.Event()
        url = f"http://{settings.host}:{settings.port}"

        def feed() -> None:
            while not server.started and not stop.wait(0.05):
                pass
            if stop.is_set():
                return
            announce(url, key, token)
            report = send(
                CourseSimulator(sim).statements(),
                url=url + "/xapi/statements",
                auth=(key.key, key.secret),
                rate_per_s=rate_per_s,
                batch_size=max(1, min(500, int(rate_per_s // 10) or 1)),
                stop=stop,
            )
            logger.info("simulation finished: %s", report)

        feeder = threading.Thread(target=feed, name="demo-feeder", daemon=True)
        feeder.start()
        if duration_s is not None:
            threading.Timer(duration_s, lambda: setattr(server, "should_exit", True)).start()
        try:
            server.run()
        finally:
            stop.set()
            feeder.join(timeout=10)


def _demo_sign_in(settings: Settings) -> tuple[Settings, str | None]:
    """A dashboard sign-in for the demo: when people's tokens are not configured (no JWKS,
    no HS256 secret), this run gets a random HS256 secret of its own and a token, valid for
    12 hours, for the roster administrator ``demo-admin``. A configured deployment keeps
    its identity provider, and gets no token (``None``)."""
    auth = settings.auth
    if auth.jwt_jwks or auth.jwt_hs256_secret is not None:
        return settings, None
    secret = secrets.token_urlsafe(32)
    now = int(time.time())
    claims: dict[str, object] = {"sub": DEMO_ADMIN, "iat": now, "exp": now + _TOKEN_HOURS * 3600}
    if auth.jwt_issuer:
        claims["iss"] = auth.jwt_issuer
    if auth.jwt_audience:
        claims["aud"] = auth.jwt_audience
    if settings.tenant != "default":
        claims[auth.jwt_tenant_claim] = settings.tenant
    configured = auth.model_copy(update={"jwt_hs256_secret": SecretStr(secret)})
    return settings.model_copy(update={"auth": configured}), jwt.encode(claims, secret, algorithm="HS256")


def live_course(seed: int, courses: int, learners: int) -> SimConfig:
    """A simulated term that started four weeks ago, so the demo opens on a history."""
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=28)
    return SimConfig(seed=seed, courses=courses, learners_per_course=learners, start=start, days=70)
