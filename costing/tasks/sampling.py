"""Sampling: one sample of a cluster per slot, the beat schedule that drives it, and the pruning of old hours."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import yaml
from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from costing.choices import ConnectionType, SampleSource
from costing.collectors.kubernetes import (
    KubeconfigError,
    KubernetesCollector,
    api_client_from_kubeconfig,
    in_cluster_api_client,
)
from costing.collectors.simulator import DemoCluster
from costing.collectors.snapshot import Snapshot, SnapshotError
from costing.models import Cluster, SampleSlot
from costing.recording import floor_slot, prune_usage, record_gap, record_snapshot

logger = logging.getLogger(__name__)

SAMPLE_TASK = "costing.sample_cluster"
PRUNE_TASK = "costing.prune_usage"
MAX_RETRIES = 3
# Keys of a kubeconfig whose values are secrets: never in a gap reason or a log line.
_SECRET_KEYS = frozenset(
    {"token", "password", "client-key-data", "client-certificate-data", "certificate-authority-data"}
)
_REDACTED = "[redacted]"


@shared_task(name=SAMPLE_TASK, bind=True, ignore_result=True, acks_late=True, max_retries=MAX_RETRIES)
def sample_cluster(self, cluster_id: int, slot_iso: str | None = None) -> str:
    """Sample the cluster for one slot: the scheduled time (or now) floored to the cluster's interval.

    Safe to run twice, late or concurrently for the same slot: the slot is recorded once. Retried
    (with the same slot) only on transient database errors; an unreachable cluster is a gap, not an error.
    """
    slot = _slot_of(cluster_id, slot_iso)
    if slot is None:
        return "skipped"
    try:
        return take_sample(cluster_id, slot)
    except (OperationalError, InterfaceError) as error:
        # Deadlock, serialization failure, a locked SQLite file, a dropped connection: the transaction
        # rolled back, so trying the same slot again is safe.
        raise self.retry(
            args=(cluster_id, slot.isoformat()), countdown=2**self.request.retries, exc=error
        ) from None


@shared_task(name=PRUNE_TASK, ignore_result=True, acks_late=True)
def prune_usage_task() -> dict[str, int]:
    """Drop slot and hourly rows older than FINOPS_HOURLY_RETENTION_DAYS (days awaiting recompute stay)."""
    deleted = prune_usage()
    logger.info("pruned usage rows: %s", deleted)
    return deleted


def _slot_of(cluster_id: int, slot_iso: str | None) -> datetime | None:
    interval = (
        Cluster.objects.filter(pk=cluster_id, enabled=True)
        .values_list("sampling_interval", flat=True)
        .first()
    )
    if interval is None:
        logger.info("cluster %s is gone or disabled: not sampled", cluster_id)
        return None
    when = datetime.fromisoformat(slot_iso) if slot_iso else timezone.now()
    if when.tzinfo is None:
        raise ValueError(f"slot {slot_iso!r} has no time zone")
    return floor_slot(when, interval)


def take_sample(cluster_id: int, slot: datetime) -> str:
    """Snapshot the cluster and record it as `slot`: 'recorded', 'duplicate', 'gap' or 'skipped'."""
    cluster = Cluster.objects.filter(pk=cluster_id).first()
    if cluster is None or not cluster.enabled:
        return "skipped"
    interval = cluster.sampling_interval
    if SampleSlot.objects.filter(cluster=cluster, slot=slot).exists():
        # Only saves a needless snapshot; the unique slot row is what guarantees counting once.
        return "duplicate"
    simulated = cluster.connection_type == ConnectionType.SIMULATOR
    source = SampleSource.SIMULATOR if simulated else SampleSource.COLLECTOR
    try:
        snapshot = _snapshot(cluster, slot)
    except SnapshotError as error:
        reason = redact(error.reason, cluster.kubeconfig)
        recorded = record_gap(cluster, slot, interval=interval, source=source, reason=reason)
        logger.warning("cluster %s slot %s: gap (%s)", cluster.name, slot.isoformat(), reason)
        return "gap" if recorded else "duplicate"
    result = record_snapshot(cluster, snapshot, slot=slot, interval=interval, source=source)
    if not result.slots:
        return "duplicate"
    logger.info("cluster %s slot %s: %d pods recorded", cluster.name, slot.isoformat(), result.pod_samples)
    return "recorded"


def _snapshot(cluster: Cluster, slot: datetime) -> Snapshot:
    """One look at the cluster; every failure becomes a SnapshotError with a reason fit for the UI."""
    if cluster.connection_type == ConnectionType.SIMULATOR:
        return DemoCluster(cluster.name, cluster.simulator_seed).snapshot(slot)
    try:
        if cluster.connection_type == ConnectionType.IN_CLUSTER:
            client = in_cluster_api_client()
        else:
            client = api_client_from_kubeconfig(cluster.kubeconfig, cluster.kubeconfig_context or None)
    except KubeconfigError as error:
        raise SnapshotError(f"cannot connect: {error}") from None
    try:
        collector = KubernetesCollector(client, node_pool_label=cluster.node_pool_label or None)
        return collector.snapshot(timezone.now())
    except SnapshotError:
        raise
    except Exception as error:
        # A bug or an error the collector does not know; the slot is still a gap, and the message is
        # only logged after redaction (a library's message could quote its configuration).
        reason = f"collector failed ({type(error).__name__})"
        logger.error("cluster %s: %s: %s", cluster.name, reason, redact(str(error), cluster.kubeconfig))
        raise SnapshotError(reason) from None
    finally:
        client.close()


def redact(text: str, kubeconfig: str) -> str:
    """`text` with every secret value of the kubeconfig (tokens, keys, passwords) replaced."""
    for secret in _secrets_of(kubeconfig):
        text = text.replace(secret, _REDACTED)
    return text


def _secrets_of(kubeconfig: str) -> list[str]:
    if not kubeconfig:
        return []
    try:
        document = yaml.safe_load(kubeconfig)
    except yaml.YAMLError:
        return []
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _SECRET_KEYS and isinstance(value, str) and len(value) >= 4:
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)
    return sorted(found, key=len, reverse=True)


# --- the beat schedule ----------------------------------------------------------------------------------


def schedule_name(cluster_id: int) -> str:
    return f"Sample cluster {cluster_id}"


def sync_sampling_schedule(cluster: Cluster) -> PeriodicTask:
    """Create or update the cluster's PeriodicTask: every `sampling_interval` seconds, enabled with it.

    A run that waits longer than one interval in the queue expires: the next run takes the next slot,
    and the missed slot shows as missing coverage instead of being sampled at the wrong time.
    """
    every = cluster.sampling_interval
    schedule = (
        IntervalSchedule.objects.filter(every=every, period=IntervalSchedule.SECONDS).order_by("pk").first()
    )
    if schedule is None:
        schedule = IntervalSchedule.objects.create(every=every, period=IntervalSchedule.SECONDS)
    task, _ = PeriodicTask.objects.update_or_create(
        name=schedule_name(cluster.pk),
        defaults={
            "task": SAMPLE_TASK,
            "interval": schedule,
            "crontab": None,
            "args": json.dumps([cluster.pk]),
            "kwargs": "{}",
            "enabled": cluster.enabled,
            "expire_seconds": every,
            "description": f"Samples cluster {cluster.name} every {every} s.",
        },
    )
    return task


def remove_sampling_schedule(cluster_id: int) -> int:
    """Delete the cluster's PeriodicTask (the cluster is gone). Returns how many were deleted."""
    deleted = 0
    for task in PeriodicTask.objects.filter(name=schedule_name(cluster_id)):
        task.delete()  # one by one: django-celery-beat tells beat about each deletion
        deleted += 1
    return deleted
