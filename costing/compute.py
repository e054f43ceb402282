"""Computes cluster-days from the stored inputs with the pure engine and stores the results, exactly."""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from costing.billing.attribution_db import reattribute
from costing.billing.spreading import spread_hourly
from costing.bulk_write import insert_columns as write_rows
from costing.choices import GIB, SECONDS_PER_HOUR, LineKind
from costing.engine.allocation import GPU_QUANTITIES, POD_QUANTITIES, Allocation, allocate
from costing.engine.apportionment import (
    POOLS,
    ApportionInputs,
    ApportionmentMismatch,
    ApportionRules,
    apportion,
)
from costing.engine.network import load_balancer_days, with_network
from costing.engine.pricing import fallback_node_cost, node_unit_prices
from costing.engine.rollup import (
    NODE_COST_COLUMNS,
    NODE_DAY_MONEY,
    NODE_HOUR_MONEY,
    POD_MONEY,
    DayRollup,
    exact_lines,
    roll_up_day,
    units,
)
from costing.folding import fold_minutes
from costing.models import (
    BillLine,
    Cluster,
    ClusterDay,
    CoverageHour,
    Department,
    DepartmentCostDay,
    LoadBalancerCostDay,
    Namespace,
    NamespaceCostDay,
    Node,
    NodeCostDay,
    NodeCostHour,
    NodeHour,
    PodCostDay,
    PodHour,
    PoolShareDay,
    WorkloadCostDay,
)
from costing.money import UNITS_PER_CURRENCY, to_money, to_units
from costing.policy import DepartmentResolver, PolicySpec
from costing.policy.store import policy_for_day, spec_from_policy
from costing.policy.store import spec_for_day as _spec_for_day
from costing.rollups import refresh_pod_groups, refresh_workload_months
from costing.storage import (
    NAMESPACE_STORAGE_MONEY,
    POD_STORAGE_MONEY,
    StorageDay,
    add_storage,
    read_storage_day,
    store_volume_days,
)

QUANTITIES = [*POD_QUANTITIES, *GPU_QUANTITIES]
BATCH = 5000
TOLERANCE = Decimal("0.000001")


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of a day."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


def day_runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days: (first, last) each."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def read_frame(queryset, columns: list[str], *, text: tuple[str, ...] = ()) -> pd.DataFrame:
    """The rows of a values_list() queryset as a DataFrame; on PostgreSQL read with COPY (several
    times faster than fetching rows for the hundreds of thousands of pod-hours of a large cluster-day).

    Ids, numbers and timestamps; a column of names only among `text`, read as text (CSV would otherwise
    turn a name such as 0123 into a number).
    """
    sql, params = queryset.query.sql_with_params()
    empty = pd.DataFrame({c: [] for c in columns})
    if connection.vendor == "postgresql":
        from psycopg import sql as pgsql

        # COPY takes no bind parameters: the values (ids, timestamps) are quoted as literals by psycopg.
        composed = pgsql.SQL(sql.replace("%s", "{}")).format(*(pgsql.Literal(p) for p in params))
        query = pgsql.SQL("COPY ({}) TO STDOUT (FORMAT CSV)").format(composed)
        buffer = io.BytesIO()
        with connection.cursor() as cursor, cursor.cursor.copy(query) as copy:
            for block in copy:
                buffer.write(block)
        if buffer.tell() == 0:
            return empty
        buffer.seek(0)
        return pd.read_csv(buffer, names=columns, header=None, dtype=dict.fromkeys(text, str))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return pd.DataFrame.from_records(rows, columns=columns) if rows else empty


def _utc(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.as_unit("ns")
    return pd.to_datetime(values, utc=True, format="ISO8601").dt.as_unit("ns")


@dataclass
class DayInputs:
    """What one cluster-day is computed from, as engine frames (ids for names)."""

    pod_hours: pd.DataFrame
    # The engine's node-hour frame (with the sheet prices of estimated rows) plus cost_units and instance_type.
    node_hours: pd.DataFrame
    overhead_units: int
    coverage: float
    # Hourly shares of the load balancers' bill lines: load_balancer, namespace, effective_cost, lines.
    load_balancers: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            {"load_balancer": [], "namespace": [], "effective_cost": [], "lines": []}
        )
    )


def read_pod_hours(cluster_id: int, start: datetime, end: datetime) -> pd.DataFrame:
    qs = PodHour.objects.filter(cluster_id=cluster_id, hour__gte=start, hour__lt=end).values_list(
        "pod_id",
        "hour",
        "samples",
        *QUANTITIES,
        "node_id",
        "pod__namespace_id",
        "pod__workload_id",
    )
    frame = read_frame(qs, ["pod", "hour", "samples", *QUANTITIES, "node", "namespace", "workload"])
    frame["hour"] = _utc(frame["hour"])
    for column in ("pod", "samples", "node", "namespace", "workload"):
        frame[column] = frame[column].astype(np.int64)
    for column in QUANTITIES:
        frame[column] = frame[column].astype(float)
    frame["cluster"] = cluster_id
    frame["workload_kind"] = ""
    return frame


def read_bill_hours(cluster_id: int, start: datetime, end: datetime) -> pd.DataFrame:
    """The cluster's node and overhead bill lines that touch [start, end), spread per hour and cut to it."""
    lines = BillLine.objects.filter(
        Q(charge_period_end__gt=start) | Q(charge_period_start__gte=start),
        cluster_id=cluster_id,
        kind__in=[LineKind.NODE, LineKind.OVERHEAD],
        charge_period_start__lt=end,
    ).values("charge_period_start", "charge_period_end", "effective_cost", "cluster_id", "node_id", "kind")
    frame = pd.DataFrame.from_records(list(lines))
    if frame.empty:
        return pd.DataFrame({"hour": [], "node": [], "kind": [], "effective_cost": []})
    frame = frame.rename(columns={"cluster_id": "cluster", "node_id": "node"})
    frame["node"] = frame["node"].astype(object)
    # A node line without its node stays the cluster's cost: it is booked as overhead, never lost.
    orphan = (frame["kind"] == LineKind.NODE) & frame["node"].isna()
    frame.loc[orphan, "kind"] = LineKind.OVERHEAD
    for column in ("charge_period_start", "charge_period_end"):
        frame[column] = _utc(frame[column])
    spread = spread_hourly(frame)
    inside = (spread["hour"] >= pd.Timestamp(start)) & (spread["hour"] < pd.Timestamp(end))
    return spread.loc[inside].reset_index(drop=True)


def read_load_balancer_hours(cluster_id: int, start: datetime, end: datetime) -> tuple[pd.DataFrame, Decimal]:
    """The cluster's load balancer lines that touch [start, end), spread per hour and cut to it, with the
    namespace of each load balancer's Service; and the cost in [start, end) of such lines whose load
    balancer is gone (deleted since), which stays the cluster's overhead."""
    rows = list(
        BillLine.objects.filter(
            Q(charge_period_end__gt=start) | Q(charge_period_start__gte=start),
            cluster_id=cluster_id,
            kind=LineKind.LOAD_BALANCER,
            charge_period_start__lt=end,
        ).values_list(
            "charge_period_start",
            "charge_period_end",
            "effective_cost",
            "load_balancer_id",
            "load_balancer__namespace_id",
        )
    )
    empty = pd.DataFrame({"load_balancer": [], "namespace": [], "effective_cost": [], "lines": []})
    if not rows:
        return empty, Decimal(0)
    frame = pd.DataFrame(
        rows, columns=["charge_period_start", "charge_period_end", "effective_cost", "lb", "namespace"]
    )
    for column in ("charge_period_start", "charge_period_end"):
        frame[column] = _utc(frame[column])
    frame["cluster"] = cluster_id
    # The load balancer travels as spread_hourly's "node" key; a line whose load balancer is gone as None.
    frame["node"] = frame["lb"].astype(object).where(frame["lb"].notna(), None)
    frame["kind"] = LineKind.LOAD_BALANCER
    spread = spread_hourly(frame)
    spread = spread.loc[(spread["hour"] >= pd.Timestamp(start)) & (spread["hour"] < pd.Timestamp(end))]
    orphan = spread["node"].isna().to_numpy()
    gone = sum(spread.loc[orphan, "effective_cost"], Decimal(0))
    spread = spread.loc[~orphan]
    if spread.empty:
        return empty, gone
    known = frame.dropna(subset=["lb"])
    namespace_of = dict(zip(known["lb"].astype(int), known["namespace"].astype(int), strict=True))
    counts = known["lb"].astype(int).value_counts().to_dict()
    lbs = spread["node"].astype(int)
    return (
        pd.DataFrame(
            {
                "load_balancer": lbs.to_numpy(),
                "namespace": lbs.map(namespace_of).to_numpy(),
                "effective_cost": spread["effective_cost"].to_numpy(),
                "lines": lbs.map(counts).to_numpy(),
            }
        ),
        gone,
    )


def read_inputs(cluster_id: int, day: date, spec: PolicySpec) -> DayInputs:
    start, end = day_bounds(day)
    pod_hours = read_pod_hours(cluster_id, start, end)
    node_rows = read_frame(
        NodeHour.objects.filter(cluster_id=cluster_id, hour__gte=start, hour__lt=end).values_list(
            "node_id", "hour", "cpu_capacity_core_hours", "mem_capacity_gib_hours", "gpu_capacity_hours"
        ),
        ["node", "hour", "cpu_core_hours", "mem_gib_hours", "gpu_hours"],
    )
    node_rows["hour"] = _utc(node_rows["hour"])
    node_rows["node"] = node_rows["node"].astype(np.int64)
    bills = read_bill_hours(cluster_id, start, end)

    node_bills = bills.loc[bills["kind"] == LineKind.NODE]
    billed: dict[tuple[int, pd.Timestamp], Decimal] = {}
    for node, hour, cost in zip(
        node_bills["node"], node_bills["hour"], node_bills["effective_cost"], strict=True
    ):
        key = (int(node), hour)
        billed[key] = billed.get(key, Decimal(0)) + cost
    overhead = sum(bills.loc[bills["kind"] != LineKind.NODE, "effective_cost"], Decimal(0))

    sampled = node_rows.assign(sampled=True)
    billed_frame = pd.DataFrame(
        {
            "node": pd.Series([k[0] for k in billed], dtype=np.int64),
            "hour": pd.Series([k[1] for k in billed], dtype="datetime64[ns, UTC]"),
            "bill": pd.Series(list(billed.values()), dtype=object),
        }
    )
    nodes = sampled.merge(billed_frame, on=["node", "hour"], how="outer")
    nodes["sampled"] = nodes["sampled"].fillna(False).astype(bool)
    nodes["cpu_core_hours"] = nodes["cpu_core_hours"].fillna(0.0).astype(float)
    nodes["mem_gib_hours"] = nodes["mem_gib_hours"].fillna(0.0).astype(float)
    nodes["gpu_hours"] = nodes["gpu_hours"].fillna(0.0).astype(float)
    node_ids = sorted(set(nodes["node"].tolist()) | set(pod_hours["node"].unique().tolist()))
    info = pd.DataFrame.from_records(
        list(
            Node.objects.filter(pk__in=node_ids).values_list(
                "pk",
                "node_pool_id",
                "instance_type",
                "cpu_capacity_cores",
                "memory_capacity_bytes",
                "gpu_capacity_devices",
            )
        ),
        columns=[
            "node",
            "node_pool",
            "instance_type",
            "cpu_capacity_cores",
            "memory_capacity_bytes",
            "gpu_capacity_devices",
        ],
    )
    info["mem_capacity_gib"] = info["memory_capacity_bytes"].astype(float) / GIB
    nodes = nodes.merge(info.drop(columns="memory_capacity_bytes"), on="node", how="left")
    # The policy's GPU part of each node-hour, by instance type (engine: docs/cost-model.md, GPUs).
    types = nodes["instance_type"].fillna("").tolist()
    by_type = {t: spec.gpu.rule_for(t) for t in set(types)}
    rules = [by_type[t] for t in types]
    nodes["gpu_share"] = np.array([np.nan if share is None else share for share, _ in rules], dtype=float)
    nodes["gpu_price_ratio"] = np.array([ratio for _, ratio in rules], dtype=float)

    is_billed = nodes["bill"].notna().to_numpy()
    nodes["estimated"] = ~is_billed
    cost_units = np.zeros(len(nodes), dtype=np.int64)
    if is_billed.any():
        cost_units[is_billed] = [to_units(v) for v in nodes.loc[is_billed, "bill"]]
    # The sheet's prices travel with the node-hour: the engine charges them as written (no split).
    nodes["sheet_cpu_price"] = np.nan
    nodes["sheet_mem_price"] = np.nan
    nodes["sheet_gpu_price"] = np.nan
    estimate = ~is_billed
    if estimate.any():
        prices = {
            p.instance_type: (
                float(p.cpu_core_hour),
                float(p.mem_gib_hour),
                np.nan if p.gpu_hour is None else float(p.gpu_hour),
            )
            for p in spec.fallback_prices
        }
        default = prices.get("")
        cpu_price = np.full(len(nodes), np.nan)
        mem_price = np.full(len(nodes), np.nan)
        gpu_price = np.full(len(nodes), np.nan)
        for i in np.flatnonzero(estimate):
            row = prices.get(nodes["instance_type"].iat[i] or "", default)
            if row is not None:
                cpu_price[i], mem_price[i], gpu_price[i] = row
        fallback = fallback_node_cost(
            nodes["cpu_core_hours"],
            nodes["mem_gib_hours"],
            cpu_price,
            mem_price,
            nodes["gpu_hours"],
            gpu_price,
        )
        priced = estimate & np.isfinite(fallback)
        cost_units[priced] = units(fallback[priced])
        nodes["sheet_cpu_price"] = np.where(priced, cpu_price, np.nan)
        nodes["sheet_mem_price"] = np.where(priced, mem_price, np.nan)
        nodes["sheet_gpu_price"] = np.where(priced, gpu_price, np.nan)
        # A sampled node-hour with neither a bill line nor a price has no row: its pods stay unpriced.
        keep = is_billed | priced
        nodes = nodes.loc[keep].reset_index(drop=True)
        cost_units = cost_units[keep]
    nodes["cost_units"] = cost_units
    nodes["cost"] = cost_units / UNITS_PER_CURRENCY
    nodes["cluster"] = cluster_id

    coverage_seconds = sum(
        min(s, SECONDS_PER_HOUR)
        for s in CoverageHour.objects.filter(
            cluster_id=cluster_id, hour__gte=start, hour__lt=end
        ).values_list("sampled_seconds", flat=True)
    )
    load_balancers, gone = read_load_balancer_hours(cluster_id, start, end)
    return DayInputs(
        pod_hours=pod_hours,
        node_hours=nodes,
        overhead_units=to_units(overhead + gone),
        coverage=coverage_seconds / (24 * SECONDS_PER_HOUR),
        load_balancers=load_balancers,
    )


def compute_cluster_day(cluster_id: int, day: date, *, clear_dirty: bool = True) -> ClusterDay:
    """Price one cluster-day and store its node, pod, workload and namespace days and its totals.

    Replaces the previous results of that cluster-day in one transaction, under a row lock on the
    ClusterDay row (SQLite's IMMEDIATE transactions already serialise writers). The departments of the
    day are not apportioned here: call apportion_day(day) in the same transaction (recompute_day does).
    `dirty` is cleared only if no mark_days_dirty came in since the computation began.
    """
    with transaction.atomic():
        ClusterDay.objects.get_or_create(cluster_id=cluster_id, day=day)
        row = ClusterDay.objects.select_for_update().get(cluster_id=cluster_id, day=day)
        # The live samples' minutes of the day's hours, open ones included, into their hours first.
        fold_minutes([cluster_id], before=day_bounds(day)[1])
        version = row.dirty_version
        policy = policy_for_day(day)
        spec = spec_from_policy(policy) if policy is not None else _spec_for_day(day)
        inputs = read_inputs(cluster_id, day, spec)
        allocation = _price(inputs, spec)
        storage = read_storage_day(cluster_id, *day_bounds(day))
        day_rollup = roll_up_day(
            inputs.pod_hours,
            inputs.node_hours[NODE_COST_COLUMNS],
            allocation,
            inputs.overhead_units + storage.orphan_overhead,
        )
        day_rollup = add_storage(day_rollup, storage)
        day_rollup, lb_days = _with_load_balancers(day_rollup, inputs)
        totals = {**_store(cluster_id, day, day_rollup, spec), **_store_storage(cluster_id, day, storage)}
        totals.update(_store_load_balancers(cluster_id, day, lb_days))
        # Right-sizing's container-days, priced at the node-hours just stored (imported here: the module
        # reads its rows with this one's read_frame).
        from costing.recommendations import store_container_days

        store_container_days(cluster_id, day)
        row.policy = policy
        row.computed_at = timezone.now()
        for name, value in totals.items():
            setattr(row, name, value)
        row.coverage = inputs.coverage
        row.save(update_fields=["policy", "computed_at", "coverage", *totals])
        if clear_dirty:
            ClusterDay.objects.filter(pk=row.pk, dirty_version=version).update(dirty=False)
        row.refresh_from_db()
    return row


def _with_load_balancers(day_rollup: DayRollup, inputs: DayInputs) -> tuple[DayRollup, pd.DataFrame]:
    """The rollup with the load balancers' cost in their namespaces (network_cost, part of cost), in the
    charged (workload) total and in the physical total; and the load balancers' days."""
    lb_days = load_balancer_days(inputs.load_balancers)
    network = int(lb_days["cost"].sum())
    before = day_rollup.totals
    totals = replace(before, physical=before.physical + network, workload=before.workload + network)
    return replace(
        day_rollup, namespaces=with_network(day_rollup.namespaces, lb_days), totals=totals
    ), lb_days


def _store_load_balancers(cluster_id: int, day: date, lb_days: pd.DataFrame) -> dict:
    """Replace the cluster-day's LoadBalancerCostDay rows; return the ClusterDay's network_cost."""
    LoadBalancerCostDay.objects.filter(cluster_id=cluster_id, day=day).delete()
    write_rows(
        LoadBalancerCostDay,
        {
            "cluster_id": cluster_id,
            "day": day,
            "load_balancer_id": lb_days["load_balancer"],
            "namespace_id": lb_days["namespace"],
            "cost": lb_days["cost"],
            "lines": lb_days["lines"],
        },
        ("cost",),
    )
    return {"network_cost": to_money(int(lb_days["cost"].sum()))}


def _price(inputs: DayInputs, spec: PolicySpec) -> Allocation:
    prices = node_unit_prices(
        inputs.node_hours,
        split=spec.split.method,
        cpu_share=float(spec.split.cpu_share),
        price_ratio=float(spec.split.price_ratio),
        gpu_price_ratio=float(spec.gpu.price_ratio),
    )
    return allocate(inputs.pod_hours, prices)


def _store(cluster_id: int, day: date, day_rollup: DayRollup, spec: PolicySpec) -> dict:
    """Write the day's rows (replacing the old ones) and return the ClusterDay totals as Decimals."""
    start, end = day_bounds(day)
    for model in (PodCostDay, WorkloadCostDay, NamespaceCostDay, NodeCostDay, LoadBalancerCostDay):
        model.objects.filter(cluster_id=cluster_id, day=day).delete()
    NodeCostHour.objects.filter(cluster_id=cluster_id, hour__gte=start, hour__lt=end).delete()

    common = {"cluster_id": cluster_id, "day": day}
    write_rows(PodCostDay, {**common, **_fields(day_rollup.pods)}, (*POD_MONEY, *POD_STORAGE_MONEY))
    # The pod days per namespace, workload and label set, for /allocation (costing/rollups.py).
    refresh_pod_groups(cluster_id, day)
    write_rows(WorkloadCostDay, {**common, **_fields(day_rollup.workloads)}, (*POD_MONEY, *POD_STORAGE_MONEY))
    namespaces = day_rollup.namespaces
    ns_ids = namespaces["namespace"].tolist()
    resolver = DepartmentResolver(spec)
    found = {
        pk: (name, labels)
        for pk, name, labels in Namespace.objects.filter(pk__in=ns_ids).values_list("pk", "name", "labels")
    }
    write_rows(
        NamespaceCostDay,
        {
            **common,
            **_fields(namespaces),
            "department": [resolver.resolve(found[n][0], found[n][1] or {}) for n in ns_ids],
            "shared": [resolver.is_shared(found[n][0]) for n in ns_ids],
        },
        (
            *POD_MONEY,
            *NAMESPACE_STORAGE_MONEY,
            *(("network_cost",) if "network_cost" in namespaces.columns else ()),
        ),
    )
    write_rows(
        NodeCostHour,
        {"cluster_id": cluster_id, **_fields(day_rollup.node_hours)},
        NODE_HOUR_MONEY,
    )
    node_days = day_rollup.node_days
    pools = dict(Node.objects.filter(pk__in=node_days["node"].tolist()).values_list("pk", "node_pool_id"))
    write_rows(
        NodeCostDay,
        {
            **common,
            **_fields(node_days),
            "node_pool_id": [pools[n] for n in node_days["node"].tolist()],
        },
        NODE_DAY_MONEY,
    )
    refresh_workload_months(cluster_id, [day])

    totals = day_rollup.totals
    return {
        "physical_cost": to_money(totals.physical),
        "workload_cost": to_money(totals.workload),
        "idle_cost": to_money(totals.idle),
        "overhead_cost": to_money(totals.overhead),
        "estimated_cost": to_money(totals.estimated),
        "unpriced_core_hours": totals.unpriced_core_hours,
    }


def _store_storage(cluster_id: int, day: date, storage: StorageDay) -> dict:
    """The day's volume rows (costing/storage.py); the ClusterDay storage totals."""
    return store_volume_days(cluster_id, day, storage)


# The engine names owners by role; the models' foreign keys end in _id.
_IDS = {"pod": "pod_id", "node": "node_id", "namespace": "namespace_id", "workload": "workload_id"}


def _fields(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """An engine frame's columns by the model field each goes to."""
    return {_IDS.get(name, name): frame[name] for name in frame.columns}


def apportion_rules(spec: PolicySpec) -> ApportionRules:
    """The engine's rules for a policy spec."""
    return ApportionRules(
        shared=spec.pools["shared"].method,
        idle=spec.pools["idle"].method,
        overhead=spec.pools["overhead"].method,
        shared_scope=spec.pools["shared"].scope,
        overhead_scope=spec.pools["overhead"].scope,
        gpu_idle=spec.pools["gpu_idle"].method if "gpu_idle" in spec.pools else None,
        weights={d.name: float(d.weight) for d in spec.departments if d.weight is not None},
        departments=[d.name for d in spec.departments],
    )


def apportion_day(day: date) -> list[DepartmentCostDay]:
    """Divide the day's shared, idle and overhead costs of all clusters among departments and store it.

    Reads the stored namespace, node and cluster days (global scopes need every cluster of the day),
    replaces the day's DepartmentCostDay and PoolShareDay rows, and checks before commit that for every
    cluster the departments and lines add up to its physical cost; otherwise nothing is stored.
    """
    with transaction.atomic():
        cluster_days = list(ClusterDay.objects.select_for_update().filter(day=day).order_by("cluster_id"))
        policy = policy_for_day(day)
        spec = spec_from_policy(policy) if policy is not None else _spec_for_day(day)
        ns_rows = list(
            NamespaceCostDay.objects.filter(day=day).values_list(
                "cluster_id",
                "namespace_id",
                "department",
                "shared",
                "cpu_cost",
                "mem_cost",
                "gpu_cost",
                "storage_cost",
                "cost",
            )
        )
        namespaces = pd.DataFrame.from_records(
            ns_rows,
            columns=[
                "cluster",
                "namespace",
                "department",
                "shared",
                "cpu_cost",
                "mem_cost",
                "gpu_cost",
                "storage_cost",
                "cost",
            ],
        )
        for column in ("cpu_cost", "mem_cost", "gpu_cost", "storage_cost", "cost"):
            namespaces[column] = namespaces[column].astype(float)
        namespaces["shared"] = namespaces["shared"].astype(bool)
        idle_rows = list(
            NodeCostDay.objects.filter(day=day).values_list("cluster_id", "cpu_idle", "mem_idle", "gpu_idle")
        )
        idle = pd.DataFrame.from_records(idle_rows, columns=["cluster", "cpu_idle", "mem_idle", "gpu_idle"])
        idle = idle.astype({"cpu_idle": float, "mem_idle": float, "gpu_idle": float})
        idle = _with_storage_idle(idle, cluster_days)
        overhead = pd.DataFrame(
            {
                "cluster": [c.cluster_id for c in cluster_days],
                "cost": [float(c.overhead_cost) for c in cluster_days],
            }
        )
        result = apportion(ApportionInputs(namespaces, idle, overhead), apportion_rules(spec))

        gpu_idle = _gpu_idle_units(idle_rows)
        stored = pd.DataFrame(
            {
                "cluster": [c.cluster_id for c in cluster_days],
                "idle": [to_units(c.idle_cost) - gpu_idle.get(c.cluster_id, 0) for c in cluster_days],
                "gpu_idle": [gpu_idle.get(c.cluster_id, 0) for c in cluster_days],
                "overhead": [to_units(c.overhead_cost) for c in cluster_days],
            }
        )
        namespace_units = namespaces[["cluster", "department", "shared"]].assign(
            cost=[to_units(cost) for *_, cost in ns_rows]
        )
        lines = exact_lines(result.lines, namespace_units, stored)
        DepartmentCostDay.objects.filter(day=day).delete()
        PoolShareDay.objects.filter(day=day).delete()
        # The day's departments now include every cluster-day computed before (costing/fanout.py).
        ClusterDay.objects.filter(day=day, apportion_pending=True).update(apportion_pending=False)
        departments = dict(Department.objects.values_list("name", "pk"))
        rows = [
            DepartmentCostDay(
                day=day,
                cluster_id=int(line.cluster),
                name=line.department,
                department_id=departments.get(line.department) if line.kind == "department" else None,
                is_line=line.kind == "line",
                policy=policy,
                **{part: to_money(getattr(line, part)) for part in ("direct", *POOLS, "total")},
            )
            for line in lines.itertuples(index=False)
        ]
        DepartmentCostDay.objects.bulk_create(rows, batch_size=BATCH)
        explain = result.explain
        PoolShareDay.objects.bulk_create(
            (
                PoolShareDay(
                    day=day,
                    cluster_id=int(r.cluster),
                    pool=r.pool,
                    name=r.department,
                    method=r.method,
                    applied=r.applied,
                    scope=r.scope,
                    basis=r.basis,
                    resource=r.resource,
                    via=r.via,
                    pool_amount=to_money(to_units(r.pool_amount)),
                    fraction=float(r.fraction),
                    amount=to_money(to_units(r.amount)),
                )
                for r in explain.itertuples(index=False)
            ),
            batch_size=BATCH,
        )
        check_day(day)
    return rows


def _with_storage_idle(idle: pd.DataFrame, cluster_days: list[ClusterDay]) -> pd.DataFrame:
    """The node idle rows plus one row per cluster with its storage idle (shared as idle is)."""
    storage = pd.DataFrame(
        {
            "cluster": [c.cluster_id for c in cluster_days],
            "cpu_idle": 0.0,
            "mem_idle": 0.0,
            "gpu_idle": 0.0,
            "storage_idle": [float(c.storage_idle_cost) for c in cluster_days],
        }
    )
    return pd.concat([idle.assign(storage_idle=0.0), storage], ignore_index=True)


def _gpu_idle_units(idle_rows: list[tuple]) -> dict[int, int]:
    """Idle GPU per cluster in units, from the node days' (cluster, cpu, mem, gpu idle) Decimals, exactly."""
    out: dict[int, int] = {}
    for cluster, _cpu, _mem, gpu in idle_rows:
        out[int(cluster)] = out.get(int(cluster), 0) + to_units(gpu)
    return out


def check_day(day: date) -> None:
    """Raise ApportionmentMismatch unless, per cluster, the stored departments and lines add up to the
    stored physical cost (to 1e-6) and the cluster's cost parts add up to it."""
    totals: dict[int, Decimal] = {}
    for cluster, total in DepartmentCostDay.objects.filter(day=day).values_list("cluster_id", "total"):
        totals[cluster] = totals.get(cluster, Decimal(0)) + total
    for row in ClusterDay.objects.filter(day=day):
        got = totals.get(row.cluster_id, Decimal(0))
        parts = row.workload_cost + row.idle_cost + row.overhead_cost
        if abs(got - row.physical_cost) > TOLERANCE or abs(parts - row.physical_cost) > TOLERANCE:
            raise ApportionmentMismatch(
                f"cluster {row.cluster_id} on {day}: departments and lines add up to {got}, workload + idle "
                f"+ overhead to {parts}, its physical cost is {row.physical_cost}"
            )


def clusters_of_day(day: date) -> list[int]:
    """Clusters with anything to compute on `day`: a ClusterDay row, samples or a bill line."""
    start, end = day_bounds(day)
    ids = set(ClusterDay.objects.filter(day=day).values_list("cluster_id", flat=True))
    lines = BillLine.objects.filter(
        Q(charge_period_end__gt=start) | Q(charge_period_start__gte=start),
        charge_period_start__lt=end,
        kind__in=[LineKind.NODE, LineKind.OVERHEAD, LineKind.VOLUME, LineKind.LOAD_BALANCER],
    )
    # One indexed probe per cluster and table: clusters are few, their hours are many.
    for cluster_id in Cluster.objects.exclude(pk__in=ids).values_list("pk", flat=True):
        if (
            NodeHour.objects.filter(cluster_id=cluster_id, hour__gte=start, hour__lt=end).exists()
            or PodHour.objects.filter(cluster_id=cluster_id, hour__gte=start, hour__lt=end).exists()
            or lines.filter(cluster_id=cluster_id).exists()
        ):
            ids.add(cluster_id)
    return sorted(ids)


def recompute_day(day: date, cluster_ids: list[int] | None = None) -> list[ClusterDay]:
    """Compute the given clusters (default: every cluster with data that day) and apportion the day,
    all in one transaction: a reader sees the old day or the new one, never half of each."""
    with transaction.atomic():
        # Attribution may have changed since the import (a node first seen after its bill, a new tag
        # rule): lines that move mark their days dirty, including this one, before it is computed.
        reattribute(*day_bounds(day))
        ids = sorted(set(cluster_ids)) if cluster_ids is not None else clusters_of_day(day)
        existing = set(ClusterDay.objects.filter(day=day).values_list("cluster_id", flat=True))
        ClusterDay.objects.bulk_create(
            [ClusterDay(cluster_id=c, day=day) for c in ids if c not in existing], ignore_conflicts=True
        )
        # Lock every cluster-day of the day in one order, so two recomputes of a day queue, never deadlock.
        list(ClusterDay.objects.select_for_update().filter(day=day).order_by("cluster_id").values_list("pk"))
        rows = [compute_cluster_day(c, day) for c in ids]
        apportion_day(day)
    return rows


def recompute_period(start: date, end: date, cluster: str | None = None, progress=None) -> int:
    """Recompute every day of [start, end), one transaction per day; returns the number of cluster-days."""
    cluster_ids = None
    if cluster is not None:
        cluster_ids = [Cluster.objects.get(name=cluster).pk]
    count = 0
    day = start
    while day < end:
        rows = recompute_day(day, cluster_ids)
        count += len(rows)
        if progress is not None:
            progress(day, rows)
        day += timedelta(days=1)
    return count
