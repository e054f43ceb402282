"""Pod days and node idle days as DataFrames, for APIs that aggregate pods their own way (OpenCost)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from costing.models import NamespaceCostDay, NodeCostDay, PodCostDay
from costing.money import units_array
from reports.queries.common import QUANTITIES, checked_scope, for_period


def pod_cost_frame(start: date, end: date, *, cluster: str | None = None) -> pd.DataFrame:
    """One row per pod and day over [start, end), for APIs that aggregate pods their own way (OpenCost).

    Columns: day, cluster, node_pool, node, namespace, department (its owner that day, from the stored
    namespace day), shared, controller_kind, controller, pod, labels, the QUANTITIES (resource-hours)
    and cpu_cost, mem_cost, gpu_cost, cost in int64 units of 1e-8 (exact sums; costing.money.to_money turns them back).
    """
    cluster_id = checked_scope(start, end, cluster)
    columns = {
        "day": "day",
        "cluster": "cluster__name",
        "node_pool": "node__node_pool__name",
        "node": "node__name",
        "namespace_id": "namespace_id",
        "namespace": "namespace__name",
        "controller_kind": "workload__kind",
        "controller": "workload__name",
        "pod": "pod__name",
        "labels": "pod__labels",
        **{q: q for q in QUANTITIES},
        "cpu_cost": "cpu_cost",
        "mem_cost": "mem_cost",
        "gpu_cost": "gpu_cost",
        "cost": "cost",
    }
    qs = for_period(PodCostDay.objects, start, end, cluster_id)
    frame = pd.DataFrame.from_records(list(qs.values_list(*columns.values())), columns=list(columns))
    for cost in ("cpu_cost", "mem_cost", "gpu_cost", "cost"):
        frame[cost] = units_array(frame[cost]) if len(frame) else np.zeros(0, dtype=np.int64)
    for quantity in QUANTITIES:
        frame[quantity] = frame[quantity].astype(float)
    owners = {
        (n, d): (dept, shared)
        for n, d, dept, shared in for_period(NamespaceCostDay.objects, start, end, cluster_id).values_list(
            "namespace_id", "day", "department", "shared"
        )
    }
    found = [
        owners.get((n, d), ("", False)) for n, d in zip(frame["namespace_id"], frame["day"], strict=True)
    ]
    frame["department"] = [o[0] for o in found]
    frame["shared"] = np.array([o[1] for o in found], dtype=bool)
    return frame.drop(columns="namespace_id")


def node_idle_frame(start: date, end: date, *, cluster: str | None = None) -> pd.DataFrame:
    """One row per node and day over [start, end): day, cluster, node, cpu_idle, mem_idle, gpu_idle (int64,
    1e-8 units)."""
    qs = NodeCostDay.objects.filter(day__gte=start, day__lt=end)
    if cluster is not None:
        qs = qs.filter(cluster__name=cluster)
    frame = pd.DataFrame.from_records(
        list(qs.values_list("day", "cluster__name", "node__name", "cpu_idle", "mem_idle", "gpu_idle")),
        columns=["day", "cluster", "node", "cpu_idle", "mem_idle", "gpu_idle"],
    )
    for column in ("cpu_idle", "mem_idle", "gpu_idle"):
        frame[column] = units_array(frame[column]) if len(frame) else np.zeros(0, dtype=np.int64)
    return frame
