"""Monthly rollups of the daily results: what pages reading whole months sum instead of every day.

WorkloadCostMonth holds each workload's WorkloadCostDay rows summed per calendar month and owner (the
stored namespace day's department and shared flag). It is derived data: `refresh_workload_months`
rebuilds a cluster's months from the days, in the caller's transaction, whenever a day of them is
written (costing.compute) or pruned (costing.tasks.compute.prune), so it always equals the day rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.db import models
from django.db.models import Count, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from costing.bulk_write import insert_columns
from costing.models import NamespaceCostDay, WorkloadCostDay, WorkloadCostMonth

# Every resource-hour and money column of the month (the abstract bases it shares with WorkloadCostDay:
# ResourceHours, GpuHours, AllocatedCost), from the model, so that a new resource is summed too.
SUMMED = [
    f.name
    for f in WorkloadCostMonth._meta.concrete_fields
    if isinstance(f, models.FloatField | models.DecimalField)
]


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def whole_months(start: date, end: date) -> tuple[date, date] | None:
    """The whole calendar months within [start, end) as [first month, end of the last), or None."""
    first = start if start.day == 1 else next_month(month_of(start))
    last = month_of(end)
    return (first, last) if first < last else None


def refresh_workload_months(cluster_id: int, months: Iterable[date]) -> int:
    """Rebuild the cluster's WorkloadCostMonth rows of `months` (any day of each) from its WorkloadCostDay
    rows; returns the rows written. Call it inside the transaction that changed the days."""
    models = (WorkloadCostDay, NamespaceCostDay, WorkloadCostMonth)
    return sum(_refresh(models, cluster_id, month) for month in sorted({month_of(m) for m in months}))


def fill_workload_months(models=(WorkloadCostDay, NamespaceCostDay, WorkloadCostMonth)) -> int:
    """Build every month of every cluster from the stored days (migration 0017 and the benchmarks).
    `models`: the three model classes (a migration passes its historical ones)."""
    day_model = models[0]
    cluster_days = day_model.objects.values_list("cluster_id", "day").distinct().order_by()
    months = sorted({(cluster_id, month_of(day)) for cluster_id, day in cluster_days})
    return sum(_refresh(models, cluster_id, month) for cluster_id, month in months)


def _refresh(models, cluster_id: int, month: date) -> int:
    day_model, namespace_model, month_model = models
    month_model.objects.filter(cluster_id=cluster_id, month=month).delete()
    owner = namespace_model.objects.filter(namespace=OuterRef("namespace"), day=OuterRef("day"))
    rows = list(
        day_model.objects.filter(cluster_id=cluster_id, day__gte=month, day__lt=next_month(month))
        .annotate(
            _department=Coalesce(Subquery(owner.values("department")[:1]), Value("")),
            _shared=Coalesce(Subquery(owner.values("shared")[:1]), Value(False)),
        )
        .values("workload_id", "namespace_id", "_department", "_shared")
        .annotate(_days=Count("id"), **{f"_{f}": Sum(F(f)) for f in SUMMED})
        .order_by()
    )
    if not rows:
        return 0
    return insert_columns(
        month_model,
        {
            "cluster_id": cluster_id,
            "month": month,
            "workload_id": [r["workload_id"] for r in rows],
            "namespace_id": [r["namespace_id"] for r in rows],
            "department": [r["_department"] for r in rows],
            "shared": [bool(r["_shared"]) for r in rows],
            "days": [r["_days"] for r in rows],
            **{f: [r[f"_{f}"] for r in rows] for f in SUMMED},
        },
    )
