"""Unit prices per node and hour: a node's cost split into a CPU and a memory pool (docs/cost-model.md, rules 3 and 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from costing.engine._validate import (
    EngineInputError,
    require_columns,
    require_finite,
    require_unique,
    require_utc_hours,
)

SPLITS = ("cost_share", "price_ratio")
NODE_KEYS = ["cluster", "node", "hour"]
NODE_HOUR_COLUMNS = [
    "cluster",
    "node",
    "node_pool",
    "hour",
    "cpu_core_hours",
    "mem_gib_hours",
    "cost",
    "estimated",
    "sampled",
]
NOMINAL_CAPACITY = ["cpu_capacity_cores", "mem_capacity_gib"]
SHEET_PRICES = ["sheet_cpu_price", "sheet_mem_price"]
# GPUs are optional everywhere: a frame without these columns has no GPU, and its node-hours are
# priced exactly as before (docs/cost-model.md, Decisions: GPUs).
GPU_CAPACITY = "gpu_hours"  # GPU device-hours sampled in the hour (MIG slices as fractions of a device)
GPU_NOMINAL = "gpu_capacity_devices"  # optional nominal GPUs, for an unsampled node-hour
GPU_SPLIT = ["gpu_share", "gpu_price_ratio"]  # optional per row: the policy's GPU part of N
SHEET_GPU_PRICE = "sheet_gpu_price"
# A GPU-hour costs this many core-hours when the policy says nothing: OpenCost's default prices,
# 0.95 per GPU-hour against 0.031611 per core-hour, rounded.
DEFAULT_GPU_PRICE_RATIO = 30.0
# A sheet row's given cost may be the sheet cost rounded to the 1e-8 of stored money, no further off.
SHEET_COST_TOLERANCE = 1e-8


def node_unit_prices(
    node_hours: pd.DataFrame,
    *,
    split: str,
    cpu_share: float = 0.5,
    price_ratio: float = 7.46,
    gpu_price_ratio: float = DEFAULT_GPU_PRICE_RATIO,
) -> pd.DataFrame:
    """Split each node-hour's cost N into a CPU pool and a memory pool and derive the unit prices.

    Input, one row per (cluster, node, hour):
        cluster, node, node_pool: str
        hour: tz-aware UTC Timestamp on the hour
        cpu_core_hours, mem_gib_hours: capacity resource-hours sampled in that hour (C and M)
        cost: the node's cost N for the hour (a credit may make it negative)
        estimated: True when N came from the fallback price sheet, not a bill line
        sampled: False for a billed node-hour the collector never saw (its capacity is then 0)
        cpu_capacity_cores, mem_capacity_gib: optional nominal capacity, only used to split the
            cost of an unsampled node-hour under `price_ratio`
        sheet_cpu_price, sheet_mem_price: optional; on an estimated node-hour, the fallback sheet's
            price of a core-hour and of a GiB-hour (NaN on the other rows)
        gpu_hours: optional; GPU device-hours sampled in the hour (G; 0 or absent: no GPU)
        gpu_share, gpu_price_ratio: optional per row; the policy's GPU part of a GPU node's N: a
            share g of N, or the price of a GPU-hour in core-hours r (NaN: the `gpu_price_ratio`
            argument applies)
        gpu_capacity_devices: optional nominal GPUs, used like the nominal capacity above
        sheet_gpu_price: optional; the fallback sheet's price of a GPU-hour (NaN: GPUs cost 0)

    `split` is the policy's CPU/memory split of a billed cost:
        cost_share: CPU pool = s * N, memory pool = (1 - s) * N, with s = cpu_share
        price_ratio: one core-hour costs k = price_ratio GiB-hours; CPU pool = N * kC / (kC + M)

    A node-hour with sheet prices is not split: its prices are the sheet's, as the admin wrote them,
    so its CPU pool is sheet_cpu_price * C, its memory pool sheet_mem_price * M and its cost N their
    sum. Its given cost may be NaN, or the sheet cost rounded to 1e-8; anything else is an error.

    Added columns:
        cpu_cost_pool, mem_cost_pool: the CPU and memory parts of N (they add up to N)
        cpu_price: cost of one core-hour = cpu_cost_pool / C (NaN when C is 0)
        mem_price: cost of one GiB-hour = mem_cost_pool / M (NaN when M is 0)
    and `cost` holds the sheet cost on the rows with sheet prices.

    A node-hour with no sampled capacity (unsampled) keeps its cost in the pools, where allocation
    counts it as idle: under cost_share the pools are s and 1 - s of N; under price_ratio they follow
    the nominal capacity when the caller gives it, else N is split half and half.

    A node-hour with GPUs (G > 0) first gives its GPU part to a third pool, gpu_cost_pool, with
    gpu_price = gpu_cost_pool / G:
        gpu_share g: GPU pool = g * N; the rest (1 - g) * N is split between CPU and memory as above
        gpu_price_ratio r: a GPU-hour costs r core-hours, so under cost_share the CPU part s * N is
            divided r * G : C between GPUs and cores, and under price_ratio N is divided
            k * r * G : k * C : M.
    A node-hour without GPUs has a GPU pool of 0 and every other figure exactly as without them.
    """
    require_columns(node_hours, NODE_HOUR_COLUMNS, name="node_hours")
    if split not in SPLITS:
        raise EngineInputError(f"split: {split!r} is not one of {', '.join(SPLITS)}")
    if split == "cost_share" and not 0.0 <= cpu_share <= 1.0:
        raise EngineInputError(f"cpu_share: {cpu_share!r} is not between 0 and 1")
    if split == "price_ratio" and not (np.isfinite(price_ratio) and price_ratio > 0):
        raise EngineInputError(f"price_ratio: {price_ratio!r} is not a positive number")
    require_finite(node_hours, ["cpu_core_hours", "mem_gib_hours"], name="node_hours", non_negative=True)
    sheet = _sheet_rows(node_hours)
    require_finite(node_hours.loc[~sheet], ["cost"], name="node_hours")
    require_utc_hours(node_hours, "hour", name="node_hours")
    require_unique(node_hours, NODE_KEYS, name="node_hours")
    seen_capacity = (node_hours["cpu_core_hours"] != 0) | (node_hours["mem_gib_hours"] != 0)
    contradicted = (~node_hours["sampled"].astype(bool) & seen_capacity).to_numpy()
    if contradicted.any():
        row = node_hours.index[int(contradicted.argmax())]
        raise EngineInputError(
            f"node_hours: row {row!r}, column sampled: False, yet the node-hour has sampled capacity"
        )

    out = node_hours.copy()
    cost = out["cost"].to_numpy(dtype=float, copy=True)
    cpu = out["cpu_core_hours"].to_numpy(dtype=float)
    mem = out["mem_gib_hours"].to_numpy(dtype=float)

    if split == "cost_share":
        cpu_fraction = np.full(len(out), float(cpu_share))
    else:
        cpu_fraction = _ratio_fraction(cpu, mem, price_ratio)
        no_capacity = (cpu + mem) == 0
        if no_capacity.any():
            cpu_fraction[no_capacity] = _nominal_fraction(out.loc[no_capacity], price_ratio)

    gpu = _gpu_hours(out)
    gpu_pool = np.zeros(len(out))
    cpu_pool = cost * cpu_fraction
    gpu_rows = _gpu_rows(out, gpu)
    if gpu_rows.any():
        # Only GPU node-hours take this path, so a node without GPUs keeps its floats bit for bit.
        cpu_pool[gpu_rows], gpu_pool[gpu_rows] = _gpu_pools(
            out.loc[gpu_rows], gpu_rows, cost, cpu, mem, gpu, split, cpu_share, price_ratio, gpu_price_ratio
        )
    # Subtracting keeps the pools adding up to N exactly, whatever the rounding of the fractions.
    mem_pool = cost - cpu_pool - gpu_pool
    if sheet.any():
        cpu_pool[sheet], mem_pool[sheet], gpu_pool[sheet], cost[sheet] = _sheet_pools(
            out.loc[sheet], cpu[sheet], mem[sheet], gpu[sheet]
        )
        out["cost"] = cost
    out[GPU_CAPACITY] = gpu
    out["cpu_cost_pool"] = cpu_pool
    out["mem_cost_pool"] = mem_pool
    out["gpu_cost_pool"] = gpu_pool
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cpu_price"] = np.where(cpu > 0, cpu_pool / cpu, np.nan)
        out["mem_price"] = np.where(mem > 0, mem_pool / mem, np.nan)
        out["gpu_price"] = np.where(gpu > 0, gpu_pool / gpu, np.nan)
    return out


def _gpu_hours(node_hours: pd.DataFrame) -> np.ndarray:
    """The GPU device-hours of each row (0 without the column), checked finite and non-negative."""
    if GPU_CAPACITY not in node_hours.columns:
        return np.zeros(len(node_hours))
    require_finite(node_hours, [GPU_CAPACITY], name="node_hours", non_negative=True)
    return node_hours[GPU_CAPACITY].to_numpy(dtype=float)


def _optional(rows: pd.DataFrame, column: str) -> np.ndarray:
    if column not in rows.columns:
        return np.full(len(rows), np.nan)
    return pd.to_numeric(rows[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _gpu_rows(node_hours: pd.DataFrame, gpu: np.ndarray) -> np.ndarray:
    """Rows with GPUs to split for: sampled GPU-hours, or nominal GPUs on an unsampled node-hour."""
    nominal = _optional(node_hours, GPU_NOMINAL)
    unsampled = ~node_hours["sampled"].astype(bool).to_numpy()
    rows = (gpu > 0) | (unsampled & np.isfinite(nominal) & (nominal > 0))
    share = _optional(node_hours, "gpu_share")
    bad = rows & np.isfinite(share) & ((share < 0) | (share > 1))
    bad |= rows & ~np.isnan(share) & ~np.isfinite(share)
    ratio = _optional(node_hours, "gpu_price_ratio")
    bad_ratio = rows & ~np.isnan(ratio) & ~(np.isfinite(ratio) & (ratio >= 0))
    for column, off, wanted in (
        ("gpu_share", bad, "between 0 and 1"),
        ("gpu_price_ratio", bad_ratio, ">= 0"),
    ):
        if off.any():
            pos = int(off.argmax())
            raise EngineInputError(
                f"node_hours: row {node_hours.index[pos]!r}, column {column}: "
                f"{node_hours[column].iloc[pos]!r} is not a number {wanted}"
            )
    return rows


def _gpu_pools(rows, mask, cost, cpu, mem, gpu, split, cpu_share, k, default_ratio):
    """CPU and GPU pools of GPU node-hours (memory takes the rest); see node_unit_prices."""
    n_cost, n_cpu, n_mem, n_gpu = cost[mask], cpu[mask], mem[mask], gpu[mask]
    unsampled = (n_cpu + n_mem + n_gpu) == 0
    if unsampled.any():
        nominal_cpu = _optional(rows, "cpu_capacity_cores")
        nominal_mem = _optional(rows, "mem_capacity_gib")
        nominal_gpu = _optional(rows, GPU_NOMINAL)
        n_cpu, n_mem, n_gpu = n_cpu.copy(), n_mem.copy(), n_gpu.copy()
        n_cpu[unsampled] = np.nan_to_num(nominal_cpu[unsampled])
        n_mem[unsampled] = np.nan_to_num(nominal_mem[unsampled])
        n_gpu[unsampled] = np.nan_to_num(nominal_gpu[unsampled])
    share = _optional(rows, "gpu_share")
    ratio = _optional(rows, "gpu_price_ratio")
    ratio = np.where(np.isnan(ratio), default_ratio, ratio)
    by_share = np.isfinite(share)
    gpu_pool = np.zeros(len(rows))
    cpu_pool = np.zeros(len(rows))
    rest = n_cost * (1 - np.where(by_share, share, 0.0))
    if split == "cost_share":
        compute = np.where(by_share, rest * cpu_share, n_cost * cpu_share)
        gpu_weight = ratio * n_gpu
        with np.errstate(divide="ignore", invalid="ignore"):
            gpu_part = np.where(gpu_weight + n_cpu > 0, gpu_weight / (gpu_weight + n_cpu), 0.0)
        gpu_pool = np.where(by_share, n_cost * np.where(by_share, share, 0.0), compute * gpu_part)
        cpu_pool = np.where(by_share, compute, compute - gpu_pool)
    else:
        total = k * ratio * n_gpu + k * n_cpu + n_mem
        with np.errstate(divide="ignore", invalid="ignore"):
            gpu_fraction = np.where(total > 0, k * ratio * n_gpu / total, 0.0)
            cpu_fraction = np.where(total > 0, k * n_cpu / total, 0.5)
            rest_cpu = np.where(k * n_cpu + n_mem > 0, k * n_cpu / (k * n_cpu + n_mem), 0.5)
        gpu_pool = np.where(by_share, n_cost * np.where(by_share, share, 0.0), n_cost * gpu_fraction)
        cpu_pool = np.where(by_share, rest * rest_cpu, n_cost * cpu_fraction)
    return cpu_pool, gpu_pool


def _sheet_rows(node_hours: pd.DataFrame) -> np.ndarray:
    """Which rows carry fallback sheet prices, after checking that they are whole and on estimated rows."""
    if not any(c in node_hours.columns for c in SHEET_PRICES):
        return np.zeros(len(node_hours), dtype=bool)
    require_columns(node_hours, SHEET_PRICES, name="node_hours")
    prices = node_hours[SHEET_PRICES].apply(pd.to_numeric, errors="coerce")
    sheet = prices.notna().any(axis=1).to_numpy()
    require_finite(node_hours.loc[sheet], SHEET_PRICES, name="node_hours", non_negative=True)
    billed = sheet & ~node_hours["estimated"].astype(bool).to_numpy()
    if billed.any():
        row = node_hours.index[int(billed.argmax())]
        raise EngineInputError(
            f"node_hours: row {row!r}, column sheet_cpu_price: a billed node-hour (estimated False) "
            "cannot carry a fallback sheet price"
        )
    return sheet


def _sheet_pools(rows: pd.DataFrame, cpu: np.ndarray, mem: np.ndarray, gpu: np.ndarray):
    """CPU, memory and GPU pools and cost of node-hours priced from the sheet: price * capacity, no split."""
    cpu_pool = cpu * rows["sheet_cpu_price"].to_numpy(dtype=float)
    mem_pool = mem * rows["sheet_mem_price"].to_numpy(dtype=float)
    gpu_price = _optional(rows, SHEET_GPU_PRICE)
    if ((gpu_price < 0) | np.isinf(gpu_price)).any():
        pos = int(((gpu_price < 0) | np.isinf(gpu_price)).argmax())
        raise EngineInputError(
            f"node_hours: row {rows.index[pos]!r}, column {SHEET_GPU_PRICE}: {gpu_price[pos]!r} is not a price"
        )
    gpu_pool = gpu * np.nan_to_num(gpu_price)
    cost = cpu_pool + mem_pool + gpu_pool
    given = pd.to_numeric(rows["cost"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    off = np.isfinite(given) & ~(np.abs(given - cost) <= SHEET_COST_TOLERANCE + 1e-9 * np.abs(cost))
    off |= ~np.isfinite(given) & ~np.isnan(given)
    if off.any():
        pos = int(off.argmax())
        cpu_price, mem_price = (float(rows[c].iloc[pos]) for c in SHEET_PRICES)
        gpu_part = f" + GPU {gpu_pool[pos]:.10g}" if gpu_pool[pos] else ""
        raise EngineInputError(
            f"node_hours: row {rows.index[pos]!r}, column cost: {given[pos]:.10g} is not the sheet cost "
            f"{cpu[pos]:.10g} core-hours * {cpu_price:.10g} + {mem[pos]:.10g} GiB-hours * {mem_price:.10g} "
            f"{gpu_part} = {cost[pos]:.10g}"
        )
    return cpu_pool, mem_pool, gpu_pool, cost


def _ratio_fraction(cpu: np.ndarray, mem: np.ndarray, k: float) -> np.ndarray:
    weighted_cpu = k * cpu
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(weighted_cpu + mem > 0, weighted_cpu / (weighted_cpu + mem), 0.5)


def _nominal_fraction(rows: pd.DataFrame, k: float) -> np.ndarray:
    """CPU fraction of an unsampled node-hour under price_ratio: from nominal capacity, else one half."""
    if not all(c in rows.columns for c in NOMINAL_CAPACITY):
        return np.full(len(rows), 0.5)
    cores = pd.to_numeric(rows["cpu_capacity_cores"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    gib = pd.to_numeric(rows["mem_capacity_gib"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    usable = np.isfinite(cores) & np.isfinite(gib) & (cores >= 0) & (gib >= 0) & (k * cores + gib > 0)
    fraction = np.full(len(rows), 0.5)
    fraction[usable] = _ratio_fraction(cores[usable], gib[usable], k)
    return fraction


def fallback_node_cost(
    cpu_core_hours, mem_gib_hours, cpu_price, mem_price, gpu_hours=0.0, gpu_price=np.nan
) -> np.ndarray:
    """Cost of node-hours priced from the fallback sheet: core-hours * core price + GiB-hours * GiB price
    (+ GPU-hours * GPU-hour price, where the sheet has one).

    Arguments are scalars or equally long array-likes (one price per row lets a sheet price by
    instance type); the result is a float array.
    """
    cost = np.asarray(cpu_core_hours, dtype=float) * np.asarray(cpu_price, dtype=float) + np.asarray(
        mem_gib_hours, dtype=float
    ) * np.asarray(mem_price, dtype=float)
    return cost + np.asarray(gpu_hours, dtype=float) * np.nan_to_num(np.asarray(gpu_price, dtype=float))
