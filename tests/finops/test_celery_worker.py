"""A real Celery worker process takes a task from the configured broker and writes to the test database.

Run against PostgreSQL + Redis (CI's first pass) and against SQLite + the filesystem transport (the
embedded defaults of `make run`), whichever the environment selects.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Q

from costing.models import WorkerHeartbeat
from costing.tasks import worker_heartbeat
from tests.workers import pool_processes, running_worker, running_worker_on_queues


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


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_fan_out_over_two_worker_processes_gives_the_serial_figures():
    from costing.compute import recompute_period
    from costing.fanout import fan_out_period
    from costing.models import ClusterDay, DepartmentCostDay, PodCostDay, PoolShareDay
    from tests.costing.test_fanout import DAY, NEXT, build_clusters, figures

    build_clusters()
    recompute_period(DAY, NEXT + timedelta(days=1))
    serial = figures()
    # Start from nothing computed: what is compared below is what the workers wrote.
    ClusterDay.objects.update(physical_cost=0, workload_cost=0, idle_cost=0, overhead_cost=0)
    for model in (DepartmentCostDay, PodCostDay, PoolShareDay):
        model.objects.all().delete()
    with running_worker_on_queues(1, processes=2) as (queue,):
        assert fan_out_period(DAY, NEXT + timedelta(days=1), queue=queue) == 6
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            waiting = ClusterDay.objects.filter(Q(queued_at__isnull=False) | Q(apportion_pending=True))
            if not waiting.exists():
                break
            time.sleep(0.5)
    assert figures() == serial


def _wait_for_fan_out(deadline_seconds: float = 240) -> None:
    from costing.models import ClusterDay

    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if not ClusterDay.objects.filter(Q(queued_at__isnull=False) | Q(apportion_pending=True)).exists():
            return
        time.sleep(0.5)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_fan_out_survives_its_worker_processes_killed_in_the_middle():
    if connection.vendor != "postgresql":
        pytest.skip(
            "PostgreSQL + Redis only, what a fan-out runs on: not checked on the filesystem transport"
        )
    from costing.compute import recompute_period
    from costing.fanout import fan_out_period
    from costing.models import ClusterDay, DepartmentCostDay, PodCostDay, PoolShareDay
    from tests.costing.test_fanout import DAY, NEXT, build_clusters, figures

    build_clusters()
    recompute_period(DAY, NEXT + timedelta(days=1))
    serial = figures()
    ClusterDay.objects.update(physical_cost=0, workload_cost=0, idle_cost=0, overhead_cost=0)
    for model in (DepartmentCostDay, PodCostDay, PoolShareDay):
        model.objects.all().delete()
    with running_worker_on_queues(1, processes=2) as (queue,):
        fan_out_period(DAY, NEXT + timedelta(days=1), queue=queue)
        # Once one cluster-day is stored, both pool processes are killed (SIGKILL, no clean-up): the tasks
        # they were running go back to the queue (acks_late, reject_on_worker_lost) and new processes
        # take them.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and ClusterDay.objects.filter(queued_at__isnull=False).count() == 6:
            time.sleep(0.05)
        killed = pool_processes(queue)
        assert len(killed) == 2
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        _wait_for_fan_out()
        assert not set(pool_processes(queue)) & set(killed)
    assert figures() == serial
