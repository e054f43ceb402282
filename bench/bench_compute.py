"""How fast 30 days of a large cluster are priced, allocated and apportioned from PostgreSQL and stored.

Generates its own database (default finops_bench_compute): inventory through the ORM, then the
PodHour, NodeHour and BillLine rows with COPY. Then times, beside the floor of merely reading the
same PodHour rows into pandas:
  - computing every day of the period (recompute_period: compute_cluster_day + apportion_day per day),
  - recomputing one day again (replacing its stored rows).

    python bench/bench_compute.py --pods 2000           # try small first
    python bench/bench_compute.py                       # 10,000 pods x 30 days = 7.2 million pod-hours
    python bench/bench_compute.py --reuse               # skip generating, time again
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

START = date(2025, 3, 1)
NAMESPACES = 60
PODS_PER_WORKLOAD = 5
PODS_PER_NODE = 20


def setup_django(database: str) -> None:
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{database}"
    os.environ.setdefault("FINOPS_VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finops.settings")
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
            conn.execute(f'CREATE DATABASE "{database}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def copy_frame(table: str, frame: pd.DataFrame) -> None:
    """COPY a DataFrame into a table (columns named as the frame's)."""
    from django.db import connection

    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep="\\N", sep="\t")
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    with connection.cursor() as cursor, cursor.cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
        copy.write(buffer.getvalue())


def generate(pods: int, days: int, seed: int = 7) -> None:
    from django.db import connection, transaction

    from costing.choices import ConnectionType, LineKind, OwnerKind
    from costing.models import (
        BillImport,
        BillLine,
        Cluster,
        Namespace,
        Node,
        NodeHour,
        NodePool,
        Pod,
        PodHour,
        Policy,
        Workload,
    )
    from costing.policy import DepartmentSpec, FallbackPrice, PolicySpec, PoolSpec
    from costing.policy.store import save_spec

    rng = np.random.default_rng(seed)
    with connection.cursor() as cursor:
        tables = ", ".join(f'"{m._meta.db_table}"' for m in (Cluster, Policy, BillImport))
        cursor.execute(f"TRUNCATE {tables}, costing_department RESTART IDENTITY CASCADE")
    nodes_n = max(1, pods // PODS_PER_NODE)
    first = datetime.combine(START, datetime.min.time(), UTC)
    seen = {"first_seen": first, "last_seen": first + timedelta(days=days)}
    with transaction.atomic():
        save_spec(
            PolicySpec(
                effective_from=START,
                fallback_prices=[
                    FallbackPrice(cpu_core_hour=Decimal("0.0316"), mem_gib_hour=Decimal("0.0042"))
                ],
                shared_namespaces=["kube-system", "monitoring"],
                departments=[
                    DepartmentSpec(f"Dept {d}", patterns=[f"team-{d}-*"], weight=Decimal(10 + d))
                    for d in range(8)
                ],
                pools={
                    "shared": PoolSpec("proportional", "cluster"),
                    "idle": PoolSpec("per_resource", "cluster"),
                    "overhead": PoolSpec("weights", "global"),
                },
            )
        )
        cluster = Cluster.objects.create(name="bench", connection_type=ConnectionType.SIMULATOR)
        pools = [NodePool.objects.create(cluster=cluster, name=f"pool-{i}") for i in range(5)]
        cores = rng.choice([4, 8, 16], nodes_n)
        nodes = Node.objects.bulk_create(
            Node(
                cluster=cluster,
                name=f"node-{i:05d}",
                node_pool=pools[i % len(pools)],
                instance_id=f"i-{i:08x}",
                instance_type="m5.xlarge",
                cpu_capacity_cores=float(cores[i]),
                memory_capacity_bytes=int(cores[i]) * 4 * 2**30,
                **seen,
            )
            for i in range(nodes_n)
        )
        ns_names = ["kube-system", "monitoring"] + [f"team-{i % 8}-app{i}" for i in range(NAMESPACES - 2)]
        namespaces = Namespace.objects.bulk_create(
            Namespace(cluster=cluster, name=n, **seen) for n in ns_names
        )
        workloads_n = max(1, pods // PODS_PER_WORKLOAD)
        workloads = Workload.objects.bulk_create(
            Workload(
                cluster=cluster,
                namespace=namespaces[i % len(namespaces)],
                kind=OwnerKind.DEPLOYMENT,
                name=f"wl-{i}",
            )
            for i in range(workloads_n)
        )
        pod_node = rng.integers(0, nodes_n, pods)
        pod_objects = Pod.objects.bulk_create(
            (
                Pod(
                    cluster=cluster,
                    namespace=workloads[i % workloads_n].namespace,
                    workload=workloads[i % workloads_n],
                    node=nodes[pod_node[i]],
                    name=f"pod-{i}",
                    uid=f"uid-{i}",
                    labels={"team": f"t{i % 13}"},
                    **seen,
                )
                for i in range(pods)
            ),
            batch_size=5000,
        )
        bill = BillImport.objects.create(file_name="bench.csv", format="focus")

    pod_ids = np.array([p.pk for p in pod_objects])
    node_ids = np.array([n.pk for n in nodes])
    request = cores[pod_node] / 25
    mem_request = request * 4
    unbilled = rng.random(nodes_n) < 0.03  # estimated from the fallback sheet
    for d in range(days):
        day_start = first + timedelta(days=d)
        hours = pd.date_range(day_start, periods=24, freq="h", tz="UTC")
        n = pods * 24
        usage = np.repeat(request, 24) * rng.uniform(0.2, 1.6, n)
        mem_usage = np.repeat(mem_request, 24) * rng.uniform(0.3, 1.3, n)
        pod_hours = pd.DataFrame(
            {
                "cluster_id": cluster.pk,
                "pod_id": np.repeat(pod_ids, 24),
                "node_id": np.repeat(node_ids[pod_node], 24),
                "hour": np.tile(hours.strftime("%Y-%m-%d %H:%M:%S+00"), pods),
                "samples": 60,
                "samples_without_metrics": 0,
                "cpu_request_core_hours": np.repeat(request, 24),
                "cpu_usage_core_hours": usage,
                "cpu_billable_core_hours": np.maximum(usage, np.repeat(request, 24)),
                "mem_request_gib_hours": np.repeat(mem_request, 24),
                "mem_usage_gib_hours": mem_usage,
                "mem_billable_gib_hours": np.maximum(mem_usage, np.repeat(mem_request, 24)),
            }
        )
        sampled = rng.random(nodes_n * 24) > 0.01
        node_hours = pd.DataFrame(
            {
                "cluster_id": cluster.pk,
                "node_id": np.repeat(node_ids, 24),
                "hour": np.tile(hours.strftime("%Y-%m-%d %H:%M:%S+00"), nodes_n),
                "samples": 60,
                "cpu_capacity_core_hours": np.repeat(cores, 24).astype(float),
                "mem_capacity_gib_hours": np.repeat(cores * 4, 24).astype(float),
            }
        ).loc[sampled]
        billed = np.flatnonzero(~unbilled)
        stamp = day_start.strftime("%Y-%m-%d %H:%M:%S+00")
        end_stamp = (day_start + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S+00")
        common = {
            "bill_import_id": bill.pk,
            "billing_account_id": "acct",
            "billing_period_start": first.strftime("%Y-%m-%d %H:%M:%S+00"),
            "billing_period_end": (first + timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S+00"),
            "charge_period_start": stamp,
            "charge_period_end": end_stamp,
            "charge_category": "Usage",
            "charge_class": "",
            "provider": "bench",
            "service_name": "compute",
            "sku_id": "",
            "region": "eu",
            "resource_name": "",
            "resource_type": "",
            "tags": "{}",
            "currency": "EUR",
            "list_cost": None,
            "cluster_id": cluster.pk,
        }
        node_cost = np.round(cores[billed] * 0.045 * 24 * rng.uniform(0.9, 1.1, len(billed)), 6)
        lines = pd.DataFrame(
            {
                **common,
                "source_row": d * (nodes_n + 10) + np.arange(len(billed)),
                "resource_id": [f"i-{i:08x}" for i in billed],
                "effective_cost": node_cost,
                "billed_cost": node_cost,
                "kind": LineKind.NODE.value,
                "node_id": node_ids[billed],
            }
        )
        overhead = pd.DataFrame(
            {
                **common,
                "source_row": d * (nodes_n + 10) + nodes_n + np.arange(3),
                "resource_id": ["master", "elb", "disk"],
                "effective_cost": [2.4, 0.6, 1.7],
                "billed_cost": [2.4, 0.6, 1.7],
                "kind": LineKind.OVERHEAD.value,
                "node_id": None,
            }
        )
        with transaction.atomic():
            copy_frame(PodHour._meta.db_table, pod_hours)
            copy_frame(NodeHour._meta.db_table, node_hours)
            copy_frame(BillLine._meta.db_table, pd.concat([lines, overhead])[list(lines.columns)])
        print(f"  generated {day_start:%Y-%m-%d}: {len(pod_hours):,} pod-hours", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def read_floor(days: int) -> tuple[float, int]:
    """Seconds to SELECT the period's PodHour rows (with the pod's node, namespace and workload) into pandas."""
    from django.db import connection

    first = datetime.combine(START, datetime.min.time(), UTC)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT h.pod_id, h.hour, h.cpu_request_core_hours, h.cpu_usage_core_hours, h.cpu_billable_core_hours,"
            " h.mem_request_gib_hours, h.mem_usage_gib_hours, h.mem_billable_gib_hours,"
            " h.node_id, p.namespace_id, p.workload_id"
            " FROM costing_podhour h JOIN costing_pod p ON p.id = h.pod_id WHERE h.hour >= %s AND h.hour < %s",
            [first, first + timedelta(days=days)],
        )
        rows = cursor.fetchall()
    frame = pd.DataFrame.from_records(rows)
    return time.perf_counter() - began, len(frame)


def read_floor_copy(days: int) -> float:
    """Seconds to read the same rows day by day the way compute does (read_frame: COPY per day into pandas)."""
    from costing.compute import day_bounds, read_pod_hours
    from costing.models import Cluster

    cluster = Cluster.objects.get(name="bench").pk
    began = time.perf_counter()
    for d in range(days):
        read_pod_hours(cluster, *day_bounds(START + timedelta(days=d)))
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--database", default="finops_bench_compute")
    parser.add_argument("--reuse", action="store_true", help="keep the generated rows, only time")
    args = parser.parse_args()

    setup_django(args.database)
    from costing.compute import recompute_day, recompute_period
    from costing.models import ClusterDay, DepartmentCostDay, PodHour

    if not args.reuse:
        began = time.perf_counter()
        print(f"generating {args.pods:,} pods x {args.days} days into {args.database} ...", flush=True)
        generate(args.pods, args.days)
        print(f"generated in {time.perf_counter() - began:.1f} s", flush=True)
    pod_hours = PodHour.objects.count()
    from django.db import connection

    with connection.cursor() as cursor:
        # One core: no parallel workers for PostgreSQL's side of the reads either.
        cursor.execute("SET max_parallel_workers_per_gather = 0")

    floor, rows = read_floor(args.days)
    floor_copy = read_floor_copy(args.days)
    per_day = []

    def progress(day, cluster_days):
        per_day.append(time.perf_counter())

    began = time.perf_counter()
    recompute_period(START, START + timedelta(days=args.days), progress=progress)
    total = time.perf_counter() - began
    day_times = np.diff([began, *per_day])

    again = time.perf_counter()
    recompute_day(START + timedelta(days=args.days // 2))
    one_day = time.perf_counter() - again

    physical = sum(d.physical_cost for d in ClusterDay.objects.all())
    apportioned = sum(d.total for d in DepartmentCostDay.objects.all())
    print()
    print(f"pod-hours: {pod_hours:,} ({args.pods:,} pods x {args.days} days)")
    print(
        f"read floor, one SELECT of the period into pandas:  {floor:7.2f} s  {rows / floor:12,.0f} pod-hours/s"
    )
    print(
        f"read as compute does, COPY per day into pandas:   {floor_copy:7.2f} s  {rows / floor_copy:12,.0f} pod-hours/s"
    )
    print(
        f"compute + apportion + store, {args.days} days:            {total:7.2f} s  {pod_hours / total:12,.0f} pod-hours/s"
    )
    print(f"  per day: median {np.median(day_times):.2f} s, max {day_times.max():.2f} s")
    print(f"recompute one day (replacing its rows):            {one_day:7.2f} s")
    print(f"physical cost {physical:.2f} = departments and lines {apportioned:.2f}")


if __name__ == "__main__":
    main()
