"""The recorder against hand-computed quantities: max per sample, GiB-hours, no metrics, straddles, gaps, replays."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from django.db import connection

from costing.choices import ConnectionType, SampleSource, SampleStatus
from costing.models import (
    Cluster,
    ClusterDay,
    ContainerHour,
    CoverageHour,
    LoadBalancerHour,
    Namespace,
    Node,
    NodeHour,
    Pod,
    PodHour,
    SampleSlot,
    Workload,
)
from costing.recording import (
    RecordingError,
    coverage,
    coverage_hours,
    floor_slot,
    prune_usage,
    record_gap,
    record_samples,
)

GIB = 2**30
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SIM = SampleSource.SIMULATOR


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def node_rows(times, name="n1", cpu=4.0, mem=8 * GIB, pool="pool-a", labels=None):
    return pd.DataFrame(
        {
            "timestamp": list(times),
            "node": name,
            "node_pool": pool,
            "provider_id": f"aws:///eu-west-1a/i-{name}",
            "instance_type": "m5.xlarge",
            "cpu_capacity_cores": cpu,
            "memory_capacity_bytes": mem,
            "labels": [labels or {"zone": "a"} for _ in times],
        }
    )


def pod_rows(times, cpu_use, mem_use, *, cpu_req=0.5, mem_req=1 * GIB, name="web-1", node="n1", metrics=None):
    n = len(times)
    return pd.DataFrame(
        {
            "timestamp": list(times),
            "namespace": "shop",
            "pod": name,
            "pod_uid": f"uid-{name}",
            "node": node,
            "owner_kind": "Deployment",
            "owner_name": "web",
            "cpu_request_cores": cpu_req,
            "cpu_usage_cores": list(cpu_use),
            "memory_request_bytes": mem_req,
            "memory_usage_bytes": list(mem_use),
            "labels": [{"app": "web"} for _ in range(n)],
            "has_metrics": metrics if metrics is not None else [True] * n,
        }
    )


@pytest.fixture
def cluster(db):
    return Cluster.objects.create(name="c1", connection_type=ConnectionType.SIMULATOR)


def only_pod_hour(**filters) -> PodHour:
    (row,) = PodHour.objects.filter(**filters)
    return row


def test_billable_is_the_maximum_per_sample_then_summed(cluster):
    times = [at(0), at(1), at(2)]
    result = record_samples(
        cluster,
        node_rows(times),
        pod_rows(times, [0.2, 0.7, 0.5], [0.5 * GIB, 2 * GIB, 1 * GIB]),
        pd.DataFrame({"namespace": ["shop"], "labels": [{"department": "retail"}]}),
        interval=60,
        source=SIM,
    )
    assert (result.slots, result.duplicate_slots, result.pod_samples) == (3, 0, 3)
    row = only_pod_hour()
    assert row.hour == T0
    assert row.samples == 3 and row.samples_without_metrics == 0
    assert row.cpu_request_core_hours == pytest.approx(3 * 0.5 / 60)
    assert row.cpu_usage_core_hours == pytest.approx((0.2 + 0.7 + 0.5) / 60)
    # max(usage, request) per sample: 0.5, 0.7, 0.5 -- not max(1.4, 1.5) / 60 of the sums
    assert row.cpu_billable_core_hours == pytest.approx((0.5 + 0.7 + 0.5) / 60)
    assert row.mem_request_gib_hours == pytest.approx(3 * 1 / 60)
    assert row.mem_usage_gib_hours == pytest.approx((0.5 + 2 + 1) / 60)
    assert row.mem_billable_gib_hours == pytest.approx((1 + 2 + 1) / 60)
    node_hour = NodeHour.objects.get()
    assert node_hour.samples == 3
    assert node_hour.cpu_capacity_core_hours == pytest.approx(4 * 3 / 60)
    assert node_hour.mem_capacity_gib_hours == pytest.approx(8 * 3 / 60)
    assert CoverageHour.objects.get().sampled_seconds == 180
    assert SampleSlot.objects.filter(status=SampleStatus.OK, source=SIM, interval=60).count() == 3
    assert set(SampleSlot.objects.values_list("pods", "nodes")) == {(1, 1)}
    assert ClusterDay.objects.get(cluster=cluster, day=date(2026, 3, 2)).dirty


def test_inventory_rows_from_the_samples(cluster):
    times = [at(0), at(1)]
    record_samples(
        cluster,
        node_rows(times),
        pod_rows(times, [0.1, 0.1], [GIB, GIB]),
        pd.DataFrame({"namespace": ["shop", "empty"], "labels": [{"department": "retail"}, {}]}),
        interval=60,
        source=SIM,
    )
    node = Node.objects.get()
    assert (node.name, node.node_pool.name, node.instance_id, node.instance_type) == (
        "n1",
        "pool-a",
        "i-n1",
        "m5.xlarge",
    )
    assert node.cpu_capacity_cores == 4.0 and node.memory_capacity_bytes == 8 * GIB
    assert (node.first_seen, node.last_seen) == (at(0), at(1))
    assert node.labels == {"zone": "a"}
    assert dict(Namespace.objects.values_list("name", "labels")) == {
        "shop": {"department": "retail"},
        "empty": {},
    }
    pod = Pod.objects.get()
    assert (pod.uid, pod.name, pod.node, pod.namespace.name) == ("uid-web-1", "web-1", node, "shop")
    assert (pod.workload.kind, pod.workload.name) == ("Deployment", "web")
    assert (pod.first_seen, pod.last_seen, pod.labels) == (at(0), at(1), {"app": "web"})


def test_attributes_come_from_the_latest_sample_whatever_the_order_of_recording(cluster):
    later, earlier = [at(30)], [at(0)]
    record_samples(
        cluster,
        node_rows(later, cpu=8.0, labels={"v": "new"}),
        pod_rows(later, [1], [1]),
        interval=60,
        source=SIM,
    )
    record_samples(
        cluster,
        node_rows(earlier, cpu=4.0, labels={"v": "old"}),
        pod_rows(earlier, [1], [1]),
        interval=60,
        source=SIM,
    )
    node = Node.objects.get()
    assert (node.cpu_capacity_cores, node.labels) == (8.0, {"v": "new"})
    assert (node.first_seen, node.last_seen) == (at(0), at(30))
    pod = Pod.objects.get()
    assert (pod.first_seen, pod.last_seen) == (at(0), at(30))
    # both samples are in the node-hour, each with its own capacity
    assert NodeHour.objects.get().cpu_capacity_core_hours == pytest.approx((8 + 4) / 60)


def test_a_pod_without_metrics_is_charged_its_request(cluster):
    times = [at(0), at(1)]
    pods = pod_rows(times, [0.9, 0.2], [3 * GIB, 0.5 * GIB], metrics=[False, True])
    result = record_samples(cluster, node_rows(times), pods, interval=60, source=SIM)
    row = only_pod_hour()
    assert (row.samples, row.samples_without_metrics) == (2, 1)
    # the first sample counts usage 0 (whatever the frame said) and bills the request
    assert row.cpu_usage_core_hours == pytest.approx(0.2 / 60)
    assert row.cpu_billable_core_hours == pytest.approx((0.5 + 0.5) / 60)
    assert row.mem_usage_gib_hours == pytest.approx(0.5 / 60)
    assert row.mem_billable_gib_hours == pytest.approx((1 + 1) / 60)
    assert result.pod_samples == 2
    assert SampleSlot.objects.get(slot=at(0)).pods_without_metrics == 1
    assert SampleSlot.objects.get(slot=at(1)).pods_without_metrics == 0


def test_a_pod_without_request_pays_its_usage(cluster):
    times = [at(0)]
    record_samples(
        cluster,
        node_rows(times),
        pod_rows(times, [0.3], [GIB], cpu_req=0.0, mem_req=0),
        interval=60,
        source=SIM,
    )
    row = only_pod_hour()
    assert row.cpu_billable_core_hours == pytest.approx(0.3 / 60)
    assert row.mem_billable_gib_hours == pytest.approx(1 / 60)


def test_a_slot_that_straddles_an_hour_splits_by_overlap(cluster):
    t = T0 + timedelta(minutes=59, seconds=30)
    record_samples(
        cluster, node_rows([t]), pod_rows([t], [2.0], [4 * GIB], cpu_req=1.0), interval=60, source=SIM
    )
    hours = {r.hour: r for r in PodHour.objects.all()}
    assert set(hours) == {T0, T0 + timedelta(hours=1)}
    for row in hours.values():
        assert row.samples == 1
        assert row.cpu_request_core_hours == pytest.approx(1.0 * 30 / 3600)
        assert row.cpu_billable_core_hours == pytest.approx(2.0 * 30 / 3600)
        assert row.mem_billable_gib_hours == pytest.approx(4 * 30 / 3600)
    assert sorted(NodeHour.objects.values_list("cpu_capacity_core_hours", flat=True)) == pytest.approx(
        [4 * 30 / 3600] * 2
    )
    assert dict(CoverageHour.objects.values_list("hour", "sampled_seconds")) == {
        T0: 30,
        T0 + timedelta(hours=1): 30,
    }
    assert SampleSlot.objects.get().slot == t


def test_a_sample_that_straddles_midnight_marks_both_days(cluster):
    t = datetime(2026, 3, 2, 23, 59, 30, tzinfo=UTC)
    result = record_samples(cluster, node_rows([t]), pod_rows([t], [1], [1]), interval=60, source=SIM)
    assert result.days == {date(2026, 3, 2), date(2026, 3, 3)}
    assert set(ClusterDay.objects.filter(dirty=True).values_list("day", flat=True)) == result.days


def test_a_gap_is_recorded_with_its_reason_and_never_as_zeros(cluster):
    assert record_gap(cluster, at(5), interval=60, source=SampleSource.COLLECTOR, reason="connection refused")
    assert not record_gap(cluster, at(5), interval=60, source=SampleSource.COLLECTOR, reason="again")
    slot = SampleSlot.objects.get()
    assert (slot.status, slot.reason, slot.pods) == (SampleStatus.GAP, "connection refused", 0)
    cov = CoverageHour.objects.get()
    assert (cov.sampled_seconds, cov.gap_seconds) == (0, 60)
    assert not PodHour.objects.exists() and not NodeHour.objects.exists()
    assert ClusterDay.objects.get(day=T0.date()).dirty
    # the sampled slot beside it adds to the same coverage row
    record_samples(cluster, node_rows([at(6)]), pod_rows([at(6)], [1], [1]), interval=60, source=SIM)
    cov.refresh_from_db()
    assert (cov.sampled_seconds, cov.gap_seconds) == (60, 60)


def test_recording_the_same_slots_again_adds_nothing(cluster):
    first = [at(0), at(1), at(2)]
    record_samples(
        cluster, node_rows(first), pod_rows(first, [0.2, 0.7, 0.5], [GIB] * 3), interval=60, source=SIM
    )
    again = record_samples(
        cluster, node_rows(first), pod_rows(first, [0.2, 0.7, 0.5], [GIB] * 3), interval=60, source=SIM
    )
    assert (again.slots, again.duplicate_slots) == (0, 3)
    # overlapping batch: slots 1 and 2 are known, only slot 3 is new
    overlap = [at(1), at(2), at(3)]
    result = record_samples(
        cluster, node_rows(overlap), pod_rows(overlap, [0.7, 0.5, 0.9], [GIB] * 3), interval=60, source=SIM
    )
    assert (result.slots, result.duplicate_slots) == (1, 2)
    row = only_pod_hour()
    assert row.samples == 4
    assert row.cpu_billable_core_hours == pytest.approx((0.5 + 0.7 + 0.5 + 0.9) / 60)
    assert NodeHour.objects.get().samples == 4
    assert CoverageHour.objects.get().sampled_seconds == 240
    assert SampleSlot.objects.count() == 4


def test_replace_makes_the_new_samples_the_whole_truth_of_the_hours_they_touch(cluster):
    other_hour = [T0 + timedelta(hours=2)]
    times = [at(0), at(1), at(2)]
    record_samples(
        cluster, node_rows(times), pod_rows(times, [0.2, 0.7, 0.5], [GIB] * 3), interval=60, source=SIM
    )
    record_samples(cluster, node_rows(other_hour), pod_rows(other_hour, [1], [GIB]), interval=60, source=SIM)
    # the re-import has one sample in hour 10 only: hour 10 now holds just that, hour 12 is untouched
    record_samples(
        cluster,
        node_rows([at(10)]),
        pod_rows([at(10)], [2.0], [GIB]),
        interval=60,
        source=SampleSource.IMPORT,
        replace=True,
    )
    row = only_pod_hour(hour=T0)
    assert row.samples == 1
    assert row.cpu_billable_core_hours == pytest.approx(2.0 / 60)
    assert CoverageHour.objects.get(hour=T0).sampled_seconds == 60
    assert list(
        SampleSlot.objects.filter(slot__lt=T0 + timedelta(hours=1)).values_list("slot", "source")
    ) == [(at(10), SampleSource.IMPORT)]
    assert only_pod_hour(hour=other_hour[0]).samples == 1


def test_replace_takes_the_hour_a_straddling_slot_spills_into(cluster):
    t = T0 + timedelta(minutes=59, seconds=30)
    record_samples(cluster, node_rows([t]), pod_rows([t], [1], [1]), interval=60, source=SIM)
    # re-importing hour 10 deletes the straddling slot, so its half in hour 11 must go too
    record_samples(
        cluster,
        node_rows([at(0)]),
        pod_rows([at(0)], [1], [1]),
        interval=60,
        source=SampleSource.IMPORT,
        replace=True,
    )
    assert list(PodHour.objects.values_list("hour", flat=True)) == [T0]
    assert list(CoverageHour.objects.values_list("hour", "sampled_seconds")) == [(T0, 60)]


def test_strict_recording_refuses_a_pod_on_a_node_not_sampled_then(cluster):
    with pytest.raises(RecordingError, match="not sampled"):
        record_samples(cluster, node_rows([at(0)]), pod_rows([at(1)], [1], [1]), interval=60, source=SIM)
    assert not SampleSlot.objects.exists()


@pytest.mark.parametrize(
    ("nodes", "pods", "namespaces", "message"),
    [
        ("n 1", {}, None, "nodes frame: node name 'n 1' is not one Kubernetes accepts"),
        ("n1", {"namespace": "team/a b"}, None, "pods frame: namespace name 'team/a b' is not one"),
        ("n1", {"pod": "-x"}, None, "pods frame: pod name '-x' is not one"),
        ("n1", {"owner_kind": "Job", "owner_name": "j" * 64}, None, "pods frame: Job name 'jjj"),
        ("n1", {}, ["shop", "x" * 64], "namespaces frame: namespace name 'xxx"),
    ],
)
def test_a_name_kubernetes_refuses_is_never_stored(cluster, nodes, pods, namespaces, message):
    frame = pod_rows([at(0)], [1], [1], node=nodes).assign(**pods)
    labels = None if namespaces is None else pd.DataFrame({"namespace": namespaces})
    with pytest.raises(RecordingError, match=re.escape(message)):
        record_samples(cluster, node_rows([at(0)], name=nodes), frame, labels, interval=60, source=SIM)
    assert not SampleSlot.objects.exists() and not Namespace.objects.exists() and not Node.objects.exists()


def test_lenient_recording_keeps_a_pod_whose_node_vanished(cluster):
    pods = pd.concat([pod_rows([at(0)], [1], [1]), pod_rows([at(0)], [1], [1], name="lost-1", node="gone")])
    record_samples(cluster, node_rows([at(0)]), pods, interval=60, source=SIM, strict=False)
    gone = Node.objects.get(name="gone")
    assert (gone.cpu_capacity_cores, gone.node_pool.name) == (0, "default")
    assert PodHour.objects.get(pod__name="lost-1").node == gone
    assert not NodeHour.objects.filter(node=gone).exists()


def test_any_owner_kind_and_bare_pods(cluster):
    pods = pod_rows([at(0)], [1], [1])
    pods["owner_kind"] = "SparkApplication"
    bare = pod_rows([at(0)], [1], [1], name="debug")
    bare["owner_kind"] = ""
    bare["owner_name"] = ""
    record_samples(cluster, node_rows([at(0)]), pd.concat([pods, bare]), interval=60, source=SIM)
    assert set(Workload.objects.values_list("kind", "name")) == {
        ("SparkApplication", "web"),
        ("Pod", "debug"),
    }


def test_coverage_is_sampled_over_expected_seconds(cluster):
    for minute in range(30):
        record_samples(
            cluster, node_rows([at(minute)]), pod_rows([at(minute)], [1], [1]), interval=60, source=SIM
        )
    record_gap(cluster, at(30), interval=60, source=SampleSource.COLLECTOR, reason="timeout")
    hour = timedelta(hours=1)
    assert coverage(cluster, T0, T0 + hour, now=T0 + 5 * hour) == pytest.approx(0.5)
    assert coverage(cluster, T0, T0 + 2 * hour, now=T0 + 5 * hour) == pytest.approx(0.25)
    # the hour still running counts only up to now
    assert coverage(cluster, T0, T0 + hour, now=at(40)) == pytest.approx(30 * 60 / (40 * 60))
    assert coverage(cluster, T0 + 2 * hour, T0 + 3 * hour, now=T0) is None
    frame = coverage_hours(cluster, T0, T0 + 2 * hour)
    assert frame["sampled_seconds"].tolist() == [1800, 0]
    assert frame["gap_seconds"].tolist() == [60, 0]
    assert frame["coverage"].tolist() == pytest.approx([0.5, 0.0])


def test_floor_slot_maps_late_runs_to_the_same_slot():
    assert floor_slot(T0 + timedelta(seconds=59.9), 60) == T0
    assert floor_slot(T0 + timedelta(seconds=60), 60) == T0 + timedelta(minutes=1)
    assert floor_slot(T0 + timedelta(minutes=7), 300) == T0 + timedelta(minutes=5)


def test_prune_removes_old_slots_and_hours_but_not_days_waiting_for_a_recompute(cluster):
    old, recent = T0 - timedelta(days=100), T0 - timedelta(days=1)
    for t in (old, recent):
        load_balancer = pd.DataFrame(
            [{"timestamp": t, "namespace": "shop", "service": "web", "ip": "10.0.0.9"}]
        )
        record_samples(
            cluster,
            node_rows([t]),
            pod_rows([t], [1], [1]),
            interval=60,
            source=SIM,
            load_balancers=load_balancer,
        )
    ClusterDay.objects.update(dirty=True)
    kept = prune_usage(now=T0, retention_days=90)
    assert kept == {
        "slots": 0,
        "pod_hours": 0,
        "container_hours": 0,
        "container_days": 0,
        "node_hours": 0,
        "volume_hours": 0,
        "load_balancer_hours": 0,
        "coverage_hours": 0,
    }
    ClusterDay.objects.update(dirty=False)
    deleted = prune_usage(now=T0, retention_days=90)
    assert deleted == {
        "slots": 1,
        "pod_hours": 1,
        "container_hours": 1,
        "container_days": 0,
        "node_hours": 1,
        "volume_hours": 0,
        "load_balancer_hours": 1,
        "coverage_hours": 1,
    }
    assert list(SampleSlot.objects.values_list("slot", flat=True)) == [recent]
    assert list(PodHour.objects.values_list("hour", flat=True)) == [recent.replace(minute=0)]
    assert list(LoadBalancerHour.objects.values_list("hour", flat=True)) == [recent.replace(minute=0)]


@pytest.mark.django_db(transaction=True)
def test_two_threads_recording_the_same_slot_count_it_once():
    cluster = Cluster.objects.create(name="race", connection_type=ConnectionType.SIMULATOR)
    times = [at(0), at(1)]
    nodes, pods = node_rows(times), pod_rows(times, [0.2, 0.7], [GIB, GIB])
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=5)
            results.append(record_samples(cluster.pk, nodes, pods, interval=60, source=SIM))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert sorted(r.slots for r in results) == [0, 2]
    row = only_pod_hour()
    assert row.samples == 2
    assert row.cpu_billable_core_hours == pytest.approx((0.5 + 0.7) / 60)
    assert CoverageHour.objects.get().sampled_seconds == 120


@pytest.mark.django_db(transaction=True)
def test_two_threads_recording_different_slots_both_count():
    cluster = Cluster.objects.create(name="race2", connection_type=ConnectionType.SIMULATOR)
    batches = [[at(0), at(1)], [at(2), at(3)]]
    barrier = threading.Barrier(2)
    errors = []

    def run(times):
        try:
            barrier.wait(timeout=5)
            record_samples(
                cluster.pk, node_rows(times), pod_rows(times, [0.2, 0.7], [GIB, GIB]), interval=60, source=SIM
            )
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(times,)) for times in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    row = only_pod_hour()
    assert row.samples == 4
    assert row.cpu_billable_core_hours == pytest.approx(2 * (0.5 + 0.7) / 60)
    assert Pod.objects.get().last_seen == at(3)
    assert CoverageHour.objects.get().sampled_seconds == 240


def test_an_empty_cluster_is_sampled_not_a_gap(cluster):
    from costing.collectors.snapshot import Snapshot
    from costing.recording import record_snapshot

    empty = Snapshot(taken_at=at(0), nodes=[], pods=[], namespaces=[])
    assert record_snapshot(cluster, empty, slot=at(0), interval=60, source=SampleSource.COLLECTOR).slots == 1
    assert record_snapshot(cluster, empty, slot=at(0), interval=60, source=SampleSource.COLLECTOR).slots == 0
    slot = SampleSlot.objects.get()
    assert (slot.status, slot.pods) == (SampleStatus.OK, 0)
    assert CoverageHour.objects.get().sampled_seconds == 60


def test_nodes_without_pods_then_a_pod_sampled_without_containers(cluster):
    from costing.collectors.snapshot import NodeSample, PodSample, Snapshot
    from costing.recording import record_snapshot

    node = NodeSample("n1", "pool-a", "", 4.0, 8 * GIB)
    quiet = Snapshot(taken_at=at(0), nodes=[node], pods=[], namespaces=[])
    assert record_snapshot(cluster, quiet, slot=at(0), interval=60, source=SampleSource.COLLECTOR).slots == 1
    pod = PodSample("shop", "web-1", "uid-1", "n1", "Deployment", "web", 0.5, 0.25, GIB, GIB / 2)
    busy = Snapshot(taken_at=at(1), nodes=[node], pods=[pod], namespaces=[])
    record_snapshot(cluster, busy, slot=at(1), interval=60, source=SampleSource.COLLECTOR)
    row = ContainerHour.objects.get()
    assert (row.container, row.samples, row.cpu_usage_core_hours) == ("main", 1, pytest.approx(0.25 / 60))


# --- containers -------------------------------------------------------------------------------------

MIB = 2**20


def container_rows(times, rows):
    """One row per (time, container): rows are (container, init, cpu_req, cpu_use, mem_req, mem_use, mem_limit)."""
    out = []
    for t in times:
        for name, init, cpu_req, cpu_use, mem_req, mem_use, mem_limit in rows(t):
            out.append(
                {
                    "timestamp": t, "namespace": "shop", "pod": "web-1", "pod_uid": "uid-web-1", "node": "n1",
                    "owner_kind": "Deployment", "owner_name": "web", "container": name, "init": init,
                    "cpu_request_cores": cpu_req, "cpu_usage_cores": cpu_use, "cpu_limit_cores": 0.0,
                    "memory_request_bytes": mem_req, "memory_usage_bytes": mem_use,
                    "memory_limit_bytes": mem_limit, "labels": {},
                }
            )  # fmt: skip
    return pd.DataFrame(out)


def test_a_pod_without_containers_is_one_main_container_with_its_histograms(cluster):
    times = [at(0), at(1)]
    record_samples(
        cluster,
        node_rows(times),
        pod_rows(times, [0.25, 0.30], [100 * MIB, 120 * MIB]),
        interval=60,
        source=SIM,
    )
    (row,) = ContainerHour.objects.all()
    assert (row.container, row.init, row.samples, row.seconds) == ("main", False, 2, 120)
    assert row.cpu_usage_core_hours == pytest.approx((0.25 + 0.30) / 60)
    assert row.cpu_billable_core_hours == pytest.approx((0.5 + 0.5) / 60)
    assert row.mem_request_gib_hours == pytest.approx(2 / 60)
    assert (row.cpu_usage_max_cores, row.mem_usage_max_bytes) == (0.30, 120 * MIB)
    # 0.25 cores is in [0.2366, 0.2584) = bucket 16, 0.30 in [0.2813, 0.3054) = bucket 18;
    # 100 MiB in [94.3e6, 109.0e6) = bucket 8, 120 MiB in [125.78e6, 142.07e6) = bucket 10.
    assert row.cpu_histogram == {"16": 60, "18": 60}
    assert row.mem_histogram == {"8": 60, "10": 60}


def test_slots_of_one_hour_recorded_apart_merge_their_histograms_and_peaks(cluster):
    for minute, cpu in ((0, 0.25), (1, 0.30), (2, 0.25)):
        t = [at(minute)]
        record_samples(cluster, node_rows(t), pod_rows(t, [cpu], [100 * MIB]), interval=60, source=SIM)
    record_samples(
        cluster, node_rows([at(1)]), pod_rows([at(1)], [0.9], [900 * MIB]), interval=60, source=SIM
    )
    (row,) = ContainerHour.objects.all()
    assert row.samples == 3  # the replayed slot added nothing
    assert row.cpu_histogram == {"16": 120, "18": 60}
    assert row.mem_histogram == {"8": 180}
    assert row.cpu_usage_max_cores == 0.30


def test_container_rows_give_their_pod_and_one_container_hour_each(cluster):
    times = [at(0), at(1)]

    def rows(t):
        if t == at(0):  # the init container runs alone first, asking more than the others together
            return [("init-db", True, 1.0, 0.8, 64 * MIB, 50 * MIB, 0.0)]
        return [
            ("app", False, 0.5, 0.4, 256 * MIB, 200 * MIB, 512 * MIB),
            ("proxy", False, 0.1, 0.05, 64 * MIB, 40 * MIB, 0.0),
        ]

    result = record_samples(cluster, node_rows(times), container_rows(times, rows), interval=60, source=SIM)
    assert result.container_hours == 3
    pod = only_pod_hour()
    # Pod request per sample: max(sum of the others, largest init container) = 1.0, then max(0.6, 0) = 0.6.
    assert pod.cpu_request_core_hours == pytest.approx((1.0 + 0.6) / 60)
    assert pod.cpu_usage_core_hours == pytest.approx((0.8 + 0.45) / 60)
    assert pod.mem_request_gib_hours == pytest.approx((64 + 320) / 1024 / 60)
    hours = {c.container: c for c in ContainerHour.objects.all()}
    assert hours["init-db"].init and not hours["app"].init
    assert hours["app"].mem_limit_gib_hours == pytest.approx(0.5 / 60)
    assert hours["proxy"].cpu_billable_core_hours == pytest.approx(0.1 / 60)
    assert hours["app"].samples == hours["init-db"].samples == 1


def test_a_container_of_a_pod_not_in_the_pods_frame_is_refused(cluster):
    from costing.recording import CONTAINER_COLUMNS

    times = [at(0)]
    containers = pd.DataFrame(
        [[at(0), "shop", "ghost", "", "app", False, 0.1, 0.0, 0.1, 1.0, 0.0, 1.0, True]],
        columns=CONTAINER_COLUMNS,
    )
    with pytest.raises(RecordingError, match="pod shop/ghost has no pod row"):
        record_samples(
            cluster,
            node_rows(times),
            pod_rows(times, [0.1], [1.0]),
            interval=60,
            source=SIM,
            containers=containers,
        )
    assert not ContainerHour.objects.exists()


def test_replace_and_prune_take_container_hours_too(cluster):
    times = [at(0)]
    record_samples(cluster, node_rows(times), pod_rows(times, [0.25], [100 * MIB]), interval=60, source=SIM)
    record_samples(
        cluster, node_rows(times), pod_rows(times, [0.30], [100 * MIB]), interval=60, source=SIM, replace=True
    )
    (row,) = ContainerHour.objects.all()
    assert row.cpu_histogram == {"18": 60}
    ClusterDay.objects.update(dirty=False)
    prune_usage(now=T0 + timedelta(days=400), retention_days=30)
    assert not ContainerHour.objects.exists()


def test_many_containers_recorded_in_two_slots_merge_row_by_row(cluster):
    # 600 pods: enough for the bulk path PostgreSQL takes for many rows (COPY into a staging table).
    names = [f"web-{i}" for i in range(600)]
    for minute, cpu in ((0, 0.25), (1, 0.30)):
        pods = pd.concat([pod_rows([at(minute)], [cpu], [100 * MIB], name=name) for name in names])
        record_samples(cluster, node_rows([at(minute)]), pods, interval=60, source=SIM)
    rows = ContainerHour.objects.all()
    assert len(rows) == 600
    assert {(r.samples, r.cpu_usage_max_cores) for r in rows} == {(2, 0.30)}
    assert all(r.cpu_histogram == {"16": 60, "18": 60} and r.mem_histogram == {"8": 120} for r in rows)
