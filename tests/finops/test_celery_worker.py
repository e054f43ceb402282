"""A real Celery worker process takes a task from the configured broker and writes to the test database.

Run against PostgreSQL + Redis (CI's first pass) and against SQLite + the filesystem transport (the
embedded defaults of `make run`), whichever the environment selects.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from costing.models import WorkerHeartbeat
from costing.tasks import worker_heartbeat

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def real_worker():
    """A `celery worker` process on a queue of its own (so parallel test runs never take its tasks)."""
    queue = f"test-{uuid.uuid4().hex[:10]}"
    env = dict(os.environ, DATABASE_URL=_database_url(), CELERY_BROKER_URL=settings.CELERY_BROKER_URL)
    env["FINOPS_VAR_DIR"] = str(settings.VAR_DIR)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "finops",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        yield queue
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_consumes_the_broker_and_writes_to_the_database(real_worker):
    assert not WorkerHeartbeat.objects.exists()
    worker_heartbeat.apply_async(queue=real_worker)
    worker_heartbeat.apply_async(queue=real_worker)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        beat = WorkerHeartbeat.objects.filter(hostname=socket.gethostname()).first()
        if beat and beat.beats == 2:
            break
        time.sleep(0.2)
    beat = WorkerHeartbeat.objects.get(hostname=socket.gethostname())
    assert beat.beats == 2
