"""A real `celery worker` process for tests: the configured broker, the test database, a queue of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def test_database_url() -> str:
    """DATABASE_URL of the database this test runs on, for a process started by the test."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


@contextmanager
def running_worker(**env: str):
    """Start a worker on a fresh queue (so parallel test runs never take its tasks); yield the queue name.

    `env` adds environment variables for the worker (e.g. EMAIL_URL); the database and broker are the
    test's own.
    """
    with running_worker_on_queues(1, **env) as queues:
        yield queues[0]


@contextmanager
def running_worker_on_queues(count: int, *, processes: int = 1, **env: str):
    """Start one worker consuming `count` fresh queues at once (as `make run`'s worker consumes every
    queue of settings.FINOPS_QUEUES); yield their names. `processes` > 1: a prefork pool of that many."""
    from finops.celery import app

    # An eager app would run the tasks in the test process and the worker would prove nothing.
    assert not app.conf.task_always_eager, "tasks are eager: nothing would reach the worker"
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    queues = [f"{prefix}-{i}" for i in range(count)] if count > 1 else [prefix]
    environment = dict(
        os.environ,
        DATABASE_URL=test_database_url(),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        FINOPS_VAR_DIR=str(settings.VAR_DIR),
        **env,
    )
    command = [sys.executable, "-m", "celery", "-A", "finops", "worker", "-Q", ",".join(queues)]
    pool = ["--pool", "prefork", "--concurrency", str(processes)] if processes > 1 else ["--pool", "solo"]
    command += [*pool, "--without-gossip", "--without-mingle", "--without-heartbeat"]
    command += ["--loglevel", "WARNING"]
    proc = subprocess.Popen(command, cwd=ROOT, env=environment, start_new_session=True)
    try:
        yield queues
    finally:
        terminate(proc)


def terminate(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a process the test started: TERM, then KILL if it does not exit within `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def pool_processes(queue: str) -> list[int]:
    """The pids of the pool processes (not the main process) of the worker started on `queue`: processes
    whose command line names the queue and whose parent's does too."""

    def command_of(pid: str) -> str:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return ""

    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and queue in command_of(entry.name):
            try:
                parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            except (OSError, IndexError):
                continue
            if queue in command_of(parent):
                found.append(int(entry.name))
    return found
