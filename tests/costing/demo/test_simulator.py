"""Tests of the demo cluster simulator and its FOCUS bill."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from costing.collectors.snapshot import Snapshot
from costing.demo.bill import demo_price_sheet, write_demo_focus_bill
from costing.demo.simulator import DemoCluster
from costing.load_balancers import SERVICE_NAME_TAG, resource_keys

WEDNESDAY = datetime(2025, 3, 5, tzinfo=UTC)
SATURDAY = datetime(2025, 3, 8, tzinfo=UTC)
POD_FIELDS = [
    "namespace", "pod", "pod_uid", "node", "owner_kind", "owner_name", "cpu_request_cores", "cpu_usage_cores",
    "memory_request_bytes", "memory_usage_bytes", "labels", "has_metrics",
]  # fmt: skip
NODE_FIELDS = [
    "node", "node_pool", "provider_id", "instance_type", "cpu_capacity_cores", "memory_capacity_bytes",
    "labels",
]  # fmt: skip
# Written from the FOCUS 1.0 specification, not from the module under test.
FOCUS_1_0 = {
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
    "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription",
    "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory",
    "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountStatus", "CommitmentDiscountType",
    "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "ContractedUnitPrice", "EffectiveCost",
    "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory", "PricingQuantity", "PricingUnit",
    "ProviderName", "PublisherName", "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType",
    "ServiceCategory", "ServiceName", "SkuId", "SkuPriceId", "SubAccountId", "SubAccountName", "Tags",
}  # fmt: skip


@pytest.fixture(scope="module")
def cluster() -> DemoCluster:
    return DemoCluster()


@pytest.fixture(scope="module")
def wednesday(cluster) -> tuple[pd.DataFrame, pd.DataFrame]:
    return cluster.frames(WEDNESDAY, WEDNESDAY + timedelta(days=1))


@pytest.fixture(scope="module")
def saturday(cluster) -> tuple[pd.DataFrame, pd.DataFrame]:
    return cluster.frames(SATURDAY, SATURDAY + timedelta(days=1))


def at(frame: pd.DataFrame, t: datetime) -> pd.DataFrame:
    return frame[frame["timestamp"] == pd.Timestamp(t)]


def pod_rows(snapshot: Snapshot) -> list[tuple]:
    return [
        (p.namespace, p.name, p.uid, p.node, p.owner_kind, p.owner_name, p.cpu_request_cores,
         p.cpu_usage_cores, p.memory_request_bytes, p.memory_usage_bytes, p.labels, p.has_metrics)
        for p in snapshot.pods
    ]  # fmt: skip


def node_rows(snapshot: Snapshot) -> list[tuple]:
    return [
        (n.name, n.node_pool, n.provider_id, n.instance_type, n.cpu_capacity_cores, n.memory_capacity_bytes,
         n.labels)
        for n in snapshot.nodes
    ]  # fmt: skip


# -- determinism and agreement -----------------------------------------------------------------------


def test_snapshot_is_a_pure_function_of_name_seed_and_instant(cluster):
    t = WEDNESDAY + timedelta(hours=12, seconds=17)
    first, again, other = cluster.snapshot(t), cluster.snapshot(t), DemoCluster("demo", 42).snapshot(t)
    assert first.taken_at == t
    assert pod_rows(first) == pod_rows(again) == pod_rows(other)
    assert node_rows(first) == node_rows(again) == node_rows(other)
    assert {n.name for n in first.namespaces} == {n.name for n in other.namespaces}
    reseeded = DemoCluster("demo", 7).snapshot(t)
    assert {p.uid for p in reseeded.pods}.isdisjoint({p.uid for p in first.pods})


def test_naive_datetime_is_taken_as_utc(cluster):
    t = WEDNESDAY + timedelta(hours=9, minutes=30)
    assert pod_rows(cluster.snapshot(t.replace(tzinfo=None))) == pod_rows(cluster.snapshot(t))


def assert_frames_match_snapshots(cluster, start: datetime, end: datetime, interval: int):
    nodes, pods = cluster.frames(start, end, interval)
    by_time_pods = dict(list(pods.groupby("timestamp")))
    by_time_nodes = dict(list(nodes.groupby("timestamp")))
    slots = 0
    t = start
    while t < end:
        snap = cluster.snapshot(t)
        key = pd.Timestamp(t)
        assert list(by_time_pods[key][POD_FIELDS].itertuples(index=False, name=None)) == pod_rows(snap), t
        assert list(by_time_nodes[key][NODE_FIELDS].itertuples(index=False, name=None)) == node_rows(snap), t
        slots += 1
        t += timedelta(seconds=interval)
    assert pods["timestamp"].nunique() == nodes["timestamp"].nunique() == slots


def test_frames_equal_snapshots_around_scale_in_and_evening_window(cluster):
    # 15:45-18:15 on a Wednesday: the scaling node leaves at 16:00, CronHPA scales up at 18:00, and
    # CronJob pods come and go throughout.
    assert_frames_match_snapshots(cluster, WEDNESDAY + timedelta(hours=15, minutes=45),
                                  WEDNESDAY + timedelta(hours=18, minutes=15), 60)  # fmt: skip


def test_frames_equal_snapshots_at_odd_seconds_around_scale_out(cluster):
    start = WEDNESDAY + timedelta(hours=9, minutes=57, seconds=13)
    assert_frames_match_snapshots(cluster, start, start + timedelta(minutes=8), 17)


def test_frames_do_not_depend_on_the_window_they_are_computed_in(cluster, wednesday):
    nodes, pods = wednesday
    start, end = WEDNESDAY + timedelta(hours=10, minutes=30), WEDNESDAY + timedelta(hours=16, minutes=30)
    part_nodes, part_pods = cluster.frames(start, end)
    in_window = pods[(pods["timestamp"] >= start) & (pods["timestamp"] < end)].reset_index(drop=True)
    pd.testing.assert_frame_equal(part_pods, in_window)
    in_window = nodes[(nodes["timestamp"] >= start) & (nodes["timestamp"] < end)].reset_index(drop=True)
    pd.testing.assert_frame_equal(part_nodes, in_window)


def test_daily_frames_are_frames_day_by_day(cluster, wednesday):
    days = list(cluster.daily_frames(date(2025, 3, 4), date(2025, 3, 6)))
    assert [d for d, _, _ in days] == [date(2025, 3, 4), date(2025, 3, 5)]
    pd.testing.assert_frame_equal(days[1][2], wednesday[1])
    assert days[0][2]["timestamp"].max() == pd.Timestamp("2025-03-04 23:59:00", tz="UTC")


def test_frames_columns_and_bad_interval(cluster):
    nodes, pods = cluster.frames(WEDNESDAY, WEDNESDAY + timedelta(minutes=2))
    assert list(pods.columns) == [
        "timestamp", *POD_FIELDS[:2], "pod_uid", *POD_FIELDS[3:], "gpu_request_devices", "gpu_usage_devices"
    ]  # fmt: skip
    assert list(nodes.columns) == ["timestamp", *NODE_FIELDS, "gpu_capacity_devices"]
    assert str(pods["timestamp"].dt.tz) == "UTC"
    with pytest.raises(ValueError, match="interval"):
        cluster.frames(WEDNESDAY, WEDNESDAY + timedelta(minutes=2), 0)


# -- structural promises -----------------------------------------------------------------------------


def test_node_pools_one_of_them_spot_and_a_light_cluster(wednesday):
    nodes, pods = wednesday
    pools = nodes.groupby("node_pool")["labels"].first()
    assert len(pools) >= 3
    spot = [p for p, labels in pools.items() if labels["finops.demo/capacity-type"] == "spot"]
    assert len(spot) >= 1
    for labels, pool, itype in nodes[["labels", "node_pool", "instance_type"]].itertuples(index=False):
        assert labels["cce.cloud.com/cce-nodepool"] == pool
        assert labels["node.kubernetes.io/instance-type"] == itype
    per_slot_nodes = nodes.groupby("timestamp").size()
    per_slot_pods = pods.groupby("timestamp").size()
    assert per_slot_nodes.min() >= 8 and per_slot_nodes.max() <= 15
    assert 120 <= per_slot_pods.max() <= 250


def test_namespaces_and_departments(cluster):
    namespaces = {n.name: n.labels for n in cluster.namespaces()}
    shared = {"kube-system", "monitoring", "ingress-nginx"}
    assert shared <= set(namespaces)
    assert set(cluster.shared_namespaces()) == shared
    apps = set(namespaces) - shared
    assert len(apps) >= 10
    departments = cluster.departments()
    assert {"Payments", "Search", "Data Platform", "Storefront"} <= set(departments)
    claimed = [ns for names in departments.values() for ns in names]
    assert len(claimed) == len(set(claimed)) and set(claimed) <= apps
    labelled = {ns for ns in apps if "department" in namespaces[ns]}
    assert len(apps - labelled) >= 2  # something is left for patterns and "Unallocated"
    assert len(labelled) > len(apps) / 2
    slugs = cluster.department_label_values()
    for dept, names in departments.items():
        for ns in names:
            if ns in labelled:
                assert namespaces[ns]["department"] == slugs[dept]


def test_every_owner_kind_is_present_and_pods_keep_identity(wednesday):
    _, pods = wednesday
    assert set(pods["owner_kind"]) == {"Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "Pod"}
    # A pod (uid) has one name, one namespace and one node for its whole life.
    per_uid = pods.groupby("pod_uid")[["pod", "namespace", "node"]].nunique()
    assert (per_uid == 1).all().all()


def test_cron_pods_live_a_few_consecutive_minutes(wednesday):
    _, pods = wednesday
    cron = pods[pods["owner_kind"] == "CronJob"]
    lives = cron.groupby("pod_uid")["timestamp"].agg(["min", "max", "count"])
    assert len(lives) > 100
    assert lives["count"].between(1, 5).all()  # 2-5 minute pods sampled every minute
    consecutive = (lives["max"] - lives["min"]) == pd.to_timedelta(lives["count"] - 1, unit="min")
    assert consecutive.all()


def test_best_effort_pod_has_no_requests_but_uses_something(wednesday):
    _, pods = wednesday
    best_effort = pods[(pods["cpu_request_cores"] == 0) & (pods["memory_request_bytes"] == 0)]
    assert set(best_effort["owner_kind"]) == {"Pod"}
    assert best_effort["pod"].nunique() == 1
    assert (best_effort["cpu_usage_cores"] > 0).all() and (best_effort["memory_usage_bytes"] > 0).all()


def test_one_pod_sometimes_has_no_metrics_and_then_no_usage(wednesday):
    _, pods = wednesday
    missing = pods[~pods["has_metrics"]]
    assert missing["pod"].nunique() == 1
    assert 0 < len(missing) < 0.1 * (pods["pod"] == missing["pod"].iloc[0]).sum()
    assert (missing["cpu_usage_cores"] == 0).all() and (missing["memory_usage_bytes"] == 0).all()


def test_usage_sometimes_exceeds_requests(wednesday):
    _, pods = wednesday
    requested = pods[pods["cpu_request_cores"] > 0]
    above = (requested["cpu_usage_cores"] > requested["cpu_request_cores"]).mean()
    assert 0 < above < 0.2
    assert (requested["memory_usage_bytes"] > requested["memory_request_bytes"]).any()


def test_replicas_follow_the_business_day(wednesday):
    _, pods = wednesday
    deployments = pods[pods["owner_kind"] == "Deployment"]
    night = len(at(deployments, WEDNESDAY + timedelta(hours=3)))
    noon = len(at(deployments, WEDNESDAY + timedelta(hours=13)))
    assert noon > night + 20


@pytest.mark.parametrize("day", ["wednesday", "saturday"])
def test_evening_window_has_more_replicas_than_five_pm(request, day):
    _, pods = request.getfixturevalue(day)
    start = WEDNESDAY if day == "wednesday" else SATURDAY
    web = pods[pods["owner_name"] == "storefront-web"]
    five_pm = len(at(web, start + timedelta(hours=17)))
    for minute in (0, 30, 119):
        evening = len(at(web, start + timedelta(hours=18, minutes=minute)))
        assert evening >= 16 > five_pm  # the CronHPA floor is 16 replicas
    assert len(at(web, start + timedelta(hours=20, minutes=30))) < 16


def test_a_node_scales_out_on_weekdays_and_back_in(wednesday, saturday):
    nodes, pods = wednesday
    noon = set(at(nodes, WEDNESDAY + timedelta(hours=12))["node"])
    night = set(at(nodes, WEDNESDAY + timedelta(hours=3))["node"])
    evening = set(at(nodes, WEDNESDAY + timedelta(hours=16))["node"])
    assert night < noon and len(noon - night) == 1 and evening == night
    (scaled,) = noon - night
    life = nodes[nodes["node"] == scaled]["timestamp"]
    assert life.min() == pd.Timestamp(WEDNESDAY + timedelta(hours=10))
    assert life.max() == pd.Timestamp(WEDNESDAY + timedelta(hours=15, minutes=59))
    assert len(life) == 360
    assert (pods["node"] == scaled).any()  # pods were scheduled there
    sat_nodes, _ = saturday
    assert sat_nodes.groupby("timestamp").size().nunique() == 1  # no scaling at the weekend
    assert set(at(sat_nodes, SATURDAY + timedelta(hours=12))["node"]) == night


def test_daemonset_pods_on_every_node(wednesday, saturday):
    for (nodes, pods), day in ((wednesday, WEDNESDAY), (saturday, SATURDAY)):
        for hours in (3, 10, 12.5, 15.99, 16, 23.5):
            t = day + timedelta(hours=hours)
            t = t.replace(second=0, microsecond=0)
            present = set(at(nodes, t)["node"])
            ds = at(pods, t)
            ds = ds[ds["owner_kind"] == "DaemonSet"]
            assert ds["owner_name"].nunique() >= 3
            for _, group in ds.groupby("owner_name"):
                assert len(group) == len(present)
                assert set(group["node"]) == present


def test_pods_only_on_nodes_that_exist_and_fit(wednesday, saturday):
    for nodes, pods in (wednesday, saturday):
        placed = pods.merge(nodes[["timestamp", "node", "cpu_capacity_cores", "memory_capacity_bytes"]],
                            on=["timestamp", "node"], how="left", indicator=True)  # fmt: skip
        assert (placed["_merge"] == "both").all()
        per_node = placed.groupby(["timestamp", "node"]).agg(
            cpu=("cpu_request_cores", "sum"),
            mem=("memory_request_bytes", "sum"),
            cpu_cap=("cpu_capacity_cores", "first"),
            mem_cap=("memory_capacity_bytes", "first"),
        )
        # The scheduler never promises more than a node has.
        assert (per_node["cpu"] <= per_node["cpu_cap"]).all()
        assert (per_node["mem"] <= per_node["mem_cap"]).all()
        gpus = pods.merge(nodes[["timestamp", "node", "gpu_capacity_devices"]], on=["timestamp", "node"])
        per_node = gpus.groupby(["timestamp", "node"]).agg(
            gpu=("gpu_request_devices", "sum"), gpu_cap=("gpu_capacity_devices", "first")
        )
        assert (per_node["gpu"] <= per_node["gpu_cap"]).all()
        assert per_node["gpu"].max() == 2  # and the GPU nodes are sometimes full


def test_a_gpu_pool_of_two_nodes_with_two_gpus_each(wednesday):
    nodes, pods = wednesday
    gpu_nodes = nodes[nodes["gpu_capacity_devices"] > 0]
    assert set(gpu_nodes["node_pool"]) == {"gpu-pool"} and gpu_nodes["node"].nunique() == 2
    assert (gpu_nodes["gpu_capacity_devices"] == 2).all()
    assert all(labels["accelerator"] == "nvidia-v100" for labels in gpu_nodes["labels"])
    assert not any(
        "accelerator" in labels for labels in nodes.loc[nodes["gpu_capacity_devices"] == 0, "labels"]
    )
    on_gpu = pods[pods["node"].isin(set(gpu_nodes["node"]))]
    gpu_pods = pods[pods["gpu_request_devices"] > 0]
    # Only the two serving Deployments ask for GPUs (one each), and only they run there besides DaemonSets.
    assert set(gpu_pods["owner_name"]) == {"fraud-model-server", "embedding-encoder"}
    assert (gpu_pods["gpu_request_devices"] == 1).all()
    assert set(on_gpu.loc[on_gpu["owner_kind"] != "DaemonSet", "owner_name"]) == set(gpu_pods["owner_name"])
    # DCGM usage: a share of the device, busier at noon for the encoder that follows the business day.
    assert (gpu_pods["gpu_usage_devices"] > 0).all() and (gpu_pods["gpu_usage_devices"] <= 1).all()
    assert (pods.loc[pods["gpu_request_devices"] == 0, "gpu_usage_devices"] == 0).all()
    encoder = gpu_pods[gpu_pods["owner_name"] == "embedding-encoder"]
    hour = encoder["timestamp"].dt.hour
    assert (
        encoder.loc[hour == 13, "gpu_usage_devices"].mean()
        > encoder.loc[hour == 3, "gpu_usage_devices"].mean()
    )
    assert (
        len(at(encoder, WEDNESDAY + timedelta(hours=13)))
        == 2
        > len(at(encoder, WEDNESDAY + timedelta(hours=3)))
    )


def test_a_snapshot_carries_the_gpus_of_the_frames(cluster):
    t = WEDNESDAY + timedelta(hours=12, minutes=3)
    snap = cluster.snapshot(t)
    nodes, pods = cluster.frames(t, t + timedelta(minutes=1))
    assert sorted((n.name, n.gpu_capacity_devices) for n in snap.nodes) == sorted(
        zip(nodes["node"], nodes["gpu_capacity_devices"], strict=True)
    )
    assert sorted((p.uid, p.gpu_request_devices, p.gpu_usage_devices) for p in snap.pods) == sorted(
        zip(pods["pod_uid"], pods["gpu_request_devices"], pods["gpu_usage_devices"], strict=True)
    )
    assert sum(p.gpu_request_devices for p in snap.pods) >= 3


# -- the demo bill -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bill(cluster, tmp_path_factory) -> list[dict[str, str]]:
    path = tmp_path_factory.mktemp("bill") / "focus.csv"
    count = write_demo_focus_bill(cluster, date(2025, 3, 7), date(2025, 3, 9), path)  # Friday, Saturday
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        assert set(reader.fieldnames) == FOCUS_1_0 and len(reader.fieldnames) == 43
        rows = list(reader)
    assert len(rows) == count
    return rows


def test_bill_node_lines_are_the_node_hours_of_the_simulator(cluster, bill):
    expected = set()
    for day in (date(2025, 3, 7), date(2025, 3, 8)):
        t = datetime(day.year, day.month, day.day, tzinfo=UTC)
        nodes, _ = cluster.frames(t, t + timedelta(days=1))
        instance = nodes["provider_id"].str.rsplit("/", n=1).str[-1]
        hour = nodes["timestamp"].dt.floor("h").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        expected |= set(zip(instance, hour, strict=True))
    lines = [r for r in bill if r["ServiceName"] == "Elastic Cloud Server"]
    got = [(r["ResourceId"], r["ChargePeriodStart"]) for r in lines]
    assert len(got) == len(set(got))
    assert set(got) == expected
    # 14 static nodes (2 + 4 + 2 + 4 + 2 GPU nodes) for 48 hours plus the Friday's scaling node for 6.
    assert len(got) == 14 * 48 + 6


def test_bill_node_prices(bill):
    lines = [r for r in bill if r["ServiceName"] == "Elastic Cloud Server"]
    for r in lines:
        assert r["BilledCost"] == r["EffectiveCost"]
        assert Decimal(r["EffectiveCost"]) == Decimal(r["ContractedUnitPrice"]) * Decimal(
            r["PricingQuantity"]
        )
        assert Decimal(r["ConsumedQuantity"]) == 1
        start = datetime.strptime(r["ChargePeriodStart"], "%Y-%m-%dT%H:%M:%SZ")
        end = datetime.strptime(r["ChargePeriodEnd"], "%Y-%m-%dT%H:%M:%SZ")
        assert end - start == timedelta(hours=1)
        if r["SkuId"] == "c7.2xlarge.4":  # 8 cores x 0.04 + 32 GiB x 0.005, on demand
            assert Decimal(r["EffectiveCost"]) == Decimal("0.48")
            assert r["PricingCategory"] == "Standard"
        if r["SkuId"] == "p2s.4xlarge.8":  # 16 cores x 0.04 + 128 GiB x 0.005 + 2 GPUs x 1.92
            assert Decimal(r["EffectiveCost"]) == Decimal("5.12")
        if r["PricingCategory"] == "Dynamic":
            assert Decimal("0.30") <= Decimal(r["EffectiveCost"]) / Decimal(r["ListCost"]) <= Decimal("0.40")
    assert {r["PricingCategory"] for r in lines} == {"Standard", "Dynamic"}


def test_bill_overhead_lines_carry_the_cluster_tag(cluster, bill):
    tag = ("CCE-Cluster-ID", cluster.cluster_id)

    def tagged(r):
        return json.loads(r["Tags"]).get(tag[0]) == tag[1]

    control_plane = [r for r in bill if r["ServiceName"] == "Cloud Container Engine"]
    assert len(control_plane) == 48 and all(tagged(r) for r in control_plane)
    for service in ("Elastic Volume Service", "Elastic Load Balance", "Elastic IP"):
        lines = [r for r in bill if r["ServiceName"] == service]
        assert lines and all(tagged(r) for r in lines)
        for r in lines:
            start = datetime.strptime(r["ChargePeriodStart"], "%Y-%m-%dT%H:%M:%SZ")
            assert r["ChargePeriodEnd"] == (start + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    untagged = [r for r in bill if not tagged(r)]
    assert len(untagged) == 2  # one per day, a service outside the cluster
    assert {r["ServiceName"] for r in untagged} == {"Object Storage Service"}
    assert all(r["BillingCurrency"] == "EUR" and r["BillingAccountId"] == "demo-account" for r in bill)
    disks = {
        json.loads(r["Tags"]).get("department") for r in bill if r["ServiceName"] == "Elastic Volume Service"
    }
    assert "payments" in disks


def test_bill_is_deterministic_and_validates_dates(cluster, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_demo_focus_bill(
        cluster, date(2025, 3, 7), date(2025, 3, 8), a, cluster_tag=("kubernetes.io/cluster/x", "owned")
    )
    write_demo_focus_bill(DemoCluster(), date(2025, 3, 7), date(2025, 3, 8), b,
                          cluster_tag=("kubernetes.io/cluster/x", "owned"))  # fmt: skip
    assert a.read_bytes() == b.read_bytes()
    assert '""kubernetes.io/cluster/x"": ""owned""' in a.read_text()
    with pytest.raises(ValueError, match="after start"):
        write_demo_focus_bill(cluster, date(2025, 3, 8), date(2025, 3, 8), a)


def test_price_sheet_estimates_the_bill_closely(cluster, bill):
    sheet = demo_price_sheet()
    nodes, _ = cluster.frames(datetime(2025, 3, 7, tzinfo=UTC), datetime(2025, 3, 9, tzinfo=UTC), 3600)
    estimates: dict[bool, Decimal] = {False: Decimal(0), True: Decimal(0)}  # by "has GPUs"
    for itype, cores, mem, gpus in nodes[
        ["instance_type", "cpu_capacity_cores", "memory_capacity_bytes", "gpu_capacity_devices"]
    ].itertuples(index=False):
        prices = sheet["instance_types"][itype]
        estimates[gpus > 0] += (
            prices["cpu_core_hour"] * Decimal(cores)
            + prices["memory_gib_hour"] * Decimal(mem) / 2**30
            + prices["gpu_hour"] * Decimal(gpus)
        )
    lines = [r for r in bill if r["ServiceName"] == "Elastic Cloud Server"]
    billed = {
        g: sum(Decimal(r["EffectiveCost"]) for r in lines if (r["SkuId"] == "p2s.4xlarge.8") == g)
        for g in (False, True)
    }
    assert billed[True] == 2 * 48 * Decimal("5.12")  # the GPU pool: 2 nodes, 48 hours
    # Each part on its own, so that the GPU nodes' weight cannot hide an error on the others.
    for g in (False, True):
        assert abs(estimates[g] - billed[g]) / billed[g] < Decimal("0.05"), g
    assert abs(sum(estimates.values()) - sum(billed.values())) / sum(billed.values()) < Decimal("0.05")


# --- containers ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wednesday_containers(cluster) -> tuple[pd.DataFrame, pd.DataFrame]:
    _, pods, containers = cluster.frames(WEDNESDAY, WEDNESDAY + timedelta(days=1), containers=True)
    return pods, containers


def test_containers_add_up_to_their_pod(wednesday_containers):
    pods, containers = wednesday_containers
    keys = ["timestamp", "pod_uid"]
    sums = containers.groupby(keys)[["cpu_usage_cores", "memory_usage_bytes", "memory_request_bytes"]].sum()
    pod = pods.set_index(keys)[["cpu_usage_cores", "memory_usage_bytes", "memory_request_bytes"]].loc[
        sums.index
    ]
    assert sums.to_numpy() == pytest.approx(pod.to_numpy(), abs=1e-6)
    # Outside its first minute a pod's running containers ask what the pod asks.
    running = containers[~containers["init"]].groupby(keys)["cpu_request_cores"].sum()
    assert running.to_numpy() == pytest.approx(
        pods.set_index(keys)["cpu_request_cores"].loc[running.index].to_numpy()
    )


def test_mesh_pods_have_a_sidecar_with_the_apps_daily_cycle(wednesday_containers):
    _, containers = wednesday_containers
    proxy = containers[
        (containers["container"] == "istio-proxy") & (containers["namespace"] == "payments-api")
    ]
    assert set(containers.loc[containers["namespace"] == "kube-system", "container"]) >= {
        "coredns",
        "kube-proxy",
    }
    assert "istio-proxy" not in set(containers.loc[containers["namespace"] == "kube-system", "container"])
    hour = proxy["timestamp"].dt.hour
    day, night = (
        proxy.loc[hour.between(10, 15), "cpu_usage_cores"].mean(),
        proxy.loc[hour < 5, "cpu_usage_cores"].mean(),
    )
    assert day > 1.2 * night > 0
    assert (proxy["memory_usage_bytes"] < proxy["memory_limit_bytes"]).all()


def test_an_init_container_runs_alone_in_its_pods_first_minute_only(wednesday_containers):
    pods, containers = wednesday_containers
    init = containers[containers["init"]]
    # StatefulSets outside the mesh (init-permissions) roll out weekly, not on this Wednesday.
    assert "istio-init" in set(init["container"]) <= {"istio-init", "init-permissions"}
    # Every init row is its pod's only container at that instant, and the pod's first sample.
    per_sample = containers.groupby(["timestamp", "pod_uid"]).size()
    assert (per_sample.loc[list(zip(init["timestamp"], init["pod_uid"], strict=True))] == 1).all()
    first_seen = pods.groupby("pod_uid")["timestamp"].min()
    started_today = init[init["pod_uid"].map(first_seen) > pd.Timestamp(WEDNESDAY)]
    assert len(started_today) > 0
    assert (
        started_today["timestamp"].to_numpy() == started_today["pod_uid"].map(first_seen).to_numpy()
    ).all()


def test_a_snapshot_has_the_containers_of_the_frames(cluster):
    t = WEDNESDAY + timedelta(hours=12)
    snap = cluster.snapshot(t)
    _, _, containers = cluster.frames(t, t + timedelta(minutes=1), containers=True)
    from_snapshot = sorted(
        (p.uid, c.name, c.init, c.cpu_usage_cores, c.memory_limit_bytes)
        for p in snap.pods
        for c in p.containers
    )
    from_frames = sorted(
        zip(
            containers["pod_uid"],
            containers["container"],
            containers["init"],
            containers["cpu_usage_cores"],
            containers["memory_limit_bytes"],
            strict=True,
        )
    )
    assert from_snapshot == from_frames


# --- volumes -----------------------------------------------------------------------------------------


def test_volumes_are_the_bills_disks_and_statefulset_pods_mount_their_claims(cluster, bill):
    snap = cluster.snapshot(WEDNESDAY + timedelta(hours=12))
    volumes = {v.claim_name: v for v in snap.volumes}
    disks = {r["ResourceId"]: r for r in bill if r["ServiceName"] == "Elastic Volume Service"}
    # Every volume is an EVS disk of the bill (one line a day for two days), and every disk a volume.
    assert {v.disk_id for v in volumes.values()} == set(disks)
    assert len(disks) * 2 == len([r for r in bill if r["ServiceName"] == "Elastic Volume Service"])
    for v in volumes.values():
        line = disks[v.disk_id]
        assert v.driver == "disk.csi.everest.io" and line["ResourceName"] == v.name
        assert Decimal(line["ConsumedQuantity"]) == Decimal(v.capacity_bytes // 2**30 * 24)  # GB-hours a day
    assert volumes["data-kafka-0"].capacity_bytes == 500 * 2**30
    # Bound claims; one claim nobody mounts; one PV whose claim is gone (Released).
    claims = {(c.namespace, c.name): c for c in snap.claims}
    assert volumes["data-elasticsearch-0"].phase == "Released"
    assert ("search-indexer", "data-elasticsearch-0") not in claims
    assert all(c.phase == "Bound" and c.volume == volumes[c.name].name for c in claims.values())
    mounted = {(p.namespace, claim) for p in snap.pods for claim in p.claims}
    assert set(claims) - mounted == {("sandbox", "scratch-data")}
    for p in snap.pods:
        assert p.claims == ((f"data-{p.name}",) if p.owner_kind == "StatefulSet" else ())


def test_the_ingress_load_balancer_is_the_bills_elb_and_selects_the_controller_pods(cluster, bill):
    snap = cluster.snapshot(WEDNESDAY + timedelta(hours=12))
    (lb,) = snap.load_balancers
    (elb,) = {r["ResourceId"] for r in bill if r["ServiceName"] == "Elastic Load Balance"}
    line = next(r for r in bill if r["ResourceId"] == elb)
    assert (lb.namespace, lb.name, lb.cloud_id) == ("ingress-nginx", "ingress-nginx-controller", elb)
    assert json.loads(line["Tags"])[SERVICE_NAME_TAG] == f"{lb.namespace}/{lb.name}"
    assert set(resource_keys(elb)) <= set(lb.ids)
    selected = [p for p in snap.pods if all(p.labels.get(k) == v for k, v in lb.selector.items())]
    assert selected and {(p.namespace, p.owner_name) for p in selected} == {
        ("ingress-nginx", "ingress-nginx-controller")
    }
    frame = cluster.load_balancer_frame(WEDNESDAY, WEDNESDAY + timedelta(minutes=3), 60)
    assert len(frame) == 3 and set(frame["service"]) == {"ingress-nginx-controller"}
