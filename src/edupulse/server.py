"""Running the API under uvicorn, with the embedded runtime in the same process."""

from __future__ import annotations

import uvicorn

from edupulse.api.app import create_app
from edupulse.config import Settings
from edupulse.deployment import Deployment

__all__ = ["run_server"]


def run_server(settings: Settings, *, process: bool = True) -> None:
    """Serve until interrupted; closes every store on the way out."""
    with Deployment(settings) as deployment:
        app = create_app(deployment, process=process)
        config = uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level="warning", access_log=False, lifespan="on"
        )
        uvicorn.Server(config).run()
