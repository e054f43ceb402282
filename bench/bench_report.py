"""How fast the yearly report of 2,000 workloads is built and rendered from two years of stored daily results.

Generates its own PostgreSQL database (default finops_bench_report): inventory through the ORM, then
two years of ClusterDay, NodeCostDay, PodCostDay, WorkloadCostDay, NamespaceCostDay and DepartmentCostDay
rows with COPY. Then, in a fresh process (so that its peak memory is the report's alone), times
  - the floor: SELECT the year's workload, pod and namespace day rows into Python,
  - build_report for the year (organisation scope) and its rendering as .xlsx and as a zip of CSVs,
and prints them beside the targets (15 s, 500 MB peak RSS).

    python bench/bench_report.py --workloads 200      # try small first
    python bench/bench_report.py                      # 2,000 workloads x 730 days
    python bench/bench_report.py --reuse              # skip generating, time again
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NAMESPACES = 60
NODES = 100
POOLS = 5
DEPARTMENTS = 8
TARGET_SECONDS = 15.0
TARGET_MB = 500.0


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


def copy_frame(model, frame: pd.DataFrame) -> None:
    """COPY a frame into the model's table; columns the frame lacks take the model field's default."""
    from django.db import connection

    for field in model._meta.concrete_fields:
        if field.primary_key or field.column in frame.columns:
            continue
        frame[field.column] = field.get_default()
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep="\\N", sep="\t", float_format="%.8f")
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    table = model._meta.db_table
    with connection.cursor() as cursor, cursor.cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
        copy.write(buffer.getvalue())


def history(today: date) -> tuple[date, int]:
    """The first day kept (two years back, reports/periods.py) and the number of days up to yesterday."""
    from reports.periods import earliest_start

    first = earliest_start(today)
    return first, (today - first).days


def generate(workloads_n: int, seed: int = 11) -> None:
    from django.db import connection, transaction

    from costing.choices import ConnectionType, OwnerKind
    from costing.models import (
        Cluster,
        ClusterDay,
        Department,
        DepartmentCostDay,
        Namespace,
        NamespaceCostDay,
        Node,
        NodeCostDay,
        NodePool,
        Pod,
        PodCostDay,
        Policy,
        WorkloadCostDay,
    )
    from costing.policy import DepartmentSpec, FallbackPrice, PolicySpec
    from costing.policy.store import save_spec

    today = datetime.now(UTC).date()
    first, days = history(today)
    rng = np.random.default_rng(seed)
    with connection.cursor() as cursor:
        cursor.execute(
            f'TRUNCATE "{Cluster._meta.db_table}", "{Policy._meta.db_table}", "{Department._meta.db_table}" '
            "RESTART IDENTITY CASCADE"
        )
    start = datetime.combine(first, datetime.min.time(), UTC)
    seen = {"first_seen": start, "last_seen": start + timedelta(days=days)}
    with transaction.atomic():
        policy = save_spec(
            PolicySpec(
                effective_from=first,
                fallback_prices=[
                    FallbackPrice(cpu_core_hour=Decimal("0.0316"), mem_gib_hour=Decimal("0.0042"))
                ],
                shared_namespaces=["kube-system", "monitoring"],
                departments=[
                    DepartmentSpec(f"Dept {d}", patterns=[f"team-{d}-*"], weight=Decimal(10 + d))
                    for d in range(DEPARTMENTS)
                ],
            )
        )
        cluster = Cluster.objects.create(name="bench", connection_type=ConnectionType.SIMULATOR)
        pools = [NodePool.objects.create(cluster=cluster, name=f"pool-{i}") for i in range(POOLS)]
        nodes = Node.objects.bulk_create(
            Node(
                cluster=cluster,
                name=f"node-{i:04d}",
                node_pool=pools[i % POOLS],
                cpu_capacity_cores=16,
                **seen,
            )
            for i in range(NODES)
        )
        ns_names = ["kube-system", "monitoring"] + [
            f"team-{i % DEPARTMENTS}-app{i}" for i in range(NAMESPACES - 2)
        ]
        namespaces = Namespace.objects.bulk_create(
            Namespace(cluster=cluster, name=n, **seen) for n in ns_names
        )
        from costing.models import Workload

        workloads = Workload.objects.bulk_create(
            (
                Workload(
                    cluster=cluster,
                    namespace=namespaces[i % NAMESPACES],
                    kind=OwnerKind.DEPLOYMENT,
                    name=f"wl-{i}",
                )
                for i in range(workloads_n)
            ),
            batch_size=5000,
        )
        pod_node = rng.integers(0, NODES, workloads_n)
        pods = Pod.objects.bulk_create(
            (
                Pod(
                    cluster=cluster,
                    namespace=workloads[i].namespace,
                    workload=workloads[i],
                    node=nodes[pod_node[i]],
                    name=f"pod-{i}",
                    uid=f"uid-{i}",
                    labels={"team": f"t{i % 13}"},
                    **seen,
                )
                for i in range(workloads_n)
            ),
            batch_size=5000,
        )

    wl_ids = np.array([w.pk for w in workloads])
    wl_ns_index = np.arange(workloads_n) % NAMESPACES
    ns_ids = np.array([n.pk for n in namespaces])
    pod_ids = np.array([p.pk for p in pods])
    node_ids = np.array([n.pk for n in nodes])
    node_pool_ids = np.array([pools[i % POOLS].pk for i in range(NODES)])
    ns_department = ["Shared", "Shared"] + [f"Dept {i % DEPARTMENTS}" for i in range(NAMESPACES - 2)]
    ns_shared = np.array([True, True] + [False] * (NAMESPACES - 2))
    dept_ids = dict(Department.objects.values_list("name", "pk"))
    base = rng.lognormal(0.0, 1.0, workloads_n) * 0.8  # a workload's cost per day
    request = rng.uniform(0.1, 4.0, workloads_n) * 24
    estimated = rng.random(workloads_n) < 0.03

    month_frames: dict[str, list[pd.DataFrame]] = {}

    def flush():
        with transaction.atomic():
            for model_name, frames in month_frames.items():
                copy_frame(models[model_name], pd.concat(frames, ignore_index=True))
        month_frames.clear()

    models = {
        "pod": PodCostDay,
        "workload": WorkloadCostDay,
        "namespace": NamespaceCostDay,
        "node": NodeCostDay,
        "cluster": ClusterDay,
        "department": DepartmentCostDay,
    }
    for d in range(days):
        day = first + timedelta(days=d)
        cost = np.round(base * rng.uniform(0.8, 1.2, workloads_n), 8)
        cpu_cost = np.round(cost * 0.6, 8)
        mem_cost = np.round(cost - cpu_cost, 8)
        est = np.where(estimated, cost, 0.0)
        usage = request * rng.uniform(0.2, 1.4, workloads_n)
        quantities = {
            "cpu_request_core_hours": request,
            "cpu_usage_core_hours": usage,
            "cpu_billable_core_hours": np.maximum(usage, request),
            "mem_request_gib_hours": request * 4,
            "mem_usage_gib_hours": usage * 3.5,
            "mem_billable_gib_hours": np.maximum(usage * 3.5, request * 4),
        }
        money = {"cpu_cost": cpu_cost, "mem_cost": mem_cost, "cost": cost, "estimated_cost": est}
        common = {"cluster_id": cluster.pk, "day": day.isoformat()}
        wl_ns = ns_ids[wl_ns_index]
        month_frames.setdefault("pod", []).append(
            pd.DataFrame(
                {
                    **common,
                    "pod_id": pod_ids,
                    "node_id": node_ids[pod_node],
                    "namespace_id": wl_ns,
                    "workload_id": wl_ids,
                    "samples": 1440,
                    **quantities,
                    **money,
                }
            )
        )
        month_frames.setdefault("workload", []).append(
            pd.DataFrame(
                {**common, "namespace_id": wl_ns, "workload_id": wl_ids, "pods": 1, **quantities, **money}
            )
        )
        ns_sum = {
            k: np.bincount(wl_ns_index, weights=v, minlength=NAMESPACES)
            for k, v in {**quantities, **money}.items()
        }
        month_frames.setdefault("namespace", []).append(
            pd.DataFrame(
                {
                    **common,
                    "namespace_id": ns_ids,
                    "department": ns_department,
                    "shared": ns_shared,
                    **{k: np.round(v, 8) for k, v in ns_sum.items()},
                }
            )
        )
        node_pods = np.bincount(pod_node, weights=cost, minlength=NODES)
        node_idle = np.round(rng.uniform(0.5, 6.0, NODES), 8)
        node_cost = np.round(node_pods + node_idle, 8)
        month_frames.setdefault("node", []).append(
            pd.DataFrame(
                {
                    **common,
                    "node_id": node_ids,
                    "node_pool_id": node_pool_ids,
                    "cost": node_cost,
                    "cpu_cost_pool": np.round(node_cost / 2, 8),
                    "mem_cost_pool": np.round(node_cost - np.round(node_cost / 2, 8), 8),
                    "cpu_idle": np.round(node_idle / 2, 8),
                    "mem_idle": np.round(node_idle - np.round(node_idle / 2, 8), 8),
                    "estimated_cost": 0.0,
                    "cpu_capacity_core_hours": 16 * 24.0,
                    "mem_capacity_gib_hours": 64 * 24.0,
                    "hours_billed": 24,
                }
            )
        )
        workload_total, idle_total, overhead_total = cost.sum(), node_idle.sum(), 50.0
        month_frames.setdefault("cluster", []).append(
            pd.DataFrame(
                {
                    **common,
                    "policy_id": policy.pk,
                    "dirty": False,
                    "computed_at": f"{day.isoformat()} 03:00:00+00",
                    "physical_cost": [round(workload_total + idle_total + overhead_total, 8)],
                    "workload_cost": [round(workload_total, 8)],
                    "idle_cost": [round(idle_total, 8)],
                    "overhead_cost": [overhead_total],
                    "estimated_cost": [round(est.sum(), 8)],
                    "coverage": [float(rng.uniform(0.97, 1.0))],
                }
            )
        )
        # Departments: their namespaces' cost, then the shared, idle and overhead pools in proportion.
        direct = pd.Series(ns_sum["cost"][2:]).groupby(np.array(ns_department[2:])).sum()
        weight = direct / direct.sum()
        shared = ns_sum["cost"][:2].sum()
        parts = pd.DataFrame(
            {
                "direct": direct,
                "shared": weight * shared,
                "idle": weight * idle_total,
                "overhead": weight * overhead_total,
            }
        ).round(8)
        parts["total"] = parts.sum(axis=1).round(8)
        month_frames.setdefault("department", []).append(
            pd.DataFrame(
                {
                    **common,
                    "name": parts.index,
                    "department_id": [dept_ids[n] for n in parts.index],
                    "is_line": False,
                    "policy_id": policy.pk,
                    **{c: parts[c].to_numpy() for c in parts.columns},
                }
            )
        )
        if (day + timedelta(days=1)).day == 1 or d == days - 1:
            flush()
            print(f"  generated up to {day}", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def read_floor(period) -> tuple[float, int]:
    """Seconds to SELECT the year's workload, pod and namespace day rows into Python tuples."""
    from django.db import connection

    began = time.perf_counter()
    rows = 0
    with connection.cursor() as cursor:
        for table, extra in (
            ("costing_workloadcostday", "workload_id, namespace_id"),
            ("costing_podcostday", "pod_id, node_id, namespace_id"),
            ("costing_namespacecostday", "namespace_id, department"),
        ):
            cursor.execute(
                f"SELECT cluster_id, day, {extra}, cpu_request_core_hours, cpu_usage_core_hours,"
                " cpu_billable_core_hours, mem_request_gib_hours, mem_usage_gib_hours, mem_billable_gib_hours,"
                f" cpu_cost, mem_cost, cost, estimated_cost FROM {table} WHERE day >= %s AND day < %s",
                [period.start, period.end],
            )
            rows += len(cursor.fetchall())
    return time.perf_counter() - began, rows


def measure(year: str) -> None:
    """Run in a process of its own: time the build and the renderings, take the peak RSS, then the floor."""
    from django.db import connection

    from reports.periods import parse_period
    from reports.reporting.builder import build_report
    from reports.reporting.csv import render_zip
    from reports.reporting.excel import render_xlsx

    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")  # one core, as the product's worker has
    period = parse_period(year)
    began = time.perf_counter()
    report = build_report(period)
    built = time.perf_counter() - began
    began = time.perf_counter()
    xlsx = render_xlsx(report)
    rendered = time.perf_counter() - began
    began = time.perf_counter()
    csv_zip = render_zip(report)
    zipped = time.perf_counter() - began
    began = time.perf_counter()
    build_report(period, department="Dept 3")
    department = time.perf_counter() - began
    # Peak memory of the report alone, read before the floor (whose fetched rows would dominate it).
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    floor, rows = read_floor(period)
    total = built + rendered
    print(f"year {period.key}: {rows:,} stored day rows read by the floor")
    print(
        f"workloads in the report: {len(report.table('workloads').rows):,}; total {report.summary_value('Physical cost')}"
    )
    print(f"floor, SELECT the year's rows:          {floor:7.2f} s")
    print(f"build_report (organisation, year):     {built:7.2f} s  ({built / floor:.1f} x the floor)")
    print(f"build_report (one department, year):   {department:7.2f} s")
    print(f"render .xlsx ({len(xlsx) / 1e6:.1f} MB):               {rendered:7.2f} s")
    print(f"render CSV zip ({len(csv_zip) / 1e6:.1f} MB):             {zipped:7.2f} s")
    print(f"report as .xlsx, build + render:       {total:7.2f} s  (target {TARGET_SECONDS:.0f} s)")
    print(f"peak RSS of this process:              {peak_mb:7.0f} MB (target {TARGET_MB:.0f} MB)")
    verdict = "OK" if total <= TARGET_SECONDS and peak_mb <= TARGET_MB else "OVER TARGET"
    print(verdict)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workloads", type=int, default=2000)
    parser.add_argument("--database", default="finops_bench_report")
    parser.add_argument("--reuse", action="store_true", help="keep the generated rows, only time")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()

    setup_django(args.database)
    if args.measure:
        measure(args.measure)
        return
    if not args.reuse:
        began = time.perf_counter()
        print(f"generating {args.workloads:,} workloads x two years into {args.database} ...", flush=True)
        generate(args.workloads)
        print(f"generated in {time.perf_counter() - began:.1f} s", flush=True)
    year = str(datetime.now(UTC).year - 1)
    # A fresh process: its peak memory is the report's, not the generator's.
    subprocess.run(
        [sys.executable, __file__, "--database", args.database, "--measure", year], check=True, env=os.environ
    )


if __name__ == "__main__":
    main()
