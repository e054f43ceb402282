"""Mark cluster-days whose inputs changed, so that the recompute task computes them again (and only them)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db.models import F

from costing.models import ClusterDay


def mark_days_dirty(cluster_ids: Iterable[int], days: Iterable[date]) -> int:
    """Flag every (cluster, day) pair as dirty, creating the rows that do not exist yet.

    Producers of inputs call this inside their own transaction (new samples for a past hour, a new or
    corrected bill, a policy change), so a day is never flagged for rows that are not committed.
    Returns the number of pairs flagged.
    """
    cluster_ids = sorted(set(cluster_ids))
    days = sorted(set(days))
    if not cluster_ids or not days:
        return 0
    # Every mark bumps dirty_version, also on a day already dirty: a recompute that is running reads the
    # version when it starts and leaves the day dirty if a mark came in meanwhile (costing.compute).
    ClusterDay.objects.filter(cluster_id__in=cluster_ids, day__in=days).update(
        dirty=True, dirty_version=F("dirty_version") + 1
    )
    existing = set(
        ClusterDay.objects.filter(cluster_id__in=cluster_ids, day__in=days).values_list("cluster_id", "day")
    )
    missing = [
        ClusterDay(cluster_id=c, day=d, dirty=True)
        for c in cluster_ids
        for d in days
        if (c, d) not in existing
    ]
    ClusterDay.objects.bulk_create(missing, ignore_conflicts=True)
    return len(cluster_ids) * len(days)
