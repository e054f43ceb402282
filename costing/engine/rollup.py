"""One cluster-day's results in exact 1e-8 units: pods, workloads, namespaces, node-hours, node-days, totals."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from costing.engine._validate import require_columns
from costing.engine.allocation import (
    GPU_QUANTITIES,
    POD_COSTS,
    POD_QUANTITIES,
    RESOURCES,
    Allocation,
    with_gpu_quantities,
)
from costing.engine.apportionment import LINES, POOLS
from costing.money import UNITS_PER_CURRENCY, to_units

# Money leaves the engine as int64 counts of 1e-8 (the 8 places it is stored with), so every sum is
# exact and the stored parts add up to the stored totals by construction.
POD_DAY_COLUMNS = ["pod", "node", "namespace", "workload", "samples", *POD_QUANTITIES]
NODE_COST_COLUMNS = ["node", "hour", "cost_units", "bill"]
# The columns of each result frame that are int64 counts of 1e-8 currency units.
POD_MONEY = tuple(POD_COSTS)
NODE_HOUR_MONEY = (
    "cost",
    "cpu_cost_pool",
    "mem_cost_pool",
    "gpu_cost_pool",
    "cpu_idle",
    "mem_idle",
    "gpu_idle",
)
NODE_DAY_MONEY = (*NODE_HOUR_MONEY, "estimated_cost")
LINE_COLUMNS = ["cluster", "department", "kind", "direct", *POOLS, "total"]


def units(amounts) -> np.ndarray:
    """int64 counts of 1e-8 from float amounts, rounded half to even."""
    return np.rint(np.asarray(amounts, dtype=float) * UNITS_PER_CURRENCY).astype(np.int64)


@dataclass(frozen=True)
class DayTotals:
    """The cluster-day's totals in units; physical = node + overhead = workload + idle + overhead exactly."""

    physical: int
    workload: int
    idle: int
    overhead: int
    estimated: int
    unpriced_core_hours: float


@dataclass(frozen=True)
class DayRollup:
    """The result of roll_up_day(); money columns (POD_MONEY, NODE_HOUR_MONEY, NODE_DAY_MONEY) are int64 units.

    pods: one row per pod: pod, node, namespace, workload (of its first pod-hour), samples, the
        quantities of POD_QUANTITIES and GPU_QUANTITIES and cpu_cost, mem_cost, gpu_cost, cost,
        estimated_cost.
    workloads: one row per workload: workload, namespace, pods, the quantities and costs of its pods.
    namespaces: one row per namespace: namespace, the quantities and costs of its pods.
    node_hours: one row per priced node-hour: node, hour, cost, cpu_cost_pool, mem_cost_pool,
        gpu_cost_pool, cpu_price, mem_price, gpu_price (what its pods paid per unit, NaN where nothing
        could be paid), cpu_idle, mem_idle, gpu_idle, estimated, sampled.
    node_days: one row per node: node, cost, cpu_cost_pool, mem_cost_pool, gpu_cost_pool, cpu_idle,
        mem_idle, gpu_idle, estimated_cost, cpu_capacity_core_hours, mem_capacity_gib_hours,
        gpu_capacity_hours, hours_billed, hours_estimated, hours_unsampled.
    """

    pods: pd.DataFrame
    workloads: pd.DataFrame
    namespaces: pd.DataFrame
    node_hours: pd.DataFrame
    node_days: pd.DataFrame
    totals: DayTotals


def roll_up_day(
    pod_hours: pd.DataFrame, node_costs: pd.DataFrame, allocation: Allocation, overhead_units: int
) -> DayRollup:
    """Add one cluster-day up from its pod-hours, its node-hours' costs and their allocation, exactly.

    pod_hours: every pod-hour of the day, priced or not, with the columns of POD_DAY_COLUMNS.
    node_costs: one row per (node, hour) of the prices: cost_units (the node-hour's cost in units) and
        bill (the Decimal bill share of a billed node-hour, missing for an estimated one).
    allocation: allocate()'s result for those pod-hours and node-hours.

    Each pod's CPU and memory cost is rounded to 1e-8 once; everything above is an exact sum of
    units: a workload and a namespace are the sums of their pods, the workload total the sum of all
    pods. A node's day cost is its billed shares summed in Decimal (so a bill line's day equals the
    line to 1e-8) plus its estimated hours' units; its idle is that cost minus what the pods whose
    first pod-hour is on it pay, per resource, so pods + idle = node cost to the last unit.
    """
    require_columns(pod_hours, POD_DAY_COLUMNS, name="pod_hours")
    require_columns(node_costs, NODE_COST_COLUMNS, name="node_costs")
    pod_hours = with_gpu_quantities(pod_hours)
    pods = _pod_days(pod_hours, allocation.pods)
    node_hours, bills = _node_hours(node_costs, allocation.idle)
    node_days = _node_days(node_hours, allocation.idle, bills, pods)

    node_total = int(node_days["cost"].sum())
    workload_total = int(pods["cost"].sum())
    unpriced = allocation.unpriced
    totals = DayTotals(
        physical=node_total + int(overhead_units),
        workload=workload_total,
        idle=node_total - workload_total,
        overhead=int(overhead_units),
        estimated=int(node_days["estimated_cost"].sum()),
        unpriced_core_hours=float(unpriced["cpu_billable_core_hours"].sum()) if len(unpriced) else 0.0,
    )
    return DayRollup(
        pods=pods,
        workloads=_workload_days(pods),
        namespaces=_namespace_days(pods),
        node_hours=node_hours,
        node_days=node_days,
        totals=totals,
    )


def _sum_by(keys: np.ndarray, values: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Sums of each value array per distinct key (keys sorted); integer arrays are summed exactly."""
    uniques, inverse = np.unique(keys, return_inverse=True)
    out = {}
    for name, array in values.items():
        if array.dtype.kind in "iu":
            summed = np.zeros(len(uniques), dtype=np.int64)
            np.add.at(summed, inverse, array)
        else:
            summed = np.bincount(inverse, weights=array, minlength=len(uniques))
        out[name] = summed
    return uniques, out


def _pod_days(pod_hours: pd.DataFrame, priced: pd.DataFrame) -> pd.DataFrame:
    """Quantities of every pod-hour (priced or not), costs of the priced ones, rounded once per pod."""
    pod_ids, sums = _sum_by(
        pod_hours["pod"].to_numpy(),
        {
            "samples": pod_hours["samples"].to_numpy(np.int64),
            **{q: pod_hours[q].to_numpy(float) for q in (*POD_QUANTITIES, *GPU_QUANTITIES)},
        },
    )
    cost_index = np.searchsorted(pod_ids, priced["pod"].to_numpy())
    cost_sums = {
        name: np.bincount(cost_index, weights=priced[name].to_numpy(float), minlength=len(pod_ids))
        for name in ("cpu_cost", "mem_cost", "gpu_cost", "estimated_cost")
    }
    cpu_units = units(cost_sums["cpu_cost"])
    mem_units = units(cost_sums["mem_cost"])
    gpu_units = units(cost_sums["gpu_cost"])
    cost_units = cpu_units + mem_units + gpu_units
    # Rounded on its own, the estimated part could exceed the rounded cost by a unit.
    estimated_units = np.minimum(units(cost_sums["estimated_cost"]), np.maximum(cost_units, 0))
    first = pod_hours.drop_duplicates("pod").set_index("pod").loc[pod_ids]
    return pd.DataFrame(
        {
            "pod": pod_ids,
            "node": first["node"].to_numpy(),
            "namespace": first["namespace"].to_numpy(),
            "workload": first["workload"].to_numpy(),
            **sums,
            "cpu_cost": cpu_units,
            "mem_cost": mem_units,
            "gpu_cost": gpu_units,
            "cost": cost_units,
            "estimated_cost": estimated_units,
        }
    )


def _pod_values(pods: pd.DataFrame) -> dict[str, np.ndarray]:
    return {c: pods[c].to_numpy() for c in (*POD_QUANTITIES, *GPU_QUANTITIES, *POD_MONEY)}


def _workload_days(pods: pd.DataFrame) -> pd.DataFrame:
    pod_workloads = pods["workload"].to_numpy()
    ids, sums = _sum_by(pod_workloads, {**_pod_values(pods), "pods": np.ones(len(pods), dtype=np.int64)})
    namespace_of = dict(zip(pod_workloads.tolist(), pods["namespace"].tolist(), strict=True))
    namespaces = np.array([namespace_of[w] for w in ids.tolist()], dtype=pods["namespace"].dtype)
    return pd.DataFrame({"workload": ids, "namespace": namespaces, **sums})


def _namespace_days(pods: pd.DataFrame) -> pd.DataFrame:
    ids, sums = _sum_by(pods["namespace"].to_numpy(), _pod_values(pods))
    return pd.DataFrame({"namespace": ids, **sums})


def paid_prices(idle: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Per node-hour of Allocation.idle, the CPU and memory price (and GPU price, when `idle` has the
    GPU columns) its pods paid per unit: pool / max(capacity, billed) (allocate's rule), NaN where
    that divisor is 0."""
    out = []
    for resource, capacity, billed in RESOURCES:
        if capacity not in idle.columns:
            continue
        divisor = np.maximum(idle[capacity].to_numpy(float), idle[billed].to_numpy(float))
        pool = idle[f"{resource}_cost_pool"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(np.where(divisor > 0, pool / divisor, np.nan))
    return tuple(out)


def _node_hours(node_costs: pd.DataFrame, idle: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The node-hours in units, in the order of `idle`, and the Decimal bill of each (None if estimated)."""
    key = pd.MultiIndex.from_frame(idle[["node", "hour"]])
    by_node_hour = node_costs.set_index(["node", "hour"])
    cost = by_node_hour["cost_units"].reindex(key).to_numpy(np.int64)
    bills = by_node_hour["bill"].reindex(key).to_numpy(object)
    cpu_pool = units(idle["cpu_cost_pool"])
    gpu_pool = units(idle["gpu_cost_pool"])
    cpu_price, mem_price, gpu_price = paid_prices(idle)
    frame = pd.DataFrame(
        {
            "node": idle["node"].to_numpy(),
            "hour": idle["hour"].reset_index(drop=True),
            "cost": cost,
            "cpu_cost_pool": cpu_pool,
            # The memory pool is the rest of the node-hour's units, so the three pools add up exactly.
            "mem_cost_pool": cost - cpu_pool - gpu_pool,
            "gpu_cost_pool": gpu_pool,
            "cpu_price": cpu_price,
            "mem_price": mem_price,
            "gpu_price": gpu_price,
            "cpu_idle": units(idle["cpu_idle"]),
            "mem_idle": units(idle["mem_idle"]),
            "gpu_idle": units(idle["gpu_idle"]),
            "estimated": idle["estimated"].to_numpy(bool),
            "sampled": ~idle["unsampled"].to_numpy(bool),
        }
    )
    return frame, bills


def _node_days(
    node_hours: pd.DataFrame, idle: pd.DataFrame, bills: np.ndarray, pods: pd.DataFrame
) -> pd.DataFrame:
    hour_nodes = node_hours["node"].to_numpy()
    estimated = node_hours["estimated"].to_numpy(bool)
    sampled = node_hours["sampled"].to_numpy(bool)
    node_ids, sums = _sum_by(
        hour_nodes,
        {
            "estimated_units": np.where(estimated, node_hours["cost"].to_numpy(np.int64), 0),
            "cpu_pool": idle["cpu_cost_pool"].to_numpy(float),
            "gpu_pool": idle["gpu_cost_pool"].to_numpy(float),
            "cpu_core_hours": idle["cpu_core_hours"].to_numpy(float),
            "mem_gib_hours": idle["mem_gib_hours"].to_numpy(float),
            "gpu_hours": idle["gpu_hours"].to_numpy(float),
            "billed": (~estimated).astype(np.int64),
            "estimated": estimated.astype(np.int64),
            "unsampled": (~sampled).astype(np.int64),
        },
    )
    # Billed hours are summed in Decimal before rounding, so a line's day equals the line to 1e-8.
    cost = sums["estimated_units"].copy()
    billed_by_node: dict[object, Decimal] = {}
    for node, bill in zip(hour_nodes.tolist(), bills, strict=True):
        if isinstance(bill, Decimal):
            billed_by_node[node] = billed_by_node.get(node, Decimal(0)) + bill
    position = {n: i for i, n in enumerate(node_ids.tolist())}
    for node, total in billed_by_node.items():
        cost[position[node]] += to_units(total)

    # A pod's whole day is paid to the node of its first pod-hour.
    pod_nodes = pods["node"].to_numpy()
    on_priced_node = np.isin(pod_nodes, node_ids)
    paid_index = np.searchsorted(node_ids, pod_nodes[on_priced_node])
    paid = {}
    for name in ("cpu_cost", "mem_cost", "gpu_cost"):
        paid[name] = np.zeros(len(node_ids), dtype=np.int64)
        np.add.at(paid[name], paid_index, pods[name].to_numpy(np.int64)[on_priced_node])
    cpu_pool = units(sums["cpu_pool"])
    gpu_pool = units(sums["gpu_pool"])
    mem_pool = cost - cpu_pool - gpu_pool
    return pd.DataFrame(
        {
            "node": node_ids,
            "cost": cost,
            "cpu_cost_pool": cpu_pool,
            "mem_cost_pool": mem_pool,
            "gpu_cost_pool": gpu_pool,
            "cpu_idle": cpu_pool - paid["cpu_cost"],
            "mem_idle": mem_pool - paid["mem_cost"],
            "gpu_idle": gpu_pool - paid["gpu_cost"],
            "estimated_cost": sums["estimated_units"],
            "cpu_capacity_core_hours": sums["cpu_core_hours"],
            "mem_capacity_gib_hours": sums["mem_gib_hours"],
            "gpu_capacity_hours": sums["gpu_hours"],
            "hours_billed": sums["billed"],
            "hours_estimated": sums["estimated"],
            "hours_unsampled": sums["unsampled"],
        }
    )


def exact_lines(lines: pd.DataFrame, namespaces: pd.DataFrame, clusters: pd.DataFrame) -> pd.DataFrame:
    """apportion()'s lines in int64 units of 1e-8 whose columns add up exactly to the stored costs.

    lines: apportion()'s lines (floats). namespaces: cluster, department, shared, cost (units), the
    stored namespace days. clusters: cluster, idle (CPU and memory), gpu_idle (optional, 0 without),
    overhead (units), the stored cluster-day totals.

    A department's direct cost is the exact sum of its namespaces. Per cluster, the shared column
    must add up to the shared namespaces' costs and the idle and overhead columns to the cluster's:
    each is rounded, and the few units the float division leaves over go to the line with the most
    of that pool (to the pool's own line, added if need be, when no line has any). Rows keep the
    order of `lines`, added lines last, with the columns of LINE_COLUMNS.
    """
    if "gpu_idle" not in lines.columns:  # lines from before idle GPU had its own column
        lines = lines.assign(gpu_idle=0.0)
    require_columns(lines, ["cluster", "department", "kind", *POOLS], name="lines")
    require_columns(namespaces, ["cluster", "department", "shared", "cost"], name="namespaces")
    require_columns(clusters, ["cluster", "idle", "overhead"], name="clusters")
    gpu_idle = clusters["gpu_idle"].tolist() if "gpu_idle" in clusters.columns else [0] * len(clusters)
    targets = {
        cluster: {"shared": 0, "idle": int(idle), "gpu_idle": int(gpu), "overhead": int(overhead)}
        for cluster, idle, gpu, overhead in zip(
            clusters["cluster"].tolist(),
            clusters["idle"].tolist(),
            gpu_idle,
            clusters["overhead"].tolist(),
            strict=True,
        )
    }
    direct: dict[tuple, int] = {}
    for cluster, department, shared, cost in zip(
        namespaces["cluster"].tolist(),
        namespaces["department"].tolist(),
        namespaces["shared"].astype(bool).tolist(),
        namespaces["cost"].tolist(),
        strict=True,
    ):
        if shared:
            targets[cluster]["shared"] += int(cost)
        else:
            direct[(cluster, department)] = direct.get((cluster, department), 0) + int(cost)

    rounded = {pool: units(lines[pool]).tolist() for pool in POOLS}
    floats = {pool: lines[pool].astype(float).tolist() for pool in POOLS}
    out = [
        {
            "cluster": cluster,
            "department": department,
            "kind": kind,
            "direct": direct.get((cluster, department), 0) if kind == "department" else 0,
            "_float": {pool: floats[pool][i] for pool in POOLS},
            **{pool: rounded[pool][i] for pool in POOLS},
        }
        for i, (cluster, department, kind) in enumerate(
            zip(lines["cluster"].tolist(), lines["department"].tolist(), lines["kind"].tolist(), strict=True)
        )
    ]
    for cluster, wanted in targets.items():
        mine = [line for line in out if line["cluster"] == cluster]
        for pool, target in wanted.items():
            residual = target - sum(line[pool] for line in mine)
            if residual:
                _holder(out, mine, cluster, pool)[pool] += residual
    for line in out:
        line.pop("_float")
        line["total"] = line["direct"] + sum(line[pool] for pool in POOLS)
    frame = pd.DataFrame(out, columns=LINE_COLUMNS)
    return frame.astype(dict.fromkeys(("direct", *POOLS, "total"), np.int64))


def _holder(out: list[dict], mine: list[dict], cluster, pool: str) -> dict:
    """The line of `cluster` that takes `pool`'s leftover units: the one with the most of it (by the
    float amount), else the pool's own line, added to `out` and `mine` if the cluster has none."""
    holders = [line for line in mine if line["_float"][pool] != 0]
    if holders:
        return max(holders, key=lambda line: abs(line["_float"][pool]))
    name = LINES[pool]
    holder = next((line for line in mine if line["department"] == name), None)
    if holder is None:
        holder = {
            "cluster": cluster,
            "department": name,
            "kind": "line",
            "direct": 0,
            "_float": dict.fromkeys(POOLS, 0.0),
            **dict.fromkeys(POOLS, 0),
        }
        out.append(holder)
        mine.append(holder)
    return holder
