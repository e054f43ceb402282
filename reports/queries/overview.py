"""The overview's figures: what the clusters cost (or what the visible departments pay), the top workloads,
and usage, rounded to the cent as the Clusters and Departments pages round the same figures."""

from __future__ import annotations

from decimal import Decimal

from reports.periods import Period
from reports.queries.cents import cents, split_cents, split_rows
from reports.queries.clusters import CLUSTER_PARTS, cluster_days, cluster_totals
from reports.queries.common import DAY_TOTALS, ZERO
from reports.queries.departments import department_cluster_days, department_figures, department_totals
from reports.queries.namespaces import usage_totals
from reports.queries.workloads import workload_totals


def overview(period: Period, previous: Period, cluster_id: int | None, departments, *, top: int) -> dict:
    """Everything the overview shows for `period`: `totals` (total, workload, idle, overhead and more, to the
    cent), `previous` (the exact total of the period `previous` it is compared with), `trend_rows` (per day and cluster), `usage`,
    and the `top` costliest `workloads` with the rest summed in `others` (the coverage of the whole
    period is reports.queries.coverage's).

    `departments` None: whole clusters; else what those departments pay (their shares of the pools)."""
    day_rows = cluster_days(period.start, period.end, cluster_id)
    if departments is None:
        totals, trend_rows, before = _cluster_figures(period, previous, cluster_id, day_rows)
    else:
        totals, trend_rows, before = _department_figures(period, previous, cluster_id, departments)
    workloads, every = workload_totals(period.start, period.end, cluster_id, departments, limit=top)
    others = {"cost": every["cost"] - sum((w["cost"] for w in workloads), ZERO)}
    # The table adds up to the workload figure above it (same exact sum, rounded once).
    workload_total = cents([*workloads, others], "cost", totals["workload"] if workloads else None)
    return {
        "has_results": bool(day_rows) and (totals["total"] != 0 or bool(workloads)),
        "totals": totals,
        "previous": before,
        "trend_rows": trend_rows,
        "usage": usage_totals(period.start, period.end, cluster_id, departments),
        "workloads": workloads,
        "others": others if every["workloads"] > len(workloads) else None,
        "other_count": every["workloads"] - len(workloads),
        "workload_total": workload_total,
    }


def _cluster_figures(period: Period, previous: Period, cluster_id, rows):
    """Physical cost of the clusters = workload + idle + overhead, to the cent; estimated vs billed."""
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
    before = sum((r["physical_cost"] for r in cluster_totals(previous.start, previous.end, cluster_id)), ZERO)
    trend = [
        {"day": r["day"], "cluster__name": r["cluster__name"], "total": r["physical_cost"]} for r in rows
    ]
    return totals, trend, before


def _department_figures(period: Period, previous: Period, cluster_id, departments):
    """What the visible departments pay: direct + shares of shared, idle and overhead, to the cent."""
    days = department_cluster_days(period.start, period.end, cluster_id, departments)
    # Rounded per department as the Departments page rounds them, so both show the same idle.
    parts = department_figures(period, cluster_id, departments)
    totals = {
        "total": parts.pop("total"),
        **parts,
        "workload": parts["direct"],
        "scope": "departments",
    }
    # The trend: what they pay per day and cluster.
    trend: dict[tuple, dict] = {}
    for row in days:
        into = trend.setdefault(
            (row["day"], row["cluster_id"]),
            {
                "day": row["day"],
                "cluster_id": row["cluster_id"],
                "cluster__name": row["cluster__name"],
                "total": ZERO,
            },
        )
        into["total"] += row["total"] or ZERO
    before = department_totals(previous.start, previous.end, cluster_id, departments)
    return totals, list(trend.values()), sum((r["total"] for r in before), Decimal(0))
