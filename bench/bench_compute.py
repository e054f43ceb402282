"""How fast a month of a churning cluster is priced, allocated, apportioned and stored, beside the COPY read
of the same input rows.

The cluster is bench/data.py's fleet: Deployments of 2-10 replicas replaced daily, StatefulSets, hourly
CronJob pods, a tenth of the nodes replaced a day. Inventory, PodHour, NodeHour and BillLine rows go in
with COPY (not timed). Then, once each and in this order:
  - the floor: COPY (SELECT ...) TO STDOUT of the period's pod-hours (with the pod's namespace and
    workload), node-hours and bill lines, read by pandas.read_csv: what any computation must read;
  - the figure: recompute_period over every day (compute_cluster_day + apportion_day per day).

    python bench/bench_compute.py --small        # 300 pods x 3 days, seconds
    python bench/bench_compute.py                # 10,000 pods running x 30 days
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data
from bench.common import add_size_argument, bench_database, copy_frame, copy_read, result

START = pd.Timestamp("2025-03-01", tz="UTC")


def generate(fleet: data.Fleet) -> int:
    """Policy, cluster, inventory, then each day's usage and bill rows. Returns the cluster's id."""
    from django.db import connection, transaction

    from costing.choices import ConnectionType, LineKind
    from costing.models import BillImport, BillLine, Cluster, NodeHour, NodePool, PodHour
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
                    "overhead": PoolSpec("weights", "global"),
                },
            )
        )
        cluster = Cluster.objects.create(name="bench", connection_type=ConnectionType.SIMULATOR)
        pools = [NodePool.objects.create(cluster=cluster, name=f"pool-{i}") for i in range(5)]
        ids = data.store_inventory(fleet, cluster, pools)
        bill = BillImport.objects.create(file_name="bench.csv", format="focus")

    rng = np.random.default_rng(3)
    unbilled = rng.random(len(fleet.nodes)) < 0.03  # estimated from the fallback sheet
    period_end = START + pd.Timedelta(days=fleet.days)
    for d in range(fleet.days):
        day_start = START + pd.Timedelta(days=d)
        hours = data.pod_hours(fleet, d)
        pod_hours = pd.DataFrame(
            {
                "cluster_id": cluster.pk,
                "pod_id": ids["pod"][hours["pod"]],
                "node_id": ids["node"][hours["node"]],
                "hour": _stamps(hours["minute"]),
                "samples": hours["minutes"],
                "samples_without_metrics": 0,
                **{c: hours[c] for c in hours.columns if c.endswith("_hours")},
            }
        )
        nodes = data.node_hours(fleet, d)
        sampled = rng.random(len(nodes)) > 0.01
        node_hours = pd.DataFrame(
            {
                "cluster_id": cluster.pk,
                "node_id": ids["node"][nodes["node"]],
                "hour": _stamps(nodes["minute"]),
                "samples": np.round(nodes["share"] * 60).astype(int),
                "cpu_capacity_core_hours": nodes["cores"] * nodes["share"],
                "mem_capacity_gib_hours": nodes["mem_gib"] * nodes["share"],
            }
        ).loc[sampled]
        # One line per node and day for the hours it existed; three overhead lines.
        per_node = nodes.groupby("node")["share"].sum()
        per_node = per_node[~unbilled[per_node.index]]
        cost = np.round(
            fleet.nodes["cores"].to_numpy()[per_node.index] * 0.045 * per_node.to_numpy(), 6
        ) * rng.uniform(0.9, 1.1, len(per_node))
        common = {
            "bill_import_id": bill.pk,
            "billing_account_id": "acct",
            "billing_period_start": _stamps([0])[0],
            "billing_period_end": period_end.strftime("%Y-%m-%d %H:%M:%S+00"),
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
            "cluster_id": cluster.pk,
        }
        first_row = d * (len(fleet.nodes) + 10)
        lines = pd.DataFrame(
            {
                **common,
                "source_row": first_row + np.arange(len(per_node)),
                "resource_id": fleet.nodes["instance_id"].to_numpy()[per_node.index],
                "effective_cost": np.round(cost, 6),
                "billed_cost": np.round(cost, 6),
                "kind": LineKind.NODE.value,
                "node_id": ids["node"][per_node.index],
            }
        )
        overhead = pd.DataFrame(
            {
                **common,
                "source_row": first_row + len(fleet.nodes) + np.arange(3),
                "resource_id": ["master", "elb", "disk"],
                "effective_cost": [2.4, 0.6, 1.7],
                "billed_cost": [2.4, 0.6, 1.7],
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
        print(f"  generated {day_start:%Y-%m-%d}: {len(pod_hours):,} pod-hours", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return cluster.pk


def _stamps(minutes) -> np.ndarray:
    moments = START + pd.to_timedelta(np.asarray(minutes), unit="min")
    return np.asarray(moments.strftime("%Y-%m-%d %H:%M:%S+00"))


def copy_floor(cluster_id: int, days: int) -> tuple[float, int]:
    """Seconds to COPY the period's input rows out of PostgreSQL into pandas; and the pod-hours read."""
    start, end = START.to_pydatetime(), (START + pd.Timedelta(days=days)).to_pydatetime()
    began = time.perf_counter()
    pod_hours = copy_read(
        "SELECT h.pod_id, h.node_id, h.hour, h.samples, h.cpu_request_core_hours, h.cpu_usage_core_hours,"
        " h.cpu_billable_core_hours, h.mem_request_gib_hours, h.mem_usage_gib_hours, h.mem_billable_gib_hours,"
        " p.namespace_id, p.workload_id FROM costing_podhour h JOIN costing_pod p ON p.id = h.pod_id"
        " WHERE h.cluster_id = %s AND h.hour >= %s AND h.hour < %s",
        [cluster_id, start, end],
    )
    copy_read(
        "SELECT node_id, hour, samples, cpu_capacity_core_hours, mem_capacity_gib_hours FROM costing_nodehour"
        " WHERE cluster_id = %s AND hour >= %s AND hour < %s",
        [cluster_id, start, end],
    )
    copy_read(
        "SELECT node_id, kind, charge_period_start, charge_period_end, effective_cost FROM costing_billline"
        " WHERE cluster_id = %s AND charge_period_end > %s AND charge_period_start < %s",
        [cluster_id, start, end],
    )
    return time.perf_counter() - began, len(pod_hours)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=10_000, help="pods running at any time")
    parser.add_argument("--days", type=int, default=30)
    add_size_argument(parser)
    args = parser.parse_args()
    if args.small:
        args.pods, args.days = 300, 3

    with bench_database("compute"):
        from django.db import connection

        from costing.compute import recompute_period
        from costing.models import ClusterDay, DepartmentCostDay

        fleet = data.fleet(args.pods, args.days, START)
        print(data.summary(fleet), flush=True)
        began = time.perf_counter()
        cluster_id = generate(fleet)
        print(f"generated in {time.perf_counter() - began:.1f} s (not timed)", flush=True)
        with connection.cursor() as cursor:
            # One core: no parallel workers for PostgreSQL's side of the reads either.
            cursor.execute("SET max_parallel_workers_per_gather = 0")

        floor, rows = copy_floor(cluster_id, args.days)
        per_day = []
        began = time.perf_counter()
        recompute_period(
            START.date(),
            START.date() + timedelta(days=args.days),
            progress=lambda day, rows: per_day.append(time.perf_counter()),
        )
        total = time.perf_counter() - began
        day_times = np.diff([began, *per_day])

        physical = sum(d.physical_cost for d in ClusterDay.objects.all())
        apportioned = sum(d.total for d in DepartmentCostDay.objects.all())
        print(f"pod-hours: {rows:,} ({args.pods:,} pods running x {args.days} days, with churn)")
        print(f"per day: median {np.median(day_times):.2f} s, max {day_times.max():.2f} s")
        print(f"physical cost {physical:.2f} = departments and lines {apportioned:.2f}")
        result(
            f"recompute_period, {args.days} days (compute + apportion + store)",
            total,
            "COPY read of the period's pod-hours, node-hours and bill lines into pandas",
            floor,
        )


if __name__ == "__main__":
    main()
