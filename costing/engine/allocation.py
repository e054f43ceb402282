"""Workload cost and idle cost per node and hour, and their rollups over time and owners (docs/cost-model.md, rules 5 and 6)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from costing.engine._validate import (
    EngineInputError,
    require_columns,
    require_finite,
    require_unique,
    require_utc_hours,
)
from costing.engine.pricing import GPU_CAPACITY, NODE_HOUR_COLUMNS, NODE_KEYS

POD_QUANTITIES = [
    "cpu_request_core_hours",
    "cpu_usage_core_hours",
    "cpu_billable_core_hours",
    "mem_request_gib_hours",
    "mem_usage_gib_hours",
    "mem_billable_gib_hours",
]
# GPU device-hours (MIG slices as fractions of a device): optional, 0 where a frame lacks them.
GPU_QUANTITIES = ["gpu_request_hours", "gpu_usage_hours", "gpu_billable_hours"]
POD_HOUR_COLUMNS = [
    "cluster",
    "node",
    "hour",
    "namespace",
    "workload_kind",
    "workload",
    "pod",
    *POD_QUANTITIES,
]
PRICE_COLUMNS = [*NODE_HOUR_COLUMNS, "cpu_cost_pool", "mem_cost_pool"]
POD_COSTS = ["cpu_cost", "mem_cost", "gpu_cost", "cost", "estimated_cost"]
IDLE_MEASURES = [
    "cpu_core_hours",
    "mem_gib_hours",
    GPU_CAPACITY,
    "cpu_cost_pool",
    "mem_cost_pool",
    "gpu_cost_pool",
    "cpu_allocated",
    "mem_allocated",
    "gpu_allocated",
    "cpu_idle",
    "mem_idle",
    "gpu_idle",
    "idle",
]
# The resources priced, with the capacity and billable columns allocate() compares.
RESOURCES = (
    ("cpu", "cpu_core_hours", "cpu_billable_core_hours"),
    ("mem", "mem_gib_hours", "mem_billable_gib_hours"),
    ("gpu", GPU_CAPACITY, "gpu_billable_hours"),
)
# What rollup() adds up, in this order, whichever of them the frame has.
MEASURES = [*POD_QUANTITIES, *GPU_QUANTITIES, *POD_COSTS, *IDLE_MEASURES, "node_cost"]
FREQS = ("hour", "day")
REL_TOL = 1e-9


class AllocationMismatch(AssertionError):
    """Pod costs plus idle do not add up to a node-hour's cost: a bug, never a property of the data."""


@dataclass(frozen=True)
class Allocation:
    """The result of allocate().

    pods: the priced pod-hours (input columns, the GPU_QUANTITIES (0 if not given), plus node_pool,
        estimated, cpu_price, mem_price, gpu_price, cpu_cost, mem_cost, gpu_cost, cost, estimated_cost).
    idle: one row per node-hour of the prices: cluster, node, node_pool, hour, node_cost,
        cpu_core_hours, mem_gib_hours, gpu_hours (capacity), cpu_billable_core_hours,
        mem_billable_gib_hours, gpu_billable_hours (what its pods billed), cpu_cost_pool,
        mem_cost_pool, gpu_cost_pool, cpu_allocated, mem_allocated, gpu_allocated (what its pods
        pay), cpu_idle, mem_idle, gpu_idle, idle, cpu_overcommitted, mem_overcommitted,
        gpu_overcommitted, unsampled, estimated.
    unpriced: pod-hours whose (cluster, node, hour) has no price row, as given; they carry no cost
        and are not in `pods`.
    """

    pods: pd.DataFrame
    idle: pd.DataFrame
    unpriced: pd.DataFrame
    _node_hour: np.ndarray = field(repr=False)

    def reconcile(self) -> pd.DataFrame:
        """Per node-hour: node_cost, pods_cost (sum of its pods' costs), idle and the difference."""
        if len(self._node_hour) != len(self.pods):
            raise AllocationMismatch("pods were changed after allocation; reconcile the original result")
        pods_cost = np.bincount(
            self._node_hour, weights=self.pods["cost"].to_numpy(), minlength=len(self.idle)
        )
        out = self.idle[["cluster", "node", "hour", "node_cost", "idle"]].copy()
        out["pods_cost"] = pods_cost
        out["difference"] = pods_cost + out["idle"].to_numpy() - out["node_cost"].to_numpy()
        return out

    def check(self, rel_tol: float = REL_TOL) -> None:
        """Raise AllocationMismatch unless every node-hour's pod costs plus idle equal its cost."""
        rec = self.reconcile()
        scale = np.maximum(np.abs(rec["node_cost"].to_numpy()), 1e-3)
        off = np.abs(rec["difference"].to_numpy()) > rel_tol * scale
        if off.any():
            first = rec.loc[off].iloc[0]
            raise AllocationMismatch(
                f"{int(off.sum())} node-hour(s) do not add up, first {first['cluster']}/{first['node']} "
                f"at {first['hour']}: pods {first['pods_cost']!r} + idle {first['idle']!r} "
                f"!= node cost {first['node_cost']!r}"
            )


def allocate(pod_hours: pd.DataFrame, prices: pd.DataFrame, *, check: bool = True) -> Allocation:
    """Charge each pod-hour its share of its node-hour's CPU and memory pools; the rest is idle.

    pod_hours: one row per pod, node and hour with the columns of POD_HOUR_COLUMNS (quantities in
    core-hours and GiB-hours; billable = max(usage, request) per sample, summed over the hour).
    prices: the output of pricing.node_unit_prices().

    Per node-hour and resource, with pool P, capacity C and the pods' billable total B:
        pod cost = billable * P / max(C, B)
        idle     = P * (max(C, B) - B) / max(C, B)
    so below capacity a pod pays billable * unit price, and on an over-committed node-hour (B > C)
    the pool is divided in proportion to billable and idle is 0. With C = B = 0 the pool is all idle.
    GPUs are the third resource, by the same rule: gpu_billable_hours against the node-hour's
    gpu_hours and gpu_cost_pool (frames without them have no GPU: 0 everywhere).
    """
    require_columns(pod_hours, POD_HOUR_COLUMNS, name="pod_hours")
    require_columns(prices, PRICE_COLUMNS, name="prices")
    pod_hours = with_gpu_quantities(pod_hours)
    prices = _with_gpu_pool(prices)
    require_finite(pod_hours, [*POD_QUANTITIES, *GPU_QUANTITIES], name="pod_hours", non_negative=True)
    require_utc_hours(pod_hours, "hour", name="pod_hours")
    require_finite(
        prices, ["cpu_core_hours", "mem_gib_hours", GPU_CAPACITY], name="prices", non_negative=True
    )
    require_finite(prices, ["cost", "cpu_cost_pool", "mem_cost_pool", "gpu_cost_pool"], name="prices")
    require_utc_hours(prices, "hour", name="prices")
    require_unique(prices, NODE_KEYS, name="prices")

    node_index = pd.MultiIndex.from_frame(prices[NODE_KEYS])
    code = node_index.get_indexer(pd.MultiIndex.from_frame(pod_hours[NODE_KEYS]))
    priced = code >= 0
    unpriced = pod_hours.loc[~priced]
    pods = pod_hours.loc[priced].copy() if not priced.all() else pod_hours.copy()
    code = code[priced]
    n = len(prices)

    idle = prices[["cluster", "node", "node_pool", "hour"]].reset_index(drop=True)
    idle["node_cost"] = prices["cost"].to_numpy(dtype=float)
    estimated = prices["estimated"].to_numpy(dtype=bool)
    pods["node_pool"] = prices["node_pool"].to_numpy()[code]
    pods["estimated"] = estimated[code]

    for resource, capacity_col, billable_col in RESOURCES:
        pool = prices[f"{resource}_cost_pool"].to_numpy(dtype=float)
        capacity = prices[capacity_col].to_numpy(dtype=float)
        billable = pods[billable_col].to_numpy(dtype=float)
        billed = np.bincount(code, weights=billable, minlength=n)
        divisor = np.maximum(capacity, billed)
        with np.errstate(divide="ignore", invalid="ignore"):
            price = np.where(divisor > 0, pool / divisor, np.nan)
            idle_share = np.where(divisor > 0, (divisor - billed) / divisor, 1.0)
        cost = billable * np.nan_to_num(price[code], nan=0.0)
        pods[f"{resource}_price"] = price[code]
        pods[f"{resource}_cost"] = cost
        idle[capacity_col] = capacity
        idle[billable_col] = billed
        idle[f"{resource}_cost_pool"] = pool
        idle[f"{resource}_allocated"] = np.bincount(code, weights=cost, minlength=n)
        idle[f"{resource}_idle"] = pool * idle_share
        idle[f"{resource}_overcommitted"] = billed > capacity

    # Adding the GPU part last keeps a node without GPUs (all + 0.0) exactly as it was.
    pods["cost"] = pods["cpu_cost"].to_numpy() + pods["mem_cost"].to_numpy() + pods["gpu_cost"].to_numpy()
    pods["estimated_cost"] = np.where(pods["estimated"].to_numpy(), pods["cost"].to_numpy(), 0.0)
    idle["idle"] = idle["cpu_idle"].to_numpy() + idle["mem_idle"].to_numpy() + idle["gpu_idle"].to_numpy()
    idle["unsampled"] = ~prices["sampled"].to_numpy(dtype=bool)
    idle["estimated"] = estimated

    result = Allocation(pods=pods, idle=idle, unpriced=unpriced, _node_hour=code)
    if check:
        result.check()
    return result


def with_gpu_quantities(pod_hours: pd.DataFrame) -> pd.DataFrame:
    """pod_hours with the GPU_QUANTITIES columns, 0 where the frame has none (a copy only if needed)."""
    missing = [c for c in GPU_QUANTITIES if c not in pod_hours.columns]
    return pod_hours.assign(**dict.fromkeys(missing, 0.0)) if missing else pod_hours


def _with_gpu_pool(prices: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in (GPU_CAPACITY, "gpu_cost_pool") if c not in prices.columns]
    return prices.assign(**dict.fromkeys(missing, 0.0)) if missing else prices


def efficiency(usage, request) -> np.ndarray:
    """usage / request; 1.0 where request is 0 and usage > 0, 0.0 where both are 0 (docs/cost-model.md, Decisions: efficiency)."""
    usage = np.asarray(usage, dtype=float)
    request = np.asarray(request, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(request > 0, usage / request, np.where(usage > 0, 1.0, 0.0))


def rollup(pods: pd.DataFrame, by: list[str], freq: str) -> pd.DataFrame:
    """Sum costs and quantities of `pods` (Allocation.pods, or Allocation.idle) per `by` and hour or day.

    `by` is any list of its columns (cluster, node_pool, node, namespace, workload_kind,
    workload, a label column the caller joined, ...), possibly empty. The period column is `hour`
    for freq="hour" and `day` (UTC midnight) for freq="day". Missing values in `by` form their own
    group. Every column of MEASURES the frame has is summed; cpu_efficiency and mem_efficiency are
    derived from the summed usage and request when the frame has them.
    """
    if freq not in FREQS:
        raise EngineInputError(f"freq: {freq!r} is not one of {', '.join(FREQS)}")
    require_columns(pods, [*by, "hour"], name="rollup pods")
    if freq in by:
        raise EngineInputError(f"by: {freq!r} is the period column; it cannot also be a grouping column")
    measures = [m for m in MEASURES if m in pods.columns]
    keys = pods[[*by, "hour"]] if freq == "hour" else pods[by].assign(day=pods["hour"].dt.floor("D"))
    grouped = pd.concat([keys, pods[measures]], axis=1).groupby(
        [*by, freq], sort=True, dropna=False, observed=True
    )
    out = grouped[measures].sum().reset_index()
    for resource, usage, request in (
        ("cpu", "cpu_usage_core_hours", "cpu_request_core_hours"),
        ("mem", "mem_usage_gib_hours", "mem_request_gib_hours"),
        ("gpu", "gpu_usage_hours", "gpu_request_hours"),
    ):
        if usage in out.columns and request in out.columns:
            out[f"{resource}_efficiency"] = efficiency(out[usage], out[request])
    return out
