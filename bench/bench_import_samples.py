"""import_samples into PostgreSQL beside PostgreSQL's own COPY of the same pods.csv into a plain table.

The files are a day of minute samples of bench/data.py's churning fleet (replicas replaced daily,
hourly CronJob pods, node replacements), requests as Kubernetes quantities. Timed once each: the COPY
floor and import_samples end to end.

    python bench/bench_import_samples.py --small   # 100 pods x 2 hours
    python bench/bench_import_samples.py           # 500 pods x a day (about 800,000 pod-sample rows)
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data
from bench.common import CpuClock, add_size_argument, bench_database, result

DAY = pd.Timestamp("2026-03-02", tz="UTC")
USAGE_TABLES = ["costing_podhour", "costing_nodehour", "costing_coveragehour", "costing_sampleslot"]


def make_files(folder: Path, pods: int, samples: int, seed: int = 1) -> tuple[Path, Path, Path, int]:
    """`samples` minutes of the fleet: nodes.csv, pods.csv, namespaces.csv; and the pod rows written."""
    fleet = data.fleet(pods, max(1, -(-samples // 1440)), DAY, seed=seed)
    print(data.summary(fleet))
    rng = np.random.default_rng(seed)

    def stamps(minutes) -> np.ndarray:
        return np.asarray(
            (DAY + pd.to_timedelta(np.asarray(minutes), unit="min")).strftime("%Y-%m-%dT%H:%M:%SZ")
        )

    nodes = fleet.nodes
    minute = np.arange(samples)
    pairs = np.array(np.meshgrid(minute, np.arange(len(nodes)), indexing="ij")).reshape(2, -1)
    alive = (nodes["start"].to_numpy()[pairs[1]] <= pairs[0]) & (nodes["end"].to_numpy()[pairs[1]] > pairs[0])
    at, node = pairs[0][alive], pairs[1][alive]
    node_frame = pd.DataFrame(
        {
            "timestamp": stamps(at),
            "node": nodes["name"].to_numpy()[node],
            "node_pool": "pool-" + nodes["pool"].astype(str).to_numpy()[node],
            "provider_id": "aws:///eu-west-1a/" + nodes["instance_id"].to_numpy()[node],
            "cpu_capacity_cores": nodes["cores"].astype(int).astype(str).to_numpy()[node],
            "memory_capacity_bytes": (nodes["mem_gib"].astype(int).astype(str) + "Gi").to_numpy()[node],
        }
    )
    rows = data.minute_samples(fleet, 0, samples, seed=seed)
    pod = fleet.pods
    workload = pod["workload"].to_numpy()[rows["pod"]]
    kinds = fleet.workloads["kind"].to_numpy()
    pod_frame = pd.DataFrame(
        {
            "timestamp": stamps(rows["minute"]),
            "namespace": np.asarray(fleet.namespaces, dtype=object)[pod["namespace"].to_numpy()[rows["pod"]]],
            "pod": pod["name"].to_numpy()[rows["pod"]],
            "node": nodes["name"].to_numpy()[rows["node"]],
            "owner_kind": kinds[workload],
            "owner_name": fleet.workloads["name"].to_numpy()[workload],
            "cpu_request_cores": (np.round(rows["cpu_request"] * 1000).astype(int)).astype(str) + "m",
            "cpu_usage_cores": np.round(rows["cpu_usage"], 6),
            "memory_request_bytes": (np.round(rows["mem_request_gib"] * 1024).astype(int)).astype(str) + "Mi",
            "memory_usage_bytes": (rows["mem_usage_gib"] * 2**30 * rng.uniform(0.9, 1.0, len(rows))).astype(
                np.int64
            ),
        }
    )
    paths = folder / "nodes.csv", folder / "pods.csv", folder / "namespaces.csv"
    node_frame.to_csv(paths[0], index=False)
    pod_frame.to_csv(paths[1], index=False)
    pd.DataFrame({"namespace": fleet.namespaces, "labels": '{"department": "d"}'}).to_csv(
        paths[2], index=False
    )
    return (*paths, len(pod_frame))


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
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=500, help="pods running at any minute")
    parser.add_argument("--samples", type=int, default=1440, help="minute samples (1440 = one day)")
    add_size_argument(parser)
    args = parser.parse_args()
    if args.small:
        args.pods, args.samples = 100, 120
    with bench_database("import_samples"), tempfile.TemporaryDirectory() as tmp:
        from django.core.management import call_command

        from costing.choices import ConnectionType
        from costing.models import Cluster, PodHour

        started = time.perf_counter()
        nodes_csv, pods_csv, namespaces_csv, rows = make_files(Path(tmp), args.pods, args.samples)
        size_mb = pods_csv.stat().st_size / 1e6
        print(
            f"generated {rows:,} pod-sample rows ({size_mb:.0f} MB) in {time.perf_counter() - started:.1f} s"
        )
        Cluster.objects.create(name="bench", connection_type=ConnectionType.KUBECONFIG)

        clock = CpuClock()
        copy_s, copied = copy_rate(pods_csv)
        copy_cpu = clock.seconds()
        assert copied == rows
        out = io.StringIO()
        started, clock = time.perf_counter(), CpuClock()
        call_command(
            "import_samples", "--cluster", "bench", "--nodes", str(nodes_csv), "--pods", str(pods_csv),
            "--namespaces", str(namespaces_csv), stdout=out,
        )  # fmt: skip
        import_s = time.perf_counter() - started
        import_cpu = clock.seconds()
        assert sum(PodHour.objects.values_list("samples", flat=True)) == rows

        size, pod_days = storage_per_pod_day()
        print(out.getvalue().strip())
        print(f"import_samples {rows / import_s:,.0f} pod-sample rows/s; COPY {rows / copy_s:,.0f} rows/s")
        # One core's worth (this process + its PostgreSQL backend): what wall time is on a machine of its own.
        print(
            f"CPU: import_samples {sum(import_cpu):.3f} s (process {import_cpu[0]:.3f} + backend "
            f"{import_cpu[1]:.3f}); COPY {sum(copy_cpu):.3f} s (process {copy_cpu[0]:.3f} + backend "
            f"{copy_cpu[1]:.3f}); ratio {sum(import_cpu) / sum(copy_cpu):.2f}; load average {os.getloadavg()[0]:.1f}"
        )
        print(
            f"usage tables ({', '.join(USAGE_TABLES)}): {size / 1e6:.1f} MB for {pod_days:,} pod-days = "
            f"{size / pod_days:,.0f} bytes per pod-day (raw CSV: {size_mb * 1e6 / pod_days:,.0f} bytes per pod-day)"
        )
        result(
            f"import_samples of {rows:,} pod-sample rows",
            import_s,
            "PostgreSQL COPY of the same pods.csv into a plain table",
            copy_s,
        )


if __name__ == "__main__":
    main()
