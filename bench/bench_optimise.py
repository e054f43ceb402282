"""The whole Optimise computation (costing.opportunities) over 14 days of 500 nodes and 10,000 pods.

Seeds by COPY five node pools of 100 nodes, 2,000 workloads of 5 replicas (half with a daily cycle), their
pod-hours and container-hours (one container each, histograms of a key or two), node-hours, node-hour
prices and coverage, then times reading the rows (the floor: COPY of the same pod-, node-, node-cost- and
container-hours into pandas) and `costing.opportunities.opportunities_between` as a whole (the right-sizing
advice, reclaimable capacity, packing by hour with today's and advised requests, CronHPA, pay-per-use and
the savings list). The database is the run's own (bench/common.py); `--small` runs in seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import CpuClock, add_size_argument, bench_database, copy_model, copy_read, peak_rss_mb, result

TARGET_S = 60.0
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
POOLS = 5
REPLICAS = 5
CPU_SIZES = np.array([0.1, 0.25, 0.5, 1.0, 2.0])
MEM_SIZES = np.array([0.25, 0.5, 1.0, 2.0, 4.0])


def _inventory(nodes: int, pods: int):
    from costing.choices import ConnectionType
    from costing.models import Cluster, Namespace, Node, NodePool, Pod, Workload
    from costing.policy import PolicySpec
    from costing.policy.spec import PayPerUseSheet
    from costing.policy.store import save_spec

    save_spec(
        PolicySpec(
            effective_from=START.date() - timedelta(days=30),
            pay_per_use=PayPerUseSheet(vcpu_second=_d("0.0000113"),
                                       gib_second=_d("0.00000124"), min_vcpu=_d("0.25"), min_gib=_d("0.5")),
        )
    )  # fmt: skip
    cluster = Cluster.objects.create(name="bench", connection_type=ConnectionType.KUBECONFIG)
    pools = [NodePool.objects.create(cluster=cluster, name=f"pool-{i}") for i in range(POOLS)]
    seen = {"first_seen": START, "last_seen": START}
    node_rows = Node.objects.bulk_create(
        Node(cluster=cluster, name=f"node-{i}", node_pool=pools[i % POOLS], cpu_capacity_cores=8,
             memory_capacity_bytes=32 * 2**30, **seen)
        for i in range(nodes)
    )  # fmt: skip
    spaces = Namespace.objects.bulk_create(
        Namespace(cluster=cluster, name=f"team-{i}", **seen) for i in range(50)
    )
    workloads = Workload.objects.bulk_create(
        Workload(cluster=cluster, namespace=spaces[i % 50], kind="Deployment", name=f"app-{i}")
        for i in range(pods // REPLICAS)
    )
    pod_rows = Pod.objects.bulk_create(
        Pod(cluster=cluster, namespace=workloads[i // REPLICAS].namespace, workload=workloads[i // REPLICAS],
            node=node_rows[(i * 7) % nodes], name=f"app-{i}", uid=f"uid-{i}", **seen)
        for i in range(pods)
    )  # fmt: skip
    return cluster, node_rows, pod_rows


def _d(text: str):
    from decimal import Decimal

    return Decimal(text)


def seed(nodes: int, pods: int, days: int) -> int:
    from django.db import transaction

    from costing.models import ContainerHour, CoverageHour, NodeCostHour, NodeHour, PodHour

    rng = np.random.default_rng(5)
    with transaction.atomic():
        cluster, node_rows, pod_rows = _inventory(nodes, pods)
    hours = pd.date_range(START, periods=days * 24, freq="h", tz="UTC")
    n = len(hours)
    node_ids = np.array([x.pk for x in node_rows])
    with transaction.atomic():
        copy_model(NodeHour, pd.DataFrame({
            "cluster_id": cluster.pk, "node_id": np.repeat(node_ids, n), "hour": np.tile(hours, len(node_ids)),
            "samples": 60, "cpu_capacity_core_hours": 8.0, "mem_capacity_gib_hours": 32.0,
        }))  # fmt: skip
        copy_model(NodeCostHour, pd.DataFrame({
            "cluster_id": cluster.pk, "node_id": np.repeat(node_ids, n), "hour": np.tile(hours, len(node_ids)),
            "cost": 0.4, "cpu_cost_pool": 0.2, "mem_cost_pool": 0.2, "cpu_price": 0.025, "mem_price": 0.00625,
            "cpu_idle": 0, "mem_idle": 0, "estimated": False, "sampled": True,
        }))  # fmt: skip
        copy_model(
            CoverageHour, pd.DataFrame({"cluster_id": cluster.pk, "hour": hours, "sampled_seconds": 3600})
        )
    workloads = len(pod_rows) // REPLICAS
    cpu = CPU_SIZES[rng.integers(0, 5, workloads)]
    mem = MEM_SIZES[rng.integers(0, 5, workloads)]
    cyclic = rng.random(workloads) < 0.5
    daily = 0.15 + 0.85 * np.exp(-(((hours.hour.to_numpy() - 13.0) / 3.5) ** 2))
    for first in range(0, len(pod_rows), 1000):  # in blocks: a block's frame stays within memory
        block = pod_rows[first : first + 1000]
        w = np.array([i // REPLICAS for i in range(first, first + len(block))])
        load = np.where(cyclic[w][:, None], daily[None, :], 0.5) * rng.uniform(0.85, 1.15, (len(block), n))
        cpu_use = (cpu[w][:, None] * load * 0.6).ravel()
        mem_use = np.repeat(mem[w] * 0.5, n)
        frame = pd.DataFrame({
            "cluster_id": cluster.pk, "pod_id": np.repeat([p.pk for p in block], n),
            "node_id": np.repeat([p.node_id for p in block], n), "hour": np.tile(hours, len(block)), "samples": 60,
            "samples_without_metrics": 0, "cpu_request_core_hours": np.repeat(cpu[w], n),
            "cpu_usage_core_hours": cpu_use, "cpu_billable_core_hours": np.maximum(cpu_use, np.repeat(cpu[w], n)),
            "mem_request_gib_hours": np.repeat(mem[w], n), "mem_usage_gib_hours": mem_use,
            "mem_billable_gib_hours": np.repeat(mem[w], n),
        })  # fmt: skip
        with transaction.atomic():
            copy_model(PodHour, frame)
            keys = (np.log1p(cpu_use / 0.01 * 0.05) / np.log(1.05)).astype(int)
            containers = frame.drop(columns=["samples_without_metrics"]).assign(
                container="app", init=False, samples_without_metrics=0, seconds=3600,
                cpu_limit_core_hours=0.0, mem_limit_gib_hours=0.0, cpu_usage_max_cores=cpu_use * 1.2,
                mem_usage_max_bytes=mem_use * 2**30, cpu_histogram=[f'{{"{k}": 3600}}' for k in keys],
                mem_histogram='{"40": 3600}',
            )  # fmt: skip
            copy_model(ContainerHour, containers)
    return len(pod_rows) * n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=14)
    add_size_argument(parser)
    args = parser.parse_args()
    if args.small:
        args.nodes, args.pods = 10, 200
    with bench_database("optimise"):
        run(args)


def run(args) -> None:
    from costing.models import ContainerHour, NodeCostHour, NodeHour, PodHour
    from costing.opportunities import opportunities_between

    started = time.perf_counter()
    rows = seed(args.nodes, args.pods, args.days)
    print(f"seeded {rows:,} pod-hours and as many container-hours ({args.pods:,} pods on {args.nodes} nodes x "
          f"{args.days} days) in {time.perf_counter() - started:.1f} s")  # fmt: skip
    end = START + timedelta(days=args.days)
    window = [START, end]

    # The floor first, so that it reads the rows cold as the product does after it.
    started = time.perf_counter()
    for model in (PodHour, ContainerHour, NodeHour, NodeCostHour):
        copy_read(f"SELECT * FROM {model._meta.db_table} WHERE hour >= %s AND hour < %s", window)
    floor = time.perf_counter() - started

    started, clock = time.perf_counter(), CpuClock()
    out = opportunities_between(START, end)
    total_s, (total_cpu, backend_cpu) = time.perf_counter() - started, clock.seconds()
    counted = out.savings.groupby("lever")["counted_saving"].sum().round(2).to_dict()
    print(f"levers counted a month:   {counted}")
    print(f"opportunities_between():  {total_s:.1f} s")
    print(
        f"on one core:              {total_cpu + backend_cpu:.1f} s   (CPU of this process {total_cpu:.1f} s + "
        f"of its PostgreSQL backend {backend_cpu:.1f} s; goal <= {TARGET_S:g} s for 500 nodes, 10,000 pods)"
    )
    print(f"peak memory:              {peak_rss_mb():.0f} MB")
    result(
        f"Optimise over {args.days} days x {args.pods:,} pods on {args.nodes} nodes (read + every lever)",
        total_s,
        "COPY read of the same pod-, container-, node- and node-cost-hours into pandas",
        floor,
    )


if __name__ == "__main__":
    main()
