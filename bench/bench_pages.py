"""How fast the dashboard pages answer over two years of daily results (3 clusters, 100 namespaces, 2,000 workloads).

Creates its own PostgreSQL database (default finops_bench_pages), seeds the inventory through the ORM and
the daily result tables with COPY (ClusterDay, NodeCostDay, WorkloadCostDay, NamespaceCostDay,
DepartmentCostDay, plus PodCostDay with one pod per workload and PoolShareDay, which the labels and
department pages read), then requests every page with the Django test client over a year-long and a
month-long period, as an admin and as a department viewer, and prints p50/p95 beside the floor: the
time of the page's slowest SQL statement alone, executed again with a plain cursor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/bench_pages.py
    python bench/bench_pages.py --reuse          # keep the seeded database, time again
    python bench/bench_pages.py --runs 50        # more requests per page
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLUSTERS = 3
NAMESPACES = 100
WORKLOADS = 2000
DEPARTMENTS = 10
POOLS_PER_CLUSTER = 3
NODES_PER_POOL = 10
DAYS = 730
BUDGET_MS = 300


def setup_django(database: str, reuse: bool) -> None:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "DATABASE_URL must point at a PostgreSQL server; the benchmark creates its own database there."
        )
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if exists and not reuse:
            conn.execute(f'DROP DATABASE "{database}"')
        if not exists or not reuse:
            conn.execute(f'CREATE DATABASE "{database}"')
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{database}"))
    os.environ.setdefault("FINOPS_VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finops.settings")
    # Templates call {% static %}: the plain storage needs no collectstatic manifest.
    os.environ["STATICFILES_STORAGE"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def copy_frame(table: str, frame: pd.DataFrame) -> None:
    """COPY a DataFrame into a table (columns named as the frame's); money as text with 8 decimals."""
    from django.db import connection

    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, sep="\t", float_format="%.8f")
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    with connection.cursor() as cursor, cursor.cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
        copy.write(buffer.getvalue())


def generate(first_day: date, seed: int = 11) -> dict:
    """Inventory through the ORM, results with COPY. Figures are random but add up as the engine's do."""
    from django.db import connection, transaction

    from costing.choices import ConnectionType, OwnerKind
    from costing.models import Cluster, Department, Namespace, Node, NodePool, Pod, Workload

    rng = np.random.default_rng(seed)
    days = pd.date_range(first_day, periods=DAYS, freq="D").date
    seen = {"first_seen": datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)}
    seen["last_seen"] = seen["first_seen"] + timedelta(days=DAYS)
    started = time.perf_counter()
    with transaction.atomic():
        clusters = [
            Cluster.objects.create(name=f"cluster-{i + 1}", connection_type=ConnectionType.SIMULATOR)
            for i in range(CLUSTERS)
        ]
        departments = [Department.objects.create(name=f"Dept-{i + 1:02d}") for i in range(DEPARTMENTS)]
        pools, nodes = [], []
        for cluster in clusters:
            for p in range(POOLS_PER_CLUSTER):
                pool = NodePool.objects.create(cluster=cluster, name=f"pool-{p + 1}")
                pools.append(pool)
                for n in range(NODES_PER_POOL):
                    nodes.append(
                        Node(
                            cluster=cluster,
                            node_pool=pool,
                            name=f"{cluster.name}-{pool.name}-n{n}",
                            instance_type="m5.xlarge",
                            cpu_capacity_cores=4,
                            memory_capacity_bytes=16 * 2**30,
                            **seen,
                        )
                    )
        Node.objects.bulk_create(nodes)
        namespaces = Namespace.objects.bulk_create(
            Namespace(
                cluster=clusters[i % CLUSTERS], name="kube-system" if i < CLUSTERS else f"ns-{i:03d}", **seen
            )
            for i in range(NAMESPACES)
        )
        workloads = Workload.objects.bulk_create(
            Workload(
                cluster=namespaces[i % NAMESPACES].cluster,
                namespace=namespaces[i % NAMESPACES],
                kind=OwnerKind.DEPLOYMENT,
                name=f"app-{i:04d}",
            )
            for i in range(WORKLOADS)
        )
        node_by_cluster = {c.pk: [n for n in nodes if n.cluster_id == c.pk] for c in clusters}
        pods = Pod.objects.bulk_create(
            Pod(
                cluster_id=w.cluster_id,
                namespace_id=w.namespace_id,
                workload=w,
                node=node_by_cluster[w.cluster_id][i % len(node_by_cluster[w.cluster_id])],
                name=f"{w.name}-0",
                uid=f"uid-{i}",
                labels={"app": w.name, "team": f"team-{i % 25}", "tier": ["web", "api", "batch"][i % 3]},
                **seen,
            )
            for i, w in enumerate(workloads)
        )
    print(f"inventory: {time.perf_counter() - started:.1f} s")

    # Namespace -> department: the first CLUSTERS namespaces are kube-system (shared), the rest round-robin.
    ns_frame = pd.DataFrame(
        {
            "namespace_id": [n.pk for n in namespaces],
            "cluster_id": [n.cluster_id for n in namespaces],
            "shared": [i < CLUSTERS for i in range(NAMESPACES)],
            "department": [
                "Shared" if i < CLUSTERS else departments[i % DEPARTMENTS].name for i in range(NAMESPACES)
            ],
        }
    )
    wl = pd.DataFrame(
        {
            "workload_id": [w.pk for w in workloads],
            "namespace_id": [w.namespace_id for w in workloads],
            "cluster_id": [w.cluster_id for w in workloads],
            "pod_id": [p.pk for p in pods],
            "node_id": [p.node_id for p in pods],
            "scale": rng.lognormal(0, 1, WORKLOADS),
        }
    )
    n_rows = WORKLOADS * DAYS
    frame = pd.DataFrame(
        {
            "day": np.tile(days, WORKLOADS),
            "workload_id": np.repeat(wl["workload_id"].to_numpy(), DAYS),
            "namespace_id": np.repeat(wl["namespace_id"].to_numpy(), DAYS),
            "cluster_id": np.repeat(wl["cluster_id"].to_numpy(), DAYS),
            "pod_id": np.repeat(wl["pod_id"].to_numpy(), DAYS),
            "node_id": np.repeat(wl["node_id"].to_numpy(), DAYS),
        }
    )
    scale = np.repeat(wl["scale"].to_numpy(), DAYS) * rng.uniform(0.8, 1.2, n_rows)
    frame["cpu_request_core_hours"] = np.round(scale * 12, 4)
    frame["cpu_usage_core_hours"] = np.round(scale * 12 * rng.uniform(0.2, 1.3, n_rows), 4)
    frame["cpu_billable_core_hours"] = np.maximum(
        frame["cpu_request_core_hours"], frame["cpu_usage_core_hours"]
    )
    frame["mem_request_gib_hours"] = np.round(scale * 48, 4)
    frame["mem_usage_gib_hours"] = np.round(scale * 48 * rng.uniform(0.3, 1.1, n_rows), 4)
    frame["mem_billable_gib_hours"] = np.maximum(frame["mem_request_gib_hours"], frame["mem_usage_gib_hours"])
    frame["cpu_cost"] = np.round(frame["cpu_billable_core_hours"] * 0.04, 8)
    frame["mem_cost"] = np.round(frame["mem_billable_gib_hours"] * 0.005, 8)
    frame["cost"] = frame["cpu_cost"] + frame["mem_cost"]
    frame["estimated_cost"] = np.where(np.array([d >= days[-2] for d in frame["day"]]), frame["cost"], 0.0)
    quantities = [c for c in frame.columns if c.endswith("_hours")]
    money = ["cpu_cost", "mem_cost", "cost", "estimated_cost"]

    started = time.perf_counter()
    with transaction.atomic():
        copy_frame(
            "costing_workloadcostday",
            frame[["cluster_id", "day", "namespace_id", "workload_id", *quantities, *money]].assign(pods=1),
        )
        copy_frame(
            "costing_podcostday",
            frame[
                ["cluster_id", "day", "pod_id", "node_id", "namespace_id", "workload_id", *quantities, *money]
            ].assign(samples=1440),
        )
        ns_days = (
            frame.groupby(["cluster_id", "day", "namespace_id"], sort=False)[[*quantities, *money]]
            .sum()
            .reset_index()
        )
        ns_days = ns_days.merge(ns_frame[["namespace_id", "shared", "department"]], on="namespace_id")
        copy_frame("costing_namespacecostday", ns_days)

        # Nodes: the cluster-day's workload cost plus 40 % idle, spread over its nodes.
        cl = frame.groupby(["cluster_id", "day"])[["cost", "estimated_cost"]].sum().reset_index()
        cl["idle"] = np.round(cl["cost"] * 0.4, 8)
        cl["overhead"] = 24.0
        node_frame = pd.DataFrame(
            [(n.pk, n.cluster_id, n.node_pool_id) for n in nodes],
            columns=["node_id", "cluster_id", "node_pool_id"],
        )
        node_days = node_frame.merge(cl, on="cluster_id")
        per_node = CLUSTERS * POOLS_PER_CLUSTER * NODES_PER_POOL // CLUSTERS
        node_days["cpu_idle"] = np.round(node_days["idle"] / per_node / 2, 8)
        node_days["mem_idle"] = node_days["cpu_idle"]
        node_days["cost"] = np.round((node_days["cost"] + node_days["idle"]) / per_node, 8)
        node_days["cpu_cost_pool"] = np.round(node_days["cost"] / 2, 8)
        node_days["mem_cost_pool"] = node_days["cost"] - node_days["cpu_cost_pool"]
        node_days["estimated_cost"] = np.round(node_days["estimated_cost"] / per_node, 8)
        node_days = node_days.assign(
            cpu_capacity_core_hours=96.0,
            mem_capacity_gib_hours=384.0,
            hours_billed=24,
            hours_estimated=0,
            hours_unsampled=0,
        )
        copy_frame(
            "costing_nodecostday",
            node_days[
                [
                    "cluster_id", "day", "node_id", "node_pool_id", "cost", "cpu_cost_pool", "mem_cost_pool", "cpu_idle",
                    "mem_idle", "estimated_cost", "cpu_capacity_core_hours", "mem_capacity_gib_hours", "hours_billed",
                    "hours_estimated", "hours_unsampled",
                ]
            ],
        )  # fmt: skip
        cl["workload_cost"] = cl["cost"]
        cl["idle_cost"] = cl["idle"]
        cl["overhead_cost"] = cl["overhead"]
        cl["physical_cost"] = cl["cost"] + cl["idle"] + cl["overhead"]
        cl = cl.assign(dirty=False, dirty_version=0, unpriced_core_hours=0.0, coverage=0.995)
        cl["computed_at"] = datetime.now(UTC).isoformat()
        copy_frame(
            "costing_clusterday",
            cl[
                [
                    "cluster_id", "day", "dirty", "dirty_version", "computed_at", "physical_cost", "workload_cost",
                    "idle_cost", "overhead_cost", "estimated_cost", "unpriced_core_hours", "coverage",
                ]
            ],
        )  # fmt: skip

        # Departments: direct = their namespaces; shared, idle and overhead divided by direct cost.
        direct = (
            ns_days[~ns_days["shared"]]
            .groupby(["cluster_id", "day", "department"])["cost"]
            .sum()
            .reset_index()
        )
        direct = direct.rename(columns={"cost": "direct", "department": "name"})
        shared = ns_days[ns_days["shared"]].groupby(["cluster_id", "day"])["cost"].sum().rename("shared_pool")
        direct = direct.merge(shared.reset_index(), on=["cluster_id", "day"]).merge(
            cl[["cluster_id", "day", "idle_cost", "overhead_cost"]], on=["cluster_id", "day"]
        )
        weight = direct["direct"] / direct.groupby(["cluster_id", "day"])["direct"].transform("sum")
        direct["shared"] = np.round(direct["shared_pool"] * weight, 8)
        direct["idle"] = np.round(direct["idle_cost"] * weight, 8)
        direct["overhead"] = np.round(direct["overhead_cost"] * weight, 8)
        direct["total"] = direct["direct"] + direct["shared"] + direct["idle"] + direct["overhead"]
        ids = {d.name: d.pk for d in departments}
        direct["department_id"] = direct["name"].map(ids)
        direct["is_line"] = False
        copy_frame(
            "costing_departmentcostday",
            direct[
                [
                    "day",
                    "cluster_id",
                    "name",
                    "department_id",
                    "is_line",
                    "direct",
                    "shared",
                    "idle",
                    "overhead",
                    "total",
                ]
            ],
        )
        shares = []
        for pool, pool_column, amount in (
            ("shared", "shared_pool", "shared"),
            ("idle", "idle_cost", "idle"),
            ("overhead", "overhead_cost", "overhead"),
        ):
            shares.append(
                pd.DataFrame(
                    {
                        "day": direct["day"],
                        "cluster_id": direct["cluster_id"],
                        "pool": pool,
                        "name": direct["name"],
                        "method": "proportional",
                        "applied": "proportional",
                        "scope": "cluster",
                        "basis": "direct cost",
                        "resource": "",
                        "via": "",
                        "pool_amount": direct[pool_column],
                        "fraction": weight,
                        "amount": direct[amount],
                    }
                )
            )
        copy_frame("costing_poolshareday", pd.concat(shares, ignore_index=True))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"results: {len(frame):,} workload-days and pod-days, COPY in {time.perf_counter() - started:.1f} s"
    )
    return {}


def pages(year: str, month: str) -> list[tuple[str, str, str]]:
    """(label, role, url) for every page over both periods."""
    from costing.models import Namespace, Workload

    ns = Namespace.objects.filter(name="ns-013").select_related("cluster").first()
    wl = Workload.objects.filter(namespace=ns).order_by("pk").first()
    out = []
    for period in (year, month):
        for label, role, path in (
            ("overview", "admin", "/"),
            ("clusters", "admin", "/clusters/"),
            ("cluster", "admin", f"/clusters/{ns.cluster.name}/"),
            ("node pool", "admin", f"/clusters/{ns.cluster.name}/pools/pool-1/"),
            ("namespaces", "admin", "/namespaces/"),
            ("namespace", "admin", f"/namespaces/{ns.cluster.name}/{ns.name}/"),
            ("workload", "admin", f"/workloads/{wl.pk}/"),
            ("labels", "admin", "/labels/?key=team&"),
            ("departments", "admin", "/departments/"),
            ("department", "admin", "/departments/Dept-04/"),
            ("data quality", "admin", "/data-quality/"),
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
    admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"is_superuser": True})
    dept, _ = User.objects.get_or_create(username="bench-dept")
    dept.groups.add(Group.objects.get(name=Role.DEPARTMENT_VIEWER))
    Department.objects.get(name="Dept-04").viewers.add(dept)
    clients = {"admin": Client(), "dept": Client()}
    clients["admin"].force_login(admin)
    clients["dept"].force_login(dept)

    results = []
    for label, role, url in pages(year, month):
        client = clients[role]
        for _ in range(2):  # warm the caches (templates, plans, shared buffers)
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:500])
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        slowest = max(captured.captured_queries, key=lambda q: float(q["time"]))
        floor = []
        with connection.cursor() as cursor:
            for _ in range(max(5, runs // 2)):
                started = time.perf_counter()
                cursor.execute(slowest["sql"])
                cursor.fetchall()
                floor.append((time.perf_counter() - started) * 1000)
        results.append(
            {
                "page": label,
                "role": role,
                "queries": len(captured.captured_queries),
                "p50": float(np.percentile(times, 50)),
                "p95": float(np.percentile(times, 95)),
                "floor": float(np.percentile(floor, 50)),
            }
        )
        r = results[-1]
        flag = "" if r["p95"] <= BUDGET_MS else f"  over {BUDGET_MS} ms"
        print(
            f"{label:34} {role:6} {r['queries']:3} queries  p50 {r['p50']:7.1f} ms  p95 {r['p95']:7.1f} ms"
            f"  floor {r['floor']:7.1f} ms{flag}",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="finops_bench_pages")
    parser.add_argument("--reuse", action="store_true", help="time the already seeded database again")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    setup_django(args.database, args.reuse)
    from costing.models import ClusterDay

    today = datetime.now(UTC).date()
    # Two years of days ending yesterday, within the pages' history bound (first of the month 24 months back).
    first_day = max(today - timedelta(days=DAYS), (today.replace(day=1) - pd.DateOffset(months=24)).date())
    if not args.reuse or not ClusterDay.objects.exists():
        generate(first_day)
    last_full_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    year = str(today.year - 1)
    print(
        f"\n{ClusterDay.objects.count():,} cluster-days from {first_day}; year {year}, month {last_full_month}; "
        f"{args.runs} requests per page\n"
    )
    results = measure(args.runs, year, last_full_month)
    worst = max(results, key=lambda r: r["p95"])
    print(f"\nslowest p95: {worst['page']} ({worst['role']}) {worst['p95']:.1f} ms; budget {BUDGET_MS} ms")


if __name__ == "__main__":
    main()
