"""Clusters' physical cost per day and over a period: workload, idle, overhead, estimated, coverage."""

from __future__ import annotations

from datetime import date

from costing.models import ClusterDay
from reports.queries.common import DAY_TOTALS, for_period, sums, zero_none

# A cluster's physical cost = workload + idle + overhead: the parts as the pages show them, and the
# stored field each is read from.
CLUSTER_PARTS = {"workload": "workload_cost", "idle": "idle_cost", "overhead": "overhead_cost"}


def cluster_days(start: date, end: date, cluster_id: int | None = None) -> list[dict]:
    """One row per stored cluster-day: its physical cost split into workload, idle and overhead."""
    days = for_period(ClusterDay.objects, start, end, cluster_id)
    return list(
        days.order_by("day", "cluster__name").values(
            "day", "cluster_id", "cluster__name", "coverage", "dirty", "computed_at", *DAY_TOTALS
        )
    )


def cluster_totals(start: date, end: date, cluster_id: int | None = None) -> list[dict]:
    """Per cluster over [start, end): physical, workload, idle, overhead and estimated cost, mean coverage."""
    from django.db.models import Avg, Count

    qs = for_period(ClusterDay.objects, start, end, cluster_id).values("cluster_id", "cluster__name")
    rows = list(
        qs.annotate(**sums(DAY_TOTALS), coverage=Avg("coverage"), days=Count("id")).order_by("cluster__name")
    )
    return [zero_none(r, DAY_TOTALS) for r in rows]
