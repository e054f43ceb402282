"""A real Celery worker process takes a task from the configured broker and writes to the test database.

Run against PostgreSQL + Redis (CI's first pass) and against SQLite + the filesystem transport (the
embedded defaults of `make run`), whichever the environment selects.
"""

from __future__ import annotations

import socket
import time

import pytest
from django.conf import settings

from costing.models import WorkerHeartbeat
from costing.tasks import worker_heartbeat
from tests.workers import running_worker, running_worker_on_queues


@pytest.fixture
def real_worker():
    with running_worker() as queue:
        yield queue


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


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_one_worker_consumes_each_of_its_queues():
    # One fresh queue standing in for each of settings.FINOPS_QUEUES (the real names are shared with
    # every other test run on this broker): a task on any of them is taken.
    with running_worker_on_queues(len(settings.FINOPS_QUEUES)) as queues:
        for queue in queues:
            worker_heartbeat.apply_async(queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            beat = WorkerHeartbeat.objects.filter(hostname=socket.gethostname()).first()
            if beat and beat.beats == len(queues):
                break
            time.sleep(0.2)
    assert WorkerHeartbeat.objects.get(hostname=socket.gethostname()).beats == 4
