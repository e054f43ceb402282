"""How fast the pure cost engine prices, allocates and rolls up one day of a large fleet."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

# `python bench/bench_engine.py` puts bench/ on the path, not the project.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from costing.engine.allocation import allocate, rollup
from costing.engine.pricing import node_unit_prices

DAY = pd.Timestamp("2025-03-01", tz="UTC")


def fleet(pods: int, hours: int, nodes: int, seed: int = 1) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Node-hours as a DataFrame and pod-hours as plain arrays (so building their frame can be timed)."""
    rng = np.random.default_rng(seed)
    hour_index = pd.date_range(DAY, periods=hours, freq="h")
    cores = rng.choice([4.0, 8.0, 16.0], nodes)
    node_names = np.array([f"node-{i:04d}" for i in range(nodes)], dtype=object)
    node_cluster = np.array([f"cluster-{i % 3}" for i in range(nodes)], dtype=object)
    node_pool = np.array([f"pool-{i % 7}" for i in range(nodes)], dtype=object)
    sampled = rng.random(nodes * hours) > 0.01
    node_hours = pd.DataFrame(
        {
            "cluster": np.repeat(node_cluster, hours),
            "node": np.repeat(node_names, hours),
            "node_pool": np.repeat(node_pool, hours),
            "hour": np.tile(hour_index, nodes),
            "cpu_core_hours": np.repeat(cores, hours) * sampled,
            "mem_gib_hours": np.repeat(cores * 4, hours) * sampled,
            "cost": np.repeat(cores * 0.045, hours),
            "estimated": rng.random(nodes * hours) < 0.05,
            "sampled": sampled,
        }
    )
    on = rng.integers(0, nodes, pods)
    n = pods * hours
    # About 20 pods per node asking for a twentieth of it each; usage wanders above and below.
    request = np.repeat(cores[on] / 25, hours)
    usage = request * rng.uniform(0.2, 1.6, n)
    mem_request = request * 4
    mem_usage = mem_request * rng.uniform(0.3, 1.3, n)
    pod_ids = np.array([f"uid-{i:06d}" for i in range(pods)], dtype=object)
    workloads = rng.integers(0, pods // 10, pods)
    pod_hours = {
        "cluster": np.repeat(node_cluster[on], hours),
        "node": np.repeat(node_names[on], hours),
        "hour": np.tile(hour_index, pods),
        "namespace": np.repeat(np.array([f"ns-{w % 60}" for w in workloads], dtype=object), hours),
        "workload_kind": np.repeat(
            np.where(workloads % 5 == 0, "StatefulSet", "Deployment").astype(object), hours
        ),
        "workload": np.repeat(np.array([f"wl-{w}" for w in workloads], dtype=object), hours),
        "pod": np.repeat(pod_ids, hours),
        "cpu_request_core_hours": request,
        "cpu_usage_core_hours": usage,
        "cpu_billable_core_hours": np.maximum(request, usage),
        "mem_request_gib_hours": mem_request,
        "mem_usage_gib_hours": mem_usage,
        "mem_billable_gib_hours": np.maximum(mem_request, mem_usage),
    }
    return node_hours, pod_hours


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    node_hours, arrays = fleet(args.pods, args.hours, args.nodes)
    rows = args.pods * args.hours
    build, pod_hours = timed(lambda: pd.DataFrame(arrays), args.repeat)
    plain, _ = timed(
        lambda: pod_hours.groupby("namespace")[["cpu_billable_core_hours", "mem_billable_gib_hours"]].sum(),
        args.repeat,
    )
    price, prices = timed(lambda: node_unit_prices(node_hours, split="price_ratio"), args.repeat)
    alloc, result = timed(lambda: allocate(pod_hours, prices), args.repeat)

    def rollups():
        return [
            rollup(result.pods, ["namespace"], "day"),
            rollup(result.pods, ["workload_kind", "workload"], "day"),
            rollup(result.pods, ["cluster", "node_pool"], "hour"),
            rollup(result.idle, ["cluster"], "day"),
        ]

    roll, _ = timed(rollups, args.repeat)

    def whole():
        allocated = allocate(pod_hours, node_unit_prices(node_hours, split="price_ratio"))
        return rollup(allocated.pods, ["namespace"], "day"), rollup(allocated.idle, ["cluster"], "day")

    total, _ = timed(whole, args.repeat)

    print(f"{rows:,} pod-hours on {len(node_hours):,} node-hours (median of {args.repeat})")
    for label, seconds in (
        ("floor: build the pod-hour DataFrame", build),
        ("floor: plain groupby-sum by namespace", plain),
        (f"node_unit_prices ({len(node_hours):,} node-hours)", price),
        ("allocate (incl. the per node-hour check)", alloc),
        ("4 rollups (namespace/day, workload/day, pool/hour, idle/day)", roll),
        ("price + allocate + 2 rollups, end to end", total),
    ):
        print(f"  {label:<62} {seconds * 1000:8.1f} ms  {rows / seconds:14,.0f} pod-hours/s")
    reconciled = result.pods["cost"].sum() + result.idle["idle"].sum()
    print(f"  cost allocated + idle = {reconciled:,.6f}; node cost = {node_hours['cost'].sum():,.6f}")


if __name__ == "__main__":
    main()
