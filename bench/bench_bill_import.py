"""Times a 1,000,000-line FOCUS import into PostgreSQL end to end, beside the parse-only rate of the same file."""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/finops_bench_bills"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finops.settings")
    os.environ.setdefault("FINOPS_VAR_DIR", str(ROOT / "var"))
    import django

    django.setup()


def create_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare(url: str, seed: int) -> None:
    """Migrate, empty the bill tables, register the generator's clusters, nodes and tag rules."""
    _django(url)
    from django.core.management import call_command
    from django.db import connection

    from bench import make_focus
    from costing.choices import ConnectionType
    from costing.models import BillImport, BillLine, Cluster, Node, NodePool, Policy, TagRule

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:  # a clean table, as a first import meets it
        cursor.execute(f"TRUNCATE {BillLine._meta.db_table}, {BillImport._meta.db_table}")
    Node.objects.all().delete()
    NodePool.objects.all().delete()
    Cluster.objects.all().delete()
    Policy.objects.all().delete()
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


def run_import(url: str, path: Path, chunk_size: int) -> dict:
    _django(url)
    from costing.billing.importer import import_bill

    started = time.perf_counter()
    record = import_bill(path, "focus", expected_currency="USD", chunk_size=chunk_size)
    seconds = time.perf_counter() - started
    if record.status != "succeeded":
        raise SystemExit(f"import failed: {record.error}")
    return {
        "rows": record.rows,
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "effective_total": str(record.effective_total),
        "by_kind": record.kind_totals,
    }


def check(url: str) -> dict:
    _django(url)
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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, default=Path("/tmp/billbench/focus_1m.csv"))
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--only", choices=["import", "parse", "prepare", "check"])
    args = parser.parse_args()
    if args.only == "import":
        print(json.dumps(run_import(args.database_url, args.file, args.chunk_size)))
        return
    if args.only == "prepare":
        prepare(args.database_url, args.seed)
        return
    if args.only == "check":
        print(json.dumps(check(args.database_url)))
        return
    if args.only == "parse":
        from bench.bench_bill_parse import run_reader

        print(json.dumps(run_reader(args.file, args.chunk_size)))
        return

    if not args.file.exists():
        from bench.make_focus import write

        args.file.parent.mkdir(parents=True, exist_ok=True)
        write(args.file, args.lines, args.seed)
    create_database(args.database_url)
    base = [sys.executable, __file__, "--file", str(args.file), "--chunk-size", str(args.chunk_size)]
    base += ["--database-url", args.database_url]

    def step(only: str) -> str:
        return subprocess.run([*base, "--only", only], check=True, capture_output=True, text=True).stdout

    step("prepare")
    # Separate processes, so that each peak RSS is its own.
    results = {"parse": json.loads(step("parse")), "import": json.loads(step("import"))}
    stored = json.loads(step("check"))
    size_mb = args.file.stat().st_size / 2**20
    print(f"file: {args.file} ({size_mb:.0f} MB), database: {urlparse(args.database_url).path.lstrip('/')}")
    for name, result in results.items():
        rate = result["rows"] / result["seconds"]
        print(
            f"{name:7s} {result['rows']:>9,d} lines  {result['seconds']:6.2f} s  {rate:>9,.0f} lines/s  "
            f"peak RSS {result['peak_rss_mb']:6.0f} MB"
        )
    imported = results["import"]
    print(f"stored: {stored['lines']:,d} lines, by kind {stored['by_kind']}")
    same = stored["effective_sum"] == imported["effective_total"] or (
        float(stored["effective_sum"]) == float(imported["effective_total"])
    )
    print(f"EffectiveCost: file {imported['effective_total']}, database {stored['effective_sum']}", same)
    ok = imported["rows"] / imported["seconds"] >= 50_000 and imported["peak_rss_mb"] < 500
    print("target (import >= 50,000 lines/s end to end, < 500 MB):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
