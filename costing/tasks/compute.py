"""Tasks that keep the computed results up to date and within their retention."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from costing.compute import apportion_day
from costing.compute import recompute_day as compute_day
from costing.fanout import compute_queued, fan_out_dirty
from costing.models import (
    Cluster,
    ClusterDay,
    DepartmentCostDay,
    NamespaceCostDay,
    NodeCostDay,
    NodeCostHour,
    PodCostDay,
    PodGroupDay,
    PoolShareDay,
    VolumeCostDay,
    WorkloadCostDay,
    WorkloadCostMonth,
)
from costing.partitions import drop_partitions_before
from costing.rollups import month_of, refresh_workload_months

log = logging.getLogger(__name__)

# Enough to catch up after a bill import without holding a worker for long; the next beat takes the rest.
DIRTY_BATCH = 200
MAX_RETRIES = 3


def recompute_dirty(batch: int = DIRTY_BATCH) -> list[tuple[date, int]]:
    """Compute up to `batch` dirty cluster-days, oldest first, then apportion each day touched once."""
    pairs = list(
        ClusterDay.objects.filter(dirty=True)
        .order_by("day", "cluster_id")
        .values_list("day", "cluster_id")[:batch]
    )
    by_day: dict[date, list[int]] = {}
    for day, cluster_id in pairs:
        by_day.setdefault(day, []).append(cluster_id)
    done = []
    for day, cluster_ids in by_day.items():
        compute_day(day, cluster_ids)
        done.append((day, len(cluster_ids)))
    # Days a fan-out computed but did not get to apportion (its last task died between the two steps).
    left = ClusterDay.objects.filter(apportion_pending=True, queued_at__isnull=True).exclude(day__in=by_day)
    for day in sorted(set(left.values_list("day", flat=True))):
        apportion_day(day)
        done.append((day, 0))
    return done


@shared_task(name="costing.recompute_dirty_days", ignore_result=True, acks_late=True)
def recompute_dirty_days(batch: int = DIRTY_BATCH, rounds: int = 1) -> int:
    """Compute the dirty cluster-days, up to `rounds` batches (safe to run twice: the row lock queues them).

    Beat runs it every 5 minutes (one batch); costing.dirty queues it with more rounds as soon as a
    change commits, so that a policy change over a few months is recomputed in one go. With
    FINOPS_RECOMPUTE_FANOUT it computes nothing itself: it sends one task per dirty cluster-day
    (batch x rounds of them) to the compute queue, for every worker to take (costing/fanout.py)."""
    if settings.FINOPS_RECOMPUTE_FANOUT:
        sent, apportioned = fan_out_dirty(batch * rounds)
        log.info("sent %d cluster-day(s) to the workers; apportioned %d day(s) left over", sent, apportioned)
        return sent
    total = 0
    for _ in range(rounds):
        done = recompute_dirty(batch)
        if not done:
            break
        count = sum(n for _, n in done)
        log.info("recomputed %d cluster-day(s) over %d day(s)", count, len(done))
        total += count
    return total


@shared_task(name="costing.recompute_day", ignore_result=True, acks_late=True)
def recompute_day(day_iso: str) -> int:
    """Compute every cluster of one day (YYYY-MM-DD) and apportion it."""
    return len(compute_day(date.fromisoformat(day_iso)))


@shared_task(
    name="costing.compute_cluster_day", bind=True, ignore_result=True, acks_late=True, max_retries=MAX_RETRIES
)
def compute_cluster_day_task(self, cluster_id: int, day_iso: str) -> bool:
    """One cluster-day of a fan-out; the last of its day apportions the day (costing/fanout.py).

    Retried on transient database errors (a deadlock with a concurrent recompute, a dropped connection):
    the transaction rolled back, and computing again is safe."""
    try:
        return compute_queued(cluster_id, date.fromisoformat(day_iso))
    except (OperationalError, InterfaceError) as error:
        if self.request.retries < self.max_retries:
            raise self.retry(countdown=2**self.request.retries, exc=error) from None
        raise


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the last day of the month when it has fewer days)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for candidate in range(day.day, 27, -1):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    return date(year, month, min(day.day, 28))


def prune(today: date | None = None) -> dict[str, int]:
    """Delete daily results older than FINOPS_DAILY_RETENTION_MONTHS and node-hour costs older than
    FINOPS_HOURLY_RETENTION_DAYS. Returns the rows deleted per table."""
    today = today or timezone.now().date()
    daily_cutoff = months_before(today, settings.FINOPS_DAILY_RETENTION_MONTHS)
    hourly_cutoff = datetime.combine(
        today - timedelta(days=settings.FINOPS_HOURLY_RETENTION_DAYS), time(0), UTC
    )
    deleted = {}
    # Whole months of pod-days go with their partition (PostgreSQL), each in a short transaction of its
    # own (dropping one locks the table); the rest row by row.
    dropped = drop_partitions_before(PodCostDay, daily_cutoff)
    with transaction.atomic():
        deleted["NodeCostHour"] = NodeCostHour.objects.filter(hour__lt=hourly_cutoff).delete()[0]
        for model in (
            PoolShareDay,
            DepartmentCostDay,
            PodCostDay,
            PodGroupDay,
            WorkloadCostDay,
            NamespaceCostDay,
            NodeCostDay,
            VolumeCostDay,
        ):
            deleted[model.__name__] = model.objects.filter(day__lt=daily_cutoff).delete()[0]
        deleted["PodCostDay"] += dropped
        # The monthly rollup follows its days: older months go, the month of the cutoff is summed anew.
        deleted["WorkloadCostMonth"] = WorkloadCostMonth.objects.filter(
            month__lt=month_of(daily_cutoff)
        ).delete()[0]
        for cluster_id in Cluster.objects.values_list("pk", flat=True):
            refresh_workload_months(cluster_id, [daily_cutoff])
        deleted["ClusterDay"] = ClusterDay.objects.filter(day__lt=daily_cutoff).delete()[0]
    return deleted


@shared_task(name="costing.prune_results", ignore_result=True)
def prune_results() -> dict[str, int]:
    """Beat, daily: keep results within their retention."""
    deleted = prune()
    log.info("pruned results: %s", deleted)
    return deleted
