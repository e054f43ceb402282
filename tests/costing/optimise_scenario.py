"""A small cluster for the Optimise view, stored through the ORM, every figure worked out by hand.

Cluster "lab" (samples every 60 s), Monday 2026-03-02, 24 hours, policy cost share 0.5:
  pool general: n1, n2, n3, each 4 cores 16 GiB at 1.00/h -> 0.125 per core-hour, 0.03125 per GiB-hour
    Deployment shop/web: 4 pods of 1.5 cores 4 GiB (using 0.5 core, 2 GiB) on n1, n1, n2, n3
    DaemonSet kube-system/agent: 0.25 core 0.5 GiB (using 0.1, 0.3) on each node
    -> a node holds two web pods beside its agent: 2 nodes needed, one surplus: 1.00 x 730 a month
  pool batch: b1, 4 cores 16 GiB at 0.16/h -> 0.02 per core-hour, 0.005 per GiB-hour
    Job jobs/report: one pod of 2 cores 4 GiB (using 1.9, 3) from 02:00 to 03:00
    -> direct 2 x 0.02 + 4 x 0.005 = 0.06; the day's idle 0.16 x 24 - 0.06 = 3.78 is all its share:
       3.84 a day = 116.80 a month; on the pay-per-use sheet (0.00001 per vCPU-s, 0.000001 per GiB-s)
       3600 x (2 x 0.00001 + 4 x 0.000001) = 0.0864 a day = 2.628 a month
Departments: shop -> Payments, jobs -> Search; kube-system is shared.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from costing.choices import GIB, ConnectionType, OwnerKind
from costing.models import (
    Cluster,
    Namespace,
    NamespaceCostDay,
    Node,
    NodeCostHour,
    NodeHour,
    NodePool,
    Pod,
    PodHour,
    Workload,
)
from costing.policy import DepartmentSpec, PolicySpec
from costing.policy.spec import PayPerUseSheet
from costing.policy.store import save_spec

DAY = date(2026, 3, 2)
START = datetime(2026, 3, 2, tzinfo=UTC)
HOURS = [START + timedelta(hours=h) for h in range(24)]
D = Decimal
POLICY = PolicySpec(
    effective_from=date(2026, 1, 1),
    shared_namespaces=["kube-system"],
    departments=[DepartmentSpec("Payments", namespaces=["shop"]), DepartmentSpec("Search", namespaces=["jobs"])],
    pay_per_use=PayPerUseSheet(
        name="test offer", vcpu_second=D("0.00001"), gib_second=D("0.000001"), min_vcpu=D("0.25"),
        min_gib=D("0.5"), vcpu_step=D("0.25"), gib_step=D("0.5"), min_seconds=D(60), second_step=D(1),
    ),
)  # fmt: skip
PACKING = 730.0
REPORT_NOW = 3.84 * 730 / 24
REPORT_PPU = 0.0864 * 730 / 24
# Oversubscription of the batch pool at 02:00: 0.1 core and 1 GiB requested but unused, 0.007 an hour.
BATCH_UNUSED = (0.1 * 0.02 + 1 * 0.005) * 730 / 24
# The general pool: 6.75 cores and 17.5 GiB requested, 2.3 cores and 8.9 GiB used: 0.825 an hour.
GENERAL_UNUSED = 0.825 * 730


def build() -> Cluster:
    save_spec(POLICY)
    cluster = Cluster.objects.create(
        name="lab", connection_type=ConnectionType.SIMULATOR, sampling_interval=60
    )
    seen = {"first_seen": START, "last_seen": START + timedelta(days=1)}
    nodes = {}
    for pool_name, names, cost in (("general", ["n1", "n2", "n3"], 1.0), ("batch", ["b1"], 0.16)):
        pool = NodePool.objects.create(cluster=cluster, name=pool_name)
        for name in names:
            node = Node.objects.create(
                cluster=cluster,
                name=name,
                node_pool=pool,
                cpu_capacity_cores=4,
                memory_capacity_bytes=16 * GIB,
                **seen,
            )
            nodes[name] = node
            NodeHour.objects.bulk_create(
                NodeHour(cluster=cluster, node=node, hour=h, samples=60, cpu_capacity_core_hours=4,
                         mem_capacity_gib_hours=16)
                for h in HOURS
            )  # fmt: skip
            NodeCostHour.objects.bulk_create(
                NodeCostHour(cluster=cluster, node=node, hour=h, cost=D(str(cost)), cpu_cost_pool=D(str(cost / 2)),
                             mem_cost_pool=D(str(cost / 2)), cpu_price=cost / 8, mem_price=cost / 32)
                for h in HOURS
            )  # fmt: skip
    owners = {"shop": ("Payments", False), "jobs": ("Search", False), "kube-system": ("", True)}
    spaces = {}
    for ns, (department, shared) in owners.items():
        spaces[ns] = Namespace.objects.create(cluster=cluster, name=ns, **seen)
        NamespaceCostDay.objects.create(
            cluster=cluster, day=DAY, namespace=spaces[ns], department=department or "Shared", shared=shared
        )
    pods = [("web-0", "shop", OwnerKind.DEPLOYMENT, "web", "n1", 1.5, 4.0, 0.5, 2.0, HOURS)]
    pods += [(f"web-{i}", "shop", OwnerKind.DEPLOYMENT, "web", n, 1.5, 4.0, 0.5, 2.0, HOURS)
             for i, n in ((1, "n1"), (2, "n2"), (3, "n3"))]  # fmt: skip
    pods += [(f"agent-{n}", "kube-system", OwnerKind.DAEMONSET, "agent", n, 0.25, 0.5, 0.1, 0.3, HOURS)
             for n in ("n1", "n2", "n3")]  # fmt: skip
    pods += [("report-1", "jobs", OwnerKind.JOB, "report", "b1", 2.0, 4.0, 1.9, 3.0, [HOURS[2]])]
    workloads = {}
    for name, ns, kind, wl, node, cpu, mem, cpu_use, mem_use, hours in pods:
        if (ns, wl) not in workloads:
            workloads[(ns, wl)] = Workload.objects.create(
                cluster=cluster, namespace=spaces[ns], kind=kind, name=wl
            )
        pod = Pod.objects.create(
            cluster=cluster, namespace=spaces[ns], workload=workloads[(ns, wl)], node=nodes[node], name=name,
            uid=f"lab-{name}", **seen,
        )  # fmt: skip
        PodHour.objects.bulk_create(
            PodHour(cluster=cluster, pod=pod, node=nodes[node], hour=h, samples=60, cpu_request_core_hours=cpu,
                    cpu_usage_core_hours=cpu_use, cpu_billable_core_hours=max(cpu, cpu_use), mem_request_gib_hours=mem,
                    mem_usage_gib_hours=mem_use, mem_billable_gib_hours=max(mem, mem_use))
            for h in hours
        )  # fmt: skip
    return cluster
