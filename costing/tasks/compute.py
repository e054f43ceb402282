"""Tasks that keep the computed results up to date and within their retention."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from costing.compute import recompute_day as compute_day
from costing.models import (
    Cluster,
    ClusterDay,
    DepartmentCostDay,
    NamespaceCostDay,
    NodeCostDay,
    NodeCostHour,
    PodCostDay,
    PoolShareDay,
    WorkloadCostDay,
    WorkloadCostMonth,
)
from costing.rollups import month_of, refresh_workload_months

log = logging.getLogger(__name__)

# Enough to catch up after a bill import without holding a worker for long; the next beat takes the rest.
DIRTY_BATCH = 200


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
    return done


@shared_task(name="costing.recompute_dirty_days", ignore_result=True, acks_late=True)
def recompute_dirty_days(batch: int = DIRTY_BATCH, rounds: int = 1) -> int:
    """Compute the dirty cluster-days, up to `rounds` batches (safe to run twice: the row lock queues them).

    Beat runs it every 5 minutes (one batch); costing.dirty queues it with more rounds as soon as a
    change commits, so that a policy change over a few months is recomputed in one go."""
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
    with transaction.atomic():
        deleted["NodeCostHour"] = NodeCostHour.objects.filter(hour__lt=hourly_cutoff).delete()[0]
        for model in (
            PoolShareDay,
            DepartmentCostDay,
            PodCostDay,
            WorkloadCostDay,
            NamespaceCostDay,
            NodeCostDay,
        ):
            deleted[model.__name__] = model.objects.filter(day__lt=daily_cutoff).delete()[0]
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
