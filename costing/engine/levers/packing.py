"""Node packing: how many nodes of each pool the pods' requests need, hour by hour, with today's requests
and with the right-sizing advice, and what removing the surplus nodes saves at their billed prices."""

from __future__ import annotations

import numpy as np
import pandas as pd

from costing.engine.levers.frames import DAEMONSET, POOL_KEY, monthly

__all__ = ["HOUR_COLUMNS", "POOL_COLUMNS", "bins_needed", "pack"]

EPS = 1e-9
ROUND = 6  # requests are grouped to the micro-core and micro-GiB: replicas of a workload share one size
HOUR_COLUMNS = [
    *POOL_KEY,
    "hour",
    "nodes",
    "cost",
    "daemonset_cores",
    "daemonset_gib",
    "needed",
    "needed_rec",
]
POOL_COLUMNS = [
    *POOL_KEY, "node_cores", "node_gib", "nodes_mean", "nodes_max", "needed_peak", "needed_peak_rec",
    "surplus_nodes", "surplus_nodes_rec", "monthly_cost", "monthly_saving_today", "monthly_saving",
    "peak_hours", "peak_hours_of_day", "oversized_pods",
]  # fmt: skip


def _fits(free: np.ndarray, size: float, most: int) -> np.ndarray:
    """How many items of `size` fit in each free amount (all of them when the size is nothing)."""
    if size <= EPS:
        return np.full(free.shape, most, dtype=np.int64)
    return np.floor((free + EPS) / size).astype(np.int64)


def bins_needed(cpu, mem, count, cap_cpu: float, cap_mem: float) -> tuple[int, int]:
    """(bins, oversized): first-fit decreasing of `count[i]` items of size (cpu[i], mem[i]) into bins of
    (cap_cpu, cap_mem), largest dominant share first. Copies of one size are placed together, each in the
    first open bin with room: the bins FFD gives item by item. An item larger than an empty bin is counted
    apart (`oversized`: one node of its own each)."""
    cpu, mem, count = np.asarray(cpu, float), np.asarray(mem, float), np.asarray(count, np.int64)
    cap_cpu, cap_mem = max(cap_cpu, EPS), max(cap_mem, EPS)
    order = np.lexsort((-mem, -cpu, -np.maximum(cpu / cap_cpu, mem / cap_mem)))
    free_cpu, free_mem = np.empty(0), np.empty(0)
    oversized = 0
    for i in order:
        c, m, k = float(cpu[i]), float(mem[i]), int(count[i])
        if c > cap_cpu + EPS or m > cap_mem + EPS:
            oversized += k
            continue
        if free_cpu.size:
            fit = np.minimum(_fits(free_cpu, c, k), _fits(free_mem, m, k))
            placed = np.clip(k - (np.cumsum(fit) - fit), 0, fit)
            free_cpu = free_cpu - placed * c
            free_mem = free_mem - placed * m
            k -= int(placed.sum())
        if k > 0:
            per = int(min(_fits(np.array([cap_cpu]), c, k)[0], _fits(np.array([cap_mem]), m, k)[0]))
            full, rest = divmod(k, per)
            loads = [per] * full + ([rest] if rest else [])
            loads = np.array(loads, dtype=float)
            free_cpu = np.concatenate([free_cpu, cap_cpu - loads * c])
            free_mem = np.concatenate([free_mem, cap_mem - loads * m])
    return int(free_cpu.size) + oversized, oversized


def _node_shapes(nodes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the pool's node shape, each node's full cores). The shape is the most common (cores, GiB) of the
    pool's sampled nodes, each node at its largest hour (a tie goes to the larger shape)."""
    per_node = (
        nodes.groupby([*POOL_KEY, "node"], sort=False)[["cpu_cores", "mem_gib"]].max().round(3).reset_index()
    )
    sampled = per_node.loc[per_node["cpu_cores"] > 0]  # a node billed but never sampled has no shape
    counts = sampled.groupby([*POOL_KEY, "cpu_cores", "mem_gib"], sort=False).size().rename("n").reset_index()
    counts = counts.sort_values(
        [*POOL_KEY, "n", "cpu_cores", "mem_gib"], ascending=[True, True, False, False, False]
    )
    shapes = counts.drop_duplicates(POOL_KEY).rename(
        columns={"cpu_cores": "node_cores", "mem_gib": "node_gib"}
    )
    full = per_node.rename(columns={"cpu_cores": "full_cores"})[[*POOL_KEY, "node", "full_cores"]]
    return shapes[[*POOL_KEY, "node_cores", "node_gib"]], full


def _pool_hours(nodes: pd.DataFrame, pods: pd.DataFrame, shapes, full) -> pd.DataFrame:
    present = nodes.merge(full, on=[*POOL_KEY, "node"], how="left")
    # A node-hour billed but not sampled is a whole node the pool paid for.
    share = present["cpu_cores"] / present["full_cores"].where(present["full_cores"] > 0)
    present["nodes"] = share.where(present["cpu_cores"] > 0, (present["cost"] > 0).astype(float))
    hours = present.groupby([*POOL_KEY, "hour"], sort=False)[["nodes", "cost"]].sum()
    daemons = pods.loc[pods["workload_kind"] == DAEMONSET]
    per_node = daemons.groupby([*POOL_KEY, "hour", "node"], sort=False)[["cpu_rate", "mem_rate"]].sum()
    worst = per_node.groupby(level=[0, 1, 2], sort=False).max()
    worst.columns = ["daemonset_cores", "daemonset_gib"]
    hours = hours.join(worst, how="left").fillna({"daemonset_cores": 0.0, "daemonset_gib": 0.0}).reset_index()
    return hours.merge(shapes, on=POOL_KEY, how="left")


def _needed(hours: pd.DataFrame, pods: pd.DataFrame, cpu: str, mem: str) -> tuple[np.ndarray, np.ndarray]:
    """Bins per pool-hour (at least one where the pool has a node) and its oversized pods."""
    items = pods.loc[pods["workload_kind"] != DAEMONSET, [*POOL_KEY, "hour", cpu, mem]].copy()
    items[cpu] = items[cpu].round(ROUND)
    items[mem] = items[mem].round(ROUND)
    sizes = items.groupby([*POOL_KEY, "hour", cpu, mem], sort=True).size().rename("count").reset_index()
    key = hours[[*POOL_KEY, "hour"]].reset_index().rename(columns={"index": "row"})
    sizes = sizes.merge(key, on=[*POOL_KEY, "hour"], how="inner").sort_values("row", kind="stable")
    needed = np.zeros(len(hours), dtype=np.int64)
    oversized = np.zeros(len(hours), dtype=np.int64)
    caps_cpu = (hours["node_cores"] - hours["daemonset_cores"]).to_numpy(float)
    caps_mem = (hours["node_gib"] - hours["daemonset_gib"]).to_numpy(float)
    rows = sizes["row"].to_numpy()
    bounds = np.flatnonzero(np.diff(rows)) + 1
    cache: dict[tuple, tuple[int, int]] = {}
    cpu_all, mem_all, count_all = (sizes[c].to_numpy() for c in (cpu, mem, "count"))
    for part in np.split(np.arange(len(rows)), bounds) if len(rows) else []:
        row = int(rows[part[0]])
        c, m, k = cpu_all[part], mem_all[part], count_all[part]
        signature = (
            round(caps_cpu[row], ROUND),
            round(caps_mem[row], ROUND),
            c.tobytes(),
            m.tobytes(),
            k.tobytes(),
        )
        if signature not in cache:
            cache[signature] = bins_needed(c, m, k, caps_cpu[row], caps_mem[row])
        needed[row], oversized[row] = cache[signature]
    has_nodes = hours["nodes"].to_numpy(float) > EPS
    return np.where(has_nodes, np.maximum(needed, 1), needed), oversized


def pack(nodes: pd.DataFrame, pods: pd.DataFrame, window_hours: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per pool-hour, per pool) from prepared frames (levers.frames.prepare).

    Each hour, the pods of a pool (all but DaemonSets, at their request while present) are packed by first
    fit decreasing into nodes of the pool's shape less the DaemonSet requests of its busiest node (a
    DaemonSet runs on every node). The pool needs as many nodes as its busiest hour (the peak); keeping
    only those, each hour saves its nodes above the peak at that hour's mean node cost. `_rec`: with the
    right-sizing advice's requests.
    """
    if nodes.empty:
        return (
            pd.DataFrame({c: pd.Series(dtype=float) for c in HOUR_COLUMNS}),
            pd.DataFrame({c: pd.Series(dtype=float) for c in POOL_COLUMNS}),
        )
    shapes, full = _node_shapes(nodes)
    hours = _pool_hours(nodes, pods, shapes, full)
    hours["needed"], oversized = _needed(hours, pods, "cpu_rate", "mem_rate")
    hours["needed_rec"], _ = _needed(hours, pods, "cpu_rate_rec", "mem_rate_rec")
    hours["oversized"] = oversized
    return hours[HOUR_COLUMNS], _by_pool(hours, window_hours)


def _saving(hours: pd.DataFrame, peak: pd.Series) -> np.ndarray:
    node_cost = hours["cost"] / hours["nodes"].where(hours["nodes"] > EPS)
    surplus = np.maximum(hours["nodes"] - peak, 0.0)
    return (surplus * node_cost.fillna(0.0)).to_numpy()


def _by_pool(hours: pd.DataFrame, window_hours: float) -> pd.DataFrame:
    group = hours.groupby(POOL_KEY, sort=True)
    out = group.agg(
        node_cores=("node_cores", "first"),
        node_gib=("node_gib", "first"),
        nodes_mean=("nodes", "mean"),
        nodes_max=("nodes", "max"),
        needed_peak=("needed", "max"),
        needed_peak_rec=("needed_rec", "max"),
        cost=("cost", "sum"),
        oversized_pods=("oversized", "max"),
    )
    peak = hours[POOL_KEY].merge(out.reset_index(), on=POOL_KEY, how="left")
    parts = hours[POOL_KEY].assign(
        today=_saving(hours, peak["needed_peak"]), rec=_saving(hours, peak["needed_peak_rec"])
    )
    sums = parts.groupby(POOL_KEY, sort=True)[["today", "rec"]].sum()
    out["monthly_cost"] = monthly(out["cost"], window_hours)
    out["monthly_saving_today"] = monthly(sums["today"], window_hours)
    out["monthly_saving"] = monthly(sums["rec"], window_hours)
    out["surplus_nodes"] = np.maximum(np.round(out["nodes_max"], 6) - out["needed_peak"], 0.0)
    out["surplus_nodes_rec"] = np.maximum(np.round(out["nodes_max"], 6) - out["needed_peak_rec"], 0.0)
    at_peak = hours.loc[hours["needed_rec"] == peak["needed_peak_rec"].to_numpy()]
    out["peak_hours"] = at_peak.groupby(POOL_KEY, sort=True)["hour"].agg(
        lambda s: [t.strftime("%Y-%m-%dT%H:00Z") for t in sorted(s)[:10]]
    )
    out["peak_hours_of_day"] = at_peak.groupby(POOL_KEY, sort=True)["hour"].agg(
        lambda s: sorted({int(t.hour) for t in s})
    )
    return out.reset_index()[POOL_COLUMNS]
