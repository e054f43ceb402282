"""Sampling: one sample of a cluster per slot, the beat schedule that drives it, the sweep of missed slots.

The Celery tasks (costing/tasks/sampling.py) only call these functions; models' signal handlers
(costing/signals.py) keep the schedule in step with the clusters.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import numpy as np
import yaml
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from costing.choices import SECONDS_PER_HOUR, ConnectionType, SampleSource
from costing.collectors.kubernetes import (
    KubeconfigError,
    KubernetesCollector,
    api_client_from_kubeconfig,
    in_cluster_api_client,
)
from costing.collectors.prometheus_client import PrometheusError
from costing.collectors.prometheus_import import catch_up
from costing.collectors.snapshot import Snapshot, SnapshotError
from costing.demo.simulator import DemoCluster
from costing.models import Cluster, SampleSlot
from costing.policy.store import gpu_resources_for_day
from costing.recording import floor_slot, record_gap, record_gaps, record_snapshot

logger = logging.getLogger(__name__)

SAMPLE_TASK = "costing.sample_cluster"
# Keys of a kubeconfig whose values are secrets: never in a gap reason or a log line.
_SECRET_KEYS = frozenset(
    {"token", "password", "client-key-data", "client-certificate-data", "certificate-authority-data"}
)
_REDACTED = "[redacted]"


def slot_of(cluster_id: int, when: datetime) -> datetime | None:
    """The slot of an enabled cluster that contains `when` (floored to its interval); None if not sampled."""
    if when.tzinfo is None:
        raise ValueError(f"slot time {when.isoformat()!r} has no time zone")
    interval = (
        Cluster.objects.filter(pk=cluster_id, enabled=True)
        .values_list("sampling_interval", flat=True)
        .first()
    )
    if interval is None:
        logger.info("cluster %s is gone or disabled: not sampled", cluster_id)
        return None
    return floor_slot(when, interval)


def take_sample(cluster_id: int, slot: datetime) -> str:
    """Snapshot the cluster and record it as `slot`: 'recorded', 'duplicate', 'gap' or 'skipped'."""
    cluster = Cluster.objects.filter(pk=cluster_id).first()
    if cluster is None or not cluster.enabled:
        return "skipped"
    if cluster.connection_type == ConnectionType.PROMETHEUS:
        return _read_prometheus(cluster, slot)
    interval = cluster.sampling_interval
    if SampleSlot.objects.filter(cluster=cluster, slot=slot).exists():
        # Only saves a needless snapshot; the unique slot row is what guarantees counting once.
        return "duplicate"
    source = source_of(cluster)
    try:
        snapshot = _snapshot(cluster, slot)
    except SnapshotError as error:
        reason = redact(error.reason, cluster.kubeconfig)
        recorded = record_gap(cluster, slot, interval=interval, source=source, reason=reason, queue=False)
        logger.warning("cluster %s slot %s: gap (%s)", cluster.name, slot.isoformat(), reason)
        return "gap" if recorded else "duplicate"
    # The minute's sample adds to the running day, which the 5-minute sweep recomputes: no queue of its own.
    # Staged: appended to the minute tables, folded into its hours later (costing/folding.py).
    result = record_snapshot(
        cluster, snapshot, slot=slot, interval=interval, source=source, queue=False, staged=True
    )
    if not result.slots:
        return "duplicate"
    logger.info("cluster %s slot %s: %d pods recorded", cluster.name, slot.isoformat(), result.pod_samples)
    return "recorded"


def _read_prometheus(cluster: Cluster, slot: datetime) -> str:
    """A Prometheus cluster records the complete slots it has not recorded yet (docs/prometheus.md), taking the
    run's slot as the time: 'recorded', 'gap' (no data in Prometheus), 'duplicate' or 'unreachable'."""
    try:
        result = catch_up(cluster, slot, schedule_name=schedule_name(cluster.pk))
    except PrometheusError as error:
        # No gap: Prometheus keeps the data, and the next run reads these slots once it answers.
        logger.warning("cluster %s: Prometheus not read, caught up later (%s)", cluster.name, error)
        return "unreachable"
    if result.recorded.slots:
        return "recorded"
    return "gap" if result.gaps else "duplicate"


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
        now = timezone.now()
        collector = KubernetesCollector(
            client,
            node_pool_label=cluster.node_pool_label or None,
            gpu_resources=gpu_resources_for_day(now.astimezone(UTC).date()),
        )
        return collector.snapshot(now)
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

    A run that waits longer than one interval in the queue expires: the slot it was sent for is then
    given up, and the sweep (`sweep_missed_slots`) records it as a gap. The task's `start_time` is when
    sampling was last switched on: the slots the sweep expects begin there, so the time a cluster was
    paused is not reported as lost.
    """
    every = cluster.sampling_interval
    schedule = (
        IntervalSchedule.objects.filter(every=every, period=IntervalSchedule.SECONDS).order_by("pk").first()
    )
    if schedule is None:
        schedule = IntervalSchedule.objects.create(every=every, period=IntervalSchedule.SECONDS)
    name = schedule_name(cluster.pk)
    defaults = {
        "task": SAMPLE_TASK,
        "interval": schedule,
        "crontab": None,
        "args": json.dumps([cluster.pk]),
        "kwargs": "{}",
        "enabled": cluster.enabled,
        "expire_seconds": every,
        "description": f"Samples cluster {cluster.name} every {every} s.",
    }
    was_enabled = PeriodicTask.objects.filter(name=name, enabled=True).exists()
    if cluster.enabled and not was_enabled:
        defaults["start_time"] = timezone.now()
    task, _ = PeriodicTask.objects.update_or_create(name=name, defaults=defaults)
    return task


def remove_sampling_schedule(cluster_id: int) -> int:
    """Delete the cluster's PeriodicTask (the cluster is gone). Returns how many were deleted."""
    deleted = 0
    for task in PeriodicTask.objects.filter(name=schedule_name(cluster_id)):
        task.delete()  # one by one: django-celery-beat tells beat about each deletion
        deleted += 1
    return deleted


# --- the sweep of missed slots ----------------------------------------------------------------------------

MISSED_REASON = "not sampled: worker/broker down"


def source_of(cluster: Cluster) -> str:
    if cluster.connection_type == ConnectionType.PROMETHEUS:
        return SampleSource.PROMETHEUS
    simulated = cluster.connection_type == ConnectionType.SIMULATOR
    return SampleSource.SIMULATOR if simulated else SampleSource.COLLECTOR


def missed_slots(cluster: Cluster, start: datetime, now: datetime) -> list[datetime]:
    """Slots of the cluster's interval from the one holding `start` whose run can no longer come, and that
    no slot row covers (a sample or a gap, of any interval)."""
    interval = cluster.sampling_interval
    # A slot's run may start until its message expires (sent within the slot, it expires one interval
    # later), then snapshots and records: the grace keeps the sweep from taking the place of such a run.
    settled = now - timedelta(seconds=2 * interval + settings.FINOPS_GAP_SWEEP_GRACE_SECONDS)
    first = int(floor_slot(start, interval).timestamp())
    last = int(floor_slot(settled, interval).timestamp())
    if last < first:
        return []
    expected = np.arange(first, last + 1, interval, dtype=np.int64)
    rows = SampleSlot.objects.filter(
        cluster=cluster,
        slot__gte=datetime.fromtimestamp(first - SECONDS_PER_HOUR, tz=UTC),
        slot__lt=datetime.fromtimestamp(last + interval, tz=UTC),
    ).values_list("slot", "interval")
    starts = np.array([int(slot.timestamp()) for slot, _ in rows], dtype=np.int64)
    ends = starts + np.array([length for _, length in rows], dtype=np.int64)
    if len(starts):
        order = np.argsort(starts, kind="stable")
        starts, reach = starts[order], np.maximum.accumulate(ends[order])
        # The latest row starting before the expected slot ends covers it if any row up to it reaches in.
        before = np.searchsorted(starts, expected + interval, side="left") - 1
        covered = (before >= 0) & (reach[np.maximum(before, 0)] > expected)
        expected = expected[~covered]
    return [datetime.fromtimestamp(int(t), tz=UTC) for t in expected]


def sweep_missed_slots(now: datetime | None = None, *, lookback_days: int | None = None) -> dict[str, int]:
    """Record every missed slot of the enabled clusters as a gap with MISSED_REASON; gaps added per cluster.

    Expected slots start when sampling was last switched on (the schedule's start time; before there was
    one, when the cluster was made) and at most `lookback_days` (FINOPS_GAP_SWEEP_DAYS) ago. A Prometheus
    cluster is left out: its own runs read every missed slot back from Prometheus (or record its gap).
    """
    now = now or timezone.now()
    days = settings.FINOPS_GAP_SWEEP_DAYS if lookback_days is None else lookback_days
    horizon = now - timedelta(days=days)
    started = dict(
        PeriodicTask.objects.filter(task=SAMPLE_TASK, start_time__isnull=False).values_list(
            "name", "start_time"
        )
    )
    added: dict[str, int] = {}
    for cluster in (
        Cluster.objects.filter(enabled=True).exclude(connection_type=ConnectionType.PROMETHEUS).order_by("pk")
    ):
        start = max(started.get(schedule_name(cluster.pk), cluster.created_at), horizon)
        slots = missed_slots(cluster, start, now)
        if not slots:
            continue
        count = record_gaps(
            cluster,
            slots,
            interval=cluster.sampling_interval,
            source=source_of(cluster),
            reason=MISSED_REASON,
            queue=False,
        )
        if count:
            added[cluster.name] = count
            logger.warning("cluster %s: %d missed slot(s) recorded as gaps", cluster.name, count)
    return added


def give_up(cluster_id: int, slot: datetime, reason: str) -> bool:
    """Record `slot` as a gap because its run gave up (retries spent or past its deadline)."""
    cluster = Cluster.objects.filter(pk=cluster_id).first()
    if cluster is None or cluster.connection_type == ConnectionType.PROMETHEUS:
        return False  # a Prometheus cluster's next run reads the slot back
    return record_gap(
        cluster,
        slot,
        interval=cluster.sampling_interval,
        source=source_of(cluster),
        reason=reason,
        queue=False,
    )
