"""Cost rows for a period, grouped as asked, read from the stored daily results only (never recomputed)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import connection

from costing.access import restrict_to_owners
from costing.engine.allocation import POD_QUANTITIES, efficiency
from costing.engine.rounding import round_lines
from costing.models import (
    Cluster,
    ClusterDay,
    DepartmentCostDay,
    NamespaceCostDay,
    NodeCostDay,
    PodCostDay,
    WorkloadCostDay,
)
from costing.money import largest_remainder_cents, sum_units, to_money, units_array, units_as_float

GROUPINGS = ("cluster", "node_pool", "node", "namespace", "workload", "department", "label:KEY")
QUANTITIES = POD_QUANTITIES
COSTS = ["cpu_cost", "mem_cost", "cost", "estimated_cost"]
# The grouping keys each `by` shows, and where they come from in the pod rows.
KEYS = {
    "cluster": ["cluster"],
    "node_pool": ["cluster", "node_pool"],
    "node": ["cluster", "node_pool", "node"],
    "namespace": ["cluster", "namespace", "department"],
    "workload": ["cluster", "namespace", "workload_kind", "workload"],
}
NO_LABEL = "(none)"


class QueryError(ValueError):
    """The arguments of a query do not name a period, grouping, cluster or department that can be read."""


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
    if not isinstance(start, date) or not isinstance(end, date) or end <= start:
        raise QueryError(f"period: end {end} must be after start {start} (the end is exclusive)")
    cluster_id = None
    if cluster is not None:
        cluster_id = Cluster.objects.filter(name=cluster).values_list("pk", flat=True).first()
        if cluster_id is None:
            raise QueryError(f"cluster: no cluster named {cluster!r}")
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
            )
        ),
        columns=["cluster_id", "cluster", "day", "physical", "workload", "idle", "overhead", "coverage"],
    )

    if by == "department":
        return _department_rows(start, end, cluster_id, department, cluster_days)
    label = None
    if by.startswith("label:"):
        label = by.removeprefix("label:")
        if not label:
            raise QueryError("by: label:KEY needs a label key, e.g. label:team")
    elif by not in KEYS:
        raise QueryError(f"by: {by!r} is not one of {', '.join(GROUPINGS)}")
    if department is not None and not _known_department(department):
        raise QueryError(f"department: no costs were ever booked to {department!r}")

    keys = ["label"] if label is not None else KEYS[by]
    groups = _grouped(by, label, keys, start, end, cluster_id, department)
    with_idle = by in ("cluster", "node_pool", "node") and department is None
    if with_idle:
        groups = _add_idle(groups, by, start, end, cluster_id, cluster_days)
    rows = _round(groups, keys, by, cluster_days, with_totals=department is None)
    return rows


def known_department(name: str) -> bool:
    """Whether costs were ever booked to `name` (a department or a pool line such as Idle)."""
    return _known_department(name)


def _known_department(name: str) -> bool:
    return (
        NamespaceCostDay.objects.filter(department=name).exists()
        or DepartmentCostDay.objects.filter(name=name).exists()
    )


def _filter(qs, start, end, cluster_id):
    qs = qs.filter(day__gte=start, day__lt=end)
    return qs.filter(cluster_id=cluster_id) if cluster_id is not None else qs


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
    from costing.models import Cluster, ClusterDay, Namespace, Node, NodePool, Pod, Workload

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
    where = ["r.day >= %s", "r.day < %s"]
    params += [start, end]
    if cluster_id is not None:
        where.append("r.cluster_id = %s")
        params.append(cluster_id)
    if department is not None:
        where.append(
            f'EXISTS (SELECT 1 FROM "{NamespaceCostDay._meta.db_table}" o WHERE o.namespace_id = r.namespace_id'  # noqa: S608
            " AND o.day = r.day AND o.department = %s AND o.shared = %s)"
        )
        params += [department, False]
    # Table and column names come from the models and this module; every value is a bound parameter.
    measures = [*QUANTITIES, *COSTS]
    key_sql = ", ".join(f"{expr} AS k{i}" for i, expr in enumerate(exprs.values()))
    key_names = ", ".join(f"k{i}" for i in range(len(exprs)))
    ordinals = ", ".join(str(i + 1) for i in range(len(exprs)))
    sums = ", ".join(f"SUM(r.{m}) AS {m}" for m in measures)
    source = f'"{table._meta.db_table}" r {" ".join(joins)} WHERE {" AND ".join(where)}'
    coverage_join = (
        f'LEFT JOIN "{ClusterDay._meta.db_table}" cd ON cd.cluster_id = g.cluster_id AND cd.day = g.day'
    )
    if label is None and by in _ONE_ROW_PER_DAY:
        sql = (
            f"SELECT {key_names}, {', '.join(f'SUM(g.{m})' for m in measures)}, AVG(cd.coverage) FROM"  # noqa: S608
            f" (SELECT {key_sql}, r.cluster_id, r.day, {', '.join(f'r.{m} AS {m}' for m in measures)}"
            f" FROM {source}) g {coverage_join} GROUP BY {ordinals}"
        )
    else:
        sql = (
            f"SELECT {key_names}, {', '.join(f'SUM(g.{m})' for m in measures)}, AVG(cd.coverage) FROM"  # noqa: S608
            f" (SELECT {key_sql}, r.cluster_id AS cluster_id, r.day AS day, {sums} FROM {source}"
            f" GROUP BY {ordinals}, r.cluster_id, r.day) g {coverage_join} GROUP BY {ordinals}"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    columns = [*keys, *measures, "coverage"]
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame.from_records(rows, columns=columns)
    if label is not None:
        frame["label"] = [NO_LABEL if v is None or pd.isna(v) else str(v) for v in frame["label"]]
    for cost in COSTS:
        frame[cost] = np.array([sum_units(v) for v in frame[cost]], dtype=np.int64)
    for quantity in QUANTITIES:
        frame[quantity] = frame[quantity].astype(float)
    frame["coverage"] = frame["coverage"].astype(float)
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def _add_idle(groups, by, start, end, cluster_id, cluster_days) -> pd.DataFrame:
    """Idle (and, per cluster, overhead) of the node days, also for groups whose pods cost nothing."""
    node_days = pd.DataFrame.from_records(
        list(
            _filter(NodeCostDay.objects, start, end, cluster_id).values_list(
                "cluster__name", "node_pool__name", "node__name", "cpu_idle", "mem_idle"
            )
        ),
        columns=["cluster", "node_pool", "node", "cpu_idle", "mem_idle"],
    )
    keys = KEYS[by]
    node_days["idle"] = (
        units_array(node_days["cpu_idle"]) + units_array(node_days["mem_idle"]) if len(node_days) else 0
    )
    idle = (
        node_days.groupby(keys)["idle"].sum().reset_index()
        if len(node_days)
        else pd.DataFrame(columns=[*keys, "idle"])
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
    for column in [*COSTS, "idle"]:
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
    totals["cpu_cost"], totals["mem_cost"] = largest_remainder_cents(
        [to_money(groups["cpu_cost"].sum() if n else 0), to_money(groups["mem_cost"].sum() if n else 0)],
        total=totals["cost"],
    )

    columns: dict[str, list[Decimal]] = {}
    if by == "cluster" and with_totals:
        # Each cluster's cost + idle + overhead is its physical cost, to the cent.
        lines = units_as_float(groups[["cost", "idle", "overhead"]].astype(float))
        lines["total"] = units_as_float((groups["cost"] + groups["idle"] + groups["overhead"]).to_numpy())
        rounded = round_lines(lines, parts=("cost", "idle", "overhead"), grand_total=totals["physical_cost"])
        for column in ("cost", "idle", "overhead", "total"):
            columns[column] = list(rounded[column])
        columns["physical_cost"] = columns.pop("total")
        cpu_mem = [
            largest_remainder_cents([to_money(c), to_money(m)], total=row_cost)
            for c, m, row_cost in zip(groups["cpu_cost"], groups["mem_cost"], columns["cost"], strict=True)
        ]
        columns["cpu_cost"] = [pair[0] for pair in cpu_mem]
        columns["mem_cost"] = [pair[1] for pair in cpu_mem]
    else:
        for column in ("cost", "cpu_cost", "mem_cost"):
            columns[column] = _cents(groups[column], totals[column]) if n else []
        if "idle" in groups.columns:
            columns["idle"] = _cents(groups["idle"], totals["idle"]) if n else []

    rows = []
    for i in range(n):
        row = {"row": "group", **{k: _key(groups[k].iat[i]) for k in keys}}
        row.update({q: float(groups[q].iat[i]) for q in QUANTITIES})
        row["cpu_efficiency"] = float(efficiency(row["cpu_usage_core_hours"], row["cpu_request_core_hours"]))
        row["mem_efficiency"] = float(efficiency(row["mem_usage_gib_hours"], row["mem_request_gib_hours"]))
        for column, values in columns.items():
            row[column] = values[i]
        row["estimated_share"] = _share(groups["estimated_cost"].iat[i], groups["cost"].iat[i])
        coverage = groups["coverage"].iat[i]
        row["coverage"] = None if pd.isna(coverage) else float(coverage)
        rows.append(row)

    total_row = {"row": "total", **{k: "Total" if j == 0 else "" for j, k in enumerate(keys)}}
    total_row.update({q: float(groups[q].sum()) if n else 0.0 for q in QUANTITIES})
    total_row["cpu_efficiency"] = float(
        efficiency(total_row["cpu_usage_core_hours"], total_row["cpu_request_core_hours"])
    )
    total_row["mem_efficiency"] = float(
        efficiency(total_row["mem_usage_gib_hours"], total_row["mem_request_gib_hours"])
    )
    for column, values in columns.items():
        total_row[column] = sum(values, Decimal("0.00"))
    for column in ("cost", "cpu_cost", "mem_cost", "idle", "overhead", "physical_cost"):
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
    qs = _filter(DepartmentCostDay.objects, start, end, cluster_id)
    if department is not None:
        if not _known_department(department):
            raise QueryError(f"department: no costs were ever booked to {department!r}")
        qs = qs.filter(name=department)
    parts = ["direct", "shared", "idle", "overhead", "total"]
    frame = pd.DataFrame.from_records(
        list(qs.values_list("name", "is_line", *parts)), columns=["name", "is_line", *parts]
    )
    if frame.empty:
        grouped = frame
    else:
        for part in parts:
            frame[part] = units_array(frame[part])
        grouped = frame.groupby(["is_line", "name"], sort=True)[parts].sum().reset_index()
    grand = sum(cluster_days["physical"], Decimal(0)) if department is None else None
    lines = units_as_float(grouped[parts].astype(float)) if len(grouped) else pd.DataFrame(columns=parts)
    rounded = round_lines(lines, grand_total=grand) if len(grouped) else lines
    rows = []
    for i in range(len(grouped)):
        rows.append(
            {
                "row": "line" if grouped["is_line"].iat[i] else "department",
                "department": grouped["name"].iat[i],
                **{part: rounded[part].iat[i] for part in parts},
            }
        )
    total = {"row": "total", "department": "Total"}
    total.update({part: sum((r[part] for r in rows), Decimal("0.00")) for part in parts})
    if grand is not None:
        total["physical_cost"] = largest_remainder_cents([grand])[0]
    rows.append(total)
    return rows


def pod_cost_frame(start: date, end: date, *, cluster: str | None = None) -> pd.DataFrame:
    """One row per pod and day over [start, end), for APIs that aggregate pods their own way (OpenCost).

    Columns: day, cluster, node_pool, node, namespace, department (its owner that day, from the stored
    namespace day), shared, controller_kind, controller, pod, labels, the QUANTITIES (resource-hours)
    and cpu_cost, mem_cost, cost in int64 units of 1e-8 (exact sums; `_money` turns them back).
    """
    if not isinstance(start, date) or not isinstance(end, date) or end <= start:
        raise QueryError(f"period: end {end} must be after start {start} (the end is exclusive)")
    cluster_id = None
    if cluster is not None:
        cluster_id = Cluster.objects.filter(name=cluster).values_list("pk", flat=True).first()
        if cluster_id is None:
            raise QueryError(f"cluster: no cluster named {cluster!r}")
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
        "cost": "cost",
    }
    qs = _filter(PodCostDay.objects, start, end, cluster_id)
    frame = pd.DataFrame.from_records(list(qs.values_list(*columns.values())), columns=list(columns))
    for cost in ("cpu_cost", "mem_cost", "cost"):
        frame[cost] = units_array(frame[cost]) if len(frame) else np.zeros(0, dtype=np.int64)
    for quantity in QUANTITIES:
        frame[quantity] = frame[quantity].astype(float)
    owners = {
        (n, d): (dept, shared)
        for n, d, dept, shared in _filter(NamespaceCostDay.objects, start, end, cluster_id).values_list(
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
    """One row per node and day over [start, end): day, cluster, node, cpu_idle, mem_idle (int64, 1e-8 units)."""
    qs = NodeCostDay.objects.filter(day__gte=start, day__lt=end)
    if cluster is not None:
        qs = qs.filter(cluster__name=cluster)
    frame = pd.DataFrame.from_records(
        list(qs.values_list("day", "cluster__name", "node__name", "cpu_idle", "mem_idle")),
        columns=["day", "cluster", "node", "cpu_idle", "mem_idle"],
    )
    for column in ("cpu_idle", "mem_idle"):
        frame[column] = units_array(frame[column]) if len(frame) else np.zeros(0, dtype=np.int64)
    return frame


# ---------------------------------------------------------------------------------------------------
# Page queries: aggregated in SQL from the daily result tables, one query per table a page shows, so
# that a page over a year of 2,000 workloads stays within its time budget. Money comes back as exact
# Decimal sums; `cents` rounds a column so that it adds up to its rounded total.
#
# `departments` is None (every department) or the set of department names whose rows may be read:
# namespace-level rows are kept only for the days their namespace belonged (not shared) to one of
# them (costing.access.restrict_to_owners, the one per-day ownership rule).
# ---------------------------------------------------------------------------------------------------

ZERO = Decimal(0)
DAY_TOTALS = ["physical_cost", "workload_cost", "idle_cost", "overhead_cost", "estimated_cost"]
DEPARTMENT_PARTS = ["direct", "shared", "idle", "overhead", "total"]


def _sums(fields) -> dict:
    from django.db.models import Sum

    return {f: Sum(f) for f in fields}


def _zero_none(row: dict, fields) -> dict:
    for f in fields:
        if row.get(f) is None:
            row[f] = ZERO if f not in QUANTITIES else 0.0
    return row


def cents(rows: list[dict], field: str, total: Decimal | None = None) -> Decimal:
    """Round `field` of every row to the cent so that the rows add up to the rounded total (largest
    remainder); returns that rounded total. `total` is the exact whole when the rows are only part of it."""
    values = [r[field] for r in rows]
    exact = total if total is not None else sum(values, ZERO)
    if not rows:
        return largest_remainder_cents([exact])[0]
    rounded = largest_remainder_cents(values, total=exact)
    for row, value in zip(rows, rounded, strict=True):
        row[field] = value
    return sum(rounded, Decimal("0.00"))


def split_cents(whole: Decimal, parts: dict[str, Decimal]) -> dict[str, Decimal]:
    """Parts of one figure rounded to the cent so that they add up to the rounded whole."""
    rounded = largest_remainder_cents(list(parts.values()), total=whole)
    return dict(zip(parts, rounded, strict=True))


def cluster_days(start: date, end: date, cluster_id: int | None = None) -> list[dict]:
    """One row per stored cluster-day: its physical cost split into workload, idle and overhead."""
    days = _filter(ClusterDay.objects, start, end, cluster_id)
    return list(
        days.order_by("day", "cluster__name").values(
            "day", "cluster_id", "cluster__name", "coverage", "dirty", "computed_at", *DAY_TOTALS
        )
    )


def cluster_totals(start: date, end: date, cluster_id: int | None = None) -> list[dict]:
    """Per cluster over [start, end): physical, workload, idle, overhead and estimated cost, mean coverage."""
    from django.db.models import Avg, Count

    qs = _filter(ClusterDay.objects, start, end, cluster_id).values("cluster_id", "cluster__name")
    rows = list(
        qs.annotate(**_sums(DAY_TOTALS), coverage=Avg("coverage"), days=Count("id")).order_by("cluster__name")
    )
    return [_zero_none(r, DAY_TOTALS) for r in rows]


def department_days(start: date, end: date, cluster_id: int | None = None, departments=None) -> list[dict]:
    """Per day and department (or pool line): direct + shared + idle + overhead = total, summed over clusters."""
    qs = _filter(DepartmentCostDay.objects, start, end, cluster_id)
    if departments is not None:
        qs = qs.filter(name__in=list(departments), is_line=False)
    rows = qs.values("day", "name", "is_line").annotate(**_sums(DEPARTMENT_PARTS)).order_by("day", "name")
    return list(rows)


def department_cluster_days(
    start: date, end: date, cluster_id: int | None = None, departments=None
) -> list[dict]:
    """Per day and cluster: what the given departments pay (their totals), for a department's trend."""
    qs = _filter(DepartmentCostDay.objects, start, end, cluster_id)
    if departments is not None:
        qs = qs.filter(name__in=list(departments), is_line=False)
    rows = (
        qs.values("day", "cluster_id", "cluster__name")
        .annotate(**_sums(DEPARTMENT_PARTS))
        .order_by("day", "cluster__name")
    )
    return list(rows)


def department_totals(start: date, end: date, cluster_id: int | None = None, departments=None) -> list[dict]:
    """Per department (and pool line) over the period, departments first then lines, by name."""
    qs = _filter(DepartmentCostDay.objects, start, end, cluster_id)
    if departments is not None:
        qs = qs.filter(name__in=list(departments), is_line=False)
    rows = qs.values("name", "is_line").annotate(**_sums(DEPARTMENT_PARTS)).order_by("is_line", "name")
    return [_zero_none(r, DEPARTMENT_PARTS) for r in rows]


def round_department_rows(rows: list[dict], grand_total: Decimal | None = None) -> dict:
    """Departments' totals to the cent against the (exact) grand total, then each row's parts against its
    rounded total (as cost_rows does); returns the totals row."""
    if not rows:
        return {p: Decimal("0.00") for p in DEPARTMENT_PARTS}
    lines = pd.DataFrame([{p: float(r[p]) for p in DEPARTMENT_PARTS} for r in rows])
    totals = largest_remainder_cents([r["total"] for r in rows], total=grand_total)
    lines["total"] = [float(t) for t in totals]
    rounded = round_lines(lines, grand_total=sum(totals, ZERO))
    for i, row in enumerate(rows):
        for p in DEPARTMENT_PARTS:
            row[p] = rounded[p].iat[i]
    return {p: sum((r[p] for r in rows), Decimal("0.00")) for p in DEPARTMENT_PARTS}


def namespace_totals(start: date, end: date, cluster_id: int | None = None, departments=None) -> list[dict]:
    """Per namespace and owner over the period (a namespace that moved department shows once per owner)."""
    qs = _filter(NamespaceCostDay.objects, start, end, cluster_id)
    if departments is not None:
        qs = qs.filter(department__in=list(departments), shared=False)
    from django.db.models import Count

    rows = (
        qs.values("namespace_id", "namespace__name", "cluster__name", "department", "shared")
        .annotate(**_sums([*QUANTITIES, *COSTS]), days=Count("id"))
        .order_by("-cost", "cluster__name", "namespace__name")
    )
    return [with_efficiency(_zero_none(r, [*QUANTITIES, *COSTS])) for r in rows]


def usage_totals(start: date, end: date, cluster_id: int | None = None, departments=None) -> dict:
    """Requested, used and billable resource-hours with their efficiency, over the visible namespaces."""
    qs = _filter(NamespaceCostDay.objects, start, end, cluster_id)
    if departments is not None:
        qs = qs.filter(department__in=list(departments), shared=False)
    return with_efficiency(_zero_none(qs.aggregate(**_sums([*QUANTITIES, *COSTS])), [*QUANTITIES, *COSTS]))


def with_efficiency(row: dict) -> dict:
    row["cpu_efficiency"] = float(efficiency(row["cpu_usage_core_hours"], row["cpu_request_core_hours"]))
    row["mem_efficiency"] = float(efficiency(row["mem_usage_gib_hours"], row["mem_request_gib_hours"]))
    return row


RANKED = [
    "cost",
    "cpu_request_core_hours",
    "cpu_usage_core_hours",
    "mem_request_gib_hours",
    "mem_usage_gib_hours",
]


def workload_totals(
    start: date,
    end: date,
    cluster_id: int | None = None,
    departments=None,
    *,
    namespace_id: int | None = None,
    limit: int | None = None,
) -> tuple[list[dict], dict]:
    """Workloads by cost, highest first (at most `limit`), and the sums over all of them (row "all").

    One aggregation per workload id (no joins: over a year that is the page's one scan of
    WorkloadCostDay), ranked in Python; names are read for the workloads shown only."""
    from django.db.models import Sum

    from costing.models import Workload

    qs = restrict_to_owners(_filter(WorkloadCostDay.objects, start, end, cluster_id), departments)
    if namespace_id is not None:
        qs = qs.filter(namespace_id=namespace_id)
    # Ranking needs the cost alone (the cheapest scan); the quantities are read for the rows shown.
    grouped = list(qs.values("workload_id").annotate(cost=Sum("cost")).order_by())
    grouped.sort(key=lambda r: (-r["cost"], r["workload_id"]))
    every = {"cost": sum((r["cost"] for r in grouped), ZERO), "workloads": len(grouped)}
    rows = grouped[:limit] if limit else grouped
    if limit:
        ids = [r["workload_id"] for r in rows]
        quantities = {
            q.pop("workload_id"): q
            for q in qs.filter(workload_id__in=ids)
            .values("workload_id")
            .annotate(**_sums(RANKED[1:]))
            .order_by()
        }
    else:
        quantities = {
            q.pop("workload_id"): q for q in qs.values("workload_id").annotate(**_sums(RANKED[1:])).order_by()
        }
    names = {
        w["pk"]: w
        for w in Workload.objects.filter(pk__in=[r["workload_id"] for r in rows]).values(
            "pk", "kind", "name", "namespace__name", "cluster__name"
        )
    }
    for row in rows:
        found = names.get(row["workload_id"], {})
        row["workload__kind"] = found.get("kind", "")
        row["workload__name"] = found.get("name", "")
        row["namespace__name"] = found.get("namespace__name", "")
        row["cluster__name"] = found.get("cluster__name", "")
        row.update(quantities.get(row["workload_id"], dict.fromkeys(RANKED[1:], 0.0)))
        with_efficiency(row)
    return rows, every


def workload_days(workload_id: int, start: date, end: date, departments=None) -> list[dict]:
    """A workload's stored days (only the days its namespace belonged to `departments`, when given)."""
    qs = restrict_to_owners(
        _filter(WorkloadCostDay.objects, start, end, None).filter(workload_id=workload_id), departments
    )
    return list(qs.order_by("day").values("day", "pods", *QUANTITIES, *COSTS))


def workload_pods(workload_id: int, start: date, end: date, departments=None) -> list[dict]:
    """The pods of a workload over the period, costliest first, with quantities and efficiency."""
    from django.db.models import Count, Sum

    qs = restrict_to_owners(
        PodCostDay.objects.filter(workload_id=workload_id, day__gte=start, day__lt=end), departments
    )
    rows = (
        qs.values("pod_id", "pod__name", "node__name", "node_id")
        .annotate(**_sums([*QUANTITIES, *COSTS]), days=Count("id"), samples=Sum("samples"))
        .order_by("-cost", "pod__name")
    )
    return [with_efficiency(_zero_none(r, [*QUANTITIES, *COSTS])) for r in rows]


def node_pool_totals(start: date, end: date, cluster_id: int | None = None) -> list[dict]:
    """Per node pool: node cost, what pods paid (cost - idle), idle, estimated part and capacity."""
    qs = _filter(NodeCostDay.objects, start, end, cluster_id)
    return _node_rows(
        qs.values("cluster__name", "node_pool_id", "node_pool__name"), ["cluster__name", "node_pool__name"]
    )


def node_totals(
    start: date, end: date, cluster_id: int | None = None, node_pool_id: int | None = None
) -> list[dict]:
    """Per node (of one pool, when given): node cost, pods, idle, estimated, billed/estimated/unsampled hours."""
    qs = _filter(NodeCostDay.objects, start, end, cluster_id)
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
    "cpu_idle",
    "mem_idle",
    "estimated_cost",
    "cpu_capacity_core_hours",
    "mem_capacity_gib_hours",
    "hours_billed",
    "hours_estimated",
    "hours_unsampled",
]


def _node_rows(values_qs, order: list[str]) -> list[dict]:
    rows = list(values_qs.annotate(**_sums(NODE_SUMS)).order_by(*order))
    for row in rows:
        for f in NODE_SUMS:
            if row[f] is None:
                row[f] = 0
        row["idle"] = row["cpu_idle"] + row["mem_idle"]
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
        .values("hour", "cost", "cpu_price", "mem_price", "cpu_idle", "mem_idle", "estimated", "sampled")
    )


PREFERRED_LABEL_KEYS = ("app.kubernetes.io/name", "app", "team", "component")


def label_totals(
    key: str | None,
    start: date,
    end: date,
    cluster_id: int | None = None,
    departments=None,
    *,
    cluster_ids: list[int] | None = None,
) -> tuple[list[dict], list[str], str | None]:
    """Cost per value of the pod label `key` (NO_LABEL for pods without it), every label key seen on the
    period's pods, and the key used (when `key` is None: a well-known one, else the first seen).

    Pod days are summed per pod in SQL; the labels of those pods are read once."""
    from costing.models import Pod

    measures = RANKED
    qs = restrict_to_owners(_filter(PodCostDay.objects, start, end, cluster_id), departments)
    if cluster_id is None and cluster_ids:
        # Naming every cluster (the caller knows them) lets PostgreSQL use the (cluster, day) index.
        qs = qs.filter(cluster_id__in=cluster_ids)
    per_pod = list(qs.values("pod_id").annotate(**_sums(measures)).order_by())
    # The labels of every pod alive in the period (a superset of those with costs), in one indexed read.
    pods = Pod.objects.filter(last_seen__gte=_midnight(start), first_seen__lt=_midnight(end))
    if cluster_id is not None:
        pods = pods.filter(cluster_id=cluster_id)
    labels = dict(pods.values_list("pk", "labels"))
    costed = {row["pod_id"] for row in per_pod}
    labels = {pk: value for pk, value in labels.items() if pk in costed}
    keys = sorted({k for pod_labels in labels.values() for k in (pod_labels or {})})
    if key is None:
        key = next((k for k in PREFERRED_LABEL_KEYS if k in keys), keys[0] if keys else None)
    groups: dict[str, dict] = {}
    for row in per_pod:
        value = (labels.get(row["pod_id"]) or {}).get(key) if key else None
        value = NO_LABEL if value is None else str(value)
        into = groups.setdefault(value, {"label": value, "pods": 0, **{m: row[m] * 0 for m in measures}})
        into["pods"] += 1
        for m in measures:
            into[m] += row[m] or 0
    rows = sorted(groups.values(), key=lambda r: (-r["cost"], r["label"]))
    return [with_efficiency(r) for r in rows], keys, key


def _midnight(day: date):
    from datetime import UTC, datetime, time

    return datetime.combine(day, time(), tzinfo=UTC)


def gaps(
    start: date, end: date, cluster_id: int | None = None, limit: int = 50
) -> tuple[list[dict], list[dict]]:
    """Sampling gaps in the period: counted per cluster and reason, and the latest `limit` of them."""
    from datetime import UTC, datetime, time

    from django.db.models import Count, Max, Sum

    from costing.choices import SampleStatus
    from costing.models import SampleSlot

    qs = SampleSlot.objects.filter(
        status=SampleStatus.GAP,
        slot__gte=datetime.combine(start, time(), tzinfo=UTC),
        slot__lt=datetime.combine(end, time(), tzinfo=UTC),
    )
    if cluster_id is not None:
        qs = qs.filter(cluster_id=cluster_id)
    by_reason = list(
        qs.values("cluster__name", "reason")
        .annotate(count=Count("id"), seconds=Sum("interval"), last=Max("slot"))
        .order_by("cluster__name", "-count")
    )
    latest = list(
        qs.order_by("-slot").values("cluster__name", "slot", "interval", "reason", "source")[:limit]
    )
    return by_reason, latest


def dirty_days(cluster_id: int | None = None, limit: int = 50) -> tuple[int, list[dict]]:
    """Cluster-days waiting for a recompute: how many, and the oldest `limit` of them."""
    qs = ClusterDay.objects.filter(dirty=True)
    if cluster_id is not None:
        qs = qs.filter(cluster_id=cluster_id)
    return qs.count(), list(
        qs.order_by("day", "cluster__name").values("cluster__name", "day", "computed_at")[:limit]
    )


def pod_days(pod_id: int, start: date, end: date) -> list[dict]:
    """A pod's stored days: samples, quantities and cost."""
    return list(
        PodCostDay.objects.filter(pod_id=pod_id, day__gte=start, day__lt=end)
        .order_by("day")
        .values("day", "node__name", "samples", *QUANTITIES, *COSTS)
    )
