"""Shared helpers for the benchmarks: the data set, servers on free ports, process figures.

Every server binds to 127.0.0.1 only, on a free port, with a fresh data directory, and
every wait here has a deadline.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

from edupulse.memory import peak_rss_mib

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
STATEMENTS = SHARED_DATA / "lrs_statements" / "video_statements.ndjson.gz"
CACHE = Path.home() / ".cache" / "edupulse-bench"
HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
T = TypeVar("T")


# -- output ---------------------------------------------------------------------------


def emit(result: dict[str, Any]) -> None:
    """Print one JSON object of results on stdout."""
    print(json.dumps(result, indent=2))


def skip(benchmark: str, reason: str) -> None:
    """Say clearly why a benchmark did not run, and stop without failing."""
    print(f"{benchmark}: skipped: {reason}", file=sys.stderr)
    emit({"benchmark": benchmark, "skipped": reason})
    raise SystemExit(0)


def machine() -> dict[str, Any]:
    """What the figures were measured on, and which code."""
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "commit": _commit(),
    }


def _commit() -> str:
    """The checked-out commit, marked ``+dirty`` if src/ differs from it (read-only git calls)."""
    git = ["git", "--no-optional-locks", "-C", str(REPO)]
    try:
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], check=False, capture_output=True, timeout=9)
        dirty = subprocess.run([*git, "diff", "--quiet", "HEAD", "--", "src"], check=False, timeout=9)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.decode().strip() + ("+dirty" if dirty.returncode else "")


def percentiles(values: Sequence[float], points: Sequence[int] = (50, 95, 99)) -> dict[str, float]:
    """Percentiles (nearest rank) of a sample, plus its max and mean, rounded to 0.01."""
    if not values:
        return {}
    ordered = sorted(values)
    out = {f"p{p}": ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] for p in points}
    out["max"] = ordered[-1]
    out["mean"] = statistics.fmean(ordered)
    return {k: round(v, 2) for k, v in out.items()}


# -- data -----------------------------------------------------------------------------


def load_statements(benchmark: str, path: Path = STATEMENTS) -> list[bytes]:
    """The statements of an NDJSON(.gz) file, one JSON object each; skip if it is absent."""
    if not path.exists():
        skip(benchmark, f"data set not found at {path} (see shared/data/README.md)")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        return [line.strip() for line in handle if line.strip()]


def json_array(items: Sequence[bytes]) -> bytes:
    """A JSON array body from already-encoded items."""
    return b"[" + b",".join(items) + b"]"


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# -- processes ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def descendants(pid: int) -> list[int]:
    """The pids of a process's children, their children and so on (those alive now)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def busy_core_seconds() -> float:
    """CPU time all processes on the machine have used so far (every core, user and system)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / CLOCK_TICKS


def wait_for_quiet(max_busy: float = 0.25) -> float:
    """Wait until the machine is mostly idle; returns the busy fraction (0..1) seen last.

    Other work may share this machine, and a figure taken while it runs is not this code's.
    The wait is bounded: ``EDUPULSE_BENCH_QUIET_WAIT_S`` seconds (default 120, 0 for none).
    """
    deadline = time.monotonic() + float(os.environ.get("EDUPULSE_BENCH_QUIET_WAIT_S", "120"))
    cores = os.cpu_count() or 1
    while True:
        before, started = busy_core_seconds(), time.monotonic()
        time.sleep(1.0)
        busy = (busy_core_seconds() - before) / ((time.monotonic() - started) * cores)
        if busy <= max_busy or time.monotonic() >= deadline:
            return round(busy, 2)


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout_s: float = START_TIMEOUT_S) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log if it dies or times out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready at {url} after {timeout_s}s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Interrupt a server like Ctrl-C would; escalate if it does not stop in time."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextmanager
def scratch_dir(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A fresh directory, removed afterwards unless ``keep``."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if keep:
            print(f"kept {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


class Server:
    """A running server subprocess: where it listens and how to call it."""

    def __init__(self, proc: subprocess.Popen[bytes], base_url: str, auth: tuple[str, str], data_dir: Path) -> None:
        self.proc = proc
        self.base_url = base_url
        self.auth = auth
        self.data_dir = data_dir

    @property
    def pid(self) -> int:
        return self.proc.pid

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, auth=self.auth, **kwargs)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def tree_cpu_seconds(self) -> dict[int | str, float]:
        """CPU time used so far by each process of the server (by pid), by all the API
        processes (``"api"``: this one and its workers) and by the processor process
        (``"processor"``: the one child at a lower priority, niceness above 0)."""
        used: dict[int | str, float] = {self.pid: cpu_seconds(self.pid)}
        api, processor = used[self.pid], 0.0
        for pid in descendants(self.pid):
            try:
                used[pid], nice = cpu_seconds(pid), niceness(pid)
            except (OSError, IndexError):
                continue  # it exited meanwhile
            if nice > 0:
                processor += used[pid]
            else:
                api += used[pid]
        return {**used, "api": api, "processor": processor}

    def peak_rss_mib(self) -> float:
        return round(peak_rss_mib(self.pid), 1)


# -- edupulse -------------------------------------------------------------------------


def edupulse_command() -> list[str]:
    """The ``edupulse`` console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "edupulse"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from edupulse.cli import main; main()"]


def create_key(data_dir: Path) -> tuple[str, str]:
    cmd = [*edupulse_command(), "keys", "create", "--data-dir", str(data_dir), "--name", "bench", "--json"]
    out = subprocess.run(cmd, check=False, capture_output=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr.decode()[-2000:]}")
    created = json.loads(out.stdout)
    return created["key"], created["secret"]


@contextmanager
def edupulse_server(keep: bool = False, env: dict[str, str] | None = None) -> Iterator[Server]:
    """``edupulse serve`` on a free port with a fresh data dir and its own credentials."""
    with scratch_dir("edupulse-bench-", keep) as root:
        data_dir = root / "data"
        auth = create_key(data_dir)
        port = free_port()
        log = root / "server.log"
        cmd = [*edupulse_command(), "serve", "--data-dir", str(data_dir), "--host", HOST, "--port", str(port)]
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        try:
            wait_ready(proc, f"http://{HOST}:{port}/healthz", log)
            yield Server(proc, f"http://{HOST}:{port}", auth, data_dir)
        finally:
            stop(proc)


def wait_processed(server: Server, expected: int, timeout_s: float = 120.0) -> dict[str, Any]:
    """Poll ``/api/v1/status`` until ``expected`` events are in the log and processed."""
    deadline = time.monotonic() + timeout_s
    status: dict[str, Any] = {}
    with server.client(timeout=10) as client:
        while time.monotonic() < deadline:
            status = client.get("/api/v1/status").json()
            if status["events"] >= expected and status["lag"] == 0:
                return status
            time.sleep(0.02)
    raise RuntimeError(f"not processed within {timeout_s}s: {status}")
