"""The pure cost engine pricing, allocating and rolling up one day of a churning fleet, beside pandas doing
the least any allocation must: join each pod-hour to its node-hour and sum cost by namespace.

The day is bench/data.py's fleet (replicas replaced daily, hourly CronJob pods, node replacements), so
a pod-hour is often a part of an hour. No warm-up: the median of the runs includes the first.

    python bench/bench_engine.py --small      # 500 pods running
    python bench/bench_engine.py              # 10,000 pods running
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data
from bench.common import add_size_argument, result
from costing.engine.allocation import allocate, rollup
from costing.engine.pricing import node_unit_prices

DAY = pd.Timestamp("2025-03-01", tz="UTC")


def fleet_day(pods: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Node-hours and pod-hours of the fleet's second day (its first with a day of churn behind it)."""
    fleet = data.fleet(pods, 2, DAY, seed=seed)
    rng = np.random.default_rng(seed)
    nodes = fleet.nodes
    nh = data.node_hours(fleet, 1)
    sampled = rng.random(len(nh)) > 0.01
    node_hours = pd.DataFrame(
        {
            "cluster": "cluster-" + (nodes["slot"].to_numpy()[nh["node"]] % 3).astype(str),
            "node": nodes["name"].to_numpy()[nh["node"]],
            "node_pool": "pool-" + nodes["pool"].astype(str).to_numpy()[nh["node"]],
            "hour": DAY + pd.to_timedelta(nh["minute"], unit="min"),
            "cpu_core_hours": nh["cores"] * nh["share"] * sampled,
            "mem_gib_hours": nh["mem_gib"] * nh["share"] * sampled,
            "cost": nh["cores"] * 0.045 * nh["share"],
            "estimated": rng.random(len(nh)) < 0.05,
            "sampled": sampled,
        }
    )
    ph = data.pod_hours(fleet, 1)
    wl = fleet.pods["workload"].to_numpy()[ph["pod"]]
    pod_hours = pd.DataFrame(
        {
            "cluster": "cluster-" + (nodes["slot"].to_numpy()[ph["node"]] % 3).astype(str),
            "node": nodes["name"].to_numpy()[ph["node"]],
            "hour": DAY + pd.to_timedelta(ph["minute"], unit="min"),
            "namespace": np.asarray(fleet.namespaces, dtype=object)[
                fleet.workloads["namespace"].to_numpy()[wl]
            ],
            "workload_kind": fleet.workloads["kind"].to_numpy()[wl],
            "workload": fleet.workloads["name"].to_numpy()[wl],
            "pod": fleet.pods["uid"].to_numpy()[ph["pod"]],
            **{c: ph[c] for c in ph.columns if c.endswith("_hours")},
        }
    )
    return node_hours, pod_hours


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=10_000, help="pods running at any time")
    parser.add_argument("--repeat", type=int, default=3)
    add_size_argument(parser)
    args = parser.parse_args()
    if args.small:
        args.pods = 500

    node_hours, pod_hours = fleet_day(args.pods)
    rows = len(pod_hours)
    print(
        f"{rows:,} pod-hours of {pod_hours['pod'].nunique():,} pods on {len(node_hours):,} node-hours "
        f"(median of {args.repeat}, the first included)"
    )

    def floor():
        joined = pod_hours.merge(node_hours[["node", "hour", "cost", "cpu_core_hours"]], on=["node", "hour"])
        share = joined["cpu_billable_core_hours"] / joined["cpu_core_hours"].where(
            joined["cpu_core_hours"] > 0
        )
        return (share * joined["cost"]).groupby(joined["namespace"]).sum()

    def whole():
        allocated = allocate(pod_hours, node_unit_prices(node_hours, split="price_ratio"))
        return rollup(allocated.pods, ["namespace"], "day"), rollup(allocated.idle, ["cluster"], "day")

    floor_s, _ = timed(floor, args.repeat)
    price, prices = timed(lambda: node_unit_prices(node_hours, split="price_ratio"), args.repeat)
    alloc, allocated = timed(lambda: allocate(pod_hours, prices), args.repeat)
    total, _ = timed(whole, args.repeat)
    for label, seconds in (
        (f"node_unit_prices ({len(node_hours):,} node-hours)", price),
        ("allocate (incl. the per node-hour check)", alloc),
    ):
        print(f"  {label:<46} {seconds * 1000:8.1f} ms  {rows / seconds:14,.0f} pod-hours/s")
    reconciled = allocated.pods["cost"].sum() + allocated.idle["idle"].sum()
    print(f"cost allocated + idle = {reconciled:,.6f}; node cost = {node_hours['cost'].sum():,.6f}")
    result(
        "node_unit_prices + allocate + rollups by namespace and idle by cluster",
        total,
        "pandas: join pod-hours to node-hours, cost share summed by namespace",
        floor_s,
    )


if __name__ == "__main__":
    main()
