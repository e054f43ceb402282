"""One savings list: every lever's opportunities ranked by monthly saving, each with what it adds to the
total once the levers before it are counted, so that no money is counted twice."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from costing.engine.levers import capacity, cronhpa, packing, payperuse
from costing.engine.levers.frames import POOL_KEY, WORKLOAD_KEY, prepare

__all__ = ["LEVERS", "OVERLAPS", "SAVINGS_COLUMNS", "Levers", "optimise", "savings_list"]

RIGHTSIZE, PACKING, OVERSUBSCRIPTION, CRONHPA, PAY_PER_USE = (
    "rightsize", "packing", "oversubscription", "cronhpa", "pay_per_use",
)  # fmt: skip
# The order in which the total counts them: each counts only what the ones before it have not.
LEVERS = (RIGHTSIZE, PACKING, CRONHPA, OVERSUBSCRIPTION, PAY_PER_USE)
OVERLAPS = {
    RIGHTSIZE: [],
    PACKING: [RIGHTSIZE],
    CRONHPA: [RIGHTSIZE],
    OVERSUBSCRIPTION: [RIGHTSIZE, CRONHPA],
    PAY_PER_USE: [RIGHTSIZE, CRONHPA, PACKING, OVERSUBSCRIPTION],
}
SAVINGS_COLUMNS = [
    "cluster", "lever", "subject", "namespace", "workload_kind", "workload_name", "pool",
    "monthly_saving", "counted_saving", "overlaps", "figures",
]  # fmt: skip


@dataclass
class Levers:
    """Everything the Optimise view shows, as frames (one per lever and its evidence)."""

    savings: pd.DataFrame
    capacity_hours: pd.DataFrame
    capacity_pools: pd.DataFrame
    capacity_cluster_hours: pd.DataFrame  # the same as capacity_hours and _pools, each cluster as one pool
    capacity_clusters: pd.DataFrame
    packing_hours: pd.DataFrame
    packing_pools: pd.DataFrame
    cronhpa: pd.DataFrame
    cronhpa_profile: pd.DataFrame
    pay_per_use: pd.DataFrame
    window_hours: float
    notes: dict = field(default_factory=dict)


def optimise(
    nodes: pd.DataFrame,
    pods: pd.DataFrame,
    advice: pd.DataFrame,
    *,
    window_hours: float,
    sheet: payperuse.PriceSheet | None = None,
    cronhpa_policy: cronhpa.CronHPAPolicy | None = None,
) -> Levers:
    """All levers from the window's node-hours, pod-hours and the right-sizing advice (levers.frames)."""
    nodes, pods = prepare(nodes, pods, advice)
    capacity_hours, capacity_pools = capacity.reclaimable(nodes, pods)
    cluster_hours, clusters = capacity.whole_clusters(nodes, pods)
    packing_hours, packing_pools = packing.pack(nodes, pods, window_hours)
    cron, profile = cronhpa.suggest(pods, window_hours, cronhpa_policy)
    ppu = payperuse.what_if(nodes, pods, sheet, window_hours)
    shares = _pool_shares(pods)
    savings = savings_list(advice, packing_pools, capacity_pools, cron, ppu, shares)
    return Levers(
        savings,
        capacity_hours,
        capacity_pools,
        cluster_hours,
        clusters,
        packing_hours,
        packing_pools,
        cron,
        profile,
        ppu,
        window_hours,
    )


def _pool_shares(pods: pd.DataFrame) -> pd.DataFrame:
    """Each workload's share of its cost in each pool (how a workload's saving is spread over pools)."""
    cost = pods.groupby([*WORKLOAD_KEY, "pool"], sort=False)["cost"].sum().reset_index()
    total = cost.groupby(WORKLOAD_KEY, sort=False)["cost"].transform("sum")
    cost["share"] = (cost["cost"] / total.where(total > 0)).fillna(0.0)
    return cost[[*WORKLOAD_KEY, "pool", "share"]]


def _per_pool(values: pd.DataFrame, shares: pd.DataFrame, column: str) -> pd.Series:
    """A per-workload amount spread over the pools by the workload's cost shares: a Series by (cluster, pool)."""
    spread = shares.merge(values[[*WORKLOAD_KEY, column]], on=WORKLOAD_KEY, how="inner")
    spread["part"] = spread["share"] * spread[column]
    return spread.groupby(POOL_KEY, sort=False)["part"].sum()


def _workload_rows(frame: pd.DataFrame, lever: str, figures: list[str]) -> pd.DataFrame:
    out = frame[WORKLOAD_KEY].copy()
    out["lever"] = lever
    out["subject"] = frame["namespace"] + "/" + frame["workload_name"]
    out["pool"] = ""
    out["monthly_saving"] = frame["monthly_saving"].to_numpy()
    out["counted_saving"] = frame["counted"].to_numpy()
    out["figures"] = [
        dict(zip(figures, values, strict=True)) for values in frame[figures].itertuples(index=False)
    ]
    return out


def _pool_rows(frame: pd.DataFrame, lever: str, figures: list[str]) -> pd.DataFrame:
    out = frame[POOL_KEY].copy()
    out["lever"] = lever
    out["subject"] = frame["pool"]
    for key in ("namespace", "workload_kind", "workload_name"):
        out[key] = ""
    out["monthly_saving"] = frame["monthly_saving"].to_numpy()
    out["counted_saving"] = frame["counted"].to_numpy()
    out["figures"] = [
        dict(zip(figures, values, strict=True)) for values in frame[figures].itertuples(index=False)
    ]
    return out


def savings_list(advice, packing_pools, capacity_pools, cron, ppu, shares) -> pd.DataFrame:
    """The ranked list (SAVINGS_COLUMNS), best saving first.

    Counted, in the order of LEVERS: right-size fully; packing beyond the right-size savings of the pool's
    workloads (a lower request is a bill saving only when a node goes); CronHPA at the cost of a replica
    after right-size; oversubscription on the capacity still requested-but-unused after right-size, less
    the CronHPA savings in the pool; pay-per-use beyond the workload's right-size and CronHPA savings and
    its share of the idle money that packing and oversubscription already count in its pools.
    """
    right = advice.loc[advice["monthly_saving"] > 0].copy()
    right["counted"] = right["monthly_saving"]
    by_pool_right = _per_pool(right, shares, "monthly_saving")

    pack = packing_pools.loc[packing_pools["monthly_saving"] > 0.005].copy()
    pack["counted"] = np.maximum(pack["monthly_saving"] - _lookup(pack, by_pool_right), 0.0)

    cost_now = cron[[*WORKLOAD_KEY, "monthly_cost"]].merge(
        right[[*WORKLOAD_KEY, "monthly_saving"]].rename(columns={"monthly_saving": "rightsize"}),
        on=WORKLOAD_KEY, how="left",
    )  # fmt: skip
    kept = 1 - (
        cost_now["rightsize"].fillna(0.0) / cost_now["monthly_cost"].where(cost_now["monthly_cost"] > 0)
    ).fillna(0.0)
    cron = cron.assign(counted=cron["monthly_saving"].to_numpy() * np.clip(kept.to_numpy(), 0.0, 1.0))
    cron = cron.loc[cron["monthly_saving"] > 0.005]
    by_pool_cron = _per_pool(cron, shares, "counted")

    over = capacity_pools.rename(columns={"monthly_value": "monthly_saving"})
    over = over.loc[over["monthly_saving"] > 0.005].copy()
    # Advice that raises requests (under-requested containers) leaves more unused: never above its own figure.
    after = np.minimum(over["monthly_value_rec"], over["monthly_saving"])
    over["counted"] = np.maximum(after - _lookup(over, by_pool_cron), 0.0)

    pool_counted = (
        pd.concat([pack.set_index(POOL_KEY)["counted"], over.set_index(POOL_KEY)["counted"]])
        .groupby(level=[0, 1])
        .sum()
    )
    ppu = _ppu_counted(ppu, right, cron, pool_counted)

    rows = [
        _workload_rows(right, RIGHTSIZE, ["cpu_delta_cores", "mem_delta_gib"]),
        _pool_rows(pack, PACKING, [
            "node_cores", "node_gib", "nodes_mean", "nodes_max", "needed_peak", "needed_peak_rec",
            "surplus_nodes", "surplus_nodes_rec", "monthly_saving_today", "peak_hours_of_day", "peak_hours",
        ]),
        _workload_rows(cron, CRONHPA, [
            "replicas_mean", "replicas_suggested_mean", "cpu_request_cores", "mem_request_gib", "schedule_text",
        ]),
        _pool_rows(over, OVERSUBSCRIPTION, [
            "unused_cores_mean", "unused_gib_mean", "batch_core_hours", "batch_core_hours_month",
            "monthly_value_rec", "peak_unused_hour", "cpu_price", "mem_price",
        ]),
        _workload_rows(ppu, PAY_PER_USE, [
            "monthly_cost_now", "monthly_direct", "monthly_idle", "monthly_cost_ppu", "pods", "vcpu", "gib",
        ]),
    ]  # fmt: skip
    out = pd.concat(
        [r for r in rows if not r.empty] or [pd.DataFrame(columns=SAVINGS_COLUMNS)], ignore_index=True
    )
    out["overlaps"] = out["lever"].map(lambda lever: ", ".join(OVERLAPS[lever]))
    out = out.sort_values(
        ["monthly_saving", "cluster", "lever", "subject"], ascending=[False, True, True, True]
    )
    return out[SAVINGS_COLUMNS].reset_index(drop=True)


def _lookup(frame: pd.DataFrame, by_pool: pd.Series) -> np.ndarray:
    index = pd.MultiIndex.from_frame(frame[POOL_KEY])
    return by_pool.reindex(index).fillna(0.0).to_numpy()


def _ppu_counted(ppu, right, cron, pool_counted: pd.Series) -> pd.DataFrame:
    """Pay-per-use beyond the workload's own right-size and CronHPA savings and its part of the pool money
    already counted (its idle share in a pool over the pool's idle, times what that pool's rows count)."""
    ppu = ppu.loc[ppu["monthly_saving"] > 0.005].copy()
    if ppu.empty:
        return ppu.assign(counted=pd.Series(dtype=float))
    before = (
        ppu[WORKLOAD_KEY]
        .merge(
            right[[*WORKLOAD_KEY, "counted"]].rename(columns={"counted": "r"}), on=WORKLOAD_KEY, how="left"
        )
        .merge(cron[[*WORKLOAD_KEY, "counted"]].rename(columns={"counted": "c"}), on=WORKLOAD_KEY, how="left")
    )
    pools = [
        sum(pool_counted.get((cluster, pool), 0.0) * part for pool, part in fractions.items())
        for cluster, fractions in zip(ppu["cluster"], ppu["idle_fraction"], strict=True)
    ]
    ppu["counted"] = np.maximum(
        ppu["monthly_saving"].to_numpy()
        - before["r"].fillna(0.0).to_numpy()
        - before["c"].fillna(0.0).to_numpy()
        - np.asarray(pools, dtype=float),
        0.0,
    )
    return ppu
