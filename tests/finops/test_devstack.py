"""`make run`'s supervisor: serves the login page, prints the password, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,pgid="], capture_output=True, text=True).stdout
    rows = [tuple(map(int, line.split())) for line in out.splitlines() if line.strip()]
    found, frontier = set(), {pid}
    while frontier:
        children = {p for p, pp, _ in rows if pp in frontier} - found
        found |= children
        frontier = children
    return found


@pytest.mark.worker
@pytest.mark.own_services
def test_run_serves_login_then_ctrl_c_stops_everything(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(FINOPS_VAR_DIR=str(tmp_path), PORT=str(port), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "finops.devstack", "--no-demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            output.append(line)
            if "Log in as admin with password" in line or proc.poll() is not None:
                break
        text = "".join(output)
        match = re.search(r"Log in as admin with password (\S+)", text)
        assert match, text
        password = match.group(1)
        assert len(password) >= 12
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=10) as response:
            assert response.status == 200
            assert b"Log in" in response.read()
        children = _descendants(proc.pid)
        assert len(children) >= 3  # gunicorn, worker, beat (and their forks)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        assert proc.returncode == 0
        time.sleep(0.5)
        alive = [pid for pid in children if os.path.exists(f"/proc/{pid}")]
        zombies_or_alive = [
            pid for pid in alive if "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
        ]
        assert zombies_or_alive == []
    finally:
        # A failure above (a slow start on a loaded machine) must not leave gunicorn, the worker and beat
        # running after the test: they are the supervisor's children, which a kill of it alone orphans.
        if proc.poll() is None:
            leftovers = _descendants(proc.pid)
            proc.kill()
            proc.wait()
            for pid in leftovers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        proc.stdout.close()
