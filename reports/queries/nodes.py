"""Node pools, nodes, a node's days and hours: node cost, what pods paid, idle, billed and estimated hours."""

from __future__ import annotations

from datetime import date

from costing.models import NodeCostDay
from reports.periods import Period
from reports.queries.cents import cents, split_cents
from reports.queries.common import for_period, sums
from reports.queries.explain import hourly_cutoff


def node_pool_totals(start: date, end: date, cluster_id: int | None = None) -> list[dict]:
    """Per node pool: node cost, what pods paid (cost - idle), idle, estimated part and capacity."""
    qs = for_period(NodeCostDay.objects, start, end, cluster_id)
    return _node_rows(
        qs.values("cluster__name", "node_pool_id", "node_pool__name"), ["cluster__name", "node_pool__name"]
    )


def node_totals(
    start: date, end: date, cluster_id: int | None = None, node_pool_id: int | None = None
) -> list[dict]:
    """Per node (of one pool, when given): node cost, pods, idle, estimated, billed/estimated/unsampled hours."""
    qs = for_period(NodeCostDay.objects, start, end, cluster_id)
    if node_pool_id is not None:
        qs = qs.filter(node_pool_id=node_pool_id)
    return _node_rows(
        qs.values("node_id", "node__name", "node__instance_type", "node_pool__name"), ["node__name"]
    )


def node_days(node_id: int, start: date, end: date) -> list[dict]:
    rows = NodeCostDay.objects.filter(node_id=node_id, day__gte=start, day__lt=end).order_by("day")
    return _node_rows(rows.values("day"), ["day"])


NODE_SUMS = [
    "cost",
    "cpu_cost_pool",
    "mem_cost_pool",
    "gpu_cost_pool",
    "cpu_idle",
    "mem_idle",
    "gpu_idle",
    "estimated_cost",
    "cpu_capacity_core_hours",
    "mem_capacity_gib_hours",
    "gpu_capacity_hours",
    "hours_billed",
    "hours_estimated",
    "hours_unsampled",
]


def _node_rows(values_qs, order: list[str]) -> list[dict]:
    rows = list(values_qs.annotate(**sums(NODE_SUMS)).order_by(*order))
    for row in rows:
        for f in NODE_SUMS:
            if row[f] is None:
                row[f] = 0
        row["idle"] = row["cpu_idle"] + row["mem_idle"] + row["gpu_idle"]
        row["pods_cost"] = row["cost"] - row["idle"]
    return rows


def node_hours(node_id: int, day: date) -> list[dict]:
    """A node's stored hours of one day with the unit prices its pods paid (hourly retention only)."""
    from costing.compute import day_bounds
    from costing.models import NodeCostHour

    first, last = day_bounds(day)
    return list(
        NodeCostHour.objects.filter(node_id=node_id, hour__gte=first, hour__lt=last)
        .order_by("hour")
        .values(
            "hour",
            "cost",
            "cpu_price",
            "mem_price",
            "gpu_price",
            "cpu_idle",
            "mem_idle",
            "gpu_idle",
            "estimated",
            "sampled",
        )
    )


def with_parts(rows: list[dict]) -> list[dict]:
    """Each row's cost (already to the cent) split into what its pods paid (`pods`) and `idle_part`, to the
    cent, adding up to it."""
    for row in rows:
        row.update(split_cents(row["cost"], {"pods": row["pods_cost"], "idle_part": row["idle"]}))
    return rows


def pool_nodes(period: Period, cluster_id: int, node_pool_id: int) -> dict:
    """The Node pool page: its `nodes` (node_totals) to the cent, adding up to `total`, each split into
    pods and idle (with_parts)."""
    nodes = node_totals(period.start, period.end, cluster_id, node_pool_id)
    total = cents(nodes, "cost")
    return {"nodes": with_parts(nodes), "total": total}


def node_breakdown(node_id: int, period: Period, day: date | None = None) -> dict:
    """The Node page: its `days` (node_days) to the cent, adding up to `total`, each split into pods and
    idle (with_parts); the `hours` of `day` (node_hours; none without a day) and the `cutoff`, the first
    day whose hours are still kept."""
    days = node_days(node_id, period.start, period.end)
    total = cents(days, "cost")
    return {
        "days": with_parts(days),
        "total": total,
        "hours": node_hours(node_id, day) if day is not None else [],
        "cutoff": hourly_cutoff(),
    }
