"""Cost rows for a period, grouped as asked (the `costs` command, the API, reports), read from the stored daily results only."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import connection
from django.utils.translation import gettext

from costing.engine.allocation import efficiency
from costing.models import (
    Cluster,
    ClusterDay,
    LoadBalancerCostDay,
    Namespace,
    NamespaceCostDay,
    Node,
    NodeCostDay,
    NodePool,
    Pod,
    PodCostDay,
    Workload,
    WorkloadCostDay,
)
from costing.money import largest_remainder_cents, sum_units, to_money, units_array
from reports.queries.cents import split_rows
from reports.queries.common import (
    COSTS,
    DEPARTMENT_PARTS,
    NO_LABEL,
    QUANTITIES,
    UNMOUNTED,
    QueryError,
    checked_scope,
    for_period,
    known_department,
)
from reports.queries.departments import department_cents

# The parts of a cost, each rounded to the cent so that the parts add up to the rounded cost. network_cost:
# load balancers, charged to namespaces (docs/cost-model.md, Load balancers), not to pods.
PARTS = ("cpu_cost", "mem_cost", "gpu_cost", "storage_cost", "network_cost")
MEASURES = [*COSTS, "network_cost"]
# What a grouping by pods (node pool, node) calls the load balancers of a cluster, which run on no node.
LOAD_BALANCERS = "(load balancers)"
GROUPINGS = ("cluster", "node_pool", "node", "namespace", "workload", "department", "label:KEY")


# The grouping keys each `by` shows, and where they come from in the pod rows.
KEYS = {
    "cluster": ["cluster"],
    "node_pool": ["cluster", "node_pool"],
    "node": ["cluster", "node_pool", "node"],
    "namespace": ["cluster", "namespace", "department"],
    "workload": ["cluster", "namespace", "workload_kind", "workload"],
}


def cost_rows(
    start: date, end: date, by: str, *, cluster: str | None = None, department: str | None = None
) -> list[dict]:
    """One row per group over the days [start, end), then a totals row (row="total").

    Money is in Decimal currency units rounded to the cent so that the rows add up to the totals row
    (largest remainder); without a department filter the totals row carries the period's physical cost
    and cost + idle + overhead == physical_cost to the cent. Quantities are resource-hours.

    by: cluster | node_pool | node | namespace | workload | department | label:KEY. `department`
    restricts pod-level groupings to the namespaces the department owned on each day, and the
    `department` grouping to that department's rows.
    """
    cluster_id = checked_scope(start, end, cluster)
    days = ClusterDay.objects.filter(day__gte=start, day__lt=end)
    if cluster_id is not None:
        days = days.filter(cluster_id=cluster_id)
    cluster_days = pd.DataFrame.from_records(
        list(
            days.values_list(
                "cluster_id",
                "cluster__name",
                "day",
                "physical_cost",
                "workload_cost",
                "idle_cost",
                "overhead_cost",
                "coverage",
                "storage_idle_cost",
            )
        ),
        columns=[
            "cluster_id", "cluster", "day", "physical", "workload", "idle", "overhead", "coverage", "storage_idle",
        ],
    )  # fmt: skip

    if by == "department":
        return _department_rows(start, end, cluster_id, department, cluster_days)
    label = None
    if by.startswith("label:"):
        label = by.removeprefix("label:")
        if not label:
            raise QueryError("by: label:KEY needs a label key, e.g. label:team")
    elif by not in KEYS:
        raise QueryError(f"by: {by!r} is not one of {', '.join(GROUPINGS)}")
    if department is not None and not known_department(department):
        raise QueryError(f"department: no costs were ever booked to {department!r}")

    keys = ["label"] if label is not None else KEYS[by]
    groups = _grouped(by, label, keys, start, end, cluster_id, department)
    if label is not None or by in ("workload", "node_pool", "node"):
        groups = _with_unmounted(groups, by, keys, start, end, cluster_id, department)
        groups = _with_load_balancers(groups, by, label, keys, start, end, cluster_id, department)
    with_idle = by in ("cluster", "node_pool", "node") and department is None
    if with_idle:
        groups = _add_idle(groups, by, start, end, cluster_id, cluster_days)
    rows = _round(groups, keys, by, cluster_days, with_totals=department is None)
    return rows


# Where each grouping reads from: the result table, the SQL of its keys, and whether the table has one
# row per group and day (then a group's coverage is a plain mean over its rows).
_SOURCES = {
    "namespace": (
        NamespaceCostDay,
        {"cluster": "c.name", "namespace": "ns.name", "department": "r.department"},
    ),
    "workload": (
        WorkloadCostDay,
        {"cluster": "c.name", "namespace": "ns.name", "workload_kind": "wl.kind", "workload": "wl.name"},
    ),
    "cluster": (NamespaceCostDay, {"cluster": "c.name"}),
    "node_pool": (PodCostDay, {"cluster": "c.name", "node_pool": "np.name"}),
    "node": (PodCostDay, {"cluster": "c.name", "node_pool": "np.name", "node": "n.name"}),
}


_ONE_ROW_PER_DAY = ("namespace", "workload")


def _grouped(by, label, keys, start, end, cluster_id, department) -> pd.DataFrame:
    """Per group: the summed quantities, the costs in 1e-8 units and the mean coverage of the cluster-days
    the group has costs in, summed in SQL so that a year of thousands of workloads never comes to Python
    row by row. `department` keeps the rows of namespaces the department owned (not shared) on their day.
    """
    table, exprs, joins, params = _group_source(by, label)
    where, where_params = _row_filter(start, end, cluster_id, department)
    sql = _grouped_sql(table, exprs, joins, where, one_row_per_day=label is None and by in _ONE_ROW_PER_DAY)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *where_params])
        rows = cursor.fetchall()
    return _group_frame(rows, keys, label)


def _group_source(by, label) -> tuple[type, dict[str, str], list[str], list]:
    """The result table a grouping reads, the SQL of its keys, the joins they need and the keys' parameters."""
    table, exprs = (PodCostDay, {}) if label is not None else _SOURCES[by]
    params: list = []
    joins = [f'JOIN "{Cluster._meta.db_table}" c ON c.id = r.cluster_id']
    if label is not None:
        joins.append(f'JOIN "{Pod._meta.db_table}" po ON po.id = r.pod_id')
        if connection.vendor == "postgresql":
            exprs = {"label": "po.labels ->> %s"}
            params.append(label)
        else:
            exprs = {"label": "json_extract(po.labels, %s)"}
            params.append('$."' + label.replace('"', '\\"') + '"')
    if by in ("namespace", "workload"):
        joins.append(f'JOIN "{Namespace._meta.db_table}" ns ON ns.id = r.namespace_id')
    if by == "workload":
        joins.append(f'JOIN "{Workload._meta.db_table}" wl ON wl.id = r.workload_id')
    if label is None and by in ("node_pool", "node"):
        joins.append(f'JOIN "{Node._meta.db_table}" n ON n.id = r.node_id')
        joins.append(f'JOIN "{NodePool._meta.db_table}" np ON np.id = n.node_pool_id')
    return table, exprs, joins, params


def _row_filter(start, end, cluster_id, department) -> tuple[list[str], list]:
    """The WHERE conditions on the result rows (period, cluster, department's own namespaces) and their values."""
    where = ["r.day >= %s", "r.day < %s"]
    params: list = [start, end]
    if cluster_id is not None:
        where.append("r.cluster_id = %s")
        params.append(cluster_id)
    if department is not None:
        where.append(
            f'EXISTS (SELECT 1 FROM "{NamespaceCostDay._meta.db_table}" o WHERE o.namespace_id = r.namespace_id'  # noqa: S608
            " AND o.day = r.day AND o.department = %s AND o.shared = %s)"
        )
        params += [department, False]
    return where, params


def _grouped_sql(
    table, exprs: dict[str, str], joins: list[str], where: list[str], *, one_row_per_day: bool
) -> str:
    """The query summing a grouping: per group and cluster-day first, so that the coverage is averaged over
    the cluster-days, not over the rows (unless the table already has one row per group and day)."""
    # Table and column names come from the models and this module; every value is a bound parameter.
    measures = [*QUANTITIES, *MEASURES]
    key_sql = ", ".join(f"{expr} AS k{i}" for i, expr in enumerate(exprs.values()))
    key_names = ", ".join(f"k{i}" for i in range(len(exprs)))
    ordinals = ", ".join(str(i + 1) for i in range(len(exprs)))
    # Only namespace days carry network_cost; pod and workload rows have none (_with_load_balancers).
    has_network = table is NamespaceCostDay
    sums = ", ".join(
        f"SUM(r.{m}) AS {m}" if m != "network_cost" or has_network else f"0 AS {m}" for m in measures
    )
    source = f'"{table._meta.db_table}" r {" ".join(joins)} WHERE {" AND ".join(where)}'
    coverage_join = (
        f'LEFT JOIN "{ClusterDay._meta.db_table}" cd ON cd.cluster_id = g.cluster_id AND cd.day = g.day'
    )
    if one_row_per_day:
        return (
            f"SELECT {key_names}, {', '.join(f'SUM(g.{m})' for m in measures)}, AVG(cd.coverage) FROM"  # noqa: S608
            f" (SELECT {key_sql}, r.cluster_id, r.day,"
            f" {', '.join(f'r.{m} AS {m}' if m != 'network_cost' or has_network else f'0 AS {m}' for m in measures)}"
            f" FROM {source}) g {coverage_join} GROUP BY {ordinals}"
        )
    return (
        f"SELECT {key_names}, {', '.join(f'SUM(g.{m})' for m in measures)}, AVG(cd.coverage) FROM"  # noqa: S608
        f" (SELECT {key_sql}, r.cluster_id AS cluster_id, r.day AS day, {sums} FROM {source}"
        f" GROUP BY {ordinals}, r.cluster_id, r.day) g {coverage_join} GROUP BY {ordinals}"
    )


def _group_frame(rows: list[tuple], keys: list[str], label) -> pd.DataFrame:
    """The summed rows as a frame sorted by its keys: costs as int64 units, quantities and coverage as floats."""
    measures = [*QUANTITIES, *MEASURES]
    columns = [*keys, *measures, "coverage"]
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame.from_records(rows, columns=columns)
    if label is not None:
        frame["label"] = [NO_LABEL if v is None or pd.isna(v) else str(v) for v in frame["label"]]
    for cost in MEASURES:
        frame[cost] = np.array([sum_units(v) for v in frame[cost]], dtype=np.int64)
    for quantity in QUANTITIES:
        frame[quantity] = frame[quantity].astype(float)
    frame["coverage"] = frame["coverage"].astype(float)
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def _with_unmounted(groups, by, keys, start, end, cluster_id, department) -> pd.DataFrame:
    """The groups plus, per namespace (workload grouping) or cluster (the others) with unmounted claims, a
    group UNMOUNTED holding that storage: a grouping of pods then still adds up to the namespaces."""
    qs = for_period(NamespaceCostDay.objects, start, end, cluster_id).filter(unmounted_storage_cost__gt=0)
    if department is not None:
        qs = qs.filter(department=department, shared=False)
    rows = list(qs.values_list("cluster__name", "namespace__name", "unmounted_storage_cost"))
    if not rows:
        return groups
    frame = pd.DataFrame(rows, columns=["cluster", "namespace", "units"])
    frame["units"] = units_array(frame["units"])
    per = [k for k in (["cluster", "namespace"] if by == "workload" else ["cluster"]) if k in keys]
    if per:
        summed = frame.groupby(per, sort=True)["units"].sum().reset_index()
    else:  # a label grouping: one group for all
        summed = pd.DataFrame({"units": [int(frame["units"].sum())]})
    extra = pd.DataFrame({k: summed[k] if k in per else UNMOUNTED for k in keys})
    if by == "workload":
        extra["workload_kind"] = ""
    for quantity in QUANTITIES:
        extra[quantity] = 0.0
    for cost in MEASURES:
        extra[cost] = summed["units"].to_numpy(np.int64) if cost in ("cost", "storage_cost") else 0
    extra["coverage"] = np.nan
    if groups.empty:
        return extra[[*keys, *QUANTITIES, *MEASURES, "coverage"]].reset_index(drop=True)
    return (
        pd.concat([groups, extra], ignore_index=True).sort_values(keys, kind="stable").reset_index(drop=True)
    )


def _with_load_balancers(groups, by, label, keys, start, end, cluster_id, department) -> pd.DataFrame:
    """Groupings of pods (node pool, node, workload, label) with the load balancers, which no pod pays:
    by workload each is a row of kind Service in its namespace; by node pool and node one row
    LOAD_BALANCERS per cluster; by label they have none (NO_LABEL). Their cost is network_cost."""
    qs = LoadBalancerCostDay.objects.filter(day__gte=start, day__lt=end)
    if cluster_id is not None:
        qs = qs.filter(cluster_id=cluster_id)
    if department is not None:
        owned = NamespaceCostDay.objects.filter(department=department, shared=False)
        qs = qs.filter(namespace_id__in=owned.values("namespace_id"))
        pairs = set(owned.filter(day__gte=start, day__lt=end).values_list("namespace_id", "day"))
    rows = list(
        qs.values_list(
            "cluster__name", "namespace__name", "load_balancer__name", "namespace_id", "day", "cost"
        )
    )
    if department is not None:
        rows = [r for r in rows if (r[3], r[4]) in pairs]
    if not rows:
        return groups
    lbs = pd.DataFrame.from_records(
        rows, columns=["cluster", "namespace", "service", "namespace_id", "day", "cost"]
    )
    lbs["cost"] = units_array(lbs["cost"])
    if label is not None:
        lbs["label"] = NO_LABEL
    elif by == "workload":
        lbs["workload_kind"], lbs["workload"] = "Service", lbs["service"]
    else:
        lbs["node_pool"] = LOAD_BALANCERS
        lbs["node"] = LOAD_BALANCERS
    extra = lbs.groupby(keys, sort=True)["cost"].sum().reset_index()
    extra["network_cost"] = extra["cost"]
    for column in [*QUANTITIES, *COSTS]:
        if column not in extra.columns:
            extra[column] = 0.0 if column in QUANTITIES else 0
    extra["coverage"] = np.nan
    combined = pd.concat([groups, extra[list(groups.columns)]], ignore_index=True) if len(groups) else extra
    summed = combined.groupby(keys, sort=True, dropna=False).agg(
        {**dict.fromkeys([*QUANTITIES, *MEASURES], "sum"), "coverage": "max"}
    )
    out = summed.reset_index()
    for cost in MEASURES:
        out[cost] = out[cost].astype(np.int64)
    return out[[*keys, *QUANTITIES, *MEASURES, "coverage"]]


def _add_idle(groups, by, start, end, cluster_id, cluster_days) -> pd.DataFrame:
    """Idle (and, per cluster, overhead) of the node days, also for groups whose pods cost nothing."""
    node_days = pd.DataFrame.from_records(
        list(
            for_period(NodeCostDay.objects, start, end, cluster_id).values_list(
                "cluster__name", "node_pool__name", "node__name", "cpu_idle", "mem_idle", "gpu_idle"
            )
        ),
        columns=["cluster", "node_pool", "node", "cpu_idle", "mem_idle", "gpu_idle"],
    )
    keys = KEYS[by]
    node_days["idle"] = (
        units_array(node_days["cpu_idle"])
        + units_array(node_days["mem_idle"])
        + units_array(node_days["gpu_idle"])
        if len(node_days)
        else 0
    )
    idle = (
        node_days.groupby(keys)["idle"].sum().reset_index()
        if len(node_days)
        else pd.DataFrame(columns=[*keys, "idle"])
    )
    # Storage idle (released or unbound volumes) is on no node: the cluster's, or its UNMOUNTED group's.
    storage = (
        pd.DataFrame({"cluster": cluster_days["cluster"], "idle": units_array(cluster_days["storage_idle"])})
        .groupby("cluster")["idle"]
        .sum()
        .reset_index()
        if len(cluster_days)
        else pd.DataFrame(columns=["cluster", "idle"])
    )
    storage = storage.loc[storage["idle"] != 0]
    if len(storage):
        for key in keys[1:]:
            storage[key] = UNMOUNTED
        idle = (
            pd.concat([idle, storage[[*keys, "idle"]]], ignore_index=True)
            .groupby(keys)["idle"]
            .sum()
            .reset_index()
        )
    out = groups.merge(idle, on=keys, how="outer")
    if by == "cluster":
        overhead = (
            pd.DataFrame(
                {"cluster": cluster_days["cluster"], "overhead": units_array(cluster_days["overhead"])}
            )
            .groupby("cluster")["overhead"]
            .sum()
            .reset_index()
        )
        cover = cluster_days.groupby("cluster")["coverage"].mean().reset_index()
        out = (
            out.drop(columns="coverage")
            .merge(cover, on="cluster", how="outer")
            .merge(overhead, on="cluster", how="outer")
        )
        out["overhead"] = out["overhead"].fillna(0).astype(np.int64)
    for column in [*QUANTITIES]:
        out[column] = out[column].fillna(0.0).astype(float)
    for column in [*MEASURES, "idle"]:
        out[column] = out[column].fillna(0).astype(np.int64)
    return out.sort_values(keys).reset_index(drop=True)


def _cents(values, total: Decimal) -> list[Decimal]:
    return largest_remainder_cents([to_money(v) for v in values], total=total)


def _round(groups: pd.DataFrame, keys: list[str], by: str, cluster_days: pd.DataFrame, *, with_totals: bool):
    n = len(groups)
    cost = groups["cost"].to_numpy(np.int64) if n else np.zeros(0, dtype=np.int64)
    workload = int(cost.sum())
    totals: dict[str, Decimal] = {}
    if with_totals:
        physical = sum(cluster_days["physical"], Decimal(0))
        idle_total = sum(cluster_days["idle"], Decimal(0))
        overhead_total = sum(cluster_days["overhead"], Decimal(0))
        totals["cost"], totals["idle"], totals["overhead"] = largest_remainder_cents(
            [to_money(workload), idle_total, overhead_total], total=physical
        )
        totals["physical_cost"] = totals["cost"] + totals["idle"] + totals["overhead"]
    else:
        totals["cost"] = largest_remainder_cents([to_money(workload)])[0]
    parts_total = largest_remainder_cents(
        [to_money(groups[c].sum() if n else 0) for c in PARTS],
        total=totals["cost"],
    )
    totals.update(zip(PARTS, parts_total, strict=True))

    columns: dict[str, list[Decimal]] = {}
    if by == "cluster" and with_totals:
        # Each cluster's cost + idle + overhead is its physical cost, to the cent.
        lines = [
            {"physical_cost": to_money(c + i + o), "c": to_money(c), "i": to_money(i), "o": to_money(o)}
            for c, i, o in zip(groups["cost"], groups["idle"], groups["overhead"], strict=True)
        ]
        split_rows(
            lines, "physical_cost", {"cost": "c", "idle": "i", "overhead": "o"}, totals["physical_cost"]
        )
        for column in ("cost", "idle", "overhead", "physical_cost"):
            columns[column] = [line[column] for line in lines]
        parts = [
            largest_remainder_cents([to_money(v) for v in values], total=row_cost)
            for *values, row_cost in zip(*(groups[p] for p in PARTS), columns["cost"], strict=True)
        ]
        for i, part in enumerate(PARTS):
            columns[part] = [split[i] for split in parts]
    else:
        for column in ("cost", *PARTS):
            columns[column] = _cents(groups[column], totals[column]) if n else []
        if "idle" in groups.columns:
            columns["idle"] = _cents(groups["idle"], totals["idle"]) if n else []

    rows = []
    for i in range(n):
        row = {"row": "group", **{k: _key(groups[k].iat[i]) for k in keys}}
        row.update({q: float(groups[q].iat[i]) for q in QUANTITIES})
        row["cpu_efficiency"] = float(efficiency(row["cpu_usage_core_hours"], row["cpu_request_core_hours"]))
        row["mem_efficiency"] = float(efficiency(row["mem_usage_gib_hours"], row["mem_request_gib_hours"]))
        row["gpu_efficiency"] = float(efficiency(row["gpu_usage_hours"], row["gpu_request_hours"]))
        for column, values in columns.items():
            row[column] = values[i]
        row["estimated_share"] = _share(groups["estimated_cost"].iat[i], groups["cost"].iat[i])
        coverage = groups["coverage"].iat[i]
        row["coverage"] = None if pd.isna(coverage) else float(coverage)
        rows.append(row)

    total_row = {"row": "total", **{k: gettext("Total") if j == 0 else "" for j, k in enumerate(keys)}}
    total_row.update({q: float(groups[q].sum()) if n else 0.0 for q in QUANTITIES})
    total_row["cpu_efficiency"] = float(
        efficiency(total_row["cpu_usage_core_hours"], total_row["cpu_request_core_hours"])
    )
    total_row["mem_efficiency"] = float(
        efficiency(total_row["mem_usage_gib_hours"], total_row["mem_request_gib_hours"])
    )
    total_row["gpu_efficiency"] = float(
        efficiency(total_row["gpu_usage_hours"], total_row["gpu_request_hours"])
    )
    for column, values in columns.items():
        total_row[column] = sum(values, Decimal("0.00"))
    for column in ("cost", *PARTS, "idle", "overhead", "physical_cost"):
        if column in totals and column not in total_row:
            total_row[column] = totals[column]
    total_row["estimated_share"] = _share(groups["estimated_cost"].sum() if n else 0, workload)
    total_row["coverage"] = float(cluster_days["coverage"].mean()) if len(cluster_days) else None
    rows.append(total_row)
    return rows


def _key(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return value.item() if isinstance(value, np.generic) else value


def _share(part, whole) -> float:
    return float(part) / float(whole) if whole else 0.0


def _department_rows(start, end, cluster_id, department, cluster_days) -> list[dict]:
    if department is not None and not known_department(department):
        raise QueryError(f"department: no costs were ever booked to {department!r}")
    # A department's cents are the organisation's rounding (departments.department_cents), whoever asks:
    # every department is rounded, then one kept.
    rows = [
        {
            "row": "line" if r["is_line"] else "department",
            "department": r["name"],
            **{p: r[p] for p in DEPARTMENT_PARTS},
        }
        for r in department_cents(start, end, cluster_id)
        if department is None or (r["name"] == department and not r["is_line"])
    ]
    total = {"row": "total", "department": "Total"}
    total.update({part: sum((r[part] for r in rows), Decimal("0.00")) for part in DEPARTMENT_PARTS})
    if department is None:
        total["physical_cost"] = largest_remainder_cents([sum(cluster_days["physical"], Decimal(0))])[0]
    rows.append(total)
    return rows
