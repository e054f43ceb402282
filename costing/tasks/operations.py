"""Tasks that keep the machinery observable."""

from __future__ import annotations

import socket

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from costing.models import WorkerHeartbeat
from costing.partitions import ensure_partitions


@shared_task(name="costing.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> None:
    """Record that a worker on this host is alive and consuming the queue."""
    host = socket.gethostname()
    now = timezone.now()
    updated = WorkerHeartbeat.objects.filter(hostname=host).update(seen_at=now, beats=F("beats") + 1)
    if not updated:
        WorkerHeartbeat.objects.get_or_create(hostname=host, defaults={"seen_at": now, "beats": 1})


@shared_task(name="costing.ensure_partitions", ignore_result=True)
def ensure_partitions_task() -> list[str]:
    """Beat, daily: the monthly partitions of this month and the next two exist before anything is written
    to them, and rows that went to a default partition move to their month's (PostgreSQL only)."""
    return ensure_partitions()
