"""Rollups of the daily results: what pages and APIs read instead of every day or every pod day.

WorkloadCostMonth holds each workload's WorkloadCostDay rows summed per calendar month and owner (the
stored namespace day's department and shared flag). It is derived data: `refresh_workload_months`
rebuilds a cluster's months from the days, in the caller's transaction, whenever a day of them is
written (costing.compute) or pruned (costing.tasks.compute.prune), so it always equals the day rows.

PodGroupDay holds each cluster-day's PodCostDay rows summed per namespace, workload and pod label set,
with the least and greatest node and pod names of each group: what /allocation reads when it groups by
neither node nor pod (reports.queries.frames.pod_cost_groups). `refresh_pod_groups` rebuilds a
cluster-day's rows from its pod days, in the transaction that wrote them (costing.compute).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.db import models
from django.db.models import Count, F, Max, Min, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from costing.bulk_write import insert_columns
from costing.models import NamespaceCostDay, PodCostDay, PodGroupDay, WorkloadCostDay, WorkloadCostMonth

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


# The summed columns of a pod group day: those it shares with PodCostDay (ResourceHours, GpuHours,
# AllocatedCost) and the samples.
GROUP_SUMMED = [
    f.name
    for f in PodGroupDay._meta.concrete_fields
    if isinstance(f, models.FloatField | models.DecimalField)
] + ["samples"]


def refresh_pod_groups(cluster_id: int, day: date) -> int:
    """Rebuild the cluster-day's PodGroupDay rows from its PodCostDay rows; returns the rows written. Call
    it inside the transaction that wrote the pod days."""
    PodGroupDay.objects.filter(cluster_id=cluster_id, day=day).delete()
    return _insert_pod_groups(
        (PodCostDay, PodGroupDay), PodCostDay.objects.filter(cluster_id=cluster_id, day=day)
    )


def fill_pod_groups(models=(PodCostDay, PodGroupDay)) -> int:
    """Build every cluster-day's pod groups from the stored pod days, a cluster-month at a time (the
    migration and the benchmarks). `models`: PodCostDay and PodGroupDay (a migration passes its own)."""
    day_model, group_model = models
    cluster_days = day_model.objects.values_list("cluster_id", "day").distinct().order_by()
    months = sorted({(cluster_id, month_of(day)) for cluster_id, day in cluster_days})
    written = 0
    for cluster_id, month in months:
        days = {"cluster_id": cluster_id, "day__gte": month, "day__lt": next_month(month)}
        group_model.objects.filter(**days).delete()
        written += _insert_pod_groups(models, day_model.objects.filter(**days))
    return written


def _insert_pod_groups(models, pod_days) -> int:
    _, group_model = models
    keys = ["cluster_id", "day", "namespace_id", "workload_id", "pod__labels"]
    rows = list(
        pod_days.order_by()
        .values(*keys)
        .annotate(
            _pods=Count("id"),
            _node_first=Min("node__name"),
            _node_last=Max("node__name"),
            _pod_first=Min("pod__name"),
            _pod_last=Max("pod__name"),
            **{f"_{f}": Sum(F(f)) for f in GROUP_SUMMED},
        )
    )
    if not rows:
        return 0
    fields = ["pods", "node_first", "node_last", "pod_first", "pod_last", *GROUP_SUMMED]
    return insert_columns(
        group_model,
        {
            **{k: [r[k] for r in rows] for k in keys[:-1]},
            "labels": [r["pod__labels"] or {} for r in rows],
            **{f: [r[f"_{f}"] for r in rows] for f in fields},
        },
    )
