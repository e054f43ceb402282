"""Namespaces' cost and usage over a period, per owner; a namespace into its workloads and load balancers."""

from __future__ import annotations

from datetime import date

from costing.models import NamespaceCostDay
from reports.periods import Period
from reports.queries.cents import cents
from reports.queries.common import (
    COSTS,
    QUANTITIES,
    UNMOUNTED,
    ZERO,
    for_period,
    sums,
    with_efficiency,
    zero_none,
)
from reports.queries.explain import explain_namespace


def namespace_totals(start: date, end: date, cluster_id: int | None = None, departments=None) -> list[dict]:
    """Per namespace and owner over the period (a namespace that moved department shows once per owner)."""
    qs = for_period(NamespaceCostDay.objects, start, end, cluster_id)
    if departments is not None:
        qs = qs.filter(department__in=list(departments), shared=False)
    from django.db.models import Count

    rows = (
        qs.values("namespace_id", "namespace__name", "cluster__name", "department", "shared")
        .annotate(**sums([*QUANTITIES, *COSTS, "network_cost"]), days=Count("id"))
        .order_by("-cost", "cluster__name", "namespace__name")
    )
    return [with_efficiency(zero_none(r, [*QUANTITIES, *COSTS, "network_cost"])) for r in rows]


def usage_totals(start: date, end: date, cluster_id: int | None = None, departments=None) -> dict:
    """Requested, used and billable resource-hours with their efficiency, over the visible namespaces."""
    qs = for_period(NamespaceCostDay.objects, start, end, cluster_id)
    if departments is not None:
        qs = qs.filter(department__in=list(departments), shared=False)
    return with_efficiency(zero_none(qs.aggregate(**sums([*QUANTITIES, *COSTS])), [*QUANTITIES, *COSTS]))


def namespace_table(
    period: Period, previous: Period, cluster_id: int | None = None, departments=None
) -> dict:
    """The Namespaces page: per namespace and owner its cost to the cent (the rows add up to `total`), its
    estimated share and `previous`, the exact cost of the same namespace and owner in the period `previous`
    it is compared with (reports.periods.compared_period); with `previous_total` and `usage` (usage_totals)
    over the same namespaces."""
    rows = namespace_totals(period.start, period.end, cluster_id, departments)
    before = {
        (r["namespace_id"], r["department"]): r["cost"]
        for r in namespace_totals(previous.start, previous.end, cluster_id, departments)
    }
    for row in rows:
        # Of the exact cost: the share must not move with the rounding.
        row["estimated_share"] = float(row["estimated_cost"] / row["cost"]) if row["cost"] else 0.0
    total = cents(rows, "cost")
    for row in rows:
        row["previous"] = before.get((row["namespace_id"], row["department"]))
    return {
        "rows": rows,
        "total": total,
        "previous_total": sum(before.values(), ZERO),
        "usage": usage_totals(period.start, period.end, cluster_id, departments),
    }


def namespace_workloads(cluster: str, name: str, period: Period) -> dict:
    """The Namespace page: the namespace into its workloads (explain_namespace as `explained`), costliest
    first, each with its efficiency and its cost to the cent so that they add up to `total`, the
    namespace's cost rounded."""
    explained = explain_namespace(cluster, name, period.start, period.end)
    workloads = sorted(explained["workloads"], key=lambda w: (-w["cost"], w["name"]))
    unmounted = explained["unmounted_storage_cost"]
    if unmounted:
        # Claims no pod mounted: the namespace's cost in none of its workloads, a row of its own.
        row = {"workload_id": None, "kind": "", "name": UNMOUNTED, "pods": 0}
        row.update(dict.fromkeys(QUANTITIES, 0.0))
        row.update(dict.fromkeys(COSTS, ZERO))
        row.update({"cost": unmounted, "storage_cost": unmounted})
        workloads.append(row)
    load_balancers = explained["load_balancers"]
    # Its workloads and its load balancers (network) add up to its cost: rounded together to the cent.
    total = cents([*workloads, *load_balancers], "cost", explained["cost"])
    for workload in workloads:
        with_efficiency(workload)
    return {
        "explained": explained,
        "workloads": workloads,
        "load_balancers": load_balancers,
        "network_cost": sum((lb["cost"] for lb in load_balancers), ZERO),
        "total": total,
    }
