"""Pod days and node idle days as DataFrames, for APIs that aggregate pods their own way (OpenCost)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from costing.models import LoadBalancerCostDay, NamespaceCostDay, NodeCostDay, PodCostDay
from costing.money import units_array
from reports.queries.common import QUANTITIES, UNMOUNTED, checked_scope, for_period


def pod_cost_frame(start: date, end: date, *, cluster: str | None = None) -> pd.DataFrame:
    """One row per pod and day over [start, end), for APIs that aggregate pods their own way (OpenCost).

    Columns: day, cluster, node_pool, node, namespace, department (its owner that day, from the stored
    namespace day), shared, controller_kind, controller, pod, labels, the QUANTITIES (resource-hours)
    and cpu_cost, mem_cost, gpu_cost, storage_cost, cost in int64 units of 1e-8 (exact sums; costing.money.to_money turns them back).
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
        "storage_cost": "storage_cost",
        "cost": "cost",
    }
    qs = for_period(PodCostDay.objects, start, end, cluster_id)
    frame = pd.DataFrame.from_records(list(qs.values_list(*columns.values())), columns=list(columns))
    for cost in ("cpu_cost", "mem_cost", "gpu_cost", "storage_cost", "cost"):
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


# What pod_cost_groups may group by beyond cluster, namespace and labels (always grouped): column -> path.
GROUPABLE = {
    "node": "node__name",
    "controller_kind": "workload__kind",
    "controller": "workload__name",
    "pod": "pod__name",
}


def _owners(start: date, end: date, cluster_id: int | None) -> dict:
    """(namespace id, day) -> (department, shared) of the stored namespace days."""
    return {
        (n, d): (dept, shared)
        for n, d, dept, shared in for_period(NamespaceCostDay.objects, start, end, cluster_id).values_list(
            "namespace_id", "day", "department", "shared"
        )
    }


def _constant_owners(owners: dict) -> dict | None:
    """namespace id -> (department, shared, first stored day, last stored day) when each namespace has one
    owner on all its stored days and those days run without a hole; None if not (group by day then)."""
    found: dict[int, set] = {}
    days: dict[int, list] = {}
    for (namespace, day), owner in owners.items():
        found.setdefault(namespace, set()).add(owner)
        days.setdefault(namespace, []).append(day)
    out = {}
    for namespace, owner in found.items():
        first, last = min(days[namespace]), max(days[namespace])
        if len(owner) != 1 or (last - first).days + 1 != len(days[namespace]):
            return None
        out[namespace] = (*next(iter(owner)), first, last)
    return out


def _grouped_pod_days(start, end, cluster_id, by, *, by_day: bool) -> pd.DataFrame:
    from django.db.models import Max, Min, Sum

    grouped = ["cluster__name", "namespace_id", "namespace__name", "pod__labels"]
    grouped += [GROUPABLE[c] for c in sorted(by)]
    grouped += ["day"] if by_day else []
    annotations = {
        f"_sum_{m}": Sum(m)
        for m in [*QUANTITIES, "samples", "cpu_cost", "mem_cost", "gpu_cost", "storage_cost", "cost"]
    }
    for column in GROUPABLE:
        if column not in by:
            annotations[f"_min_{column}"] = Min(GROUPABLE[column])
            annotations[f"_max_{column}"] = Max(GROUPABLE[column])
    if not by_day:
        annotations["_first_day"], annotations["_last_day"] = Min("day"), Max("day")
    qs = for_period(PodCostDay.objects, start, end, cluster_id).order_by()
    rows = list(qs.values(*grouped).annotate(**annotations).values_list(*grouped, *annotations))
    return pd.DataFrame.from_records(rows, columns=[*grouped, *annotations])


def _within(frame: pd.DataFrame, constant: dict) -> bool:
    """Whether every row's days lie within its namespace's run of stored days (so its owner is known)."""
    for namespace, first, last in zip(
        frame["namespace_id"], frame["_first_day"], frame["_last_day"], strict=True
    ):
        known = constant.get(namespace)
        if known is None or first < known[2] or last > known[3]:
            return False
    return True


def pod_cost_groups(
    start: date, end: date, by: set[str] | frozenset[str], *, by_day: bool, cluster: str | None = None
) -> pd.DataFrame:
    """The pod days of [start, end) summed in the database per cluster, namespace, pod labels, the GROUPABLE
    columns in `by` and, with `by_day`, the day: what pod_cost_frame gives, with far fewer rows.

    Columns as pod_cost_frame's, plus last_day (day is the first day of the row's pod days): a GROUPABLE
    column not in `by` holds its one value in the row, or None for several. Without `by_day`, a namespace whose
    owner (department, shared) changes within the period, or that lacks a stored day, makes it group by
    day after all, so that department and shared are always those of the pod's day.
    """
    cluster_id = checked_scope(start, end, cluster)
    owners = _owners(start, end, cluster_id)
    constant = None if by_day else _constant_owners(owners)
    frame = _grouped_pod_days(start, end, cluster_id, by, by_day=constant is None)
    if constant is not None and not _within(frame, constant):
        constant = None
        frame = _grouped_pod_days(start, end, cluster_id, by, by_day=True)
    by_day = constant is None
    out = pd.DataFrame(
        {
            "day": frame["day" if by_day else "_first_day"],
            "last_day": frame["day" if by_day else "_last_day"],
            "cluster": frame["cluster__name"],
            "namespace": frame["namespace__name"],
            "labels": frame["pod__labels"],
        }
    )
    for column in GROUPABLE:
        if column in by:
            out[column] = frame[GROUPABLE[column]]
        else:
            low, high = frame[f"_min_{column}"].to_numpy(), frame[f"_max_{column}"].to_numpy()
            out[column] = pd.Series(np.where(low == high, low, None), index=out.index, dtype=object)
    for quantity in QUANTITIES:
        out[quantity] = frame[f"_sum_{quantity}"].astype(float)
    out["samples"] = frame["_sum_samples"].astype(float)
    for cost in ("cpu_cost", "mem_cost", "gpu_cost", "storage_cost", "cost"):
        out[cost] = units_array(frame[f"_sum_{cost}"]) if len(frame) else np.zeros(0, dtype=np.int64)
    if by_day:
        found = [
            owners.get((n, d), ("", False)) for n, d in zip(frame["namespace_id"], frame["day"], strict=True)
        ]
    else:
        found = [constant[n][:2] for n in frame["namespace_id"]]
    out["department"] = [o[0] for o in found]
    out["shared"] = np.array([o[1] for o in found], dtype=bool)
    return _with_unmounted(out, start, end, cluster_id, by_day=by_day)


def _with_unmounted(pods: pd.DataFrame, start: date, end: date, cluster_id, *, by_day: bool) -> pd.DataFrame:
    """The rows plus, per namespace (and day) with claims no pod mounted, a row UNMOUNTED (node, controller,
    pod) holding that storage as storage_cost and cost: OpenCost's __unmounted__, owned by its namespace."""
    qs = for_period(NamespaceCostDay.objects, start, end, cluster_id).filter(unmounted_storage_cost__gt=0)
    rows = list(
        qs.values_list(
            "day", "cluster__name", "namespace__name", "department", "shared", "unmounted_storage_cost"
        )
    )
    if not rows:
        return pods
    frame = pd.DataFrame(
        rows, columns=["day", "cluster", "namespace", "department", "shared", "storage_cost"]
    )
    frame["storage_cost"] = units_array(frame["storage_cost"])
    keys = ["cluster", "namespace", "department", "shared"]
    if by_day:
        frame["last_day"] = frame["day"]
    else:  # one owner a namespace over the period (pod_cost_groups checked it)
        frame = (
            frame.groupby(keys, sort=True)
            .agg(day=("day", "min"), last_day=("day", "max"), storage_cost=("storage_cost", "sum"))
            .reset_index()
        )
    extra = pd.DataFrame(
        {
            "day": frame["day"],
            "last_day": frame["last_day"],
            "cluster": frame["cluster"],
            "namespace": frame["namespace"],
            "labels": [{} for _ in range(len(frame))],
            **dict.fromkeys(GROUPABLE, UNMOUNTED),
            **dict.fromkeys(QUANTITIES, 0.0),
            "samples": 0.0,
            **{cost: np.zeros(len(frame), dtype=np.int64) for cost in ("cpu_cost", "mem_cost", "gpu_cost")},
            "storage_cost": frame["storage_cost"].to_numpy(np.int64),
            "cost": frame["storage_cost"].to_numpy(np.int64),
            "department": frame["department"],
            "shared": frame["shared"].astype(bool),
        }
    )
    return (
        pd.concat([pods, extra[pods.columns]], ignore_index=True) if len(pods) else extra[list(pods.columns)]
    )


def load_balancer_frame(start: date, end: date, *, cluster: str | None = None) -> pd.DataFrame:
    """One row per load balancer and day over [start, end) (LoadBalancerCostDay): day, cluster, namespace,
    department, shared (its namespace's owner that day), service, selector (the Service's spec.selector)
    and lb_cost in int64 units of 1e-8."""
    cluster_id = checked_scope(start, end, cluster)
    rows = list(
        for_period(LoadBalancerCostDay.objects, start, end, cluster_id).values_list(
            "day",
            "cluster__name",
            "namespace_id",
            "namespace__name",
            "load_balancer__name",
            "load_balancer__selector",
            "cost",
        )
    )
    frame = pd.DataFrame.from_records(
        rows, columns=["day", "cluster", "namespace_id", "namespace", "service", "selector", "lb_cost"]
    )
    frame["lb_cost"] = units_array(frame["lb_cost"]) if len(frame) else np.zeros(0, dtype=np.int64)
    owners = _owners(start, end, cluster_id)
    found = [
        owners.get((n, d), ("", False)) for n, d in zip(frame["namespace_id"], frame["day"], strict=True)
    ]
    frame["department"] = [o[0] for o in found]
    frame["shared"] = np.array([o[1] for o in found], dtype=bool)
    return frame.drop(columns="namespace_id")
