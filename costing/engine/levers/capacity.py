"""Reclaimable capacity: per node pool and hour of day, what is allocatable, requested and used (P95), and
the requested-but-unused part that dynamic oversubscription could lend to low-priority batch work."""

from __future__ import annotations

import numpy as np
import pandas as pd

from costing.engine.levers.frames import HOURS_PER_MONTH, POOL_KEY

__all__ = ["ALL_POOLS", "HOUR_OF_DAY_COLUMNS", "POOL_COLUMNS", "pool_prices", "reclaimable", "whole_clusters"]

ALL_POOLS = "*"  # the pool name of a cluster's figures over all its pools

USED_QUANTILE = 0.95
HOUR_OF_DAY_COLUMNS = [
    *POOL_KEY, "hour_of_day", "days",
    "allocatable_cores", "allocatable_gib", "requested_cores", "requested_gib",
    "used_cores_p95", "used_gib_p95", "unused_cores", "unused_gib", "unused_money",
    "requested_cores_rec", "requested_gib_rec", "unused_cores_rec", "unused_gib_rec", "unused_money_rec",
    "cpu_price", "mem_price",
]  # fmt: skip
POOL_COLUMNS = [
    *POOL_KEY, "allocatable_cores", "requested_cores", "used_cores_p95", "unused_cores_mean",
    "unused_gib_mean", "batch_core_hours", "batch_core_hours_month", "monthly_value", "monthly_value_rec",
    "cpu_price", "mem_price", "peak_unused_hour",
]  # fmt: skip


def pool_prices(nodes: pd.DataFrame) -> pd.DataFrame:
    """The pool's unit prices over the window: each node-hour's bill-derived prices weighted by its capacity
    (node-hours without a price do not count)."""
    priced = nodes.loc[nodes["cpu_price"].notna() & nodes["mem_price"].notna()]
    parts = pd.DataFrame(
        {
            **{k: priced[k] for k in POOL_KEY},
            "cpu_value": priced["cpu_price"] * priced["cpu_cores"],
            "mem_value": priced["mem_price"] * priced["mem_gib"],
            "cpu_cores": priced["cpu_cores"],
            "mem_gib": priced["mem_gib"],
        }
    )
    sums = parts.groupby(POOL_KEY, sort=False).sum().reset_index()
    sums["cpu_price"] = sums["cpu_value"] / sums["cpu_cores"].where(sums["cpu_cores"] > 0)
    sums["mem_price"] = sums["mem_value"] / sums["mem_gib"].where(sums["mem_gib"] > 0)
    return sums[[*POOL_KEY, "cpu_price", "mem_price"]]


def _pool_hours(nodes: pd.DataFrame, pods: pd.DataFrame) -> pd.DataFrame:
    capacity = nodes.groupby([*POOL_KEY, "hour"], sort=False)[["cpu_cores", "mem_gib"]].sum()
    columns = ["cpu_request", "mem_request", "cpu_usage", "mem_usage", "cpu_request_rec", "mem_request_rec"]
    asked = pods.groupby([*POOL_KEY, "hour"], sort=False)[columns].sum()
    out = capacity.join(asked, how="left").fillna(0.0).reset_index()
    out["hour_of_day"] = out["hour"].dt.hour
    return out


def reclaimable(nodes: pd.DataFrame, pods: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(by hour of day, by pool) from prepared frames (levers.frames.prepare).

    Per pool-hour: allocatable = the nodes' capacity, requested and used = the sums over its pods. Per hour
    of day over the window's days: allocatable and requested are means, used is the P95 over the days, and
    requested-but-unused = max(0, requested - used P95): capacity asked for but idle on 19 days in 20 at
    that hour, what a Volcano-style oversubscription could lend to batch work. Money at the pool's unit
    prices per hour; `_rec` with the right-sizing advice's requests instead of today's.
    """
    hours = _pool_hours(nodes, pods)
    if hours.empty:
        return (
            pd.DataFrame({c: pd.Series(dtype=float) for c in HOUR_OF_DAY_COLUMNS}),
            pd.DataFrame({c: pd.Series(dtype=float) for c in POOL_COLUMNS}),
        )
    hours["day"] = hours["hour"].dt.normalize()
    group = hours.groupby([*POOL_KEY, "hour_of_day"], sort=True)
    out = group.agg(
        days=("day", "nunique"),
        allocatable_cores=("cpu_cores", "mean"),
        allocatable_gib=("mem_gib", "mean"),
        requested_cores=("cpu_request", "mean"),
        requested_gib=("mem_request", "mean"),
        requested_cores_rec=("cpu_request_rec", "mean"),
        requested_gib_rec=("mem_request_rec", "mean"),
    )
    used = group[["cpu_usage", "mem_usage"]].quantile(USED_QUANTILE)
    out["used_cores_p95"] = used["cpu_usage"]
    out["used_gib_p95"] = used["mem_usage"]
    out = out.reset_index().merge(pool_prices(nodes), on=POOL_KEY, how="left")
    cpu_price, mem_price = out["cpu_price"].fillna(0.0), out["mem_price"].fillna(0.0)
    for suffix in ("", "_rec"):
        out[f"unused_cores{suffix}"] = np.maximum(
            out[f"requested_cores{suffix}"] - out["used_cores_p95"], 0.0
        )
        out[f"unused_gib{suffix}"] = np.maximum(out[f"requested_gib{suffix}"] - out["used_gib_p95"], 0.0)
        out[f"unused_money{suffix}"] = (
            out[f"unused_cores{suffix}"] * cpu_price + out[f"unused_gib{suffix}"] * mem_price
        )
    return out[HOUR_OF_DAY_COLUMNS], _by_pool(out)


def _by_pool(by_hour: pd.DataFrame) -> pd.DataFrame:
    days_per_month = HOURS_PER_MONTH / 24
    parts = by_hour.assign(batch=by_hour["unused_cores"] * by_hour["days"])
    group = parts.groupby(POOL_KEY, sort=True)
    out = group.agg(
        allocatable_cores=("allocatable_cores", "mean"),
        requested_cores=("requested_cores", "mean"),
        used_cores_p95=("used_cores_p95", "mean"),
        unused_cores_mean=("unused_cores", "mean"),
        unused_gib_mean=("unused_gib", "mean"),
        batch_core_hours=("batch", "sum"),
        unused_cores_sum=("unused_cores", "sum"),
        unused_money=("unused_money", "sum"),
        unused_money_rec=("unused_money_rec", "sum"),
        cpu_price=("cpu_price", "first"),
        mem_price=("mem_price", "first"),
    )
    out["batch_core_hours_month"] = out["unused_cores_sum"] * days_per_month
    out["monthly_value"] = out["unused_money"] * days_per_month
    out["monthly_value_rec"] = out["unused_money_rec"] * days_per_month
    peak = by_hour.loc[by_hour.groupby(POOL_KEY, sort=True)["unused_cores"].idxmax()]
    out["peak_unused_hour"] = peak.set_index(POOL_KEY)["hour_of_day"]
    return out.reset_index()[POOL_COLUMNS]


def whole_clusters(nodes: pd.DataFrame, pods: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """reclaimable() of each cluster as one pool (named ALL_POOLS): the P95 of the cluster's hourly usage,
    not a sum of its pools' P95s; prices weighted over all its nodes."""
    return reclaimable(nodes.assign(pool=ALL_POOLS), pods.assign(pool=ALL_POOLS))
