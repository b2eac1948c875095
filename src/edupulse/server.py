"""Running the API under uvicorn, with processing in a process of its own or in a thread.

By default (``processing="process"``) the server process serves the API and supervises a
processor process beside it, so processing and HTTP each get a core of their own; with
``workers`` above 1, uvicorn's API worker processes serve instead. Every child dies with
the server, so a killed server leaves no orphan holding a port or a lock. With
``processing="thread"`` and one worker, everything runs in one process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time

import uvicorn
from fastapi import FastAPI

from edupulse.access.tls import uvicorn_tls
from edupulse.api.app import create_app
from edupulse.config import Settings, settings_env
from edupulse.deployment import Deployment, ProcessLock
from edupulse.processor import die_with_parent, run_processor

__all__ = ["run_server", "worker_app"]

logger = logging.getLogger(__name__)
_PARENT_ENV = "EDUPULSE__PARENT_PID"
_RESTART_DELAY_S = 1.0


def run_server(settings: Settings) -> None:
    """Serve until interrupted; closes every store on the way out.

    Scale-out: the API only; ``edupulse worker`` processes do the processing.
    """
    if settings.deployment == "scaleout":
        os.environ.update(settings_env(settings))
        _serve_api(settings)
        return
    if settings.api_workers == 1 and settings.processing == "thread":
        with Deployment(settings) as deployment:
            uvicorn.Server(_config(create_app(deployment, process=True), settings)).run()
        return
    _run_processes(settings)


def _config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    certfile, keyfile = uvicorn_tls(settings)
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )


def worker_app() -> FastAPI:
    """The app of one API worker process (uvicorn calls this in each worker)."""
    die_with_parent(int(os.environ[_PARENT_ENV]))
    deployment = Deployment(Settings())  # the parent exported the settings to the environment
    return create_app(deployment, process=False)


def _run_processes(settings: Settings) -> None:
    os.environ.update(settings_env(settings))
    os.environ[_PARENT_ENV] = str(os.getpid())
    stop = threading.Event()
    supervisor = threading.Thread(target=_supervise, args=(settings, stop), name="processor-supervisor", daemon=True)
    supervisor.start()
    _await_processor(settings)
    try:
        _serve_api(settings)
    finally:
        stop.set()
        supervisor.join(timeout=35)


def _serve_api(settings: Settings) -> None:
    """API processes only: this one, or ``settings.api_workers`` uvicorn workers."""
    if settings.api_workers == 1:
        with Deployment(settings) as deployment:
            uvicorn.Server(_config(create_app(deployment, process=False), settings)).run()
        return
    os.environ[_PARENT_ENV] = str(os.getpid())
    certfile, keyfile = uvicorn_tls(settings)
    uvicorn.run(
        "edupulse.server:worker_app",
        factory=True,
        workers=settings.api_workers,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )


def _await_processor(settings: Settings, timeout_s: float = 30.0) -> None:
    """Open the API only once the processor holds the processing lock (or after the timeout)."""
    lock = ProcessLock(settings.data_dir)
    deadline = time.monotonic() + timeout_s
    while not lock.held_elsewhere() and time.monotonic() < deadline:
        time.sleep(0.05)


def _supervise(settings: Settings, stop: threading.Event) -> None:
    """Keep one processor process running; restart it if it dies, stop it on ``stop``."""
    ctx = multiprocessing.get_context("spawn")
    while not stop.is_set():
        proc = ctx.Process(target=_processor_main, args=(settings, os.getpid()), name="edupulse-processor")
        proc.start()
        while proc.is_alive() and not stop.wait(0.5):
            pass
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=30)
            return
        logger.error("the processor exited with code %s; restarting it", proc.exitcode)
        stop.wait(_RESTART_DELAY_S)


def _processor_main(settings: Settings, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    # When the machine is saturated, answering ingest requests (what clients wait on)
    # goes first; processing takes the rest and catches up in larger batches.
    os.nice(settings.runtime.processor_niceness)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_processor(settings)
