"""Random small clusters and policies: every cluster-day's departments and lines add up to its physical cost.

Nodes may have GPUs and pods GPU requests and usage (docs/cost-model.md, GPUs): the sum holds with them.
Clusters may have billed persistent volumes, seen unbound, bound and unmounted, or mounted by pods, in some
hours (docs/cost-model.md, persistent volumes), and a disk line that matches no volume; and load balancers
matched to a Service (in a namespace with or without pods) or to none (docs/cost-model.md, Load
balancers): the sum holds too.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costing.choices import ConnectionType, LineKind, OwnerKind
from costing.compute import recompute_day
from costing.models import (
    BillImport,
    BillLine,
    Cluster,
    ClusterDay,
    DepartmentCostDay,
    LoadBalancer,
    Namespace,
    NamespaceCostDay,
    Node,
    NodeCostDay,
    NodeHour,
    NodePool,
    Pod,
    PodCostDay,
    PodHour,
    Volume,
    VolumeCostDay,
    VolumeHour,
    VolumeMountHour,
    Workload,
)
from costing.policy import (
    ClusterRules,
    DepartmentSpec,
    FallbackPrice,
    GpuRule,
    GpuSpec,
    PolicySpec,
    PoolSpec,
    TagRule,
)
from costing.policy.store import save_spec
from tests.costing.scenario import pod_hour

DAY = date(2025, 5, 5)
START = datetime(2025, 5, 5, tzinfo=UTC)
NAMESPACES = ["a", "b", "c", "kube-system"]

money = st.decimals(min_value=Decimal("0"), max_value=Decimal("50"), places=4)


def quantity(most: float):
    """A resource-hour quantity as samples can give it: 0, or at least one byte for one second (about
    2.6e-13 GiB-hours). Subnormal floats such as 5e-324 are not quantities: a node cost divided by one
    overflows the float price, which no sample can cause."""
    return st.one_of(st.just(0.0), st.floats(1e-13, most))


node = st.fixed_dictionaries(
    {
        "cores": st.integers(1, 8),
        "gib": st.integers(1, 32),
        "bill": st.one_of(st.none(), money),
        "hours": st.lists(st.integers(0, 3), max_size=4, unique=True),
        "gpus": st.sampled_from([0, 0, 1, 2]),
    }
)
pod = st.fixed_dictionaries(
    {
        "namespace": st.sampled_from(NAMESPACES),
        "node": st.integers(0, 2),
        "cpu": st.tuples(quantity(4), quantity(4)),
        "mem": st.tuples(quantity(16), quantity(16)),
        "gpu": st.tuples(st.sampled_from([0.0, 1 / 7, 1.0, 2.0]), quantity(2)),
        "hours": st.lists(st.integers(0, 3), min_size=1, max_size=4, unique=True),
    }
)
volume = st.fixed_dictionaries(
    {
        "bill": money,
        # "d": a namespace where no pod runs, claimed by no department
        "namespace": st.sampled_from([*NAMESPACES, "d"]),
        "hours": st.lists(
            st.tuples(
                st.integers(0, 3), st.sampled_from(["unbound", "unmounted", "mounted"]), st.integers(1, 3)
            ),
            max_size=4,
            unique_by=lambda h: h[0],
        ),
    }
)
cluster = st.fixed_dictionaries(
    {
        "nodes": st.lists(node, min_size=1, max_size=3),
        "pods": st.lists(pod, max_size=6),
        "overhead": st.one_of(st.none(), money),
        "volumes": st.lists(volume, max_size=3),
        "stray_disk": st.one_of(st.none(), money),
        # (namespace of its Service, or None: no Service has its id; its bill)
        "load_balancers": st.lists(
            st.tuples(st.sampled_from([None, *NAMESPACES, "edge"]), money), max_size=2
        ),
    }
)
pools = st.fixed_dictionaries(
    {
        "shared": st.builds(
            PoolSpec,
            st.sampled_from(["proportional", "even", "weights", "separate"]),
            st.sampled_from(["cluster", "global"]),
        ),
        "idle": st.builds(
            PoolSpec,
            st.sampled_from(["proportional", "even", "weights", "separate", "per_resource"]),
            st.just("cluster"),
        ),
        # Absent (divided like idle, as in a policy from before) or a rule of its own.
        "gpu_idle": st.one_of(
            st.none(),
            st.builds(
                PoolSpec,
                st.sampled_from(["proportional", "even", "weights", "separate", "per_resource"]),
                st.just("cluster"),
            ),
        ),
        "overhead": st.builds(
            PoolSpec,
            st.sampled_from(["proportional", "even", "weights", "separate"]),
            st.sampled_from(["cluster", "global"]),
        ),
    }
)
policy = st.builds(
    lambda split, pools, weight_a, weight_b, gpu, gpu_hour: PolicySpec(
        effective_from=date(2025, 1, 1),
        split=split,
        gpu=gpu,
        fallback_prices=[
            FallbackPrice(cpu_core_hour=Decimal("0.03"), mem_gib_hour=Decimal("0.004"), gpu_hour=gpu_hour)
        ],
        shared_namespaces=["kube-system"],
        departments=[
            DepartmentSpec("A", namespaces=["a"], weight=weight_a),
            DepartmentSpec("B", namespaces=["b"], weight=weight_b),
        ],
        pools={name: rule for name, rule in pools.items() if rule is not None},
        clusters=[ClusterRules(f"c{i}", [TagRule(f"kubernetes.io/cluster/c{i}")]) for i in range(2)],
    ),
    st.sampled_from(
        [
            PolicySpec(effective_from=DAY).split,
            type(PolicySpec(effective_from=DAY).split)("price_ratio", Decimal("0.5"), Decimal("7.46")),
            type(PolicySpec(effective_from=DAY).split)("cost_share", Decimal("0.3"), Decimal("7.46")),
        ]
    ),
    pools,
    st.sampled_from([Decimal(60), Decimal(0)]),
    st.sampled_from([Decimal(40), Decimal(5)]),
    st.sampled_from(
        [
            GpuSpec(),
            GpuSpec(price_ratio=Decimal(5)),
            GpuSpec(instance_types=[GpuRule(instance_type="gpu.large", share=Decimal("0.7"))]),
        ]
    ),
    st.sampled_from([None, Decimal("1.5")]),
)


def build(index: int, spec: dict, bill: BillImport) -> None:
    c = Cluster.objects.create(name=f"c{index}", connection_type=ConnectionType.SIMULATOR)
    pool = NodePool.objects.create(cluster=c, name="p")
    seen = {"first_seen": START, "last_seen": START}
    nodes = []
    for i, n in enumerate(spec["nodes"]):
        node = Node.objects.create(
            cluster=c,
            name=f"n{i}",
            node_pool=pool,
            instance_id=f"i-{index}-{i}",
            cpu_capacity_cores=n["cores"],
            memory_capacity_bytes=n["gib"] * 2**30,
            instance_type="gpu.large" if n["gpus"] else "",
            gpu_capacity_devices=n["gpus"],
            **seen,
        )
        nodes.append(node)
        NodeHour.objects.bulk_create(
            NodeHour(
                cluster=c,
                node=node,
                hour=START + timedelta(hours=h),
                samples=1,
                cpu_capacity_core_hours=n["cores"],
                mem_capacity_gib_hours=n["gib"],
                gpu_capacity_hours=n["gpus"],
            )
            for h in n["hours"]
        )
        if n["bill"] is not None:
            BillLine.objects.create(
                bill_import=bill,
                source_row=i,
                billing_account_id="a",
                billing_period_start=START,
                billing_period_end=START,
                charge_period_start=START,
                charge_period_end=START + timedelta(hours=24),
                charge_category="Usage",
                resource_id=node.instance_id,
                tags={f"kubernetes.io/cluster/{c.name}": "owned"},
                currency="EUR",
                effective_cost=n["bill"],
                billed_cost=n["bill"],
                kind=LineKind.NODE,
                cluster=c,
                node=node,
            )
    if spec["overhead"] is not None:
        BillLine.objects.create(
            bill_import=bill,
            source_row=99,
            billing_account_id="a",
            billing_period_start=START,
            billing_period_end=START,
            charge_period_start=START - timedelta(hours=5),
            charge_period_end=START + timedelta(hours=7),
            charge_category="Usage",
            tags={f"kubernetes.io/cluster/{c.name}": "owned"},
            currency="EUR",
            effective_cost=spec["overhead"],
            billed_cost=spec["overhead"],
            kind=LineKind.OVERHEAD,
            cluster=c,
        )
    for j, (namespace, cost) in enumerate(spec["load_balancers"]):
        resource = f"elb-{index}-{j}"
        if namespace is not None:
            ns, _ = Namespace.objects.get_or_create(cluster=c, name=namespace, defaults=seen)
            LoadBalancer.objects.create(cluster=c, namespace=ns, name=f"lb{j}", ids=[resource], **seen)
        BillLine.objects.create(
            bill_import=bill,
            source_row=200 + j,
            billing_account_id="a",
            billing_period_start=START,
            billing_period_end=START,
            charge_period_start=START - timedelta(hours=3),
            charge_period_end=START + timedelta(hours=21),
            charge_category="Usage",
            resource_id=resource,
            tags={f"kubernetes.io/cluster/{c.name}": "owned"},
            currency="EUR",
            effective_cost=cost,
            billed_cost=cost,
            kind=LineKind.OVERHEAD,  # as imported before the Service was seen: recompute re-attributes
            cluster=c,
        )
    for i, p in enumerate(spec["pods"]):
        ns, _ = Namespace.objects.get_or_create(cluster=c, name=p["namespace"], defaults=seen)
        wl, _ = Workload.objects.get_or_create(
            cluster=c, namespace=ns, kind=OwnerKind.DEPLOYMENT, name=p["namespace"]
        )
        pod = Pod.objects.create(
            cluster=c,
            namespace=ns,
            workload=wl,
            node=nodes[p["node"] % len(nodes)],
            name=f"p{i}",
            uid=f"{index}-{i}",
            **seen,
        )
        (cpu_req, cpu_use), (mem_req, mem_use), (gpu_req, gpu_use) = p["cpu"], p["mem"], p["gpu"]
        hours = [
            pod_hour(pod, START + timedelta(hours=h), cpu_req, cpu_use, mem_req, mem_use, samples=1)
            for h in p["hours"]
        ]
        for hour in hours:
            hour.gpu_request_hours, hour.gpu_usage_hours = gpu_req, gpu_use
            hour.gpu_billable_hours = max(gpu_req, gpu_use)
        PodHour.objects.bulk_create(hours)
    build_volumes(index, c, spec, bill, seen)


def build_volumes(index: int, c: Cluster, spec: dict, bill: BillImport, seen: dict) -> None:
    """Volumes as the recorder stores them, their disks' lines (imported as overhead: recompute attributes
    them again), and a stray disk line."""
    pods = list(Pod.objects.filter(cluster=c).select_related("namespace"))
    lines = [(f"disk-{index}-{i}", v["bill"]) for i, v in enumerate(spec["volumes"])]
    if spec["stray_disk"] is not None:
        lines.append((f"disk-{index}-stray", spec["stray_disk"]))
    for i, v in enumerate(spec["volumes"]):
        ns, _ = Namespace.objects.get_or_create(cluster=c, name=v["namespace"], defaults=seen)
        volume = Volume.objects.create(cluster=c, name=f"pv{i}", disk_id=f"disk-{index}-{i}", **seen)
        for hour, state, most in v["hours"]:
            at = START + timedelta(hours=hour)
            running = [
                p for p in pods if p.namespace_id == ns.pk and PodHour.objects.filter(pod=p, hour=at).exists()
            ][:most]
            mounted = running if state == "mounted" else []
            VolumeHour.objects.create(
                cluster=c,
                volume=volume,
                hour=at,
                namespace=None if state == "unbound" else ns,
                samples=1,
                seconds=3600,
                bound_seconds=0 if state == "unbound" else 3600,
                unmounted_seconds=3600 if state != "unbound" and not mounted else 0,
            )
            for p in mounted:
                VolumeMountHour.objects.create(
                    cluster=c, volume=volume, pod=p, hour=at, seconds=3600, share_seconds=3600 / len(mounted)
                )
    for j, (disk, cost) in enumerate(lines):
        BillLine.objects.create(
            bill_import=bill,
            source_row=200 + j,
            billing_account_id="a",
            billing_period_start=START,
            billing_period_end=START,
            charge_period_start=START,
            charge_period_end=START + timedelta(hours=24),
            charge_category="Usage",
            resource_id=disk,
            tags={f"kubernetes.io/cluster/{c.name}": "owned"},
            currency="EUR",
            effective_cost=cost,
            billed_cost=cost,
            kind=LineKind.OVERHEAD,
            cluster=c,
        )


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters=st.lists(cluster, min_size=1, max_size=2), spec=policy)
def test_departments_and_lines_add_up_to_the_physical_cost(clusters, spec):
    with transaction.atomic():
        save_spec(spec)
        bill = BillImport.objects.create(file_name="b", format="focus")
        for index, c in enumerate(clusters):
            build(index, c, bill)
        recompute_day(DAY)
        for day in ClusterDay.objects.filter(day=DAY):
            lines = DepartmentCostDay.objects.filter(cluster_id=day.cluster_id, day=DAY)
            assert sum((r.total for r in lines), Decimal(0)) == day.physical_cost
            for r in lines:
                assert r.direct + r.shared + r.idle + r.gpu_idle + r.overhead == r.total
            assert day.workload_cost + day.idle_cost + day.overhead_cost == day.physical_cost
            pods = sum((p.cost for p in PodCostDay.objects.filter(cluster_id=day.cluster_id)), Decimal(0))
            namespaces = NamespaceCostDay.objects.filter(cluster_id=day.cluster_id)
            unmounted = sum((n.unmounted_storage_cost for n in namespaces), Decimal(0))
            nodes = NodeCostDay.objects.filter(cluster_id=day.cluster_id)
            spec_of = clusters[int(day.cluster.name[1:])]
            spec_lbs = spec_of["load_balancers"]
            # Charged = pods + unmounted claims + load balancers (network_cost), all in the namespaces.
            assert pods + unmounted + day.network_cost == day.workload_cost
            assert sum((n.cost for n in namespaces), Decimal(0)) == day.workload_cost
            assert sum((n.network_cost for n in namespaces), Decimal(0)) == day.network_cost
            matched = sum((cost for ns, cost in spec_lbs if ns is not None), Decimal(0))
            assert abs(day.network_cost - matched * 21 / 24) <= Decimal("0.00000001")
            node_idle = sum((n.cpu_idle + n.mem_idle + n.gpu_idle for n in nodes), Decimal(0))
            assert node_idle + day.storage_idle_cost == day.idle_cost
            volume_days = VolumeCostDay.objects.filter(cluster_id=day.cluster_id)
            for v in volume_days:
                assert v.pods_cost + v.unmounted_cost + v.idle_cost == v.cost
            assert sum((v.cost for v in volume_days), Decimal(0)) == sum(
                (v["bill"] for v in spec_of["volumes"]), Decimal(0)
            )
            assert sum((v.idle_cost for v in volume_days), Decimal(0)) == day.storage_idle_cost
            # Idle GPU is its own column: the departments' and lines' gpu_idle add up to the nodes' idle GPU.
            assert sum((r.gpu_idle for r in lines), Decimal(0)) == sum(
                (n.gpu_idle for n in nodes), Decimal(0)
            )
            for n in nodes:
                assert n.cpu_cost_pool + n.mem_cost_pool + n.gpu_cost_pool == n.cost
            # Physical cost is what the bill says for the day (bill lines are spread exactly).
            expected = sum(
                (n["bill"] for n in clusters[int(day.cluster.name[1:])]["nodes"] if n["bill"] is not None),
                Decimal(0),
            )
            overhead = clusters[int(day.cluster.name[1:])]["overhead"]
            expected += overhead * 7 / 12 if overhead is not None else 0
            expected += sum((v["bill"] for v in spec_of["volumes"]), Decimal(0)) + (
                spec_of["stray_disk"] or 0
            )
            expected += sum((cost for _, cost in spec_lbs), Decimal(0)) * 21 / 24
            estimated = day.estimated_cost
            assert abs(day.physical_cost - estimated - expected) <= Decimal("0.00000001")
        transaction.set_rollback(True)
