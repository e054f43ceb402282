"""Beat and a real worker sample through database outages, on a private PostgreSQL server.

The test stops and starts a server of its own (never the shared one), with short durations: a beat tick
of 1 s, a full read of the schedule every second (django-celery-beat's default is 5 minutes; a failure
of that read is what made stock beat exit), a 2-second sampling interval and a 4-second outage.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from costing.collectors.sampling import MISSED_REASON
from finops.devstack import WORKER_QUEUES
from tests.postgres import postgres_binaries_missing, private_postgres
from tests.workers import terminate

ROOT = Path(__file__).resolve().parents[2]
INTERVAL = 2
OUTAGE_SECONDS = 4
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SETUP = f"""
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from costing.models import Cluster
Cluster.objects.create(name="demo", connection_type="simulator", sampling_interval={INTERVAL})
every = IntervalSchedule.objects.get(every={INTERVAL}, period="seconds")
PeriodicTask.objects.exclude(task__in=["costing.sample_cluster", "costing.sweep_missed_slots"]).update(enabled=False)
PeriodicTask.objects.filter(task="costing.sweep_missed_slots").update(interval=every)
"""


def _unavailable() -> str | None:
    missing = postgres_binaries_missing()
    if missing:
        return missing
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a postgres user: PostgreSQL refuses to run as root"
        if not shutil.which("runuser"):
            return "running as root without runuser: PostgreSQL cannot be started as the postgres user"
    return None


@contextmanager
def _process(command: list[str], env: dict[str, str], log: Path):
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            terminate(proc)


def _slots(url: str) -> dict[datetime, tuple[str, str]]:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        rows = conn.execute("SELECT slot, status, reason FROM costing_sampleslot").fetchall()
    return {slot.astimezone(UTC): (status, reason) for slot, status, reason in rows}


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.3)
    pytest.fail(f"waited {timeout:g} s for {what}")


@pytest.mark.worker
@pytest.mark.own_services
@pytest.mark.skipif(_unavailable() is not None, reason=_unavailable() or "")
def test_beat_and_worker_sample_again_after_the_database_comes_back(tmp_path):
    """Started while the database is down, and through an outage while running; no restart by hand."""
    with ExitStack() as stack:
        pg = stack.enter_context(private_postgres())
        pg.create_database("finops_outage")
        url = pg.url("finops_outage")
        env = dict(
            os.environ,
            DATABASE_URL=url,
            CELERY_BROKER_URL="filesystem://",
            FINOPS_VAR_DIR=str(tmp_path / "var"),
            FINOPS_BEAT_FULL_SYNC_SECONDS="1",
            FINOPS_GAP_SWEEP_GRACE_SECONDS="0",
        )
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=120)
        subprocess.run([*manage, "shell", "-c", SETUP], cwd=ROOT, env=env, check=True, timeout=60)
        # Beat and the worker start while the database is down: beat must not exit at its first read.
        pg.stop()
        celery = [sys.executable, "-m", "celery", "-A", "finops"]
        stack.enter_context(
            _process(
                [
                    *celery,
                    "worker",
                    "-Q",
                    ",".join(WORKER_QUEUES),  # as `make run` starts it: beat's samples go to "sampling"
                    "--pool",
                    "solo",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                env,
                tmp_path / "worker.log",
            )
        )
        beat_log = tmp_path / "beat.log"
        beat = stack.enter_context(
            _process(
                [*celery, "beat", "--max-interval", "1", "--pidfile=", "--loglevel", "INFO"], env, beat_log
            )
        )

        _wait_for(
            lambda: "the database is unavailable" in beat_log.read_text(),
            60,
            "beat to find the database down",
        )
        time.sleep(2)  # a few ticks without a database
        assert beat.poll() is None, beat_log.read_text()
        pg.start()

        def sampled(after: datetime = EPOCH):
            return [s for s, (status, _) in _slots(url).items() if status == "ok" and s > after]

        first = min(_wait_for(lambda: len(sampled()) >= 2 and sampled(), 60, "two samples before the outage"))

        pg.stop()
        time.sleep(OUTAGE_SECONDS)
        assert beat.poll() is None, beat_log.read_text()
        pg.start()
        back = datetime.now(UTC)

        # Sampling resumes by itself: beat was not restarted.
        _wait_for(lambda: sampled(after=back), 30, "a sample after the database came back")
        assert beat.poll() is None, beat_log.read_text()

        # The sweep (run by the same beat) turns every slot lost in the outage into a gap with the reason.
        expected = [
            first + timedelta(seconds=INTERVAL * i)
            for i in range(int((back - first).total_seconds()) // INTERVAL)
        ]

        def accounted():
            slots = _slots(url)
            return all(s in slots for s in expected) and slots

        slots = _wait_for(accounted, 30, "every slot up to the restart sampled or swept")
        gaps = [s for s in expected if slots[s][0] == "gap"]
        assert len(gaps) >= OUTAGE_SECONDS // INTERVAL - 1
        assert {slots[s][1] for s in gaps} <= {MISSED_REASON} | {
            "not sampled: database error (OperationalError)"
        }
        # Each outage (at start, then while running) is logged once, not at every tick.
        assert beat_log.read_text().count("the database is unavailable") == 2
