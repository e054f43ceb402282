"""How fast the OpenCost-style /allocation answers over 90 days of a churning fleet of 10,000 pods.

The run's own PostgreSQL database is seeded (not timed) by bench/data.py as for the pages: 3 clusters,
about 10,000 pods running (Deployments of 2-10 replicas replaced daily, StatefulSets, hourly CronJobs),
node churn, 90 days of stored daily results. Then /allocation is asked for the whole 90 days, accumulated,
aggregated by namespace and by pod, as an admin, with the Django test client and no warm-up request (the
first counts); the median of the runs is printed beside the floor: the request's own SQL statements run
again with a plain cursor, rows fetched (what Python adds to the database's work); and the median one-core
CPU of a request (this process and its PostgreSQL backend: bench.common.CpuClock), which a loaded machine
inflates far less than wall time.

aggregate=pod answers one allocation per pod: over 90 days of this fleet (pods replaced daily, a CronJob
pod an hour) that is about 1.7 million allocations, gigabytes of JSON, bound by its own size. It is asked
for the last `--pod-days` days (default 1: about 30,000 pods); `--pod-days 90` asks the whole window.

    python bench/bench_allocation.py --small     # 7 days, 300 pods running
    python bench/bench_allocation.py             # 90 days, 10,000 pods running (goal: <= 2 s)
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data
from bench.common import CpuClock, add_size_argument, bench_database, result

DAYS = 90
RUNNING_PODS = 10_000
BUDGET_S = 2.0


def measure(runs: int, first_day, last_day, aggregate: str) -> dict:
    days = (last_day - first_day).days
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    admin, _ = User.objects.get_or_create(username="bench-admin", is_superuser=True)
    client = Client()
    client.force_login(admin)
    window = f"{first_day.isoformat()}T00:00:00Z,{last_day.isoformat()}T00:00:00Z"
    url = "/allocation?" + urlencode({"window": window, "aggregate": aggregate, "accumulate": "true"})
    times, cpu, statements, allocations = [], [], [], 0
    for run in range(runs):  # no warm-up: the first request counts
        with CaptureQueriesContext(connection) as captured:
            clock = CpuClock()
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            cpu.append(clock.seconds())
        assert response.status_code == 200, (url, response.status_code, response.content[:500])
        if run == 0:
            statements = [q["sql"] for q in captured.captured_queries]
            allocations = len(response.json()["data"][0])
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            if cursor.description:
                cursor.fetchall()
    floor = time.perf_counter() - started
    median = float(np.median(times))
    python, postgres = (float(np.median([c[i] for c in cpu])) for i in (0, 1))
    print(
        f"aggregate={aggregate:10} {days:3} days {allocations:9,} allocations  first {times[0]:6.2f} s  median "
        f"{median:6.2f} s  floor {floor:6.2f} s  ({len(statements)} statements)\n"
        f"{'':26} one-core CPU (median): {python + postgres:6.2f} s = Python {python:.2f} s + PostgreSQL "
        f"backend {postgres:.2f} s (its parallel workers not counted)",
        flush=True,
    )
    return {
        "aggregate": aggregate,
        "days": days,
        "median": median,
        "floor": floor,
        "allocations": allocations,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="requests per aggregation")
    parser.add_argument("--pod-days", type=int, default=1, help="the last days asked with aggregate=pod")
    add_size_argument(parser)
    args = parser.parse_args()
    days, running = (DAYS, RUNNING_PODS) if not args.small else (7, 300)
    with bench_database("allocation"):
        from django.test.utils import setup_test_environment

        setup_test_environment()
        today = datetime.now(UTC).date()
        first_day = today - timedelta(days=days)
        began = time.perf_counter()
        seeded = data.seed_daily_results(first_day, days, running)
        print(f"seeded {seeded} in {time.perf_counter() - began:.1f} s (not timed)\n")
        pod_days = min(args.pod_days, days)
        results = [
            measure(args.runs, first_day, today, "namespace"),
            measure(args.runs, today - timedelta(days=pod_days), today, "pod"),
        ]
        worst = max(results, key=lambda r: r["median"])
        print(f"\nslowest: aggregate={worst['aggregate']}; budget {BUDGET_S} s")
        result(
            f"/allocation over {worst['days']} days, accumulate=true, aggregate={worst['aggregate']} "
            f"({worst['allocations']:,} allocations), median of {args.runs} requests, no warm-up",
            worst["median"],
            "the same request's SQL statements re-executed with a plain cursor",
            worst["floor"],
        )


if __name__ == "__main__":
    main()
