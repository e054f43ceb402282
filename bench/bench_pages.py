"""How fast every dashboard page answers over two years of daily results of a churning fleet.

The run's own PostgreSQL database is seeded (not timed) by bench/data.py: 3 clusters, about 2,000
workloads (Deployments of 2-10 replicas replaced daily, StatefulSets, hourly CronJobs), node churn, two
years of ClusterDay, NodeCostDay, PodCostDay, WorkloadCostDay, NamespaceCostDay, DepartmentCostDay and
PoolShareDay as the engine stores them. Then every page is requested 20 times with the Django test
client over a year and over a month, as an admin and as a department viewer, with no warm-up request
(the first counts), and p50/p95 are printed beside the floor: the page's own SQL statements executed
again with a plain cursor, so the ratio is what Python and the template add to the database's work.

    python bench/bench_pages.py --small     # 2 months, 150 pods running
    python bench/bench_pages.py             # 2 years, about 9,000 pods running (2,000 workloads)
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data
from bench.common import add_size_argument, bench_database, result

DAYS = 730
RUNNING_PODS = 9_000  # about 2,000 workloads (bench/data.py)
BUDGET_MS = 200


def pages(year: str, month: str) -> list[tuple[str, str, str]]:
    """(label, role, url) for every page over both periods."""
    from datetime import time as clock

    from costing.models import Namespace, Node, NodeCostDay, NodeCostHour, Pod, Workload

    wl = (
        Workload.objects.filter(kind="Deployment", namespace__name__startswith="team-").order_by("pk").first()
    )
    ns = Namespace.objects.select_related("cluster").get(pk=wl.namespace_id)
    pod = Pod.objects.filter(workload=wl).order_by("-pk").first()
    # A node of the last day; the node-hour explanation reads one NodeCostHour: that day gets its 24.
    node_day = NodeCostDay.objects.filter(cluster=ns.cluster).order_by("-day", "-node_id").first()
    node = Node.objects.get(pk=node_day.node_id)
    midnight = datetime.combine(node_day.day, clock(), tzinfo=UTC)
    NodeCostHour.objects.bulk_create(
        NodeCostHour(
            cluster_id=node.cluster_id,
            node=node,
            hour=midnight + timedelta(hours=h),
            cost=node_day.cost / 24,
            cpu_cost_pool=node_day.cpu_cost_pool / 24,
            mem_cost_pool=node_day.mem_cost_pool / 24,
            cpu_idle=node_day.cpu_idle / 24,
            mem_idle=node_day.mem_idle / 24,
            cpu_price=0.0316,
            mem_price=0.0042,
        )
        for h in range(24)
    )
    node_hour = (
        f"/explain/node-hour/{ns.cluster.name}/{node.name}/{midnight + timedelta(hours=12):%Y-%m-%dT%H}/"
    )
    out = []
    for period in (year, month):
        for label, role, path in (
            ("overview", "admin", "/"),
            ("clusters", "admin", "/clusters/"),
            ("cluster", "admin", f"/clusters/{ns.cluster.name}/"),
            ("node pool", "admin", f"/clusters/{ns.cluster.name}/pools/pool-1/"),
            ("node", "admin", f"/clusters/{ns.cluster.name}/nodes/{node.name}/"),
            ("namespaces", "admin", "/namespaces/"),
            ("namespace", "admin", f"/namespaces/{ns.cluster.name}/{ns.name}/"),
            ("workload", "admin", f"/workloads/{wl.pk}/"),
            ("pod", "admin", f"/pods/{pod.pk}/"),
            ("labels", "admin", "/labels/?key=team&"),
            ("departments", "admin", "/departments/"),
            ("department", "admin", "/departments/Dept 3/"),
            ("data quality", "admin", "/data-quality/"),
            ("bills", "admin", "/bills/"),
            ("node-hour", "admin", node_hour),
            ("overview", "dept", "/"),
            ("clusters", "dept", "/clusters/"),
            ("namespaces", "dept", "/namespaces/"),
            ("labels", "dept", "/labels/?key=team&"),
            ("departments", "dept", "/departments/"),
        ):
            sep = "" if path.endswith("&") else "?"
            out.append((f"{label} [{period}]", role, f"{path}{sep}period={period}"))
    return out


def measure(runs: int, year: str, month: str) -> list[dict]:
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from costing.choices import Role
    from costing.models import Department

    setup_test_environment()
    admin = User.objects.create(username="bench-admin", is_superuser=True)
    dept = User.objects.create(username="bench-dept")
    dept.groups.add(Group.objects.get(name=Role.DEPARTMENT_VIEWER))
    Department.objects.get(name="Dept 3").viewers.add(dept)
    clients = {"admin": Client(), "dept": Client()}
    clients["admin"].force_login(admin)
    clients["dept"].force_login(dept)

    results = []
    for label, role, url in pages(year, month):
        client = clients[role]
        times, statements = [], []
        for run in range(runs):  # no warm-up: the first request counts
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code, response.content[:500])
            if run == 0:
                statements = [q["sql"] for q in captured.captured_queries]
        # The floor: the page's own statements again through a plain cursor, rows fetched.
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                if cursor.description:
                    cursor.fetchall()
        floor = (time.perf_counter() - started) * 1000
        results.append(
            {
                "page": label,
                "role": role,
                "queries": len(statements),
                "p50": float(np.percentile(times, 50)),
                "p95": float(np.percentile(times, 95)),
                "first": times[0],
                "floor": floor,
            }
        )
        r = results[-1]
        flag = "" if r["p95"] <= BUDGET_MS else f"  over {BUDGET_MS} ms"
        print(
            f"{label:34} {role:6} {r['queries']:3} queries  first {r['first']:7.1f}  p50 {r['p50']:7.1f}"
            f"  p95 {r['p95']:7.1f} ms  floor {r['floor']:7.1f} ms{flag}",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20, help="requests per page")
    add_size_argument(parser)
    args = parser.parse_args()
    days, running = (DAYS, RUNNING_PODS) if not args.small else (62, 150)
    with bench_database("pages"):
        from costing.models import ClusterDay

        today = datetime.now(UTC).date()
        # Days ending yesterday, within the pages' history bound (first of the month 24 months back).
        first_day = max(
            today - timedelta(days=days), (today.replace(day=1) - pd.DateOffset(months=24)).date()
        )
        began = time.perf_counter()
        seeded = data.seed_daily_results(first_day, (today - first_day).days, running)
        print(f"seeded {seeded} in {time.perf_counter() - began:.1f} s (not timed)")
        last_full_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        year = str(today.year - 1) if not args.small else last_full_month[:4]
        print(
            f"\n{ClusterDay.objects.count():,} cluster-days from {first_day}; year {year}, month {last_full_month}; "
            f"{args.runs} requests per page\n"
        )
        results = measure(args.runs, year, last_full_month)
        worst = max(results, key=lambda r: r["p95"])
        print(
            f"\nslowest p95: {worst['page']} ({worst['role']}), {worst['queries']} queries; budget {BUDGET_MS} ms"
        )
        result(
            f"p95 of the slowest page, {worst['page']} ({worst['role']}), {args.runs} requests, no warm-up",
            worst["p95"],
            "the same page's SQL statements re-executed with a plain cursor",
            worst["floor"],
            unit="ms",
        )


if __name__ == "__main__":
    main()
