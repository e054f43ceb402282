"""Pay-per-use what-if: what each workload would have cost on a serverless offer billed per vCPU-second and
GiB-second of its pods' requests (CCE Autopilot, EKS Fargate, GKE Autopilot style), against its cost today
including its share of the idle capacity of the pools it ran in."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from costing.engine.levers.frames import DAEMONSET, POOL_KEY, WORKLOAD_KEY, monthly

__all__ = ["RESULT_COLUMNS", "PriceSheet", "idle_shares", "what_if"]

EPS = 1e-9
RESULT_COLUMNS = [
    *WORKLOAD_KEY, "pods", "pod_seconds", "billed_seconds", "vcpu", "gib", "monthly_direct", "monthly_idle",
    "monthly_cost_now", "monthly_cost_ppu", "monthly_saving", "idle_fraction", "reason",
]  # fmt: skip


@dataclass(frozen=True)
class PriceSheet:
    """A serverless offer's prices and billing rules (docs/policy.md: `pay_per_use`)."""

    name: str
    vcpu_second: float
    gib_second: float
    min_vcpu: float = 0.0
    min_gib: float = 0.0
    vcpu_step: float = 0.0  # requests rounded up to a multiple (0: as asked)
    gib_step: float = 0.0
    min_seconds: float = 0.0  # each pod is billed at least this long
    second_step: float = 1.0  # billed time rounded up to a multiple


def _round_up(values: np.ndarray, step: float) -> np.ndarray:
    return np.ceil(np.round(values / step, 9)) * step if step > 0 else values


def idle_shares(nodes: pd.DataFrame, pods: pd.DataFrame) -> pd.DataFrame:
    """Each workload's share of the idle cost of its pools, per pool and day: the idle of a node-hour is its
    cost less what its pods pay (never negative); a pool-day's idle goes to its workloads in proportion to
    their cost there (the cost model's `proportional` idle method, within the pool)."""
    paid = pods.groupby(["cluster", "node", "hour"], sort=False)["cost"].sum().rename("paid")
    idle = nodes.set_index(["cluster", "node", "hour"]).join(paid, how="left")
    idle["idle"] = np.maximum(idle["cost"] - idle["paid"].fillna(0.0), 0.0)
    idle = idle.reset_index()
    idle["day"] = idle["hour"].dt.normalize()
    pool_idle = idle.groupby([*POOL_KEY, "day"], sort=False)["idle"].sum()
    rows = pods.assign(day=pods["hour"].dt.normalize())
    direct = (
        rows.groupby([*WORKLOAD_KEY, "pool", "day"], sort=False)["cost"].sum().rename("direct").reset_index()
    )
    direct["pool_direct"] = direct.groupby([*POOL_KEY, "day"], sort=False)["direct"].transform("sum")
    direct = direct.merge(pool_idle.reset_index(), on=[*POOL_KEY, "day"], how="left")
    share = direct["direct"] / direct["pool_direct"].where(direct["pool_direct"] > EPS)
    direct["idle"] = (share * direct["idle"].fillna(0.0)).fillna(0.0)
    return direct.groupby([*WORKLOAD_KEY, "pool"], sort=True)[["direct", "idle"]].sum().reset_index()


def what_if(
    nodes: pd.DataFrame, pods: pd.DataFrame, sheet: PriceSheet | None, window_hours: float
) -> pd.DataFrame:
    """One row per workload (DaemonSets have no place on a serverless offer: left out) from prepared frames.

    Each pod is billed for the seconds it was sampled (at least `min_seconds`, rounded up to `second_step`)
    times its request while present (rounded up to the steps, at least the minimums) at the sheet's price
    per vCPU-second and GiB-second. Today = its direct cost + its share of the idle of its pools.
    """
    shares = idle_shares(nodes, pods)
    pool_idle = shares.groupby(POOL_KEY, sort=False)["idle"].transform("sum")
    shares["fraction"] = (shares["idle"] / pool_idle.where(pool_idle > EPS)).fillna(0.0)
    shares = shares.loc[shares["workload_kind"] != DAEMONSET]
    if shares.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RESULT_COLUMNS})
    now = shares.groupby(WORKLOAD_KEY, sort=True)[["direct", "idle"]].sum()
    by_pool = shares.groupby(WORKLOAD_KEY, sort=True).apply(
        lambda g: {p: float(v) for p, v in zip(g["pool"], g["fraction"], strict=True) if v > 0},
        include_groups=False,
    )
    out = now.assign(idle_fraction=by_pool).reset_index()
    out["monthly_direct"] = monthly(out["direct"], window_hours)
    out["monthly_idle"] = monthly(out["idle"], window_hours)
    out["monthly_cost_now"] = out["monthly_direct"] + out["monthly_idle"]
    if sheet is None:
        for column in ("pods", "pod_seconds", "billed_seconds", "vcpu", "gib", "monthly_cost_ppu"):
            out[column] = np.nan
        out["monthly_saving"] = 0.0
        out["reason"] = "no pay-per-use price sheet in the policy"
        return out[RESULT_COLUMNS]
    billed = _billed(pods.loc[pods["workload_kind"] != DAEMONSET], sheet)
    out = out.merge(billed, on=WORKLOAD_KEY, how="left")
    out["monthly_cost_ppu"] = monthly(out["ppu"].fillna(0.0), window_hours)
    out["monthly_saving"] = out["monthly_cost_now"] - out["monthly_cost_ppu"]
    out["reason"] = np.where(out["monthly_saving"] > 0, "", "costs more on pay-per-use than today")
    return out[RESULT_COLUMNS]


def _billed(pods: pd.DataFrame, sheet: PriceSheet) -> pd.DataFrame:
    per_pod = pods.groupby([*WORKLOAD_KEY, "pod"], sort=False).agg(
        present=("present", "sum"), cpu=("cpu_request", "sum"), mem=("mem_request", "sum")
    )
    seconds = per_pod["present"].to_numpy() * 3600
    vcpu = np.maximum(
        _round_up(per_pod["cpu"].to_numpy() / per_pod["present"].to_numpy(), sheet.vcpu_step), sheet.min_vcpu
    )
    gib = np.maximum(
        _round_up(per_pod["mem"].to_numpy() / per_pod["present"].to_numpy(), sheet.gib_step), sheet.min_gib
    )
    billed = np.maximum(_round_up(np.round(seconds, 6), sheet.second_step), sheet.min_seconds)
    per_pod = per_pod.assign(
        pods=1,
        pod_seconds=seconds,
        billed_seconds=billed,
        vcpu_seconds=vcpu * billed,
        gib_seconds=gib * billed,
        ppu=billed * (vcpu * sheet.vcpu_second + gib * sheet.gib_second),
    )
    out = per_pod.groupby(level=list(range(len(WORKLOAD_KEY))), sort=True)[
        ["pods", "pod_seconds", "billed_seconds", "vcpu_seconds", "gib_seconds", "ppu"]
    ].sum()
    out["vcpu"] = out["vcpu_seconds"] / out["billed_seconds"]
    out["gib"] = out["gib_seconds"] / out["billed_seconds"]
    return out.reset_index()[[*WORKLOAD_KEY, "pods", "pod_seconds", "billed_seconds", "vcpu", "gib", "ppu"]]
