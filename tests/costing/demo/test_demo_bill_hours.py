"""The demo bill pays every node-hour the simulator samples: no estimate on a fully billed day."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from costing.billing.importer import import_bill
from costing.choices import ConnectionType, RunStatus, SampleSource
from costing.compute import recompute_day
from costing.demo.bill import CLUSTER_TAG_KEY, write_demo_focus_bill
from costing.demo.setup import ensure_demo_policy
from costing.demo.simulator import POOLS, DemoCluster
from costing.models import ClusterDay, Node
from costing.recording import NAMESPACE_COLUMNS, record_samples

pytestmark = pytest.mark.django_db

# Wednesday and Thursday: the spot pool's scaling node of both days is called 192.168.3.183 (its name is the
# private IP, which the cloud hands out again), on two different instances.
WEDNESDAY, THURSDAY = date(2025, 4, 9), date(2025, 4, 10)
INTERVAL = 600  # a sample every 10 minutes: a multiple of the minute, and of the hour's boundaries


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _cluster_cost_by_day(path, cluster_id: str) -> dict[date, Decimal]:
    """The bill's lines tagged with the cluster, summed by the day their charge period starts in."""
    out: dict[date, Decimal] = defaultdict(Decimal)
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if json.loads(row["Tags"]).get(CLUSTER_TAG_KEY) == cluster_id:
                out[date.fromisoformat(row["ChargePeriodStart"][:10])] += Decimal(row["EffectiveCost"])
    return out


def test_a_node_name_used_again_keeps_the_bill_of_its_earlier_instance(tmp_path):
    from costing.models import Cluster

    demo = DemoCluster("demo", 42)
    spot = next(p for p in POOLS if p.scaling)
    day_number = (WEDNESDAY - date(1970, 1, 1)).days
    first, second = demo._scaling_node(spot, day_number), demo._scaling_node(spot, day_number + 1)
    assert first["node"] == second["node"] and first["provider_id"] != second["provider_id"]

    cluster = Cluster.objects.create(
        name="demo", connection_type=ConnectionType.SIMULATOR, sampling_interval=INTERVAL
    )
    namespaces = pd.DataFrame([(ns.name, ns.labels) for ns in demo.namespaces()], columns=NAMESPACE_COLUMNS)
    for day in (WEDNESDAY, THURSDAY):
        nodes, pods = demo.frames(_midnight(day), _midnight(day) + timedelta(days=1), INTERVAL)
        record_samples(cluster, nodes, pods, namespaces, interval=INTERVAL, source=SampleSource.SIMULATOR)
    ensure_demo_policy()
    path = tmp_path / "bill.csv"
    write_demo_focus_bill(demo, WEDNESDAY, THURSDAY + timedelta(days=1), path)
    assert import_bill(path, "focus").status == RunStatus.SUCCEEDED
    billed = _cluster_cost_by_day(path, demo.cluster_id)

    for day in (WEDNESDAY, THURSDAY):
        recompute_day(day)
        row = ClusterDay.objects.get(cluster=cluster, day=day)
        # Every node-hour sampled is on the bill: nothing estimated, and the day costs what the bill says
        # (an estimate beside the unattributed line, booked as overhead, would count the node twice).
        assert row.estimated_cost == 0, day
        assert row.physical_cost == billed[day].quantize(Decimal("0.00000001")), day
    reused = Node.objects.get(cluster=cluster, name=first["node"])
    assert reused.instance_id == second["provider_id"].rsplit("/", 1)[-1]  # the node as last seen
    assert set(reused.instances.values_list("instance_id", flat=True)) == {
        first["provider_id"].rsplit("/", 1)[-1],
        second["provider_id"].rsplit("/", 1)[-1],
    }


def test_the_demo_gpu_pool_is_priced_per_gpu_hour_as_billed(tmp_path):
    """The GPU pool by hand: a p2s.4xlarge.8 is billed 5.12 an hour (16 x 0.04 + 128 x 0.005 + 2 x 1.92);
    the demo policy gives its GPUs a share of 0.75, 3.84 an hour, so a GPU-hour costs 3.84 / 2 = 1.92,
    the bill's GPU price. A serving pod asks for one GPU and uses less (DCGM), so it pays 1.92 for every
    hour it is sampled; the two nodes' 4 x 24 GPU-hours not asked for are idle GPU."""
    from costing.models import Cluster, NodeCostDay, PodCostDay

    demo = DemoCluster("demo", 42)
    cluster = Cluster.objects.create(
        name="demo", connection_type=ConnectionType.SIMULATOR, sampling_interval=INTERVAL
    )
    namespaces = pd.DataFrame([(ns.name, ns.labels) for ns in demo.namespaces()], columns=NAMESPACE_COLUMNS)
    nodes, pods = demo.frames(_midnight(WEDNESDAY), _midnight(THURSDAY), INTERVAL)
    record_samples(cluster, nodes, pods, namespaces, interval=INTERVAL, source=SampleSource.SIMULATOR)
    ensure_demo_policy()
    path = tmp_path / "bill.csv"
    write_demo_focus_bill(demo, WEDNESDAY, THURSDAY, path)
    assert import_bill(path, "focus").status == RunStatus.SUCCEEDED
    recompute_day(WEDNESDAY)

    gpu_nodes = NodeCostDay.objects.filter(cluster__name="demo", day=WEDNESDAY, gpu_capacity_hours__gt=0)
    assert gpu_nodes.count() == 2
    for node in gpu_nodes:
        assert node.cost == Decimal("122.88") and node.gpu_cost_pool == Decimal("92.16")
        assert node.gpu_capacity_hours == pytest.approx(48.0)
    # GPU-hours from the frames, independently: every sample of a GPU pod stands for INTERVAL seconds.
    gpu_pods = pods[pods["gpu_request_devices"] > 0]
    expected_hours = (gpu_pods.groupby("pod_uid")["gpu_request_devices"].sum() * INTERVAL / 3600).to_dict()
    paid = {
        p.pod.uid: p
        for p in PodCostDay.objects.filter(day=WEDNESDAY, gpu_billable_hours__gt=0).select_related("pod")
    }
    assert set(paid) == set(expected_hours)
    for uid, hours in expected_hours.items():
        assert paid[uid].gpu_billable_hours == pytest.approx(hours)
        assert abs(paid[uid].gpu_cost - Decimal("1.92") * Decimal(str(hours))) < Decimal("0.00001")
    total_hours = Decimal(str(sum(expected_hours.values())))
    assert 48 < total_hours < 96  # two model servers all day, the encoder one or two
    idle = sum(n.gpu_idle for n in gpu_nodes)
    assert abs(idle - (Decimal("184.32") - Decimal("1.92") * total_hours)) < Decimal("0.0001")
    # Nothing estimated, and the day costs what the bill says, GPU nodes included.
    row = ClusterDay.objects.get(cluster=cluster, day=WEDNESDAY)
    assert row.estimated_cost == 0
    assert row.physical_cost == _cluster_cost_by_day(path, demo.cluster_id)[WEDNESDAY].quantize(
        Decimal("0.00000001")
    )


def test_the_demo_elb_is_the_ingress_controllers_namespace_cost(tmp_path):
    """The demo's ELB line (0.030 an hour, tagged kubernetes.io/service-name) is Service
    ingress-nginx/ingress-nginx-controller's: 24 x 0.030 = 0.72 of network cost in ingress-nginx, not
    overhead; the day still costs what the bill says."""
    from costing.models import BillLine, Cluster, LoadBalancerCostDay, NamespaceCostDay

    demo = DemoCluster("demo", 42)
    cluster = Cluster.objects.create(
        name="demo", connection_type=ConnectionType.SIMULATOR, sampling_interval=INTERVAL
    )
    namespaces = pd.DataFrame([(ns.name, ns.labels) for ns in demo.namespaces()], columns=NAMESPACE_COLUMNS)
    start, end = _midnight(WEDNESDAY), _midnight(THURSDAY)
    nodes, pods = demo.frames(start, end, INTERVAL)
    record_samples(
        cluster, nodes, pods, namespaces, interval=INTERVAL, source=SampleSource.SIMULATOR,
        load_balancers=demo.load_balancer_frame(start, end, INTERVAL),
    )  # fmt: skip
    ensure_demo_policy()
    path = tmp_path / "bill.csv"
    write_demo_focus_bill(demo, WEDNESDAY, THURSDAY, path)
    assert import_bill(path, "focus").status == RunStatus.SUCCEEDED
    recompute_day(WEDNESDAY)

    (line,) = BillLine.objects.filter(service_name="Elastic Load Balance")
    assert line.kind == "load_balancer" and line.load_balancer.name == "ingress-nginx-controller"
    (lb_day,) = LoadBalancerCostDay.objects.filter(day=WEDNESDAY)
    assert lb_day.cost == Decimal("0.72") and lb_day.namespace.name == "ingress-nginx"
    ns = NamespaceCostDay.objects.get(day=WEDNESDAY, namespace__name="ingress-nginx")
    assert ns.network_cost == Decimal("0.72") and ns.shared  # a shared namespace: in the shared pool
    row = ClusterDay.objects.get(cluster=cluster, day=WEDNESDAY)
    assert row.network_cost == Decimal("0.72")
    assert row.physical_cost == _cluster_cost_by_day(path, demo.cluster_id)[WEDNESDAY].quantize(
        Decimal("0.00000001")
    )
