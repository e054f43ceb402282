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
# A sheet row's given cost may be the sheet cost rounded to the 1e-8 of stored money, no further off.
SHEET_COST_TOLERANCE = 1e-8


def node_unit_prices(
    node_hours: pd.DataFrame,
    *,
    split: str,
    cpu_share: float = 0.5,
    price_ratio: float = 7.46,
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

    cpu_pool = cost * cpu_fraction
    # Subtracting keeps cpu_pool + mem_pool == N exactly, whatever the rounding of the fraction.
    mem_pool = cost - cpu_pool
    if sheet.any():
        cpu_pool[sheet], mem_pool[sheet], cost[sheet] = _sheet_pools(out.loc[sheet], cpu[sheet], mem[sheet])
        out["cost"] = cost
    out["cpu_cost_pool"] = cpu_pool
    out["mem_cost_pool"] = mem_pool
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cpu_price"] = np.where(cpu > 0, cpu_pool / cpu, np.nan)
        out["mem_price"] = np.where(mem > 0, mem_pool / mem, np.nan)
    return out


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


def _sheet_pools(rows: pd.DataFrame, cpu: np.ndarray, mem: np.ndarray):
    """CPU pool, memory pool and cost of node-hours priced from the sheet: price * capacity, no split."""
    cpu_pool = cpu * rows["sheet_cpu_price"].to_numpy(dtype=float)
    mem_pool = mem * rows["sheet_mem_price"].to_numpy(dtype=float)
    cost = cpu_pool + mem_pool
    given = pd.to_numeric(rows["cost"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    off = np.isfinite(given) & ~(np.abs(given - cost) <= SHEET_COST_TOLERANCE + 1e-9 * np.abs(cost))
    off |= ~np.isfinite(given) & ~np.isnan(given)
    if off.any():
        pos = int(off.argmax())
        cpu_price, mem_price = (float(rows[c].iloc[pos]) for c in SHEET_PRICES)
        raise EngineInputError(
            f"node_hours: row {rows.index[pos]!r}, column cost: {given[pos]:.10g} is not the sheet cost "
            f"{cpu[pos]:.10g} core-hours * {cpu_price:.10g} + {mem[pos]:.10g} GiB-hours * {mem_price:.10g} "
            f"= {cost[pos]:.10g}"
        )
    return cpu_pool, mem_pool, cost


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


def fallback_node_cost(cpu_core_hours, mem_gib_hours, cpu_price, mem_price) -> np.ndarray:
    """Cost of node-hours priced from the fallback sheet: core-hours * core price + GiB-hours * GiB price.

    Arguments are scalars or equally long array-likes (one price per row lets a sheet price by
    instance type); the result is a float array.
    """
    return np.asarray(cpu_core_hours, dtype=float) * np.asarray(cpu_price, dtype=float) + np.asarray(
        mem_gib_hours, dtype=float
    ) * np.asarray(mem_price, dtype=float)
