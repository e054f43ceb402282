"""Clusters' physical cost per day and over a period: workload, idle, overhead, estimated, coverage; a
cluster into its node pools."""

from __future__ import annotations

from datetime import date

from costing.models import ClusterDay
from reports.periods import Period
from reports.queries.cents import cents, split_rows
from reports.queries.common import DAY_TOTALS, ZERO, for_period, sums, zero_none
from reports.queries.nodes import node_pool_totals, with_parts

# A cluster's physical cost = workload + idle + overhead: the parts as the pages show them, and the
# stored field each is read from.
CLUSTER_PARTS = {"workload": "workload_cost", "idle": "idle_cost", "overhead": "overhead_cost"}
STORAGE_TOTALS = ["storage_cost", "storage_idle_cost"]


def cluster_days(start: date, end: date, cluster_id: int | None = None) -> list[dict]:
    """One row per stored cluster-day: its physical cost split into workload, idle and overhead."""
    days = for_period(ClusterDay.objects, start, end, cluster_id)
    return list(
        days.order_by("day", "cluster__name").values(
            "day", "cluster_id", "cluster__name", "coverage", "dirty", "computed_at", *DAY_TOTALS
        )
    )


def cluster_totals(start: date, end: date, cluster_id: int | None = None) -> list[dict]:
    """Per cluster over [start, end): physical, workload, idle, overhead and estimated cost, mean coverage,
    and the storage parts of workload and idle (storage_cost, storage_idle_cost)."""
    from django.db.models import Avg, Count

    totals = [*DAY_TOTALS, *STORAGE_TOTALS]
    qs = for_period(ClusterDay.objects, start, end, cluster_id).values("cluster_id", "cluster__name")
    rows = list(
        qs.annotate(**sums(totals), coverage=Avg("coverage"), days=Count("id")).order_by("cluster__name")
    )
    return [zero_none(r, totals) for r in rows]


def cluster_table(period, previous, cluster_id: int | None = None) -> dict:
    """The Clusters page's table: per cluster its physical cost = workload + idle + overhead to the cent
    (split_rows, as cost_rows and the overview round them), its estimated share and `previous`, the exact
    physical cost of the period `previous` it is compared with (reports.periods.compared_period); with
    `total`, `totals` (the parts) and `previous_total`."""
    rows = cluster_totals(period.start, period.end, cluster_id)
    before = {
        r["cluster_id"]: r["physical_cost"] for r in cluster_totals(previous.start, previous.end, cluster_id)
    }
    totals = split_rows(rows, "physical_cost", CLUSTER_PARTS)
    total = totals.pop("physical_cost")
    for row in rows:
        row["previous"] = before.get(row["cluster_id"])
        row["estimated_share"] = (
            float(row["estimated_cost"] / row["physical_cost"]) if row["physical_cost"] else 0.0
        )
    return {"rows": rows, "total": total, "totals": totals, "previous_total": sum(before.values(), ZERO)}


def cluster_pools(period: Period, cluster_id: int) -> dict:
    """The Cluster page: its node `pools` (node_pool_totals) and its `overhead` to the cent, adding up to
    `total`, the cluster's physical cost rounded; each pool's cost split into what its pods paid (`pods`)
    and `idle_part` (with_parts), and its `idle_share`; `summary`: the cluster's cluster_totals row (None
    without a stored day)."""
    pools = node_pool_totals(period.start, period.end, cluster_id)
    (summary,) = cluster_totals(period.start, period.end, cluster_id) or [None]
    overhead = {"cost": summary["overhead_cost"] if summary else ZERO}
    # Persistent volumes' disks are on no node: what pods and claims paid for them plus storage idle.
    volumes = {"cost": summary["storage_cost"] + summary["storage_idle_cost"] if summary else ZERO}
    total = cents([*pools, volumes, overhead], "cost", summary["physical_cost"] if summary else ZERO)
    for pool in with_parts(pools):
        pool["idle_share"] = float(pool["idle_part"] / pool["cost"]) if pool["cost"] else None
    return {
        "pools": pools,
        "volumes": volumes["cost"],
        "overhead": overhead["cost"],
        "total": total,
        "summary": summary,
    }
