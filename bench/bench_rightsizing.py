"""Right-sizing recommendations over 14 (+7 back-test) days of 10,000 containers, from PostgreSQL.

Seeds container-hours (histograms of a few keys, each hour with a peak of its own in its highest bucket),
node-hour prices and coverage by COPY, stores the container-days as computing the days does (timed apart:
compute's work), then times reading the rows (the floor), the engine from the hours, the stored days' read,
and `costing.recommendations.recommendations` as a whole (which reads the stored days). Floor: COPY of the same container-hour rows into pandas. The database is the run's own
(bench/common.py: finops_bench_rightsizing_<pid>_<time>, dropped at the end); `--small` runs in seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import CpuClock, add_size_argument, bench_database, copy_read, result

TARGET_S = 30.0
START = datetime(2026, 3, 1, tzinfo=UTC)


def seed(containers: int, days: int, nodes: int) -> None:
    from django.db import transaction

    from costing import bulk_write as bulk
    from costing import histograms
    from costing.choices import ConnectionType
    from costing.models import (
        Cluster,
        ContainerHour,
        CoverageHour,
        Namespace,
        Node,
        NodeCostHour,
        NodePool,
        Pod,
        Workload,
    )

    rng = np.random.default_rng(1)
    hours = [START + timedelta(hours=h) for h in range(days * 24)]
    with transaction.atomic():
        cluster = Cluster.objects.create(name="bench", connection_type=ConnectionType.KUBECONFIG)
        pool = NodePool.objects.create(cluster=cluster, name="pool")
        node_rows = Node.objects.bulk_create(
            Node(cluster=cluster, name=f"node-{i}", node_pool=pool, first_seen=START, last_seen=START)
            for i in range(nodes)
        )
        spaces = Namespace.objects.bulk_create(
            Namespace(cluster=cluster, name=f"team-{i}", first_seen=START, last_seen=START) for i in range(50)
        )
        workloads = Workload.objects.bulk_create(
            Workload(cluster=cluster, namespace=spaces[i % 50], kind="Deployment", name=f"app-{i}")
            for i in range(containers)
        )
        pods = Pod.objects.bulk_create(
            Pod(
                cluster=cluster, namespace=w.namespace, workload=w, node=node_rows[i % nodes], name=f"app-{i}-0",
                uid=f"uid-{i}", first_seen=START, last_seen=START,
            )
            for i, w in enumerate(workloads)
        )  # fmt: skip
        pod_ids = np.array([p.pk for p in pods], dtype=np.int64)
        node_ids = np.array([n.pk for n in node_rows], dtype=np.int64)
        n = len(hours)
        with bulk.Inserter(
            ContainerHour,
            [
                "cluster", "pod", "node", "container", "hour", "init", "samples", "samples_without_metrics",
                "seconds", "cpu_request_core_hours", "cpu_usage_core_hours", "cpu_billable_core_hours",
                "cpu_limit_core_hours", "mem_request_gib_hours", "mem_usage_gib_hours", "mem_billable_gib_hours",
                "mem_limit_gib_hours", "cpu_usage_max_cores", "mem_usage_max_bytes", "cpu_histogram",
                "mem_histogram",
            ],
            threaded=True,
        ) as inserter:  # fmt: skip
            for i in range(containers):
                base = rng.integers(10, 40)
                spread = rng.integers(0, 4, size=(n, 3))
                cpu_h = [
                    {str(base + a): 1200, str(base + b): 1200, str(base + c): 1200}
                    for a, b, c in spread.tolist()
                ]
                # Each hour's peak lies in its highest bucket: a peak of its own, as real hours have.
                top = base + spread.max(axis=1)
                peaks = histograms.CPU.start(top) + rng.random(n) * (
                    histograms.CPU.end(top) - histograms.CPU.start(top)
                )
                inserter.write(
                    {
                        "cluster": cluster.pk, "pod": int(pod_ids[i]), "node": int(node_ids[i % nodes]),
                        "container": "app", "hour": hours, "init": False, "samples": 60,
                        "samples_without_metrics": 0, "seconds": 3600, "cpu_request_core_hours": 1.0,
                        "cpu_usage_core_hours": 0.3, "cpu_billable_core_hours": 1.0, "cpu_limit_core_hours": 0.0,
                        "mem_request_gib_hours": 1.0, "mem_usage_gib_hours": 0.3, "mem_billable_gib_hours": 1.0,
                        "mem_limit_gib_hours": 2.0, "cpu_usage_max_cores": peaks,
                        "mem_usage_max_bytes": float(rng.integers(2e8, 9e8)), "cpu_histogram": cpu_h,
                        "mem_histogram": {"30": 3600},
                    }
                )  # fmt: skip
        bulk.insert_columns(
            NodeCostHour,
            {
                "cluster": cluster.pk,
                "node": np.repeat(node_ids, n),
                "hour": hours * nodes,
                "cpu_price": 0.04,
                "mem_price": 0.005,
            },
        )
        bulk.insert_columns(CoverageHour, {"cluster": cluster.pk, "hour": hours, "sampled_seconds": 3600})
    return cluster.pk


def store_days(cluster_id: int, days: int) -> float:
    """What computing the days stores for right-sizing (store_container_days, one transaction per cluster-day,
    as compute does); returns the CPU seconds it took (this process and its PostgreSQL backend)."""
    from django.db import transaction

    from costing.models import ClusterDay
    from costing.recommendations import store_container_days

    clock = CpuClock()
    for d in range(days):
        day = (START + timedelta(days=d)).date()
        with transaction.atomic():
            ClusterDay.objects.create(cluster_id=cluster_id, day=day, dirty=False)
            store_container_days(cluster_id, day)
    return sum(clock.seconds())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--containers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=21, help="14 of look-back and 7 of back-test")
    parser.add_argument("--nodes", type=int, default=500)
    add_size_argument(parser)
    args = parser.parse_args()
    if args.small:
        args.containers, args.nodes = 200, 10
    with bench_database("rightsizing"):
        run(args)


def run(args) -> None:
    from costing.engine.rightsizing import recommend
    from costing.models import ContainerHour
    from costing.recommendations import container_hours, coverage_hours, read_container_days, recommendations

    started = time.perf_counter()
    cluster_id = seed(args.containers, args.days, args.nodes)
    rows = args.containers * args.days * 24
    print(f"seeded {rows:,} container-hours ({args.containers:,} containers x {args.days} days) in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    started = time.perf_counter()
    stored_cpu = store_days(cluster_id, args.days)
    print(f"container-days stored as compute does: {time.perf_counter() - started:.1f} s, {stored_cpu:.1f} s on "
          f"one core ({stored_cpu / args.days:.2f} s per cluster-day, part of computing the day)")  # fmt: skip
    end = START + timedelta(days=args.days)

    # The floor first, so that it reads the rows cold as the product does after it.
    started = time.perf_counter()
    floor_rows = copy_read(
        f"SELECT * FROM {ContainerHour._meta.db_table} WHERE hour >= %s AND hour < %s",
        [START, end],
    )
    floor = time.perf_counter() - started
    assert len(floor_rows) == rows, (len(floor_rows), rows)
    del floor_rows

    # Wall time, and this process's CPU time beside it: on a shared machine the wall time of a busy hour is
    # several times the CPU time (PostgreSQL's own CPU for the COPY is not counted in it).
    started, cpu = time.perf_counter(), time.process_time()
    hours = container_hours(START, end)
    cover = coverage_hours(START, end)
    read_s, read_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    recommend(hours, cover, start=START, end=end)
    engine_s, engine_cpu = time.perf_counter() - started, time.process_time() - cpu
    del hours
    started, clock = time.perf_counter(), CpuClock()
    stored = read_container_days(START, end)
    days_s, days_cpu = time.perf_counter() - started, sum(clock.seconds())
    assert len(stored) == args.containers * args.days, len(stored)
    del stored
    started, clock = time.perf_counter(), CpuClock()
    out = recommendations(START, end)
    total_s, (total_cpu, backend_cpu) = time.perf_counter() - started, clock.seconds()
    assert len(out) == args.containers
    print(f"hours read (no days stored): {read_s:.1f} s   (CPU {read_cpu:.1f} s)")
    print(f"engine from the hours:    {engine_s:.1f} s   (CPU {engine_cpu:.1f} s)")
    print(f"stored container-days read: {days_s:.1f} s   ({days_cpu:.1f} s on one core)")
    print(f"recommendations():        {total_s:.1f} s   (CPU {total_cpu:.1f} s)")
    print(
        f"on one core:              {total_cpu + backend_cpu:.1f} s   (CPU of this process {total_cpu:.1f} s + "
        f"of its PostgreSQL backend {backend_cpu:.1f} s; goal <= {TARGET_S:g} s for 10,000 containers)"
    )
    result(
        f"recommendations over {args.days} days x {args.containers:,} containers (read + engine + back-test)",
        total_s,
        "COPY read of the same container-hours into pandas",
        floor,
    )


if __name__ == "__main__":
    main()
