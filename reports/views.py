"""The overview page: what the clusters cost over the period, where it went, and how sure we are."""

from __future__ import annotations

from decimal import Decimal

from django.shortcuts import render

from costing.models import BillImport
from reports import charts
from reports.queries.cents import cents, split_cents, split_rows
from reports.queries.clusters import CLUSTER_PARTS, cluster_days, cluster_totals
from reports.queries.common import DAY_TOTALS, DEPARTMENT_PARTS
from reports.queries.departments import department_cluster_days, department_totals
from reports.queries.namespaces import usage_totals
from reports.queries.workloads import workload_totals
from reports.views_common import base_context, delta, page

TOP_WORKLOADS = 10
ZERO = Decimal(0)


@page()
def dashboard(request, state):
    """Overview. Whole clusters for admins and viewers; a department's share for department viewers."""
    period = state.period
    days = list(period.each_day())
    context = base_context(request, state, page="overview", has_clusters=bool(state.clusters))
    if not state.clusters:
        return render(request, "reports/dashboard.html", context)
    departments = state.departments
    coverage_rows = cluster_days(period.start, period.end, state.cluster_id)
    if departments is None:
        totals, trend_rows, previous = _cluster_figures(state, coverage_rows)
    else:
        totals, trend_rows, previous = _department_figures(state, departments)
    usage = usage_totals(period.start, period.end, state.cluster_id, departments)
    workloads, every = workload_totals(
        period.start, period.end, state.cluster_id, departments, limit=TOP_WORKLOADS
    )
    others = {"cost": every["cost"] - sum((w["cost"] for w in workloads), ZERO)}
    # The table adds up to the workload figure above it (same exact sum, rounded once).
    workload_total = cents([*workloads, others], "cost", totals["workload"] if workloads else None)
    coverage = [r["coverage"] for r in coverage_rows]
    context.update(
        has_results=bool(coverage_rows) and (totals["total"] != 0 or bool(workloads)),
        has_bill=BillImport.objects.exists(),
        totals=totals,
        change=delta(totals["total"], previous),
        idle_share=(totals["idle"] / totals["total"]) if totals["total"] else None,
        usage=usage,
        workloads=workloads,
        others=others if every["workloads"] > len(workloads) else None,
        other_count=every["workloads"] - len(workloads),
        workload_total=workload_total,
        coverage=(sum(coverage) / len(coverage)) if coverage else None,
        trend=charts.daily_by(
            trend_rows, key="cluster__name", value="total", days=days, currency=context["currency"]
        ),
        recompute_hint=f"python manage.py recompute --start {period.start} --end {period.end}",
    )
    return render(request, "reports/dashboard.html", context)


def _cluster_figures(state, rows):
    """Physical cost of the clusters = workload + idle + overhead, to the cent; estimated vs billed."""
    period = state.period
    exact = {k: sum((r[k] for r in rows), ZERO) for k in DAY_TOTALS}
    # Rounded per cluster as the Clusters page and cost_rows round them, so both show the same idle.
    per_cluster: dict[int, dict] = {}
    for r in rows:
        into = per_cluster.setdefault(r["cluster_id"], dict.fromkeys(DAY_TOTALS, ZERO))
        for k in DAY_TOTALS:
            into[k] += r[k]
    parts = split_rows(list(per_cluster.values()), "physical_cost", CLUSTER_PARTS)
    del parts["physical_cost"]
    estimated = split_cents(
        exact["physical_cost"],
        {"estimated": exact["estimated_cost"], "billed": exact["physical_cost"] - exact["estimated_cost"]},
    )
    totals = {"total": sum(parts.values(), ZERO), **parts, **estimated, "scope": "clusters"}
    previous_rows = cluster_totals(period.previous().start, period.previous().end, state.cluster_id)
    previous = sum((r["physical_cost"] for r in previous_rows), ZERO)
    trend = [
        {"day": r["day"], "cluster__name": r["cluster__name"], "total": r["physical_cost"]} for r in rows
    ]
    return totals, trend, previous


def _department_figures(state, departments):
    """What the visible departments pay: direct + shares of shared, idle and overhead, to the cent."""
    period = state.period
    rows = department_cluster_days(period.start, period.end, state.cluster_id, departments)
    exact = {k: sum((r[k] or ZERO for r in rows), ZERO) for k in DEPARTMENT_PARTS}
    parts = split_cents(exact["total"], {k: exact[k] for k in ("direct", "shared", "idle", "overhead")})
    totals = {
        "total": sum(parts.values(), ZERO),
        **parts,
        "workload": parts["direct"],
        "scope": "departments",
    }
    previous_rows = department_totals(
        period.previous().start, period.previous().end, state.cluster_id, departments
    )
    previous = sum((r["total"] for r in previous_rows), ZERO)
    return totals, rows, previous
