"""A GPU node shared by two pods (one on a MIG slice), from recorded samples to stored results, by hand.

Cluster "ml", day 2026-03-02, policy cost_share 0.5 and a GPU-hour at 28 core-hours. Node g1 (8 cores,
64 GiB, 2 GPUs: one whole and one cut into seven MIG slices) is billed 240.00 for the day (10.00/h), a
CPU node c1 (4 cores, 16 GiB) 24.00 (1.00/h). Every hour (one sample an hour, interval 3600):
  train on g1: 2 cores, 8 GiB, 1 GPU        -> 0.15625 + 0.625 + 2.1875 = 2.96875/h -> 71.25
  infer on g1: 1 core, 4 GiB, 1/7 GPU       -> 0.078125 + 0.3125 + 0.3125 = 0.703125/h -> 16.875
  web   on c1: 1 core, 4 GiB                -> 0.125 + 0.125 = 0.25/h -> 6.00
g1's pools: GPUs 4.375/h (2.1875 a GPU-hour), cores 0.625/h, memory 5.00/h (tests/costing/engine/test_gpu.py);
idle per hour: GPU 1.875, CPU 0.390625, memory 4.0625 -> 45.00, 9.375, 97.50 for the day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from costing.choices import ConnectionType, LineKind, SampleSource
from costing.compute import recompute_day
from costing.models import (
    BillImport,
    Cluster,
    ClusterDay,
    DepartmentCostDay,
    Node,
    NodeCostDay,
    NodeCostHour,
    NodeHour,
    PodCostDay,
    PodHour,
)
from costing.policy import ClusterRules, DepartmentSpec, GpuSpec, PolicySpec, PoolSpec, SplitSpec, TagRule
from costing.policy.store import save_spec
from tests.costing.scenario import line

pytestmark = pytest.mark.django_db

GIB = 2**30
DAY = date(2026, 3, 2)
START = datetime(2026, 3, 2, tzinfo=UTC)
HOURS = [START + timedelta(hours=h) for h in range(24)]
D = Decimal

POLICY = PolicySpec(
    effective_from=date(2026, 1, 1),
    split=SplitSpec("cost_share", D("0.5")),
    gpu=GpuSpec(price_ratio=D(28)),
    clusters=[ClusterRules("ml", [TagRule("kubernetes.io/cluster/ml")])],
    departments=[DepartmentSpec("Research", namespaces=["ml"]), DepartmentSpec("Shop", namespaces=["web"])],
    pools={"idle": PoolSpec("per_resource", "cluster")},
)


def nodes_frame():
    rows = []
    for t in HOURS:
        rows.append((t, "g1", "gpu", "aws:///eu-west-1a/i-g1", "p4d.24xlarge", 8.0, 64 * GIB, {}, 2.0))
        rows.append((t, "c1", "general", "aws:///eu-west-1a/i-c1", "m5.xlarge", 4.0, 16 * GIB, {}, 0.0))
    columns = ["timestamp", "node", "node_pool", "provider_id", "instance_type"]
    columns += ["cpu_capacity_cores", "memory_capacity_bytes", "labels", "gpu_capacity_devices"]
    return pd.DataFrame(rows, columns=columns)


def pods_frame():
    pods = [
        ("ml", "train", "g1", 2.0, 8.0, 1.0),
        ("ml", "infer", "g1", 1.0, 4.0, 1 / 7),
        ("web", "web", "c1", 1.0, 4.0, 0.0),
    ]
    rows = [
        (
            t,
            ns,
            name,
            f"uid-{name}",
            node,
            "Deployment",
            name,
            cpu,
            cpu / 2,
            mem * GIB,
            mem * GIB / 2,
            {},
            True,
            gpus,
        )
        for t in HOURS
        for ns, name, node, cpu, mem, gpus in pods
    ]
    columns = ["timestamp", "namespace", "pod", "pod_uid", "node", "owner_kind", "owner_name"]
    columns += ["cpu_request_cores", "cpu_usage_cores", "memory_request_bytes", "memory_usage_bytes"]
    columns += ["labels", "has_metrics", "gpu_request_devices"]
    return pd.DataFrame(rows, columns=columns)


@pytest.fixture
def ml(db):
    from costing.recording import record_samples

    save_spec(POLICY)
    cluster = Cluster.objects.create(name="ml", connection_type=ConnectionType.SIMULATOR)
    record_samples(cluster, nodes_frame(), pods_frame(), interval=3600, source=SampleSource.SIMULATOR)
    bill = BillImport.objects.create(file_name="bill.csv", format="focus")
    nodes = {n.name: n for n in Node.objects.filter(cluster=cluster)}
    line(bill, cluster, LineKind.NODE, "240.00", START, 24, nodes["g1"], "i-g1")
    line(bill, cluster, LineKind.NODE, "24.00", START, 24, nodes["c1"], "i-c1")
    recompute_day(DAY)
    return cluster, nodes


def test_the_recorder_keeps_gpu_capacity_and_gpu_hours(ml):
    _, nodes = ml
    assert nodes["g1"].gpu_capacity_devices == 2.0 and nodes["c1"].gpu_capacity_devices == 0.0
    assert NodeHour.objects.get(node=nodes["g1"], hour=HOURS[3]).gpu_capacity_hours == pytest.approx(2.0)
    infer = PodHour.objects.get(pod__name="infer", hour=HOURS[3])
    # No GPU usage given: billable = max(0, 1/7) per sample.
    assert infer.gpu_request_hours == pytest.approx(1 / 7) and infer.gpu_billable_hours == pytest.approx(
        1 / 7
    )


def test_pods_pay_their_gpu_hours_and_idle_gpu_is_its_own_figure(ml):
    _, nodes = ml
    pods = {p.pod.name: p for p in PodCostDay.objects.filter(day=DAY).select_related("pod")}
    assert pods["train"].gpu_cost == D("52.5") and pods["train"].cost == D("71.25")
    assert pods["infer"].gpu_cost == D("7.5") and pods["infer"].cost == D("16.875")
    assert pods["infer"].gpu_billable_hours == pytest.approx(24 / 7)
    # The CPU node is priced as it always was: 0.5/4 per core-hour, 0.5/16 per GiB-hour.
    assert pods["web"].gpu_cost == 0 and pods["web"].cost == D("6")
    g1 = NodeCostDay.objects.get(node=nodes["g1"], day=DAY)
    assert g1.gpu_cost_pool == D("105") and g1.gpu_idle == D("45")
    assert g1.cpu_idle == D("9.375") and g1.mem_idle == D("97.5")
    assert g1.gpu_capacity_hours == pytest.approx(48.0)
    assert g1.cpu_cost_pool + g1.mem_cost_pool + g1.gpu_cost_pool == g1.cost == D("240")
    hour = NodeCostHour.objects.get(node=nodes["g1"], hour=HOURS[0])
    assert hour.gpu_price == pytest.approx(2.1875) and hour.gpu_idle == D("1.875")
    c1 = NodeCostDay.objects.get(node=nodes["c1"], day=DAY)
    assert c1.gpu_cost_pool == 0 and c1.gpu_idle == 0 and c1.cpu_idle == D("9") and c1.mem_idle == D("9")


def test_the_day_reconciles_to_the_cent_and_idle_gpu_follows_gpu_cost(ml):
    cluster, _ = ml
    day = ClusterDay.objects.get(cluster=cluster, day=DAY)
    assert day.physical_cost == D("264")
    assert day.workload_cost == D("94.125")
    assert day.idle_cost == D("169.875")  # g1 45 + 9.375 + 97.5, c1 9 + 9
    assert day.workload_cost + day.idle_cost + day.overhead_cost == day.physical_cost
    lines = {r.name: r for r in DepartmentCostDay.objects.filter(day=DAY)}
    assert sum(r.total for r in lines.values()) == day.physical_cost
    # per_resource idle (the policy has no idle GPU rule: idle GPU follows idle's method): idle GPU 45, in
    # its own column, all to Research (the only GPU cost); CPU idle 18.375 by CPU cost (Research 3.75 +
    # 1.875 = 5.625, Shop 3.0) and memory idle 106.5 by memory cost (15 + 7.5 : 3).
    research_idle = D("18.375") * D("5.625") / D("8.625") + D("106.5") * D("22.5") / D("25.5")
    assert abs(lines["Research"].idle - research_idle) < D("0.000001")
    assert lines["Research"].gpu_idle == D(45) and lines["Shop"].gpu_idle == 0
