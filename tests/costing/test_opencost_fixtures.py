"""OpenCost's own AggregateBy test cases, replayed through the stored path with a fallback sheet of 1.0 / 1.0.

Source: opencost/opencost core/pkg/opencost/allocation_test.go, TestAllocationSet_AggregateBy, on the
fixture of core/pkg/opencost/mock.go (GenerateMockAllocationSet, GenerateMockAllocationSetClusterIdle
and GenerateMockAllocationSetNodeIdle), at commit 5f6533303e3850c8635796a74bb22802d16e9090.

The fixture, one day of two clusters, every cost at a price of 1.0:

    cluster1, node c1nodes                            CPU  RAM  other   total
      namespace1  pod1 (no controller, app1)          1    11   4       16
                  pod-abc, pod-def (deployment1)      1     1   4        6 each
      namespace2  pod-ghi (deployment2, 2 containers) 2     2   8       12
                  pod-jkl (daemonset1)                1     1   4        6
      idle                                            5    15           20
    cluster2
      node1       namespace2 pod-mno (deployment2)    2     2   8       12
      node2       namespace2 pod-pqr (daemonset1)     1     1   4        6
                  namespace3 pod-stu (deployment3)    1     1   4        6
      node3       namespace3 pod-vwx (statefulset1)   2     2   8       12
      idle (5/3 CPU and 5/3 RAM on each node)         5     5           10

How it maps onto this product:
- A policy of cost_share 0.5 with one fallback row of 1.0 per core-hour and 1.0 per GiB-hour, and no
  bill line for any node: every node-hour is estimated from the sheet, so a pod pays 1.0 per billable
  core-hour and GiB-hour, as OpenCost's allocations do. (Before issue 11 the sheet cost was split
  again by the 0.5 cost share: cluster1's node, 35 core-hours and 31 GiB-hours, cost 66 and charged
  33 / 35 per core-hour and 33 / 31 per GiB-hour, and none of these cases held.)
- The fixture's day is one hour here: the model only sees core-hours and GiB-hours. A container's
  CPU and RAM cost become billable core-hours and GiB-hours of its pod.
- "other" is each container's GPU, PV, network and load-balancer cost (1.00 each). This model prices
  CPU and memory only, so those 4.00 ride on the container's CPU, as 4 more core-hours. Every
  container of the fixture has the same CPU (1) and the same other costs (4), so each namespace's
  share of its cluster's CPU cost is what OpenCost's CPUCost gives (3/6 in both clusters), and the
  per-resource idle shares below are OpenCost's to the last digit. Node capacity = what the pods bill
  + the fixture's idle, so idle is OpenCost's idle.
- A department per namespace (namespace1, namespace2, namespace3), so department totals are
  OpenCost's aggregation by namespace; shared namespaces are OpenCost's `Share` filter on a namespace;
  ShareWeighted is the proportional method and ShareEven the even method, both with global scope
  (OpenCost shares across clusters); ShareIdle=ShareWeighted is per-resource idle (idle CPU by CPU
  cost, idle RAM by RAM cost, within the cluster); SharedHourlyCosts of 7/h is overhead: a 84.00 bill
  line on each cluster for the day, divided proportionally with global scope.

OpenCost compares totals to the cent (assertAllocationTotals); each expected figure here is the exact
value of the formula in OpenCost's comment, checked to 1e-6, and OpenCost's own figure to the cent.
Not replayed: the filter cases (5x, 6b-6f, 6h, 6l: a filter only hides lines, and the API's filter is
another part of the issue), 4c (sharing by label: shared costs here are namespaces) and the
proportional asset resource costs (ProportionalAssetResourceCosts, a breakdown this model does not have).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from costing.choices import GIB, ConnectionType, LineKind, OwnerKind
from costing.compute import recompute_day
from costing.models import (
    BillImport,
    Cluster,
    ClusterDay,
    DepartmentCostDay,
    Namespace,
    Node,
    NodeCostDay,
    NodeHour,
    NodePool,
    Pod,
    PodCostDay,
    Workload,
    WorkloadCostDay,
)
from costing.policy import (
    ClusterRules,
    DepartmentSpec,
    FallbackPrice,
    PolicySpec,
    PoolSpec,
    SplitSpec,
    TagRule,
)
from costing.policy.store import save_spec
from tests.costing.scenario import line, pod_hour

pytestmark = pytest.mark.django_db

DAY = date(2025, 3, 10)
HOUR = datetime(2025, 3, 10, tzinfo=UTC)
OTHER = 4.0  # GPU + PV + network + load balancer of one container, carried as core-hours
NAMESPACES = ("namespace1", "namespace2", "namespace3")

# (cluster, node, namespace, pod, controller kind, controller, containers, RAM cost of the pod)
PODS = [
    ("cluster1", "c1nodes", "namespace1", "pod1", OwnerKind.POD, "pod1", 1, 11.0),
    ("cluster1", "c1nodes", "namespace1", "pod-abc", OwnerKind.DEPLOYMENT, "deployment1", 1, 1.0),
    ("cluster1", "c1nodes", "namespace1", "pod-def", OwnerKind.DEPLOYMENT, "deployment1", 1, 1.0),
    ("cluster1", "c1nodes", "namespace2", "pod-ghi", OwnerKind.DEPLOYMENT, "deployment2", 2, 2.0),
    ("cluster1", "c1nodes", "namespace2", "pod-jkl", OwnerKind.DAEMONSET, "daemonset1", 1, 1.0),
    ("cluster2", "node1", "namespace2", "pod-mno", OwnerKind.DEPLOYMENT, "deployment2", 2, 2.0),
    ("cluster2", "node2", "namespace2", "pod-pqr", OwnerKind.DAEMONSET, "daemonset1", 1, 1.0),
    ("cluster2", "node2", "namespace3", "pod-stu", OwnerKind.DEPLOYMENT, "deployment3", 1, 1.0),
    ("cluster2", "node3", "namespace3", "pod-vwx", OwnerKind.STATEFULSET, "statefulset1", 2, 2.0),
]
# Idle CPU and RAM per node (GenerateMockAllocationSetNodeIdle; per cluster they are the ClusterIdle set's).
IDLE = {"c1nodes": (5.0, 15.0), "node1": (5 / 3, 5 / 3), "node2": (5 / 3, 5 / 3), "node3": (5 / 3, 5 / 3)}


def policy(
    *,
    shared: tuple[str, ...] = (),
    shared_method: str = "proportional",
    idle: str = "separate",
    overhead: str = "proportional",
) -> PolicySpec:
    return PolicySpec(
        effective_from=date(2025, 1, 1),
        split=SplitSpec("cost_share", cpu_share=Decimal("0.5")),
        fallback_prices=[FallbackPrice(cpu_core_hour=Decimal("1.0"), mem_gib_hour=Decimal("1.0"))],
        clusters=[ClusterRules(c, [TagRule(f"kubernetes.io/cluster/{c}")]) for c in ("cluster1", "cluster2")],
        shared_namespaces=list(shared),
        departments=[DepartmentSpec(ns, namespaces=[ns]) for ns in NAMESPACES if ns not in shared],
        pools={
            "shared": PoolSpec(shared_method, "global"),
            "idle": PoolSpec(idle, "cluster"),
            "overhead": PoolSpec(overhead, "global"),
        },
    )


def build(spec: PolicySpec, *, overhead_per_cluster: str | None = None) -> None:
    """The fixture of the module docstring as stored inputs, then the day computed."""
    save_spec(spec)
    seen = {"first_seen": HOUR, "last_seen": HOUR + timedelta(hours=1)}
    clusters, nodes, namespaces, workloads = {}, {}, {}, {}
    billed = {}
    for cluster_name, node_name, ns_name, pod_name, kind, controller, containers, ram in PODS:
        if cluster_name not in clusters:
            cluster = Cluster.objects.create(name=cluster_name, connection_type=ConnectionType.SIMULATOR)
            clusters[cluster_name] = (cluster, NodePool.objects.create(cluster=cluster, name="pool"))
        cluster, pool = clusters[cluster_name]
        if node_name not in nodes:
            nodes[node_name] = Node.objects.create(
                cluster=cluster, name=node_name, node_pool=pool, instance_id=node_name, **seen
            )
        key = (cluster_name, ns_name)
        if key not in namespaces:
            namespaces[key] = Namespace.objects.create(cluster=cluster, name=ns_name, **seen)
        wl_key = (cluster_name, ns_name, kind, controller)
        if wl_key not in workloads:
            workloads[wl_key] = Workload.objects.create(
                cluster=cluster, namespace=namespaces[key], kind=kind, name=controller
            )
        pod = Pod.objects.create(
            cluster=cluster,
            namespace=namespaces[key],
            workload=workloads[wl_key],
            node=nodes[node_name],
            name=pod_name,
            uid=f"{cluster_name}-{pod_name}",
            **seen,
        )
        cpu = containers * (1.0 + OTHER)
        pod_hour(pod, HOUR, cpu, cpu, ram, ram).save()
        cpu_sum, ram_sum = billed.get(node_name, (0.0, 0.0))
        billed[node_name] = (cpu_sum + cpu, ram_sum + ram)
    for node_name, (cpu, ram) in billed.items():
        node = nodes[node_name]
        idle_cpu, idle_ram = IDLE[node_name]
        node.cpu_capacity_cores, node.memory_capacity_bytes = cpu + idle_cpu, round((ram + idle_ram) * GIB)
        node.save(update_fields=["cpu_capacity_cores", "memory_capacity_bytes"])
        NodeHour.objects.create(
            cluster=node.cluster,
            node=node,
            hour=HOUR,
            samples=60,
            cpu_capacity_core_hours=cpu + idle_cpu,
            mem_capacity_gib_hours=ram + idle_ram,
        )
    if overhead_per_cluster is not None:
        bill = BillImport.objects.create(file_name="overhead.csv", format="focus")
        for cluster, _pool in clusters.values():
            line(
                bill,
                cluster,
                LineKind.OVERHEAD,
                overhead_per_cluster,
                HOUR,
                24,
                None,
                f"shared-{cluster.name}",
            )
    recompute_day(DAY)


def departments() -> dict[str, float]:
    """Department and line totals over both clusters (OpenCost's aggregation by namespace, idle merged)."""
    out: dict[str, float] = {}
    for name, total in DepartmentCostDay.objects.filter(day=DAY).values_list("name", "total"):
        out[name] = out.get(name, 0.0) + float(total)
    return out


def cents(value: float) -> int:
    """Go's math.Round(value * 100), as OpenCost's assertAllocationTotals compares: half away from zero."""
    return int(math.copysign(math.floor(abs(value) * 100 + 0.5), value))


def assert_totals(got: dict[str, float], exact: dict[str, float], opencost: dict[str, float]) -> None:
    assert set(got) == set(exact) == set(opencost)
    for name, value in exact.items():
        assert got[name] == pytest.approx(value, abs=1e-6), name
        assert cents(got[name]) == cents(opencost[name]), name


def test_every_node_hour_is_priced_from_the_sheet_as_written():
    build(policy())
    pods = {p.pod.name: p for p in PodCostDay.objects.filter(day=DAY).select_related("pod")}
    # pod1: 5 core-hours (1 CPU + 4 other) and 11 GiB-hours at 1.0 each, not a split of its node's 66.
    assert (pods["pod1"].cpu_cost, pods["pod1"].mem_cost) == (Decimal(5), Decimal(11))
    assert all(p.estimated_cost == p.cost for p in pods.values())
    node = NodeCostDay.objects.get(node__name="c1nodes")
    assert (node.cost, node.cpu_idle, node.mem_idle) == (Decimal(66), Decimal(5), Decimal(15))


def test_1a_aggregate_by_cluster_idle_separate():
    """1a: cluster1 46.00, cluster2 36.00, __idle__ 30.00."""
    build(policy())
    days = {d.cluster.name: d for d in ClusterDay.objects.filter(day=DAY).select_related("cluster")}
    got = {name: float(d.workload_cost) for name, d in days.items()}
    got["__idle__"] = sum(float(d.idle_cost) for d in days.values())
    expected = {"cluster1": 46.0, "cluster2": 36.0, "__idle__": 30.0}
    assert_totals(got, expected, expected)


def test_1b_and_6a_aggregate_by_namespace_idle_separate_and_split_per_cluster():
    """1b: namespace1 28, namespace2 36, namespace3 18, __idle__ 30; 6a (SplitIdle): cluster1/__idle__ 20,
    cluster2/__idle__ 10 - the Idle line of each cluster."""
    build(policy())
    expected = {"namespace1": 28.0, "namespace2": 36.0, "namespace3": 18.0, "Idle": 30.0}
    assert_totals(departments(), expected, expected)
    lines = DepartmentCostDay.objects.filter(day=DAY, name="Idle", is_line=True)
    idle = {cluster: float(total) for cluster, total in lines.values_list("cluster__name", "total")}
    # cluster2's 10 is three nodes' 10/3, each stored to 1e-8.
    expected = {"cluster1": 20.0, "cluster2": 10.0}
    assert_totals(idle, expected, expected)


def test_1c_1f_aggregate_by_pod_and_by_controller():
    """1c: pod-vwx 12, pod1 16, pod-mno 12, pod-ghi 12, the others 6; 1f: deployment:deployment2 24,
    daemonset:daemonset1 12, deployment:deployment3 6, statefulset:statefulset1 12, deployment:deployment1 12,
    __unallocated__ 16 (pod1 has no controller: here a bare-pod workload)."""
    build(policy())
    pods = {p.pod.name: float(p.cost) for p in PodCostDay.objects.filter(day=DAY).select_related("pod")}
    expected = {"pod-vwx": 12.0, "pod1": 16.0, "pod-mno": 12.0, "pod-ghi": 12.0}
    expected |= dict.fromkeys(("pod-jkl", "pod-stu", "pod-abc", "pod-pqr", "pod-def"), 6.0)
    assert_totals(pods, expected, expected)
    controllers: dict[str, float] = {}
    for kind, name, cost in WorkloadCostDay.objects.filter(day=DAY).values_list(
        "workload__kind", "workload__name", "cost"
    ):
        key = "__unallocated__" if kind == OwnerKind.POD else f"{kind.lower()}:{name}"
        controllers[key] = controllers.get(key, 0.0) + float(cost)
    expected = {
        "deployment:deployment2": 24.0,
        "daemonset:daemonset1": 12.0,
        "deployment:deployment3": 6.0,
        "statefulset:statefulset1": 12.0,
        "deployment:deployment1": 12.0,
        "__unallocated__": 16.0,
    }
    assert_totals(controllers, expected, expected)


def test_6k_idle_by_node_split():
    """6k (SplitIdle, IdleByNode): c1nodes/__idle__ 20.00, node1, node2 and node3 /__idle__ 3.333333 each."""
    build(policy())
    got = {
        name: float(cpu + mem)
        for name, cpu, mem in NodeCostDay.objects.filter(day=DAY).values_list(
            "node__name", "cpu_idle", "mem_idle"
        )
    }
    exact = {"c1nodes": 20.0, "node1": 10 / 3, "node2": 10 / 3, "node3": 10 / 3}
    assert_totals(got, exact, {"c1nodes": 20.0, "node1": 3.333333, "node2": 3.333333, "node3": 3.333333})


def test_3a_share_idle_weighted():
    """3a (ShareIdle=ShareWeighted), from OpenCost's comment:
    namespace1: 42.6875 = 28.00 + 5.00*(3.00/6.00) + 15.0*(13.0/16.0)
    namespace2: 46.3125 = 36.00 + 5.0*(3.0/6.0) + 15.0*(3.0/16.0) + 5.0*(3.0/6.0) + 5.0*(3.0/6.0)
    namespace3: 23.0000 = 18.00 + 5.0*(3.0/6.0) + 5.0*(3.0/6.0)
    OpenCost asserts 42.69, 46.31, 23.00."""
    build(policy(idle="per_resource"))
    exact = {
        "namespace1": 28 + 5 * 3 / 6 + 15 * 13 / 16,
        "namespace2": 36 + 5 * 3 / 6 + 15 * 3 / 16 + 5 * 3 / 6 + 5 * 3 / 6,
        "namespace3": 18 + 5 * 3 / 6 + 5 * 3 / 6,
    }
    assert_totals(departments(), exact, {"namespace1": 42.69, "namespace2": 46.31, "namespace3": 23.00})


def test_4a_share_namespace_even():
    """4a (Share namespace3, ShareEven): namespace1 37.00 = 28 + 18/2, namespace2 45.00 = 36 + 18/2,
    __idle__ 30.00."""
    build(policy(shared=("namespace3",), shared_method="even"))
    exact = {"namespace1": 28 + 18 / 2, "namespace2": 36 + 18 / 2, "Idle": 30.0}
    assert_totals(departments(), exact, {"namespace1": 37.00, "namespace2": 45.00, "Idle": 30.00})


def test_4b_share_namespace_weighted():
    """4b (Share namespace3, ShareWeighted): namespace1 35.88 = 28 + 18*(28/64), namespace2 46.125 =
    36 + 18*(36/64), __idle__ 30.00."""
    build(policy(shared=("namespace3",), shared_method="proportional"))
    exact = {"namespace1": 28 + 18 * 28 / 64, "namespace2": 36 + 18 * 36 / 64, "Idle": 30.0}
    assert_totals(departments(), exact, {"namespace1": 35.88, "namespace2": 46.125, "Idle": 30.00})


def test_4d_share_overhead_weighted():
    """4d (SharedHourlyCosts total 7.0/h, ShareWeighted), from OpenCost's comment:
    namespace1: 85.366 = 28.00 + (7.0*24.0)*(28.00/82.00)
    namespace2: 109.756 = 36.00 + (7.0*24.0)*(36.00/82.00)
    namespace3: 54.878 = 18.00 + (7.0*24.0)*(18.00/82.00)
    idle: 30.0000"""
    build(policy(), overhead_per_cluster="84.00")
    exact = {
        "namespace1": 28 + 168 * 28 / 82,
        "namespace2": 36 + 168 * 36 / 82,
        "namespace3": 18 + 168 * 18 / 82,
        "Idle": 30.0,
    }
    opencost = {"namespace1": 85.366, "namespace2": 109.756, "namespace3": 54.878, "Idle": 30.00}
    assert_totals(departments(), exact, opencost)


def test_6g_share_idle_weighted_and_share_namespace_weighted():
    """6g (Share namespace1, ShareWeighted, ShareIdle weighted), from OpenCost's comment: namespace1's
    42.6875 (its 28 and its idle, 3a) is shared by the coefficients before idle, 36/54 and 18/54:
    namespace2: 74.7708 = 46.3125 + 42.6875*(36.0/54.0); namespace3: 37.2292 = 23.0 + 42.6875*(18.0/54.0).
    OpenCost asserts 74.77 and 37.23."""
    build(policy(shared=("namespace1",), idle="per_resource"))
    ns1 = 28 + 5 * 3 / 6 + 15 * 13 / 16
    exact = {"namespace2": 46.3125 + ns1 * 36 / 54, "namespace3": 23.0 + ns1 * 18 / 54}
    assert_totals(departments(), exact, {"namespace2": 74.77, "namespace3": 37.23})


def test_6i_share_idle_weighted_and_overhead_weighted():
    """6i (ShareIdle weighted, SharedHourlyCosts 7.0/h weighted), from OpenCost's comment:
    namespace1: 100.0533 = 42.6875 + (7.0*24.0)*(28.00/82.00)
    namespace2: 120.0686 = 46.3125 + (7.0*24.0)*(36.00/82.00)
    namespace3:  59.8780 = 23.0000 + (7.0*24.0)*(18.00/82.00)
    OpenCost filters namespace2 and asserts 120.07; the other two are its comment's figures."""
    build(policy(idle="per_resource"), overhead_per_cluster="84.00")
    exact = {
        "namespace1": 42.6875 + 168 * 28 / 82,
        "namespace2": 46.3125 + 168 * 36 / 82,
        "namespace3": 23.0 + 168 * 18 / 82,
    }
    assert_totals(departments(), exact, {"namespace1": 100.0533, "namespace2": 120.07, "namespace3": 59.8780})
