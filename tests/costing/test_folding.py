"""The live path's staged minutes: folded into the same hours as the direct path, exactly once, and only when
the hour closes or someone reads it. Figures are compared with hand-computed values and with the direct
path (record_snapshot without staging) recording the very same minutes into another cluster."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from django.db import connection

from costing import bulk_write, folding
from costing.choices import ConnectionType, SampleSource
from costing.compute import compute_cluster_day
from costing.demo.simulator import DemoCluster
from costing.folding import fold_closed_hours, fold_for_read, fold_minutes, has_staged
from costing.models import (
    Cluster,
    ClusterDay,
    ContainerHour,
    ContainerMinute,
    CoverageHour,
    LoadBalancerHour,
    NodeHour,
    NodeMinute,
    Pod,
    PodCostDay,
    PodHour,
    PodMinute,
    VolumeHour,
    VolumeMountHour,
)
from costing.recording import prune_usage, record_samples, record_snapshot, replace_hours
from costing.tasks.sampling import fold_minutes_task

GIB = 2**30
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SIM = SampleSource.SIMULATOR


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def nodes(times, cpu=4.0, mem=8 * GIB):
    return pd.DataFrame(
        {"timestamp": list(times), "node": "n1", "node_pool": "pool-a", "cpu_capacity_cores": cpu,
         "memory_capacity_bytes": mem, "labels": [{"zone": "a"} for _ in times]}
    )  # fmt: skip


def pods(
    times, cpu_use, *, name="web-1", cpu_req=0.5, mem_use=None, mem_req=1 * GIB, labels=None, metrics=None
):
    n = len(times)
    return pd.DataFrame(
        {"timestamp": list(times), "namespace": "shop", "pod": name, "pod_uid": f"uid-{name}", "node": "n1",
         "owner_kind": "Deployment", "owner_name": "web", "cpu_request_cores": cpu_req,
         "cpu_usage_cores": list(cpu_use), "memory_request_bytes": mem_req,
         "memory_usage_bytes": list(mem_use if mem_use is not None else [0.5 * GIB] * n),
         "labels": [labels or {"app": "web"} for _ in range(n)],
         "has_metrics": metrics if metrics is not None else [True] * n}
    )  # fmt: skip


@pytest.fixture
def cluster(db):
    return Cluster.objects.create(name="c1", connection_type=ConnectionType.KUBECONFIG)


def staged(cluster, times, **pod_kwargs):
    """Record each time as its own minute through the staged path, as the live task does."""
    for t in times:
        record_samples(cluster, nodes([t]), pods([t], **pod_kwargs), interval=60, source=SIM, staged=True)


def test_a_pod_of_two_minutes_is_charged_by_hand(cluster):
    staged(cluster, [at(0)], cpu_use=[0.2], name="job-1")
    staged(cluster, [at(1)], cpu_use=[0.8], name="job-1")
    # Nothing is rewritten in the hour tables by the minutes: they are staged.
    assert (
        not PodHour.objects.exists() and not ContainerHour.objects.exists() and not NodeHour.objects.exists()
    )
    assert PodMinute.objects.count() == 2 and ContainerMinute.objects.count() == 2
    assert NodeMinute.objects.count() == 2
    folded = fold_minutes([cluster.pk])
    assert folded["pod_minutes"] == 2 and folded["pod_hours"] == 1
    assert not has_staged()
    ph = PodHour.objects.get()
    assert ph.samples == 2
    assert ph.cpu_request_core_hours == pytest.approx(2 * 0.5 / 60)
    assert ph.cpu_usage_core_hours == pytest.approx((0.2 + 0.8) / 60)
    assert ph.cpu_billable_core_hours == pytest.approx((0.5 + 0.8) / 60)  # max per sample, then summed
    assert ph.mem_billable_gib_hours == pytest.approx(2 * 1 / 60)
    nh = NodeHour.objects.get()
    assert (nh.samples, nh.cpu_capacity_core_hours, nh.mem_capacity_gib_hours) == (
        2, pytest.approx(8 / 60), pytest.approx(16 / 60),
    )  # fmt: skip
    ch = ContainerHour.objects.get()
    assert (ch.container, ch.samples, ch.seconds) == ("main", 2, 120)
    assert ch.cpu_usage_max_cores == pytest.approx(0.8)
    assert sum(ch.cpu_histogram.values()) == 120 and sum(ch.mem_histogram.values()) == 120
    pod = Pod.objects.get()
    assert (pod.first_seen, pod.last_seen) == (at(0), at(1))  # last_seen follows at the fold


def test_a_slot_that_straddles_the_hour_and_a_sample_without_metrics(cluster):
    t = T0 + timedelta(minutes=59, seconds=30)
    record_samples(
        cluster, nodes([t]), pods([t], cpu_use=[2.0], metrics=[False]), interval=60, source=SIM, staged=True
    )
    fold_minutes()
    hours = {h.hour: h for h in PodHour.objects.all()}
    assert sorted(hours) == [T0, T0 + timedelta(hours=1)]
    for h in hours.values():  # 30 s each; no metrics: charged its request, usage 0
        assert h.samples == 1 and h.samples_without_metrics == 1
        assert h.cpu_billable_core_hours == pytest.approx(0.5 * 30 / 3600)
        assert h.cpu_usage_core_hours == 0
    ch = ContainerHour.objects.filter(hour=T0).get()
    assert ch.samples_without_metrics == 1 and ch.cpu_histogram == {} and ch.seconds == 30


def test_folds_add_up_whatever_their_timing_and_closed_hours_fold_alone(cluster):
    staged(cluster, [at(0), at(1)], cpu_use=[1.0])
    fold_minutes([cluster.pk])  # an open hour read mid-way (a compute of today)
    staged(cluster, [at(2), at(61)], cpu_use=[1.0])  # one more minute of 10:00, one of 11:00
    # At 11:30 only 10:00 has closed: 11:00 stays staged.
    fold_closed_hours(now=at(90))
    assert PodHour.objects.get(hour=T0).samples == 3
    assert not PodHour.objects.filter(hour=at(60)).exists()
    assert PodMinute.objects.get().hour == at(60)
    fold_closed_hours(now=at(121))
    assert PodHour.objects.get(hour=at(60)).samples == 1
    assert PodHour.objects.get(hour=T0).cpu_billable_core_hours == pytest.approx(3 / 60)
    ch = ContainerHour.objects.get(hour=T0)
    assert ch.samples == 3 and sum(ch.cpu_histogram.values()) == 180  # histograms merged over the folds
    assert fold_minutes() == dict.fromkeys(fold_minutes(), 0)  # nothing left: a second fold adds nothing


def test_a_fold_killed_half_way_leaves_every_minute_staged(cluster, monkeypatch):
    staged(cluster, [at(0), at(1)], cpu_use=[1.0])

    def killed(where, params):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(folding, "_fold_nodes", killed)  # after the pods and containers were folded
    with pytest.raises(RuntimeError):
        fold_minutes()
    assert not PodHour.objects.exists() and not ContainerHour.objects.exists()
    assert PodMinute.objects.count() == 2 and ContainerMinute.objects.count() == 2
    monkeypatch.undo()
    fold_minutes()
    assert PodHour.objects.get().samples == 2 and NodeHour.objects.get().samples == 2
    assert not has_staged()


def pod_version():
    """The stored pod row's version: PostgreSQL's xmin changes with every rewrite of the row; elsewhere its
    last_seen (which only a write moves) stands in."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT xmin::text FROM {bulk_write.table(Pod)}")  # noqa: S608
            return cursor.fetchone()[0]
    return Pod.objects.get().last_seen


def test_only_new_or_changed_pods_are_written(cluster):
    staged(cluster, [at(0)], cpu_use=[1.0])
    inserted = pod_version()
    staged(cluster, [at(1)], cpu_use=[1.0])
    assert pod_version() == inserted  # unchanged: not rewritten
    assert Pod.objects.get().last_seen == at(0)  # until the fold
    staged(cluster, [at(2)], cpu_use=[1.0], labels={"app": "web", "tier": "front"})
    relabelled = pod_version()
    assert relabelled != inserted
    pod = Pod.objects.get()
    assert pod.labels == {"app": "web", "tier": "front"} and pod.last_seen == at(2)
    staged(cluster, [at(3)], cpu_use=[1.0], labels={"tier": "front", "app": "web"})  # same labels
    assert pod_version() == relabelled
    fold_minutes()
    pod.refresh_from_db()
    assert pod.last_seen == at(3) and pod.first_seen == at(0)


def test_compute_of_the_day_folds_what_it_reads(cluster):
    staged(cluster, [at(0), at(1)], cpu_use=[1.0], name="job-1")
    compute_cluster_day(cluster.pk, date(2026, 3, 2))
    assert not has_staged()
    day = PodCostDay.objects.get()
    assert day.cpu_billable_core_hours == pytest.approx((1.0 + 1.0) / 60)


def test_replace_and_prune_take_the_staged_minutes(cluster):
    staged(cluster, [at(0)], cpu_use=[1.0])
    replace_hours(cluster, [int(at(0).timestamp())], 60)
    assert not has_staged()
    staged(cluster, [at(1)], cpu_use=[1.0])
    prune_usage(now=at(60 * 24 * 200), retention_days=90)  # the day waits for its recompute: kept, folded
    assert not has_staged() and PodHour.objects.get().samples == 1
    staged(cluster, [at(2)], cpu_use=[1.0])
    ClusterDay.objects.update(dirty=False)  # recomputed
    prune_usage(now=at(60 * 24 * 200), retention_days=90)
    assert not has_staged() and not PodHour.objects.exists()


def fields_of(model, skip=("id", "cluster", "pod", "node", "hour", "container", "volume", "load_balancer")):
    return [f.attname for f in model._meta.concrete_fields if f.name not in skip and not f.is_relation]


def assert_same(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        for field, value in a[key].items():
            other = b[key][field]
            if isinstance(value, float):
                assert other == pytest.approx(value, rel=1e-12, abs=1e-15), (key, field)
            else:
                assert other == value, (key, field)


@pytest.mark.parametrize("fold_every", [1, 7])
def test_the_demo_through_the_staged_path_gives_the_direct_path_figures_field_by_field(db, fold_every):
    """Twelve minutes of the demo cluster (CronJob pods of a few minutes, containers with init, volumes, load
    balancers) across an hour, one of them straddling it, recorded by both paths."""
    direct = Cluster.objects.create(name="direct", connection_type=ConnectionType.SIMULATOR)
    live = Cluster.objects.create(name="live", connection_type=ConnectionType.SIMULATOR)
    demo = DemoCluster("demo", 7)
    start = datetime(2026, 3, 2, 9, 52, tzinfo=UTC)
    slots = [start + timedelta(minutes=i) for i in range(12)]
    slots[8] = slots[8] - timedelta(seconds=30)  # 09:59:30, straddling 10:00
    for i, slot in enumerate(slots):
        snap = demo.snapshot(slot)
        record_snapshot(direct, snap, slot=slot, interval=60, source=SIM)
        record_snapshot(live, snap, slot=slot, interval=60, source=SIM, staged=True)
        if (i + 1) % fold_every == 0:
            fold_minutes([live.pk])
    fold_for_read([live.pk])
    assert not has_staged()
    pod_key = ["pod__uid", "node__name", "hour"]
    checks = [
        (PodHour, pod_key),
        (ContainerHour, [*pod_key, "container"]),
        (NodeHour, ["node__name", "hour"]),
        (VolumeHour, ["volume__name", "hour"]),
        (VolumeMountHour, ["volume__name", "pod__uid", "hour"]),
        (LoadBalancerHour, ["load_balancer__namespace__name", "load_balancer__name", "hour"]),
        (CoverageHour, ["hour"]),
    ]
    assert PodHour.objects.filter(cluster=live).count() > 50
    assert PodHour.objects.filter(cluster=live, samples__lte=4).exists()  # short-lived pods, charged
    for model, keys in checks:
        fields = [f for f in fields_of(model) if f not in ("first_seen", "last_seen")]
        expected, got = _natural_of(model, keys, fields, direct), _natural_of(model, keys, fields, live)
        assert expected, model.__name__
        assert_same(expected, got)
    inventory = ["uid", "name", "labels", "first_seen", "last_seen", "node__name", "workload__name"]
    assert list(Pod.objects.filter(cluster=direct).order_by("uid").values(*inventory)) == list(
        Pod.objects.filter(cluster=live).order_by("uid").values(*inventory)
    )


def _natural_of(model, keys, fields, cluster):
    """{natural key: fields} of a cluster's rows (ids differ between the two clusters)."""
    return {
        tuple(row[k] for k in keys): {f: row[f] for f in fields}
        for row in model.objects.filter(cluster=cluster).values(*keys, *fields)
    }


def test_the_staged_tables_have_no_foreign_key_constraint(db):
    # Appending is a plain COPY: no deferred foreign-key check per row at commit.
    with connection.cursor() as cursor:
        for model in (PodMinute, ContainerMinute, NodeMinute):
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
            assert not [c for c in constraints.values() if c["foreign_key"]], model.__name__


@pytest.mark.django_db(transaction=True)
def test_folds_and_records_at_once_count_every_minute_once():
    """Three folds (all clusters, closed hours, one cluster) and a live minute at the same time."""
    cluster = Cluster.objects.create(name="race", connection_type=ConnectionType.SIMULATOR)
    staged(cluster, [at(0), at(1), at(61)], cpu_use=[1.0])
    barrier = threading.Barrier(4)
    errors = []

    def run(work):
        try:
            barrier.wait(timeout=5)
            work()
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    works = [
        lambda: fold_minutes(),
        lambda: fold_closed_hours(now=at(90)),
        lambda: fold_minutes([cluster.pk]),
        lambda: staged(cluster, [at(2)], cpu_use=[1.0]),
    ]
    threads = [threading.Thread(target=run, args=(w,)) for w in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    fold_minutes()
    assert PodHour.objects.get(hour=T0).samples == 3
    assert PodHour.objects.get(hour=at(60)).samples == 1
    assert ContainerHour.objects.get(hour=T0).seconds == 180
    assert NodeHour.objects.get(hour=T0).samples == 3


def test_the_beat_task_folds_the_closed_hours(cluster):
    staged(cluster, [at(0)], cpu_use=[1.0])
    assert fold_minutes_task.apply().get()["pod_minutes"] == 1  # 2026-03-02 10:00 closed long ago
    assert PodHour.objects.get().samples == 1 and not has_staged()
