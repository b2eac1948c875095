"""The ASGI application: routers, error handlers, and the embedded runtime's lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from edupulse import __version__
from edupulse.api import (
    alerts,
    caliper,
    lake,
    lineage,
    live,
    models,
    people,
    privacy,
    risk,
    serving,
    tutor,
    xapi,
    xapi_documents,
    xapi_resources,
)
from edupulse.api.errors import install_error_handlers
from edupulse.api.xapi_version import XapiVersion
from edupulse.deployment import Deployment

__all__ = ["create_app"]


def create_app(deployment: Deployment, *, process: bool = True) -> FastAPI:
    """The API over a deployment; with ``process`` it also runs the stream runtime."""
    notifier = live.ChangeNotifier()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        notifier.bind(asyncio.get_running_loop())
        watcher = notifier.watch(deployment.committed)
        if process and deployment.processing is None:
            deployment.start_processing()
        yield
        if getattr(app.state, "tutor", None) is not None:
            app.state.tutor.close()
        notifier.stop()
        deployment.stop_processing()
        watcher.join(timeout=5)

    app = FastAPI(
        title="edupulse",
        version=__version__,
        summary="Real-time learning analytics: xAPI in, engagement out.",
        lifespan=lifespan,
    )
    app.state.deployment = deployment
    app.state.notifier = notifier
    install_error_handlers(app)
    app.include_router(xapi.router)
    app.include_router(caliper.router)
    app.include_router(xapi_documents.router)
    app.include_router(xapi_resources.router)
    app.add_middleware(XapiVersion, default_version=deployment.settings.lrs.default_version)
    app.include_router(serving.router)
    app.include_router(live.router)
    app.include_router(lake.router)
    app.include_router(alerts.router)
    app.include_router(privacy.router)
    app.include_router(tutor.router)
    app.include_router(people.router)
    app.include_router(lineage.router)
    app.include_router(risk.router)
    app.include_router(models.router)

    @app.get("/healthz", tags=["ops"], summary="Liveness and the runtime's state")
    def healthz(request: Request) -> JSONResponse:
        dep = request.app.state.deployment
        failed = process and not dep.processing_alive
        body = {"status": "failing" if failed else "ok", "version": __version__, "processing": dep.processing_alive}
        return JSONResponse(body, status_code=503 if failed else 200)

    return app
