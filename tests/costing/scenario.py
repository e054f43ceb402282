"""A small cluster-day built row by row through the ORM, with every figure worked out by hand below.

Cluster "prod", day 2025-03-10, policy cost_share 0.5:
  n1  m5.xlarge 4 cores 16 GiB, sampled 24 h, billed 24.00 for the day (1.00/h):
      cpu pool 0.50/h -> 0.125 per core-hour; mem pool 0.50/h -> 0.03125 per GiB-hour
  n2  m5.large 2 cores 8 GiB, sampled 24 h, no bill line: fallback m5.large 0.045/core-h, 0.01125/GiB-h,
      which its pods pay as written (no split): N = 2 * 0.045 + 8 * 0.01125 = 0.09 + 0.09 = 0.18/h
      (estimated). The row is chosen so that a split of N would give the same prices, which keeps this
      day's figures those of every page and API test; test_compute prices a sheet that a split would
      not reproduce.
  n3  billed 1.00 for 00:00-02:00, never sampled: all idle (0.50 cpu, 0.50 memory under cost share)
  overhead: control plane 4.80 over 48 h from the day's start (2.40 today) + load balancer 1.20 today

Pods, the same every hour (billable = max(usage, request)):
  pay-1 payments    on n1: 1 core, 4 GiB            -> 0.125 + 0.125 = 0.25/h        -> 6.00
  co-1  checkout    on n1: req 0.5 use 1 core, req 2 use 1 GiB -> billable 1, 2
                                                       -> 0.125 + 0.0625 = 0.1875/h   -> 4.50
  ks-1  kube-system on n1: 0.5 core, 1 GiB          -> 0.0625 + 0.03125 = 0.09375/h -> 2.25
  se-1  search      on n2: 1 core, 2 GiB            -> 0.045 + 0.0225 = 0.0675/h     -> 1.62
  ks-2  kube-system on n2: 0.5 core, 1 GiB          -> 0.0225 + 0.01125 = 0.03375/h  -> 0.81

n1: cost 24.00, pods 6.00 + 4.50 + 2.25 = 12.75, idle 11.25 (cpu 12 - 2.5*0.125*24 = 4.50,
    mem 12 - 7*0.03125*24 = 6.75)
n2: cost 4.32 (estimated), pods 1.62 + 0.81 = 2.43, idle 1.89 (cpu 2.16 - 1.5*0.045*24 = 0.54,
    mem 2.16 - 3*0.01125*24 = 1.35)
n3: cost 1.00, idle 1.00
physical = 24 + 4.32 + 1 + 3.60 = 32.92 = workload 15.18 + idle 14.14 + overhead 3.60
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from costing.choices import GIB, ConnectionType, LineKind, OwnerKind
from costing.models import (
    BillImport,
    BillLine,
    Cluster,
    CoverageHour,
    Namespace,
    Node,
    NodeHour,
    NodePool,
    Pod,
    PodHour,
    Workload,
)
from costing.policy import ClusterRules, DepartmentSpec, FallbackPrice, PolicySpec, PoolSpec, TagRule
from costing.policy.store import save_spec

DAY = date(2025, 3, 10)
START = datetime(2025, 3, 10, tzinfo=UTC)
HOURS = [START + timedelta(hours=h) for h in range(24)]

POLICY = PolicySpec(
    effective_from=date(2025, 1, 1),
    fallback_prices=[
        FallbackPrice(cpu_core_hour=Decimal("0.04"), mem_gib_hour=Decimal("0.005")),
        FallbackPrice(
            instance_type="m5.large", cpu_core_hour=Decimal("0.045"), mem_gib_hour=Decimal("0.01125")
        ),
    ],
    clusters=[ClusterRules("prod", [TagRule("kubernetes.io/cluster/prod")])],
    shared_namespaces=["kube-system"],
    departments=[
        DepartmentSpec("Payments", namespaces=["payments", "checkout"], weight=Decimal(75)),
        DepartmentSpec("Search", namespaces=["search"], weight=Decimal(25)),
    ],
    pools={
        "shared": PoolSpec("proportional", "cluster"),
        "idle": PoolSpec("proportional", "cluster"),
        "overhead": PoolSpec("even", "cluster"),
    },
)

# (pod, namespace, workload kind, workload, node, cpu request, cpu usage, mem request GiB, mem usage GiB)
PODS = [
    ("pay-1", "payments", OwnerKind.DEPLOYMENT, "pay-api", "n1", 1.0, 1.0, 4.0, 4.0),
    ("co-1", "checkout", OwnerKind.DEPLOYMENT, "checkout", "n1", 0.5, 1.0, 2.0, 1.0),
    ("ks-1", "kube-system", OwnerKind.DAEMONSET, "kube-proxy", "n1", 0.5, 0.5, 1.0, 1.0),
    ("se-1", "search", OwnerKind.DEPLOYMENT, "search-api", "n2", 1.0, 1.0, 2.0, 2.0),
    ("ks-2", "kube-system", OwnerKind.DAEMONSET, "kube-proxy", "n2", 0.5, 0.5, 1.0, 1.0),
]


def line(bill, cluster, kind, cost, start, hours, node=None, resource="", row=[0]):  # noqa: B006
    row[0] += 1
    return BillLine.objects.create(
        bill_import=bill,
        source_row=row[0],
        billing_account_id="acct",
        billing_period_start=datetime(2025, 3, 1, tzinfo=UTC),
        billing_period_end=datetime(2025, 4, 1, tzinfo=UTC),
        charge_period_start=start,
        charge_period_end=start + timedelta(hours=hours),
        charge_category="Usage",
        resource_id=resource,
        # As a real export tags them: the policy's tag rule is what makes them the cluster's.
        tags={f"kubernetes.io/cluster/{cluster.name}": "owned"} if cluster is not None else {},
        currency="EUR",
        effective_cost=Decimal(cost),
        billed_cost=Decimal(cost),
        kind=kind,
        cluster=cluster,
        node=node,
    )


def pod_hour(
    pod: Pod, hour: datetime, cpu_request, cpu_usage, mem_request, mem_usage, *, samples: int = 60
) -> PodHour:
    """An unsaved hour of a pod on its node; billable = max(usage, request)."""
    return PodHour(
        cluster=pod.cluster,
        pod=pod,
        node=pod.node,
        hour=hour,
        samples=samples,
        cpu_request_core_hours=cpu_request,
        cpu_usage_core_hours=cpu_usage,
        cpu_billable_core_hours=max(cpu_request, cpu_usage),
        mem_request_gib_hours=mem_request,
        mem_usage_gib_hours=mem_usage,
        mem_billable_gib_hours=max(mem_request, mem_usage),
    )


def build(day_start: datetime = START, *, name: str = "prod", policy: PolicySpec | None = POLICY) -> dict:
    """The cluster-day of the module docstring; returns the objects by name."""
    if policy is not None:
        save_spec(policy)
    cluster = Cluster.objects.create(name=name, connection_type=ConnectionType.SIMULATOR)
    pool = NodePool.objects.create(cluster=cluster, name="general")
    seen = {"first_seen": day_start, "last_seen": day_start + timedelta(days=1)}
    nodes = {
        "n1": Node.objects.create(
            cluster=cluster,
            name="n1",
            node_pool=pool,
            instance_id="i-1",
            instance_type="m5.xlarge",
            cpu_capacity_cores=4,
            memory_capacity_bytes=16 * GIB,
            **seen,
        ),
        "n2": Node.objects.create(
            cluster=cluster,
            name="n2",
            node_pool=pool,
            instance_id="i-2",
            instance_type="m5.large",
            cpu_capacity_cores=2,
            memory_capacity_bytes=8 * GIB,
            **seen,
        ),
        "n3": Node.objects.create(
            cluster=cluster,
            name="n3",
            node_pool=pool,
            instance_id="i-3",
            instance_type="m5.xlarge",
            cpu_capacity_cores=4,
            memory_capacity_bytes=16 * GIB,
            **seen,
        ),
    }
    hours = [day_start + timedelta(hours=h) for h in range(24)]
    namespaces, workloads, pods = {}, {}, {}
    for pod_name, ns_name, kind, wl_name, node_name, cpu_req, cpu_use, mem_req, mem_use in PODS:
        ns = namespaces.get(ns_name) or Namespace.objects.create(cluster=cluster, name=ns_name, **seen)
        namespaces[ns_name] = ns
        wl = workloads.get((ns_name, wl_name)) or Workload.objects.create(
            cluster=cluster, namespace=ns, kind=kind, name=wl_name
        )
        workloads[(ns_name, wl_name)] = wl
        pod = Pod.objects.create(
            cluster=cluster,
            namespace=ns,
            workload=wl,
            node=nodes[node_name],
            name=pod_name,
            uid=f"{name}-{pod_name}",
            labels={"team": "core"}
            if ns_name == "kube-system"
            else ({"team": "pay"} if ns_name == "payments" else {}),
            **seen,
        )
        pods[pod_name] = pod
        PodHour.objects.bulk_create(pod_hour(pod, h, cpu_req, cpu_use, mem_req, mem_use) for h in hours)
    for node_name, cores, gib in (("n1", 4, 16), ("n2", 2, 8)):
        NodeHour.objects.bulk_create(
            NodeHour(
                cluster=cluster,
                node=nodes[node_name],
                hour=h,
                samples=60,
                cpu_capacity_core_hours=cores,
                mem_capacity_gib_hours=gib,
            )
            for h in hours
        )
    CoverageHour.objects.bulk_create(
        CoverageHour(cluster=cluster, hour=h, sampled_seconds=1800 if i == 5 else 3600, gap_seconds=0)
        for i, h in enumerate(hours)
    )
    bill = BillImport.objects.create(file_name="bill.csv", format="focus")
    lines = {
        "n1": line(bill, cluster, LineKind.NODE, "24.00", day_start, 24, nodes["n1"], "i-1"),
        "n3": line(bill, cluster, LineKind.NODE, "1.00", day_start, 2, nodes["n3"], "i-3"),
        "control": line(bill, cluster, LineKind.OVERHEAD, "4.80", day_start, 48, None, "cce-master"),
        "lb": line(bill, cluster, LineKind.OVERHEAD, "1.20", day_start, 24, None, "elb-1"),
        # Not the cluster's: must not count.
        "other": line(bill, None, LineKind.OUTSIDE, "99.00", day_start, 24, None, "rds-1"),
    }
    return {
        "cluster": cluster,
        "nodes": nodes,
        "namespaces": namespaces,
        "workloads": workloads,
        "pods": pods,
        "lines": lines,
    }
