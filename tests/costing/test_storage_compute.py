"""Persistent volumes from recorded samples to stored results, by hand (issue #18).

Cluster "st", day 2026-03-02, policy cost_share 0.5, one sample an hour (interval 3600). Node n1 (4 cores,
16 GiB) is billed 24.00 for the day (1.00/h). In namespace shop the StatefulSet db's pods mount claim
`data` (PV pv-data, EBS vol-0abc given as aws://eu-west-1a/vol-0abc, billed 2.40 as an EBS ARN: 0.10/h):
  db-0 hours 0-7, db-1 hours 8-15, nobody hours 16-23 (still bound): 0.80, 0.80 and 0.80 unmounted (shop);
  each pod (1 core, 4 GiB of n1) pays 0.25/h of compute: 2.00 for its 8 hours.
PV pv-old (vol-0old, 1.20) is Released (its claim shop/old was deleted): 1.20 storage idle.
PV pv-scratch (vol-0scr, 0.72) is bound to sandbox/scratch, which no pod mounts and where no pod runs:
0.72 unmounted storage of sandbox.
A disk vol-0zzz (0.48) matches no PV: it stays overhead.

physical 24 + 2.40 + 1.20 + 0.72 + 0.48 = 28.80 = workload (4.00 + 2.40 + 0.72 = 7.12)
                                                   + idle (node 20.00 + storage 1.20 = 21.20) + overhead 0.48
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
    BillLine,
    Cluster,
    ClusterDay,
    DepartmentCostDay,
    NamespaceCostDay,
    Node,
    PodCostDay,
    Volume,
    VolumeCostDay,
    VolumeHour,
    VolumeMountHour,
    WorkloadCostDay,
)
from costing.policy import ClusterRules, DepartmentSpec, PolicySpec, PoolSpec, SplitSpec, TagRule
from costing.policy.store import save_spec
from costing.recording import record_samples
from tests.costing.scenario import line
from tests.reports.views_fixtures import make_user  # noqa: F401

pytestmark = pytest.mark.django_db

GIB = 2**30
DAY = date(2026, 3, 2)
START = datetime(2026, 3, 2, tzinfo=UTC)
HOURS = [START + timedelta(hours=h) for h in range(24)]
D = Decimal

POLICY = PolicySpec(
    effective_from=date(2026, 1, 1),
    split=SplitSpec("cost_share", D("0.5")),
    clusters=[ClusterRules("st", [TagRule("kubernetes.io/cluster/st")])],
    departments=[DepartmentSpec("Shop", namespaces=["shop"])],
    pools={"idle": PoolSpec("proportional", "cluster"), "overhead": PoolSpec("separate", "cluster")},
)


def frames():
    nodes = pd.DataFrame(
        [(t, "n1", "general", "aws:///eu-west-1a/i-n1", 4.0, 16 * GIB) for t in HOURS],
        columns=[
            "timestamp",
            "node",
            "node_pool",
            "provider_id",
            "cpu_capacity_cores",
            "memory_capacity_bytes",
        ],
    )
    pods = []
    for h, t in enumerate(HOURS[:16]):
        name = "db-0" if h < 8 else "db-1"
        pods.append(
            (t, "shop", name, f"uid-{name}", "n1", "StatefulSet", "db", 1.0, 0.5, 4 * GIB, GIB, "data")
        )
    pods = pd.DataFrame(
        pods,
        columns=[
            "timestamp", "namespace", "pod", "pod_uid", "node", "owner_kind", "owner_name",
            "cpu_request_cores", "cpu_usage_cores", "memory_request_bytes", "memory_usage_bytes", "claims",
        ],
    )  # fmt: skip
    volumes = pd.DataFrame(
        [
            row
            for t in HOURS
            for row in (
                (t, "pv-data", 100 * GIB, "Bound", "shop", "data", "vol-0abc", "ebs.csi.aws.com", "gp3"),
                (t, "pv-old", 50 * GIB, "Released", "shop", "old", "vol-0old", "ebs.csi.aws.com", "gp3"),
                (t, "pv-scratch", 10 * GIB, "Bound", "sandbox", "scratch", "vol-0scr", "ebs.csi.aws.com", "gp3"),
            )
        ],
        columns=[
            "timestamp", "volume", "capacity_bytes", "phase", "claim_namespace", "claim_name", "disk_id",
            "driver", "storage_class",
        ],
    )  # fmt: skip
    return nodes, pods, volumes


@pytest.fixture
def st(db):
    save_spec(POLICY)
    cluster = Cluster.objects.create(name="st", connection_type=ConnectionType.SIMULATOR)
    nodes, pods, volumes = frames()
    result = record_samples(
        cluster, nodes, pods, interval=3600, source=SampleSource.SIMULATOR, volumes=volumes
    )
    assert result.volume_hours == 72
    bill = BillImport.objects.create(file_name="bill.csv", format="focus")
    n1 = Node.objects.get(cluster=cluster, name="n1")
    line(bill, cluster, LineKind.NODE, "24.00", START, 24, n1, "i-n1")
    # Imported before the volumes were known: overhead until recompute attributes them again.
    line(bill, cluster, LineKind.OVERHEAD, "2.40", START, 24, None, "arn:aws:ec2:eu-west-1:1:volume/vol-0abc")
    line(bill, cluster, LineKind.OVERHEAD, "1.20", START, 24, None, "vol-0old")
    line(bill, cluster, LineKind.OVERHEAD, "0.72", START, 24, None, "vol-0scr")
    line(bill, cluster, LineKind.OVERHEAD, "0.48", START, 24, None, "vol-0zzz")
    recompute_day(DAY)
    return cluster


def test_the_recorder_keeps_volumes_and_minutes_mounted(st):
    data = Volume.objects.get(cluster=st, name="pv-data")
    assert (data.disk_id, data.phase, data.claim_namespace, data.claim_name) == (
        "vol-0abc",
        "Bound",
        "shop",
        "data",
    )
    hours = {h.hour.hour: h for h in VolumeHour.objects.filter(volume=data)}
    assert len(hours) == 24
    assert (hours[3].seconds, hours[3].bound_seconds, hours[3].unmounted_seconds) == (3600, 3600, 0)
    assert (hours[20].seconds, hours[20].bound_seconds, hours[20].unmounted_seconds) == (3600, 3600, 3600)
    assert hours[20].namespace.name == "shop"
    mounts = VolumeMountHour.objects.filter(volume=data)
    assert sorted((m.pod.name, m.hour.hour) for m in mounts) == [("db-0", h) for h in range(8)] + [
        ("db-1", h) for h in range(8, 16)
    ]
    assert {(m.seconds, m.share_seconds) for m in mounts} == {(3600, 3600.0)}
    old = VolumeHour.objects.get(volume__name="pv-old", hour=HOURS[0])
    assert (old.seconds, old.bound_seconds, old.namespace) == (3600, 0, None)


def test_disk_lines_become_their_volumes_and_an_unknown_disk_stays_overhead(st):
    kinds = {b.resource_id: (b.kind, b.volume.name if b.volume else None) for b in BillLine.objects.all()}
    assert kinds["arn:aws:ec2:eu-west-1:1:volume/vol-0abc"] == (LineKind.VOLUME, "pv-data")
    assert kinds["vol-0old"] == (LineKind.VOLUME, "pv-old")
    assert kinds["vol-0zzz"] == (LineKind.OVERHEAD, None)


def test_pods_pay_the_time_they_mounted_the_volume(st):
    pods = {p.pod.name: p for p in PodCostDay.objects.filter(day=DAY).select_related("pod")}
    assert pods["db-0"].storage_cost == D("0.8") and pods["db-0"].cost == D("2.8")
    assert pods["db-1"].storage_cost == D("0.8") and pods["db-1"].cost == D("2.8")
    assert pods["db-0"].cpu_cost + pods["db-0"].mem_cost + pods["db-0"].storage_cost == pods["db-0"].cost
    workload = WorkloadCostDay.objects.get(day=DAY, workload__name="db")
    assert workload.storage_cost == D("1.6") and workload.cost == D("5.6")


def test_unmounted_claims_are_their_namespace_and_released_volumes_storage_idle(st):
    namespaces = {
        n.namespace.name: n for n in NamespaceCostDay.objects.filter(day=DAY).select_related("namespace")
    }
    shop, sandbox = namespaces["shop"], namespaces["sandbox"]
    assert (shop.storage_cost, shop.unmounted_storage_cost, shop.cost) == (D("2.4"), D("0.8"), D("6.4"))
    assert (sandbox.storage_cost, sandbox.unmounted_storage_cost, sandbox.cost) == (
        D("0.72"),
        D("0.72"),
        D("0.72"),
    )
    assert sandbox.department == "Unallocated"
    volumes = {v.volume.name: v for v in VolumeCostDay.objects.filter(day=DAY).select_related("volume")}
    data = volumes["pv-data"]
    assert (data.cost, data.pods_cost, data.unmounted_cost, data.idle_cost) == (
        D("2.4"),
        D("1.6"),
        D("0.8"),
        0,
    )
    assert data.namespace.name == "shop" and data.hours_seen == 24
    old = volumes["pv-old"]
    assert (old.cost, old.idle_cost, old.namespace) == (D("1.2"), D("1.2"), None)
    assert set(volumes) == {"pv-data", "pv-old", "pv-scratch"}


def test_the_day_reconciles_to_the_cent(st):
    day = ClusterDay.objects.get(cluster=st, day=DAY)
    assert day.physical_cost == D("28.8")
    assert day.workload_cost == D("7.12") and day.storage_cost == D("3.12")
    assert day.idle_cost == D("21.2") and day.storage_idle_cost == D("1.2")
    assert day.overhead_cost == D("0.48")
    assert day.workload_cost + day.idle_cost + day.overhead_cost == day.physical_cost
    lines = {r.name: r for r in DepartmentCostDay.objects.filter(day=DAY)}
    assert sum(r.total for r in lines.values()) == day.physical_cost
    # Idle (node and storage) by direct cost: Shop 6.40, Unallocated 0.72.
    assert lines["Shop"].direct == D("6.4") and lines["Unallocated"].direct == D("0.72")
    assert abs(lines["Shop"].idle - D("21.2") * D("6.4") / D("7.12")) < D("0.000001")
    assert lines["Overhead"].total == D("0.48")


@pytest.fixture
def viewer(st, make_user, client, monkeypatch, settings):  # noqa: F811
    from costing.choices import Role

    monkeypatch.setattr("reports.views_common.today", lambda: DAY + timedelta(days=1))
    settings.FINOPS_HOURLY_RETENTION_DAYS = 100_000
    client.force_login(make_user("vic", Role.VIEWER))
    return client


def test_the_namespace_page_shows_unmounted_storage_and_each_volume_with_its_bill_line(viewer):
    page = viewer.get("/namespaces/st/shop/?period=2026-03-02").content.decode()
    assert "Unmounted storage" in page and "Storage cost" in page
    assert "pv-data" in page and "arn:aws:ec2:eu-west-1:1:volume/vol-0abc" in page
    assert "pv-old" in page  # released: its cost is storage idle, its claim was shop's
    rows = viewer.get("/namespaces/st/shop/?period=2026-03-02&_export=csv&_table=workloads").content.decode()
    # db 5.60 and the unmounted claim 0.80 add up to the namespace's 6.40.
    assert "Unmounted storage" in rows and "6.40" in rows and "5.60" in rows and "0.80" in rows


def test_the_workload_page_lists_the_volumes_its_pods_mounted(viewer):
    from costing.models import Workload

    workload = Workload.objects.get(name="db")
    page = viewer.get(f"/workloads/{workload.pk}/?period=2026-03-02").content.decode()
    assert "Persistent volumes" in page and "pv-data" in page and "pv-old" not in page


def test_costs_by_workload_and_node_keep_unmounted_storage_in_an_unmounted_group(st):
    from reports.queries.costs import cost_rows

    rows = cost_rows(DAY, DAY + timedelta(days=1), "workload")
    groups = {(r["namespace"], r["workload"]): r for r in rows if r["row"] == "group"}
    assert groups[("shop", "db")]["storage_cost"] == D("1.60")
    assert groups[("shop", "__unmounted__")]["cost"] == D("0.80")
    assert groups[("sandbox", "__unmounted__")]["storage_cost"] == D("0.72")
    total = rows[-1]
    assert (
        total["cost"] == D("7.12")
        and total["storage_cost"] == D("3.12")
        and total["physical_cost"] == D("28.80")
    )
    nodes = cost_rows(DAY, DAY + timedelta(days=1), "node")
    unmounted = next(r for r in nodes if r["row"] == "group" and r["node"] == "__unmounted__")
    assert unmounted["cost"] == D("1.52") and unmounted["idle"] == D("1.20")  # 0.80 + 0.72; pv-old
    assert nodes[-1]["cost"] + nodes[-1]["idle"] + nodes[-1]["overhead"] == D("28.80")
    clusters = cost_rows(DAY, DAY + timedelta(days=1), "cluster")
    assert (clusters[0]["cost"], clusters[0]["idle"], clusters[0]["overhead"]) == (
        D("7.12"),
        D("21.20"),
        D("0.48"),
    )


def test_the_cluster_page_adds_the_volumes_to_the_node_pools_and_overhead(viewer):
    table = viewer.get("/clusters/st/?period=2026-03-02&_export=csv").content.decode()
    # Node pool 24.00, volumes 2.40 + 1.20 + 0.72 = 4.32, overhead 0.48: 28.80.
    assert "Persistent volumes,,,,,,,4.32" in table and "Overhead,,,,,,,0.48" in table and ",28.80" in table


def test_the_report_has_the_storage_column_and_the_unmounted_workload_rows(st, settings):
    from reports.reporting.builder import build_report
    from reports.reporting.excel import render_xlsx

    settings.FINOPS_CURRENCY = "EUR"
    report = build_report("2026-03-02", today=DAY + timedelta(days=1))
    workloads = report.table("workloads")
    rows = {(r["namespace"], r["workload"]): r for r in workloads.rows}
    assert rows[("shop", "db")]["storage_cost"] == D("1.60")
    assert rows[("shop", "__unmounted__")]["storage_cost"] == D("0.80")
    assert workloads.total["storage_cost"] == D("3.12")
    namespaces = {r["namespace"]: r for r in report.table("namespaces").rows}
    assert namespaces["sandbox"]["storage_cost"] == D("0.72")
    assert render_xlsx(report)[:2] == b"PK"  # the workbook renders with the column


def test_opencost_allocation_fills_pv_cost_and_has_the_unmounted_claims(st):
    from api.opencost import allocation_sets, grouping, set_windows
    from reports.queries.frames import node_idle_frame, pod_cost_groups

    def allocations(aggregate):
        pods = pod_cost_groups(DAY, DAY + timedelta(days=1), grouping(aggregate, None), by_day=False)
        idle = node_idle_frame(DAY, DAY + timedelta(days=1))
        (one,) = allocation_sets(pods, idle, set_windows(DAY, DAY + timedelta(days=1), 1, True), aggregate)
        return one

    namespaces = allocations(["namespace"])
    assert namespaces["shop"]["pvCost"] == pytest.approx(2.40) and namespaces["shop"][
        "totalCost"
    ] == pytest.approx(6.40)
    assert namespaces["sandbox"]["pvCost"] == pytest.approx(0.72)
    pods = allocations(["pod"])
    assert pods["db-0"]["pvCost"] == pytest.approx(0.80) and pods["db-0"]["totalCost"] == pytest.approx(2.80)
    assert pods["__unmounted__"]["pvCost"] == pytest.approx(1.52) and pods["__unmounted__"]["cpuCost"] == 0
    controllers = allocations(["controller"])
    assert controllers["__unmounted__"]["pvCost"] == pytest.approx(1.52)
    assert controllers["statefulset:db"]["pvCost"] == pytest.approx(1.60)
