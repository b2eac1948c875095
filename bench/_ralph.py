"""Ralph (``ralph-malph``), an open-source Python LRS, as the ingest baseline.

Ralph lives in its own virtualenv outside the repository, created on first use under
``~/.cache/edupulse-bench/`` with every package pinned to the versions it was measured
with, and reused afterwards. It runs on its file-system backend under plain uvicorn
(the production way; ``ralph runserver`` is its development server, with auto-reload
and debug logging), with HTTP Basic credentials made by ``ralph auth``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _common import CACHE, HOST, Server, free_port, scratch_dir, stop, wait_ready

RALPH_VERSION = "5.1.0"
# ``pip freeze`` of the environment the figures in docs/benchmarks.md were measured with.
PINS = (
    "annotated-types==0.8.0 anyio==4.16.0 bcrypt==4.2.0 cachetools==5.5.0 certifi==2026.10.19.post1 "
    "charset-normalizer==3.5.2 click==8.2.0 click-option-group==0.5.9 dnspython==2.9.2 ecdsa==0.19.2 "
    "email-validator==2.4.0 fastapi==0.114.2 h11==0.16.0 httpcore==1.0.9 httptools==0.9.0 httpx==0.28.1 "
    "idna==3.20 importlib_metadata==8.5.0 langcodes==3.5.1 pyasn1==0.6.5 pydantic==2.14.4 "
    "pydantic-settings==2.16.3 pydantic_core==2.50.5 python-dotenv==1.2.4 python-jose==3.3.0 PyYAML==6.0.4 "
    f"ralph-malph[cli,lrs]=={RALPH_VERSION} requests==2.34.2 rfc3987==1.3.8 rsa==4.9.1 sentry-sdk==2.14.0 "
    "six==1.17.0 starlette==0.38.6 typing-inspection==0.4.5 typing_extensions==4.16.0 urllib3==2.8.0 "
    "uvicorn==0.30.6 uvloop==0.23.0 watchfiles==1.3.0 websockets==17.4 zipp==4.1.2"
).split()
VENV: Path = CACHE / f"ralph-{RALPH_VERSION}"
USER, PASSWORD = "bench", "bench-secret-not-used-elsewhere"


def ralph_python() -> Path:
    """The Python of Ralph's virtualenv, creating and installing it on first use."""
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if marker.exists() and marker.read_text() == " ".join(PINS):
        return python
    print(f"installing Ralph {RALPH_VERSION} into {VENV} (once)", file=sys.stderr)
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--no-deps", *PINS], check=True, timeout=600)
    subprocess.run([*pip, *PINS], check=True, timeout=600)  # proves the pins are complete
    marker.write_text(" ".join(PINS))
    return python


def _environment(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "RALPH_APP_DIR": str(root),
        "RALPH_AUTH_FILE": str(root / "auth.json"),
        "RALPH_RUNSERVER_BACKEND": "fs",
        "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(root / "data"),
    }


@contextmanager
def ralph_server(keep: bool = False) -> Iterator[Server]:
    """Ralph's LRS on the file backend, on a free port with a fresh directory."""
    python = ralph_python()
    with scratch_dir("ralph-bench-", keep) as root:
        (root / "data").mkdir()
        env = _environment(root)
        auth = [str(python), "-m", "ralph", "auth", "-u", USER, "-p", PASSWORD, "-s", "all"]
        auth += ["-M", "mailto:bench@example.org", "-w"]
        subprocess.run(auth, check=True, capture_output=True, env=env, cwd=root, timeout=120)
        port = free_port()
        log = root / "server.log"
        cmd = [str(python), "-m", "uvicorn", "ralph.api:app", "--host", HOST, "--port", str(port)]
        cmd += ["--log-level", "warning", "--no-access-log"]
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
        try:
            wait_ready(proc, f"http://{HOST}:{port}/__heartbeat__", log)
            yield Server(proc, f"http://{HOST}:{port}", (USER, PASSWORD), root / "data")
        finally:
            stop(proc)


def stored_lines(server: Server) -> int:
    """Statements in Ralph's LRS file."""
    path = server.data_dir / "fs_lrs.jsonl"
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        return sum(1 for _ in handle)
