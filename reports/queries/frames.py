"""Pod days and node idle days as DataFrames, for APIs that aggregate pods their own way (OpenCost)."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
from django.db import connections
from django.db.models import TextField
from django.db.models.functions import Cast

from costing.models import (
    Cluster,
    LoadBalancerCostDay,
    Namespace,
    NamespaceCostDay,
    Node,
    NodeCostDay,
    Pod,
    PodCostDay,
    PodGroupDay,
    Workload,
)
from costing.money import UNITS_PER_CURRENCY, units_array
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
    from django.db.models import BigIntegerField, F, Value
    from django.db.models.functions import Round

    qs = NodeCostDay.objects.filter(day__gte=start, day__lt=end).order_by()
    if cluster is not None:
        qs = qs.filter(cluster__name=cluster)
    idle = ("cpu_idle", "mem_idle", "gpu_idle")
    # In integer units from the database (exact: the columns have 8 decimals), not a Decimal a value.
    qs = qs.annotate(
        **{f"_{c}": Cast(Round(F(c) * Value(UNITS_PER_CURRENCY)), BigIntegerField()) for c in idle}
    )
    frame = _fetch(qs.values_list("day", "cluster__name", "node__name", *(f"_{c}" for c in idle)))
    frame.columns = ["day", "cluster", "node", *idle]
    for column in idle:
        frame[column] = frame[column].to_numpy(dtype=np.int64) if len(frame) else np.zeros(0, dtype=np.int64)
    return frame


# What pod_cost_groups may group by beyond cluster, namespace and labels (always grouped): column -> path.
GROUPABLE = {
    "node": "node__name",
    "controller_kind": "workload__kind",
    "controller": "workload__name",
    "pod": "pod__name",
}

# The same columns in the rollup PodGroupDay (costing/rollups.py), which has no node or pod to group by:
# their least and greatest names per group instead.
ROLLUP_PATHS = {
    "node": "node_first",
    "controller_kind": "workload__kind",
    "controller": "workload__name",
    "pod": "pod_first",
}
ROLLUP_RANGES = {"node": ("node_first", "node_last"), "pod": ("pod_first", "pod_last")}
ROLLUP_GROUPABLE = frozenset({"controller_kind", "controller"})


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


_MONEY_SUMS = ("cpu_cost", "mem_cost", "gpu_cost", "storage_cost", "cost")


def _grouped_pod_days(start, end, cluster_id, by, *, by_day: bool, rollup: bool) -> pd.DataFrame:
    """The pod days summed per cluster, namespace, labels, `by` (and day): from PodGroupDay when `rollup`
    (by holds no node nor pod), else from PodCostDay joined to its pods for their labels.

    Money sums come as int64 units of 1e-8 (summed exactly in the database), labels as dicts decoded once
    per distinct label set (grouped by their text: PostgreSQL's jsonb text is canonical)."""
    from django.db.models import BigIntegerField, Max, Min, Sum, Value
    from django.db.models.functions import Round

    model, paths = (PodGroupDay, ROLLUP_PATHS) if rollup else (PodCostDay, GROUPABLE)
    grouped = ["cluster__name", "namespace_id", "namespace__name", "_labels"]
    grouped += [paths[c] for c in sorted(by)]
    grouped += ["day"] if by_day else []
    annotations = {f"_sum_{m}": Sum(m) for m in [*QUANTITIES, "samples"]}
    for m in _MONEY_SUMS:
        units = Round(Sum(m) * Value(UNITS_PER_CURRENCY))
        annotations[f"_sum_{m}"] = Cast(units, output_field=BigIntegerField())
    for column in GROUPABLE:
        if column not in by:
            low, high = ROLLUP_RANGES[column] if rollup and column in ROLLUP_RANGES else (paths[column],) * 2
            annotations[f"_min_{column}"] = Min(low)
            annotations[f"_max_{column}"] = Max(high)
    if not by_day:
        annotations["_first_day"], annotations["_last_day"] = Min("day"), Max("day")
    qs = for_period(model.objects, start, end, cluster_id).order_by()
    if not rollup and "pod" in by and connections[qs.db].vendor == "postgresql":
        frame = _per_pod(qs, grouped, annotations)
    else:
        labels = Cast("labels" if rollup else "pod__labels", output_field=TextField())
        qs = qs.annotate(_labels=labels)
        frame = _fetch(qs.values(*grouped).annotate(**annotations).values_list(*grouped, *annotations))
    decoded: dict[str, dict] = {}
    frame["_labels"] = [
        decoded[text] if text in decoded else decoded.setdefault(text, json.loads(text) if text else {})
        for text in frame["_labels"].tolist()
    ]
    for m in _MONEY_SUMS:
        frame[f"_sum_{m}"] = (
            frame[f"_sum_{m}"].to_numpy(dtype=np.int64) if len(frame) else np.zeros(0, np.int64)
        )
    return frame.rename(columns={"_labels": "labels", **{paths[c]: GROUPABLE[c] for c in by}})


def _fetch(query) -> pd.DataFrame:
    """The rows of a values_list query as a frame named by its fields. On PostgreSQL fetched with a plain
    cursor: what psycopg gives is what the frame needs, and Django's per-value converters (a float() or
    int() per summed value) would cost more than the query itself on a day of a large fleet."""
    if connections[query.db].vendor != "postgresql":
        return pd.DataFrame.from_records(list(query), columns=list(query._fields))
    sql, params = query.query.get_compiler(using=query.db).as_sql()
    with connections[query.db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        names = [column.name for column in cursor.description]  # each column is named AS its field
    return pd.DataFrame.from_records(rows, columns=names)[list(query._fields)]


def _per_pod(pod_days, grouped: list[str], annotations: dict) -> pd.DataFrame:
    """Grouped by pod (PostgreSQL): the pod days summed per pod id (and its cluster, namespace, node and
    workload ids) without a join, then the names and labels of the few pods, nodes... summed looked up by
    id, rather than every pod day joined to the pods (millions over a quarter of a churning fleet) and
    grouped by their labels. Rows of pods of the same name stay apart here; allocation_sets adds them up
    by name as it adds up anything else, and a property several rows of an allocation differ in is none."""
    ids = ["cluster_id", "namespace_id", "pod_id", "node_id", "workload_id"]
    ids += ["day"] if "day" in grouped else []
    sums = {k: v for k, v in annotations.items() if not k.startswith(("_min_", "_max_"))}
    frame = _fetch(pod_days.values(*ids).annotate(**sums).values_list(*ids, *sums))
    looked_up = {
        **_lookup(Cluster, frame["cluster_id"], {"cluster__name": "name"}),
        **_lookup(Namespace, frame["namespace_id"], {"namespace__name": "name"}),
        **_lookup(Pod, frame["pod_id"], {"pod__name": "name", "_labels": "labels::text"}),
        **_lookup(Node, frame["node_id"], {"node__name": "name"}),
        **_lookup(Workload, frame["workload_id"], {"workload__kind": "kind", "workload__name": "name"}),
    }
    for column, values in looked_up.items():
        frame[column] = values
    for column, path in GROUPABLE.items():  # one pod id: one value each; the names said per row
        if f"_min_{column}" in annotations:
            frame[f"_min_{column}"] = frame[f"_max_{column}"] = looked_up[path]
    return frame[[*grouped, *annotations]]


def _lookup(model, ids: pd.Series, fields: dict[str, str]) -> dict[str, list]:
    """Column -> the value of each id's row of `model` for `fields` (column -> an SQL expression over the
    table's columns, ours), each distinct id read once: one array parameter, not one a row (PostgreSQL)."""
    wanted = pd.unique(ids.to_numpy()).tolist()
    table = connections["default"].ops.quote_name(model._meta.db_table)
    columns = ", ".join(fields.values())
    with connections["default"].cursor() as cursor:
        # Names from our models, not from the request; the ids are a bound parameter.
        array = "{" + ",".join(map(str, wanted)) + "}"  # one text parameter: psycopg adapts a list by item
        cursor.execute(f"SELECT id, {columns} FROM {table} WHERE id = ANY(%s::bigint[])", [array])  # noqa: S608
        found = pd.DataFrame.from_records(cursor.fetchall(), columns=["id", *fields])
    at = pd.Index(found["id"]).get_indexer(ids.to_numpy())
    return {column: found[column].to_numpy(dtype=object)[at].tolist() for column in fields}


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
    start: date,
    end: date,
    by: set[str] | frozenset[str],
    *,
    by_day: bool,
    cluster: str | None = None,
    rollup: bool = True,
) -> pd.DataFrame:
    """The pod days of [start, end) summed in the database per cluster, namespace, pod labels, the GROUPABLE
    columns in `by` and, with `by_day`, the day: what pod_cost_frame gives, with far fewer rows.

    Columns as pod_cost_frame's, plus last_day (day is the first day of the row's pod days): a GROUPABLE
    column not in `by` holds its one value in the row, or None for several. Without `by_day`, a namespace whose
    owner (department, shared) changes within the period, or that lacks a stored day, makes it group by
    day after all, so that department and shared are always those of the pod's day.

    With `rollup` (the default) and `by` within ROLLUP_GROUPABLE, the rows are summed from the pod groups
    (PodGroupDay: a row per namespace, workload and label set a day) instead of every pod day; the figures
    are the same (tests/api/test_allocation_groups.py).
    """
    cluster_id = checked_scope(start, end, cluster)
    owners = _owners(start, end, cluster_id)
    constant = None if by_day else _constant_owners(owners)
    rollup = rollup and set(by) <= ROLLUP_GROUPABLE
    frame = _grouped_pod_days(start, end, cluster_id, by, by_day=constant is None, rollup=rollup)
    if constant is not None and not _within(frame, constant):
        constant = None
        frame = _grouped_pod_days(start, end, cluster_id, by, by_day=True, rollup=rollup)
    by_day = constant is None
    out = pd.DataFrame(
        {
            "day": frame["day" if by_day else "_first_day"],
            "last_day": frame["day" if by_day else "_last_day"],
            "cluster": frame["cluster__name"],
            "namespace": frame["namespace__name"],
            "labels": frame["labels"],
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
    for cost in _MONEY_SUMS:
        out[cost] = frame[f"_sum_{cost}"].to_numpy(dtype=np.int64)
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
