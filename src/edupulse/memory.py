"""Peak memory of a process, as the operating system counts it."""

from __future__ import annotations

import resource
from pathlib import Path

__all__ = ["peak_rss_mib"]


def peak_rss_mib(pid: int | None = None) -> float:
    """Peak resident memory in MiB of process ``pid`` (default: this process).

    Linux's ``VmHWM`` starts afresh at ``exec``; ``ru_maxrss`` can carry a parent's
    peak across it, so it is only the fallback, for this process on other systems.
    """
    try:
        for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if pid is None else 0.0
