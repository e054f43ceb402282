"""`make run`: prepare the embedded-default install, then run web, worker and beat until Ctrl-C.

Each process gets its own process group, so that stopping it also stops what it started (gunicorn and
Celery fork workers); Ctrl-C or SIGTERM here stops all three, and nothing is left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
STOP_GRACE_SECONDS = 15
# Every queue of settings.FINOPS_QUEUES: one worker does all the work here; production splits them.
WORKER_QUEUES = ("sampling", "billing", "compute", "default")


def manage(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], check=True, cwd=ROOT, env=env)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((host, port)) != 0


def wait_until_healthy(url: str, procs: dict[str, subprocess.Popen], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs.values()):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own localhost URL)
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def stop_all(procs: dict[str, subprocess.Popen]) -> None:
    # The leader first: gunicorn's master and Celery's main process stop their own children cleanly
    # (a TERM to the whole group would make Celery log its pool workers as killed).
    for proc in procs.values():
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for proc in procs.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    for proc in procs.values():
        # The group, not just the leader: a worker child that outlived its parent goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--no-demo", action="store_true", help="do not create the demo cluster")
    args = parser.parse_args()

    if not port_is_free(args.host, args.port):
        print(
            f"Port {args.port} on {args.host} is in use. Stop what runs there or set PORT=...",
            file=sys.stderr,
        )
        return 2

    print("Preparing the database and static files ...", flush=True)
    manage("migrate", "--noinput", "-v", "0")
    manage("collectstatic", "--noinput", "-v", "0")
    password = secrets.token_urlsafe(12)
    env = dict(os.environ, DEMO_ADMIN_PASSWORD=password)
    setup = ["setup_demo"] + (["--no-cluster"] if args.no_demo else [])
    manage(*setup, env=env)

    commands = {
        "web": [
            str(BIN / "gunicorn"),
            "finops.wsgi",
            "--bind",
            f"{args.host}:{args.port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--access-logfile",
            "-",
        ],
        "worker": [
            str(BIN / "celery"),
            "-A",
            "finops",
            "worker",
            "-Q",
            ",".join(WORKER_QUEUES),
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "--without-gossip",
            "--without-mingle",
        ],
        "beat": [str(BIN / "celery"), "-A", "finops", "beat", "--loglevel", "INFO", "--pidfile="],
    }
    procs: dict[str, subprocess.Popen] = {}
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        for name, command in commands.items():
            procs[name] = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
        url = f"http://{args.host}:{args.port}/"
        if wait_until_healthy(url + "healthz", procs):
            print(
                "\n"
                f"  FinOps is running at {url}\n"
                f"  Log in as admin with password {password}\n"
                "  (a new password is made at every start; Ctrl-C stops web, worker and beat)\n",
                flush=True,
            )
        elif not stopping:
            print("The web server did not become healthy; stopping.", file=sys.stderr)
            return 1
        while not stopping:
            dead = [name for name, p in procs.items() if p.poll() is not None]
            if dead:
                print(f"{', '.join(dead)} stopped unexpectedly; stopping the rest.", file=sys.stderr)
                return 1
            time.sleep(0.5)
        print("\nStopping web, worker and beat ...", flush=True)
        return 0
    finally:
        stop_all(procs)


if __name__ == "__main__":
    sys.exit(main())
