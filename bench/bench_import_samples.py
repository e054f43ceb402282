"""import_samples into PostgreSQL (pod-sample rows per second) beside PostgreSQL's own COPY of the same rows."""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _django_db import setup_bench_database

TARGET_ROWS_PER_S = 200_000
DAY = pd.Timestamp("2026-03-02", tz="UTC")
USAGE_TABLES = ["costing_podhour", "costing_nodehour", "costing_coveragehour", "costing_sampleslot"]


def make_files(folder: Path, pods: int, nodes: int, samples: int, seed: int = 1) -> tuple[Path, Path, Path]:
    """A day of minute samples: `pods` pods spread over `nodes` nodes, requests as Kubernetes quantities."""
    rng = np.random.default_rng(seed)
    stamps = (DAY + pd.to_timedelta(np.arange(samples) * 60, unit="s")).strftime("%Y-%m-%dT%H:%M:%SZ")
    node_names = np.array([f"ip-10-0-{i // 250}-{i % 250}.internal" for i in range(nodes)], dtype=object)
    node_frame = pd.DataFrame(
        {
            "timestamp": np.repeat(stamps, nodes),
            "node": np.tile(node_names, samples),
            "node_pool": np.tile([f"pool-{i % 4}" for i in range(nodes)], samples),
            "provider_id": np.tile([f"aws:///eu-west-1a/i-{i:017x}" for i in range(nodes)], samples),
            "cpu_capacity_cores": "16",
            "memory_capacity_bytes": "64Gi",
        }
    )
    namespaces = np.array([f"team-{i:02d}" for i in range(20)], dtype=object)
    pod_ns = namespaces[rng.integers(0, len(namespaces), pods)]
    pod_names = np.array([f"svc-{i // 3:04d}-{i:05d}" for i in range(pods)], dtype=object)
    cpu_req = np.array(["100m", "250m", "500m", "1", "1500m"], dtype=object)[rng.integers(0, 5, pods)]
    mem_req = np.array(["128Mi", "256Mi", "512Mi", "1Gi", "2Gi"], dtype=object)[rng.integers(0, 5, pods)]
    n = pods * samples
    pod_frame = pd.DataFrame(
        {
            "timestamp": np.repeat(stamps, pods),
            "namespace": np.tile(pod_ns, samples),
            "pod": np.tile(pod_names, samples),
            "node": np.tile(node_names[np.arange(pods) % nodes], samples),
            "owner_kind": "Deployment",
            "owner_name": np.tile(
                np.array([f"svc-{i // 3:04d}" for i in range(pods)], dtype=object), samples
            ),
            "cpu_request_cores": np.tile(cpu_req, samples),
            "cpu_usage_cores": np.round(rng.gamma(2.0, 0.15, n), 6),
            "memory_request_bytes": np.tile(mem_req, samples),
            "memory_usage_bytes": (rng.gamma(4.0, 64.0, n) * 2**20).astype(np.int64),
        }
    )
    paths = folder / "nodes.csv", folder / "pods.csv", folder / "namespaces.csv"
    node_frame.to_csv(paths[0], index=False)
    pod_frame.to_csv(paths[1], index=False)
    pd.DataFrame({"namespace": namespaces, "labels": '{"department": "d"}'}).to_csv(paths[2], index=False)
    return paths


def copy_rate(pods_csv: Path) -> tuple[float, int]:
    """Seconds for PostgreSQL to COPY the same pods.csv into a plain table of matching columns."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_pod_samples (timestamp timestamptz, namespace text, pod text, node text, "
            "owner_kind text, owner_name text, cpu_request_cores text, cpu_usage_cores float8, "
            "memory_request_bytes text, memory_usage_bytes float8)"
        )
        data = pods_csv.read_bytes()
        started = time.perf_counter()
        with cursor.cursor.copy("COPY bench_pod_samples FROM STDIN (FORMAT csv, HEADER true)") as copy:
            for i in range(0, len(data), 1 << 20):
                copy.write(data[i : i + (1 << 20)])
        took = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_pod_samples")
        (rows,) = cursor.fetchone()
        cursor.execute("DROP TABLE bench_pod_samples")
    return took, rows


def storage_per_pod_day() -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT " + " + ".join(f"pg_total_relation_size('{t}')" for t in USAGE_TABLES))
        (size,) = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM (SELECT DISTINCT pod_id, date(hour AT TIME ZONE 'UTC') FROM costing_podhour) d"
        )
        (pod_days,) = cursor.fetchone()
    return size, pod_days


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=500)
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--samples", type=int, default=1440, help="minute samples (1440 = one day)")
    args = parser.parse_args()
    setup_bench_database()
    from django.core.management import call_command

    from costing.choices import ConnectionType
    from costing.collectors.csv_files import read_sample_files
    from costing.models import Cluster, PodHour

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        nodes_csv, pods_csv, namespaces_csv = make_files(Path(tmp), args.pods, args.nodes, args.samples)
        rows = args.pods * args.samples
        size_mb = pods_csv.stat().st_size / 1e6
        print(
            f"generated {rows:,} pod-sample rows ({size_mb:.0f} MB) and {args.nodes * args.samples:,} node rows "
            f"in {time.perf_counter() - started:.1f} s"
        )
        Cluster.objects.create(name="bench", connection_type=ConnectionType.KUBECONFIG)

        started = time.perf_counter()
        read_sample_files(nodes_csv, pods_csv, namespaces_csv)
        read_s = time.perf_counter() - started

        out = io.StringIO()
        started = time.perf_counter()
        call_command(
            "import_samples", "--cluster", "bench", "--nodes", str(nodes_csv), "--pods", str(pods_csv),
            "--namespaces", str(namespaces_csv), stdout=out,
        )  # fmt: skip
        import_s = time.perf_counter() - started
        assert sum(PodHour.objects.values_list("samples", flat=True)) == rows
        copy_s, copied = copy_rate(pods_csv)
        assert copied == rows

    size, pod_days = storage_per_pod_day()
    print(out.getvalue().strip())
    print(
        f"import_samples:   {import_s:6.2f} s  {rows / import_s:>10,.0f} pod-sample rows/s  "
        f"(of which reading + validating {read_s:.2f} s; target >= {TARGET_ROWS_PER_S:,}/s)"
    )
    print(
        f"PostgreSQL COPY:  {copy_s:6.2f} s  {rows / copy_s:>10,.0f} rows/s  (same pods.csv into a plain table)"
    )
    print(
        f"usage tables ({', '.join(USAGE_TABLES)}): {size / 1e6:.1f} MB for {pod_days:,} pod-days = "
        f"{size / pod_days:,.0f} bytes per pod-day (raw CSV: {size_mb * 1e6 / pod_days:,.0f} bytes per pod-day)"
    )
    print("PASS" if rows / import_s >= TARGET_ROWS_PER_S else "FAIL: under target")


if __name__ == "__main__":
    main()
