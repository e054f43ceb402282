"""Tasks that keep the machinery observable."""

from __future__ import annotations

import socket

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from costing.models import WorkerHeartbeat


@shared_task(name="costing.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> None:
    """Record that a worker on this host is alive and consuming the queue."""
    host = socket.gethostname()
    now = timezone.now()
    updated = WorkerHeartbeat.objects.filter(hostname=host).update(seen_at=now, beats=F("beats") + 1)
    if not updated:
        WorkerHeartbeat.objects.get_or_create(hostname=host, defaults={"seen_at": now, "beats": 1})
