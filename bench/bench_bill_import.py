"""A FOCUS bill import into PostgreSQL end to end beside pandas.read_csv of the same file.

The file is bench/make_focus.py's (a month of four clusters: node-hours, disks, load balancers and lines
outside Kubernetes), written for this run. Each side runs once, in a process of its own, so that each
peak RSS is its own: the floor reads the file with pandas.read_csv (every column as text), the figure is
import_bill into the run's database (its clusters, nodes and tag rules registered first, not timed).

    python bench/bench_bill_import.py --small     # 20,000 lines
    python bench/bench_bill_import.py             # 1,000,000 lines
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_bill_parse import run_floor
from bench.common import add_size_argument, bench_database, peak_rss_mb, result, use_database
from bench.make_focus import write


def prepare(seed: int) -> None:
    """Register the generator's clusters, nodes and tag rules in the run's fresh database."""
    from bench import make_focus
    from costing.choices import ConnectionType
    from costing.models import Cluster, Node, NodePool, Policy, TagRule

    # The generator's own node list: same seed, same draws (see make_focus.rows).
    rng = random.Random(seed)
    nodes = [
        (cluster, f"i-{rng.getrandbits(68):017x}", rng.choice(["m5.xlarge", "m5.2xlarge", "c5.4xlarge"]))
        for cluster in make_focus.CLUSTERS
        for _ in range(make_focus.NODES_PER_CLUSTER)
    ]
    policy = Policy.objects.create(effective_from=date(2026, 1, 1))
    seen = datetime(2026, 9, 1, tzinfo=UTC)
    for name in make_focus.CLUSTERS:
        cluster = Cluster.objects.create(name=name, connection_type=ConnectionType.SIMULATOR)
        pool = NodePool.objects.create(cluster=cluster, name="default")
        TagRule.objects.create(policy=policy, cluster_name=name, key="aws:eks:cluster-name", value=name)
        Node.objects.bulk_create(
            Node(
                cluster=cluster,
                node_pool=pool,
                name=f"{name}-{i}",
                instance_id=instance_id,
                provider_id=f"aws:///eu-west-1a/{instance_id}",
                instance_type=instance_type,
                first_seen=seen,
                last_seen=seen,
            )
            for i, (c, instance_id, instance_type) in enumerate(nodes)
            if c == name
        )


def run_import(path: Path, chunk_size: int) -> dict:
    use_database(os.environ["DATABASE_URL"])
    from bench.common import CpuClock
    from costing.billing.importer import import_bill

    clock = CpuClock()
    started = time.perf_counter()
    record = import_bill(path, "focus", expected_currency="USD", chunk_size=chunk_size)
    seconds = time.perf_counter() - started
    process_cpu, backend_cpu = clock.seconds()
    if record.status != "succeeded":
        raise SystemExit(f"import failed: {record.error}")
    return {
        "rows": record.rows,
        "seconds": seconds,
        "cpu": process_cpu,
        "backend_cpu": backend_cpu,
        "peak_rss_mb": peak_rss_mb(),
        "effective_total": str(record.effective_total),
        "by_kind": record.kind_totals,
    }


def check() -> dict:
    from django.db.models import Count, Sum

    from costing.models import BillLine

    return {
        "lines": BillLine.objects.count(),
        "effective_sum": str(BillLine.objects.aggregate(s=Sum("effective_cost"))["s"]),
        "by_kind": {
            row["kind"]: row["n"]
            for row in BillLine.objects.values("kind").annotate(n=Count("id")).order_by()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--file", type=Path, help="a FOCUS file to import (default: generated for this run)")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--only", choices=["import", "floor"], help=argparse.SUPPRESS)
    add_size_argument(parser)
    args = parser.parse_args()
    if args.only == "import":
        print(json.dumps(run_import(args.file, args.chunk_size)))
        return
    if args.only == "floor":
        print(json.dumps(run_floor(args.file, args.chunk_size)))
        return
    if args.small:
        args.lines = 20_000

    with tempfile.TemporaryDirectory() as tmp, bench_database("bills") as name:
        if args.file is None:
            args.file = write(Path(tmp) / "focus.csv", args.lines, args.seed)
        prepare(args.seed)
        base = [sys.executable, __file__, "--file", str(args.file), "--chunk-size", str(args.chunk_size)]

        def step(only: str) -> dict:
            # A process of its own (DATABASE_URL is the run's database): each peak RSS is its own.
            run = subprocess.run([*base, "--only", only], check=True, capture_output=True, text=True)
            return json.loads(run.stdout)

        floor, imported = step("floor"), step("import")
        stored = check()
        size_mb = args.file.stat().st_size / 2**20
        print(f"file: {args.file.name} ({size_mb:.0f} MB, {imported['rows']:,} lines), database: {name}")
        for label, run in (("pandas.read_csv", floor), ("import_bill", imported)):
            print(
                f"{label:16s} {run['seconds']:7.2f} s  {run['rows'] / run['seconds']:>9,.0f} lines/s  "
                f"peak RSS {run['peak_rss_mb']:6.0f} MB"
            )
        one_core = imported["cpu"] + imported["backend_cpu"]
        print(
            f"CPU: import_bill {imported['cpu']:.2f} s (its threads included) + PostgreSQL backend "
            f"{imported['backend_cpu']:.2f} s = {one_core:.2f} s on one core; read_csv {floor['cpu']:.2f} s; "
            f"ratio {one_core / floor['cpu']:.2f} (process alone {imported['cpu'] / floor['cpu']:.2f}); "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        print(f"stored: {stored['lines']:,d} lines, by kind {stored['by_kind']}")
        same = float(stored["effective_sum"]) == float(imported["effective_total"])
        print(
            f"EffectiveCost: file {imported['effective_total']}, database {stored['effective_sum']}, same: {same}"
        )
        result(
            f"import_bill of {imported['rows']:,} FOCUS lines, end to end (peak {imported['peak_rss_mb']:.0f} MB)",
            imported["seconds"],
            f"pandas.read_csv of the same file, all columns as text (peak {floor['peak_rss_mb']:.0f} MB)",
            floor["seconds"],
        )


if __name__ == "__main__":
    main()
