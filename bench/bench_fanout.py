"""How recomputing 60 cluster-days spreads over Celery worker processes: 1 process, then 2, on Redis.

Six clusters of bench/data.py's churning fleet over ten days (inventory, PodHour, NodeHour and bill rows by
COPY, not timed). Then, each run from no results (the result tables emptied between runs, not timed):
  - for reference, the serial path in this process: recompute_period (every cluster-day, then each day
    apportioned, one transaction per day);
  - the fan-out (costing/fanout.py) with a real `celery worker` of 1 process, then of 2 processes, on a
    queue of the run's own on CELERY_BROKER_URL (Redis): timed from fan_out_period() until no cluster-day
    is queued or waits for its day's apportionment. The worker is started and answering before the clock
    starts (a worker's start-up is not part of a recompute).
The figures of every run must be the serial ones (checked, to the 1e-8 unit). The speed-up is the time of 1
process over the time of 2 (goal >= 1.7 on 2 cores). Last line: figure = 2 processes, floor = half of 1
process (perfectly linear), so ratio 1.00 is linear and the goal is ratio <= 1.18.

    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 python bench/bench_fanout.py --small   # 60 x 30 pods
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 python bench/bench_fanout.py           # 60 x 1,000 pods
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data
from bench.common import ROOT, add_size_argument, bench_database, copy_frame, result

START = pd.Timestamp("2025-03-01", tz="UTC")
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


def _stamps(minutes) -> np.ndarray:
    moments = START + pd.to_timedelta(np.asarray(minutes), unit="min")
    return np.asarray(moments.strftime("%Y-%m-%d %H:%M:%S+00"))


def generate(clusters: int, pods: int, days: int) -> int:
    """The policy, then per cluster its own fleet (seeded apart), usage and bill rows. Returns pod-hours."""
    from django.db import connection, transaction

    from costing.choices import ConnectionType
    from costing.models import BillImport, Cluster, NodePool
    from costing.policy import DepartmentSpec, FallbackPrice, PolicySpec, PoolSpec
    from costing.policy.store import save_spec

    with transaction.atomic():
        save_spec(
            PolicySpec(
                effective_from=START.date(),
                fallback_prices=[
                    FallbackPrice(cpu_core_hour=Decimal("0.0316"), mem_gib_hour=Decimal("0.0042"))
                ],
                shared_namespaces=["kube-system", "monitoring"],
                departments=[
                    DepartmentSpec(f"Dept {d}", patterns=[f"team-{d}-*"], weight=Decimal(10 + d))
                    for d in range(data.DEPARTMENTS)
                ],
                pools={
                    "shared": PoolSpec("proportional", "cluster"),
                    "idle": PoolSpec("per_resource", "cluster"),
                    # Global: a day's departments need every cluster of the day.
                    "overhead": PoolSpec("weights", "global"),
                },
            )
        )
        bill = BillImport.objects.create(file_name="bench.csv", format="focus")
    rows = 0
    for c in range(clusters):
        fleet = data.fleet(pods, days, START, seed=7 + c)
        with transaction.atomic():
            cluster = Cluster.objects.create(name=f"bench-{c}", connection_type=ConnectionType.SIMULATOR)
            pools = [NodePool.objects.create(cluster=cluster, name=f"pool-{i}") for i in range(3)]
            ids = data.store_inventory(fleet, cluster, pools)
        rng = np.random.default_rng(3 + c)
        for d in range(days):
            rows += _store_day(fleet, d, cluster.pk, ids, bill.pk, rng, first_row=(c * days + d) * 10_000)
        print(f"  generated cluster {cluster.name}: {days} days", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return rows


def _store_day(fleet, d, cluster_id, ids, bill_id, rng, first_row) -> int:
    from django.db import transaction

    from costing.choices import LineKind
    from costing.models import BillLine, NodeHour, PodHour

    day_start = START + pd.Timedelta(days=d)
    hours = data.pod_hours(fleet, d)
    pod_hours = pd.DataFrame(
        {
            "cluster_id": cluster_id,
            "pod_id": ids["pod"][hours["pod"]],
            "node_id": ids["node"][hours["node"]],
            "hour": _stamps(hours["minute"]),
            "samples": hours["minutes"],
            "samples_without_metrics": 0,
            **{c: hours[c] for c in hours.columns if c.endswith("_hours")},
        }
    )
    nodes = data.node_hours(fleet, d)
    node_hours = pd.DataFrame(
        {
            "cluster_id": cluster_id,
            "node_id": ids["node"][nodes["node"]],
            "hour": _stamps(nodes["minute"]),
            "samples": np.round(nodes["share"] * 60).astype(int),
            "cpu_capacity_core_hours": nodes["cores"] * nodes["share"],
            "mem_capacity_gib_hours": nodes["mem_gib"] * nodes["share"],
        }
    )
    per_node = nodes.groupby("node")["share"].sum()
    cost = np.round(fleet.nodes["cores"].to_numpy()[per_node.index] * 0.045 * per_node.to_numpy(), 6)
    cost = np.round(cost * rng.uniform(0.9, 1.1, len(per_node)), 6)
    common = {
        "bill_import_id": bill_id,
        "billing_account_id": "acct",
        "billing_period_start": _stamps([0])[0],
        "billing_period_end": (START + pd.Timedelta(days=fleet.days)).strftime("%Y-%m-%d %H:%M:%S+00"),
        "charge_period_start": day_start.strftime("%Y-%m-%d %H:%M:%S+00"),
        "charge_period_end": (day_start + pd.Timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S+00"),
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
        "cluster_id": cluster_id,
    }
    lines = pd.DataFrame(
        {
            **common,
            "source_row": first_row + np.arange(len(per_node)),
            "resource_id": fleet.nodes["instance_id"].to_numpy()[per_node.index],
            "effective_cost": cost,
            "billed_cost": cost,
            "kind": LineKind.NODE.value,
            "node_id": ids["node"][per_node.index],
        }
    )
    overhead = pd.DataFrame(
        {
            **common,
            "source_row": first_row + len(per_node) + np.arange(2),
            "resource_id": [f"master-{cluster_id}", f"elb-{cluster_id}"],
            "effective_cost": [2.4, 0.6],
            "billed_cost": [2.4, 0.6],
            "kind": LineKind.OVERHEAD.value,
            "node_id": None,
        }
    )
    with transaction.atomic():
        copy_frame(PodHour._meta.db_table, pod_hours, float_format=None)
        copy_frame(NodeHour._meta.db_table, node_hours, float_format=None)
        copy_frame(
            BillLine._meta.db_table,
            pd.concat([lines, overhead])[list(lines.columns)].astype({"node_id": "Int64"}),
            float_format=None,
        )
    return len(pod_hours)


def clear_results() -> None:
    """No results, every cluster-day dirty: each run starts from the same state (not timed)."""
    from django.db import connection

    from costing.models import (
        ClusterDay,
        DepartmentCostDay,
        NamespaceCostDay,
        NodeCostDay,
        NodeCostHour,
        PodCostDay,
        PoolShareDay,
        WorkloadCostDay,
    )

    tables = [
        m._meta.db_table
        for m in (
            DepartmentCostDay,
            PoolShareDay,
            PodCostDay,
            WorkloadCostDay,
            NamespaceCostDay,
            NodeCostDay,
            NodeCostHour,
        )
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)}")
    ClusterDay.objects.update(dirty=True, queued_at=None, apportion_pending=False)


def figures() -> tuple:
    from costing.models import ClusterDay, DepartmentCostDay, PodCostDay

    return (
        sorted(ClusterDay.objects.values_list("cluster_id", "day", "physical_cost", "idle_cost")),
        sorted(DepartmentCostDay.objects.values_list("cluster_id", "day", "name", "total")),
        sorted(PodCostDay.objects.values_list("pod_id", "day", "cost")),
    )


def storage() -> str:
    """Bytes per row (table, its indexes and TOAST, all partitions) of the largest tables: for the sizing."""
    from django.db import connection

    from costing.models import NodeHour, PodCostDay, PodHour

    parts = []
    with connection.cursor() as cursor:
        for model in (PodHour, NodeHour, PodCostDay):
            table = model._meta.db_table
            cursor.execute(
                "SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree(%s::regclass)",
                [table],
            )
            size = cursor.fetchone()[0]
            count = model.objects.count()
            parts.append(f"{table} {count:,} rows, {size / max(count, 1):.0f} bytes/row")
    return "; ".join(parts)


def start_worker(processes: int, queue: str, broker: str) -> subprocess.Popen:
    """A real worker of `processes` prefork processes on `queue`, answering a ping before this returns."""
    from finops.celery import app

    name = f"fanout{processes}-{os.getpid()}@{socket.gethostname()}"
    command = [sys.executable, "-m", "celery", "-A", "finops", "worker", "-Q", queue, "-n", name]
    command += ["--pool", "prefork", "--concurrency", str(processes), "--prefetch-multiplier", "1"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING"]
    env = dict(os.environ, CELERY_BROKER_URL=broker)
    # The banner goes to stdout; errors still reach stderr.
    proc = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if app.control.ping(destination=[name], timeout=1.0):
            return proc
        if proc.poll() is not None:
            sys.exit(f"the worker exited with {proc.returncode}")
    stop(proc)
    sys.exit("the worker did not answer within 120 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def fanned_out(processes: int, days: int, broker: str) -> float:
    """Seconds from fan_out_period() to the last apportionment, with a worker of `processes`."""
    from django.db.models import Q

    from costing.fanout import fan_out_period
    from costing.models import ClusterDay

    queue = f"bench-fanout-{os.getpid()}-{processes}"
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = start_worker(processes, queue, broker)
    try:
        began = time.perf_counter()
        sent = fan_out_period(START.date(), START.date() + timedelta(days=days), queue=queue)
        dispatched = time.perf_counter() - began
        waiting = ClusterDay.objects.filter(Q(queued_at__isnull=False) | Q(apportion_pending=True))
        while waiting.exists():
            if proc.poll() is not None:
                sys.exit(f"the worker exited with {proc.returncode}")
            time.sleep(0.1)
        took = time.perf_counter() - began
    finally:
        stop(proc)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(getattr(cpu_after, f) - getattr(cpu_before, f) for f in ("ru_utime", "ru_stime"))
    # The worker's CPU (its processes, start-up included; not PostgreSQL's): about the same with 1 and 2
    # processes when nothing is done twice, whatever share of the cores the machine's load leaves them.
    print(
        f"fan-out, {processes} process(es): {sent} cluster-days in {took:.2f} s (all sent after"
        f" {dispatched:.2f} s); worker CPU {cpu:.1f} s",
        flush=True,
    )
    return took


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clusters", type=int, default=6)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--pods", type=int, default=1000, help="pods running at any time, per cluster")
    add_size_argument(parser)
    args = parser.parse_args()
    if args.small:
        args.pods = 30
    broker = os.environ.get("CELERY_BROKER_URL", DEFAULT_BROKER)
    if not broker.startswith("redis://"):
        sys.exit("CELERY_BROKER_URL must be a Redis URL: the workers are real Celery workers")
    os.environ["CELERY_BROKER_URL"] = broker

    with bench_database("fanout"):
        from costing.compute import recompute_period

        began = time.perf_counter()
        rows = generate(args.clusters, args.pods, args.days)
        print(f"generated {rows:,} pod-hours in {time.perf_counter() - began:.1f} s (not timed)", flush=True)
        load = os.getloadavg()
        clear_results()
        began = time.perf_counter()
        count = recompute_period(START.date(), START.date() + timedelta(days=args.days))
        serial = time.perf_counter() - began
        print(
            f"serial (recompute_period in this process): {count} cluster-days in {serial:.2f} s", flush=True
        )
        expected = figures()
        took = {}
        for processes in (1, 2):
            clear_results()
            took[processes] = fanned_out(processes, args.days, broker)
            if figures() != expected:
                sys.exit(f"the fan-out over {processes} process(es) did not give the serial figures")
        print("figures: the serial ones in both runs (cluster-days, departments, pods)")
        print(f"storage with indexes: {storage()}")
        print(
            f"load average (1, 5, 15 min) before: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; "
            f"after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; cores: {os.cpu_count()}"
        )
        print(f"speed-up 2 processes / 1 process: {took[1] / took[2]:.2f}x (goal >= 1.7)")
        result(
            f"fan-out of {count} cluster-days ({args.pods:,} pods each), 2 worker processes",
            took[2],
            "half the time of 1 worker process (perfectly linear)",
            took[1] / 2,
        )


if __name__ == "__main__":
    main()
