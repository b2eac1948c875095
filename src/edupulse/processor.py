"""A process that only processes: the stream runtime over every partition, until told to stop."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import threading
from types import FrameType

from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.errors import TransientError

__all__ = ["die_with_parent", "run_processor"]

logger = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to send SIGTERM when the parent dies (even by SIGKILL), so no orphan
    keeps a port or the processing lock."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        logger.warning("cannot tie this process to its parent's life on this platform")
    if os.getppid() != parent_pid:  # the parent died before we asked
        os.kill(os.getpid(), signal.SIGTERM)


def run_processor(settings: Settings, stop: threading.Event | None = None) -> None:
    """Process the log live until SIGTERM, SIGINT or ``stop``; raise if the runtime fails."""
    stop = stop or threading.Event()
    signalled: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # No locks here: Event.set takes one, and a second signal arriving while the first
        # handler holds it (SIGTERM from the dying parent, then from the supervisor)
        # deadlocked the process, which then kept the processing lock forever.
        signalled.append(signum)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    with Deployment(settings) as deployment:
        deployment.start_processing()
        logger.info("processing %s", settings.data_dir)
        while not signalled and not stop.wait(0.5):
            if not deployment.processing_alive:
                raise TransientError("the stream runtime stopped; see the log above for why")
