"""What every query shares: the measures, the period filter, exact sums and the error a bad argument raises."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from costing.engine.allocation import GPU_QUANTITIES, POD_QUANTITIES, efficiency
from costing.models import Cluster, DepartmentCostDay, NamespaceCostDay

QUANTITIES = [*POD_QUANTITIES, *GPU_QUANTITIES]
COSTS = ["cpu_cost", "mem_cost", "gpu_cost", "storage_cost", "cost", "estimated_cost"]
NO_LABEL = "(none)"
# The group of a namespace's claims that no pod mounted (OpenCost's and Kubecost's name), in groupings of
# pods and workloads: its storage belongs to the namespace, not to a workload, node or label.
UNMOUNTED = "__unmounted__"


class QueryError(ValueError):
    """The arguments of a query do not name a period, grouping, cluster or department that can be read."""


def known_department(name: str) -> bool:
    """Whether costs were ever booked to `name` (a department or a pool line such as Idle)."""
    return (
        NamespaceCostDay.objects.filter(department=name).exists()
        or DepartmentCostDay.objects.filter(name=name).exists()
    )


def checked_scope(start: date, end: date, cluster: str | None) -> int | None:
    """The id of the cluster named `cluster` (None: every cluster), once the period is known to be one."""
    if not isinstance(start, date) or not isinstance(end, date) or end <= start:
        raise QueryError(f"period: end {end} must be after start {start} (the end is exclusive)")
    if cluster is None:
        return None
    cluster_id = Cluster.objects.filter(name=cluster).values_list("pk", flat=True).first()
    if cluster_id is None:
        raise QueryError(f"cluster: no cluster named {cluster!r}")
    return cluster_id


def for_period(qs, start, end, cluster_id):
    qs = qs.filter(day__gte=start, day__lt=end)
    return qs.filter(cluster_id=cluster_id) if cluster_id is not None else qs


ZERO = Decimal(0)


DAY_TOTALS = ["physical_cost", "workload_cost", "idle_cost", "overhead_cost", "estimated_cost"]


# Idle GPU is a pool of its own (docs/cost-model.md, Idle GPU): its own column.
DEPARTMENT_PARTS = ["direct", "shared", "idle", "gpu_idle", "overhead", "total"]


def sums(fields) -> dict:
    from django.db.models import Sum

    return {f: Sum(f) for f in fields}


def zero_none(row: dict, fields) -> dict:
    for f in fields:
        if row.get(f) is None:
            row[f] = ZERO if f not in QUANTITIES else 0.0
    return row


def with_efficiency(row: dict) -> dict:
    row["cpu_efficiency"] = float(efficiency(row["cpu_usage_core_hours"], row["cpu_request_core_hours"]))
    row["mem_efficiency"] = float(efficiency(row["mem_usage_gib_hours"], row["mem_request_gib_hours"]))
    if "gpu_request_hours" in row:
        row["gpu_efficiency"] = float(efficiency(row["gpu_usage_hours"], row["gpu_request_hours"]))
    return row


RANKED = [
    "cost",
    "cpu_request_core_hours",
    "cpu_usage_core_hours",
    "mem_request_gib_hours",
    "mem_usage_gib_hours",
]
