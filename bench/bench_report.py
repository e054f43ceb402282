"""How fast the yearly report is built and rendered from two years of stored daily results of a churning
fleet, beside the COPY read of the year's rows it summarises.

The run's own PostgreSQL database is seeded (not timed) by bench/data.py: 3 clusters, about 2,000
workloads (Deployments of 2-10 replicas replaced daily, StatefulSets, hourly CronJobs), node churn.
Then, in a fresh process (so that its peak memory is the report's alone), once each:
  - build_report for last year (organisation scope) and its rendering as .xlsx (the figure), then
    as a zip of CSVs and for one department;
  - the floor: COPY (SELECT ...) TO STDOUT of the year's workload, pod and namespace day rows into pandas.

    python bench/bench_report.py --small     # 150 pods running, last month's report
    python bench/bench_report.py             # about 9,000 pods running (2,000 workloads), two years
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data
from bench.common import add_size_argument, bench_database, copy_read, peak_rss_mb, result, use_database

RUNNING_PODS = 9_000  # about 2,000 workloads (bench/data.py)
TARGET_SECONDS = 15.0
TARGET_MB = 500.0


def read_floor(period) -> tuple[float, int]:
    """Seconds to COPY the year's workload, pod and namespace day rows out into pandas; and the rows."""
    began = time.perf_counter()
    rows = 0
    for table, extra in (
        ("costing_workloadcostday", "workload_id, namespace_id"),
        ("costing_podcostday", "pod_id, node_id, namespace_id"),
        ("costing_namespacecostday", "namespace_id, department"),
    ):
        rows += len(
            copy_read(
                f"SELECT cluster_id, day, {extra}, cpu_request_core_hours, cpu_usage_core_hours,"
                " cpu_billable_core_hours, mem_request_gib_hours, mem_usage_gib_hours, mem_billable_gib_hours,"
                f" cpu_cost, mem_cost, cost, estimated_cost FROM {table} WHERE day >= %s AND day < %s",
                [period.start, period.end],
            )
        )
    return time.perf_counter() - began, rows


def measure(key: str) -> None:
    """Run in a process of its own: time the build and the renderings, take the peak RSS, then the floor."""
    from django.db import connection

    from reports.periods import parse_period
    from reports.reporting.builder import build_report
    from reports.reporting.csv import render_zip
    from reports.reporting.excel import render_xlsx

    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")  # one core, as the product's worker has
    period = parse_period(key)
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
    peak_mb = peak_rss_mb()
    floor, rows = read_floor(period)
    total = built + rendered
    print(f"{period.key}: {rows:,} stored day rows read by the floor")
    print(
        f"workloads in the report: {len(report.table('workloads').rows):,}; total {report.summary_value('Physical cost')}"
    )
    print(f"build_report (organisation):          {built:7.2f} s")
    print(f"render .xlsx ({len(xlsx) / 1e6:.1f} MB):               {rendered:7.2f} s")
    print(f"build_report (one department):        {department:7.2f} s")
    print(f"render CSV zip ({len(csv_zip) / 1e6:.1f} MB):             {zipped:7.2f} s")
    print(f"peak RSS of this process:              {peak_mb:7.0f} MB (target {TARGET_MB:.0f} MB)")
    result(
        f"build_report + render_xlsx, organisation, {period.key} (target {TARGET_SECONDS:.0f} s for a year)",
        total,
        "COPY read of the period's workload, pod and namespace day rows into pandas",
        floor,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    add_size_argument(parser)
    args = parser.parse_args()
    if args.measure:
        use_database(os.environ["DATABASE_URL"])
        measure(args.measure)
        return
    with bench_database("report"):
        from reports.periods import earliest_start

        today = datetime.now(UTC).date()
        last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        # Small: the last full month only (the report of a month, not of a year).
        first = earliest_start(today) if not args.small else last_month
        running = RUNNING_PODS if not args.small else 150
        began = time.perf_counter()
        seeded = data.seed_daily_results(first, (today - first).days, running)
        print(f"seeded {seeded} in {time.perf_counter() - began:.1f} s (not timed)", flush=True)
        # A fresh process on the same database: its peak memory is the report's, not the generator's.
        period = str(today.year - 1) if not args.small else f"{last_month:%Y-%m}"
        subprocess.run([sys.executable, __file__, "--measure", period], check=True, env=os.environ)


if __name__ == "__main__":
    main()
