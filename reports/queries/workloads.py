"""Workloads ranked by cost, a workload's days and pods, a pod's days (and its node-hours)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db.models import Q

from costing.access import restrict_to_owners
from costing.models import PodCostDay, WorkloadCostDay, WorkloadCostMonth
from costing.rollups import whole_months
from reports.periods import Period
from reports.queries.cents import cents
from reports.queries.common import (
    COSTS,
    QUANTITIES,
    RANKED,
    ZERO,
    for_period,
    sums,
    with_efficiency,
    zero_none,
)
from reports.queries.explain import explain_workload, workload_volumes


def workload_totals(
    start: date,
    end: date,
    cluster_id: int | None = None,
    departments=None,
    *,
    namespace_id: int | None = None,
    limit: int | None = None,
) -> tuple[list[dict], dict]:
    """Workloads by cost, highest first (at most `limit`), and the sums over all of them (row "all").

    One aggregation per workload id (no joins: over a year that is the page's one scan of
    WorkloadCostDay), ranked in Python; names are read for the workloads shown only."""
    from django.db.models import Sum

    from costing.models import Workload

    scope = (start, end, cluster_id, departments, namespace_id)
    # Ranking needs the cost alone (the cheapest scan); the quantities are read for the rows shown.
    grouped = _per_workload(*scope, {"cost": Sum("cost")})
    grouped.sort(key=lambda r: (-r["cost"], r["workload_id"]))
    every = {"cost": sum((r["cost"] for r in grouped), ZERO), "workloads": len(grouped)}
    rows = grouped[:limit] if limit else grouped
    ids = [r["workload_id"] for r in rows] if limit else None
    quantities = {q.pop("workload_id"): q for q in _per_workload(*scope, sums(RANKED[1:]), ids=ids)}
    names = {
        w["pk"]: w
        for w in Workload.objects.filter(pk__in=[r["workload_id"] for r in rows]).values(
            "pk", "kind", "name", "namespace__name", "cluster__name"
        )
    }
    for row in rows:
        found = names.get(row["workload_id"], {})
        row["workload__kind"] = found.get("kind", "")
        row["workload__name"] = found.get("name", "")
        row["namespace__name"] = found.get("namespace__name", "")
        row["cluster__name"] = found.get("cluster__name", "")
        row.update(quantities.get(row["workload_id"], dict.fromkeys(RANKED[1:], 0.0)))
        with_efficiency(row)
    return rows, every


def _workload_querysets(start, end, cluster_id, departments) -> list:
    """The rows of [start, end): whole calendar months from the monthly rollup (costing/rollups.py),
    the days outside them from WorkloadCostDay; one queryset each (one or two)."""
    months = whole_months(start, end)
    spans = [(start, end)] if months is None else [(start, months[0]), (months[1], end)]
    spans = [(a, b) for a, b in spans if a < b]
    parts = []
    if months is not None:
        qs = WorkloadCostMonth.objects.filter(month__gte=months[0], month__lt=months[1])
        if departments is not None:
            qs = qs.filter(department__in=list(departments), shared=False)
        parts.append(qs)
    if spans:
        within = Q()
        for a, b in spans:
            within |= Q(day__gte=a, day__lt=b)
        parts.append(restrict_to_owners(WorkloadCostDay.objects.filter(within), departments))
    return [qs.filter(cluster_id=cluster_id) if cluster_id is not None else qs for qs in parts]


def _per_workload(
    start, end, cluster_id, departments, namespace_id, measures: dict, *, ids=None
) -> list[dict]:
    """`measures` (name -> Sum) per workload id over [start, end)."""
    out: dict[int, dict] = {}
    for qs in _workload_querysets(start, end, cluster_id, departments):
        if namespace_id is not None:
            qs = qs.filter(namespace_id=namespace_id)
        if ids is not None:
            qs = qs.filter(workload_id__in=ids)
        for row in qs.values("workload_id").annotate(**measures).order_by():
            into = out.setdefault(row["workload_id"], dict.fromkeys(measures, 0))
            for m in measures:
                into[m] += row[m] or 0
    return [{"workload_id": w, **values} for w, values in out.items()]


def workload_days(workload_id: int, start: date, end: date, departments=None) -> list[dict]:
    """A workload's stored days (only the days its namespace belonged to `departments`, when given)."""
    qs = restrict_to_owners(
        for_period(WorkloadCostDay.objects, start, end, None).filter(workload_id=workload_id), departments
    )
    return list(qs.order_by("day").values("day", "pods", *QUANTITIES, *COSTS))


def workload_pods(workload_id: int, start: date, end: date, departments=None) -> list[dict]:
    """The pods of a workload over the period, costliest first, with quantities and efficiency."""
    from django.db.models import Count, Sum

    qs = restrict_to_owners(
        PodCostDay.objects.filter(workload_id=workload_id, day__gte=start, day__lt=end), departments
    )
    rows = (
        qs.values("pod_id", "pod__name", "node__name", "node_id")
        .annotate(**sums([*QUANTITIES, *COSTS]), days=Count("id"), samples=Sum("samples"))
        .order_by("-cost", "pod__name")
    )
    return [with_efficiency(zero_none(r, [*QUANTITIES, *COSTS])) for r in rows]


def pod_days(pod_id: int, start: date, end: date) -> list[dict]:
    """A pod's stored days: samples, quantities and cost."""
    return list(
        PodCostDay.objects.filter(pod_id=pod_id, day__gte=start, day__lt=end)
        .order_by("day")
        .values("day", "node__name", "samples", *QUANTITIES, *COSTS)
    )


def workload_breakdown(workload_id: int, period: Period, departments=None) -> dict:
    """The Workload page: its `pods` (workload_pods) with their cost to the cent adding up to `total`, the
    workload's exact cost over its `days` (workload_days) rounded; `totals`: the days' quantities and exact
    costs summed, with their efficiency. `departments` as workload_days reads them."""
    pods = workload_pods(workload_id, period.start, period.end, departments)
    days = workload_days(workload_id, period.start, period.end, departments)
    total = cents(pods, "cost", sum((d["cost"] for d in days), ZERO))
    totals = {q: sum((d[q] for d in days), 0.0) for q in QUANTITIES}
    totals.update({c: sum((d[c] for d in days), ZERO) for c in COSTS})
    volumes = workload_volumes(workload_id, period.start, period.end)
    return {"pods": pods, "days": days, "total": total, "totals": with_efficiency(totals), "volumes": volumes}


def pod_breakdown(pod_id: int, workload_id: int, period: Period, *, with_hours: bool) -> dict:
    """The Pod page: its `days` (pod_days) to the cent adding up to `total`, each with its `hours`; with
    `with_hours` (and some day stored), the node-hours of explain_workload for this pod, whose
    explanation is `explained` (else None and no hours)."""
    days = pod_days(pod_id, period.start, period.end)
    total = cents(days, "cost")
    hours_by_day: dict = defaultdict(list)
    explained = None
    if with_hours and days:
        explained = explain_workload(workload_id, period.start, period.end, with_volumes=False)
        mine = next((p for p in explained["pods"] if p["pod_id"] == pod_id), None)
        for hour in mine["hours"] if mine else []:
            hours_by_day[hour["hour"].date()].append(hour)
    for day in days:
        day["hours"] = hours_by_day.get(day["day"], [])
    return {"days": days, "total": total, "explained": explained}
