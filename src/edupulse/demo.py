"""``edupulse demo``: the embedded pipeline, its API, and a live simulated course."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import uvicorn

from edupulse.api.app import create_app
from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.ml.demo_risk import ensure_demo_models
from edupulse.privacy.credentials import NewKey
from edupulse.sim import CourseSimulator, SimConfig
from edupulse.sim.sender import send

__all__ = ["run_demo"]

logger = logging.getLogger(__name__)


def run_demo(
    settings: Settings,
    sim: SimConfig,
    *,
    rate_per_s: float,
    duration_s: float | None = None,
    announce: Callable[[str, NewKey], None],
) -> None:
    """Serve the API and feed it a simulated course until interrupted (or ``duration_s``).

    Without stored at-risk models, first fits small ones on a simulated past term
    (``ml.demo_risk``), so that the demo scores learners live.
    """
    trained = ensure_demo_models(settings.data_dir, sim)
    if trained is not None:
        logger.info("trained at-risk models %s on a simulated past term", trained)
    with Deployment(settings) as deployment:
        key = deployment.credentials.create("demo", tenant=settings.tenant)
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
            announce(url, key)
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


def live_course(seed: int, courses: int, learners: int) -> SimConfig:
    """A simulated term that started four weeks ago, so the demo opens on a history."""
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=28)
    return SimConfig(seed=seed, courses=courses, learners_per_course=learners, start=start, days=70)
