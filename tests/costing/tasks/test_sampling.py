"""The live sampling task end to end: the real kubernetes client against the test API server, into the database."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError

from costing.choices import ConnectionType, SampleSource, SampleStatus
from costing.demo.simulator import DemoCluster
from costing.folding import fold_closed_hours, fold_minutes
from costing.models import Cluster, CoverageHour, Node, NodeHour, Pod, PodHour, PodMinute, SampleSlot
from costing.recording import floor_slot
from costing.tasks import sampling
from costing.tasks.sampling import sample_cluster
from tests.costing.collectors.conftest import TOKEN, kubeconfig_for
from tests.k8s_api import (
    FakeKubeAPI,
    make_container,
    make_namespace,
    make_node,
    make_pod,
    make_pod_metrics,
    make_replicaset,
)
from tests.workers import running_worker

GIB = 2**30
SLOT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def api():
    server = FakeKubeAPI(token=TOKEN).start()
    server.add(
        make_namespace("shop", {"department": "retail"}),
        make_node(
            "node-a",
            "4",
            "16Gi",
            pool_label=("eks.amazonaws.com/nodegroup", "general"),
            provider_id="aws:///eu-west-1a/i-0123456789abcdef0",
        ),
        make_replicaset("shop", "web-7d9c", "web"),
        make_pod(
            "shop",
            "web-7d9c-x1",
            "node-a",
            [make_container("app", "250m", "512Mi"), make_container("proxy", "250m", "512Mi")],
            owner=("ReplicaSet", "web-7d9c"),
            uid="uid-web-x1",
        ),
        make_pod_metrics("shop", "web-7d9c-x1", {"app": ("700m", "256Mi"), "proxy": ("100m", "256Mi")}),
        make_pod("shop", "debug", "node-a", [make_container("sh", "100m", "2Gi")], uid="uid-debug"),
    )
    try:
        yield server
    finally:
        server.stop()


def kube_cluster(url: str, token: str = TOKEN, name: str = "prod") -> Cluster:
    return Cluster.objects.create(
        name=name, connection_type=ConnectionType.KUBECONFIG, kubeconfig=kubeconfig_for(url, token)
    )


@pytest.mark.django_db
def test_a_live_sample_lands_in_the_database(api):
    cluster = kube_cluster(api.url)
    # scheduled at 10:00:42: the slot is 10:00:00, and the sample stands for 10:00-10:01
    assert sample_cluster(cluster.pk, "2026-03-02T10:00:42+00:00") == "recorded"
    slot = SampleSlot.objects.get()
    assert (slot.slot, slot.status, slot.source) == (SLOT, SampleStatus.OK, SampleSource.COLLECTOR)
    assert (slot.nodes, slot.pods, slot.pods_without_metrics) == (1, 2, 1)
    node = Node.objects.get()
    assert (node.node_pool.name, node.instance_id) == ("general", "i-0123456789abcdef0")
    # The live minute is staged, not written into its hours: beat folds it once the hour has closed.
    assert not PodHour.objects.exists() and PodMinute.objects.count() == 2
    fold_closed_hours(now=SLOT + timedelta(minutes=30))
    assert not PodHour.objects.exists()
    fold_closed_hours(now=SLOT + timedelta(minutes=61))
    assert not PodMinute.objects.exists()
    web = PodHour.objects.get(pod__uid="uid-web-x1")
    # requests 0.5 core and 1 GiB; usage 0.8 core and 0.5 GiB: billable 0.8 core, 1 GiB, for 60 s
    assert web.cpu_billable_core_hours == pytest.approx(0.8 / 60)
    assert web.cpu_request_core_hours == pytest.approx(0.5 / 60)
    assert web.mem_usage_gib_hours == pytest.approx(0.5 / 60)
    assert web.mem_billable_gib_hours == pytest.approx(1 / 60)
    assert Pod.objects.get(uid="uid-web-x1").workload.name == "web"
    debug = PodHour.objects.get(pod__uid="uid-debug")  # no PodMetrics: charged its request
    assert debug.samples_without_metrics == 1
    assert debug.cpu_billable_core_hours == pytest.approx(0.1 / 60)
    assert debug.mem_billable_gib_hours == pytest.approx(2 / 60)
    assert NodeHour.objects.get().cpu_capacity_core_hours == pytest.approx(4 / 60)


@pytest.mark.django_db
def test_running_the_task_twice_or_late_for_one_slot_counts_once(api):
    cluster = kube_cluster(api.url)
    assert sample_cluster(cluster.pk, "2026-03-02T10:00:00+00:00") == "recorded"
    assert sample_cluster(cluster.pk, "2026-03-02T10:00:59+00:00") == "duplicate"
    assert sample_cluster.apply(args=[cluster.pk, "2026-03-02T10:00:30+00:00"]).get() == "duplicate"
    assert SampleSlot.objects.count() == 1
    fold_minutes()
    assert PodHour.objects.get(pod__uid="uid-web-x1").samples == 1
    assert CoverageHour.objects.get().sampled_seconds == 60


@pytest.mark.django_db
def test_rejected_credentials_make_a_gap_with_the_reason_and_no_secret(api, caplog):
    secret = "wrong-token-that-must-not-leak"
    cluster = kube_cluster(api.url, token=secret)
    with caplog.at_level(logging.DEBUG):
        assert sample_cluster(cluster.pk, SLOT.isoformat()) == "gap"
    slot = SampleSlot.objects.get()
    assert slot.status == SampleStatus.GAP
    assert "unauthorized" in slot.reason and "401" in slot.reason
    assert secret not in slot.reason and secret not in caplog.text
    assert CoverageHour.objects.get().gap_seconds == 60
    assert not PodHour.objects.exists()


@pytest.mark.django_db
def test_an_api_server_that_is_down_makes_a_gap(api):
    cluster = kube_cluster(api.url)
    api.stop()
    assert sample_cluster(cluster.pk, SLOT.isoformat()) == "gap"
    assert "connection refused" in SampleSlot.objects.get().reason


@pytest.mark.django_db
def test_an_unusable_kubeconfig_makes_a_gap_without_its_secrets():
    cluster = Cluster.objects.create(
        name="broken",
        connection_type=ConnectionType.KUBECONFIG,
        kubeconfig=kubeconfig_for("http://127.0.0.1:1", "tok3n-secret").replace("current-context: test", ""),
    )
    assert sample_cluster(cluster.pk, SLOT.isoformat()) == "gap"
    reason = SampleSlot.objects.get().reason
    assert "cannot connect" in reason and "current-context" in reason
    assert "tok3n-secret" not in reason


@pytest.mark.django_db
def test_a_simulator_cluster_samples_the_demo(settings):
    cluster = Cluster.objects.create(name="demo", connection_type=ConnectionType.SIMULATOR, simulator_seed=7)
    assert sample_cluster(cluster.pk, "2026-03-02T10:00:10+00:00") == "recorded"
    snap = DemoCluster("demo", 7).snapshot(SLOT)
    assert SampleSlot.objects.get().source == SampleSource.SIMULATOR
    fold_minutes()
    assert PodHour.objects.count() == len(snap.pods)
    expected = sum(max(p.cpu_usage_cores, p.cpu_request_cores) for p in snap.pods) / 60
    total = sum(PodHour.objects.values_list("cpu_billable_core_hours", flat=True))
    assert total == pytest.approx(expected)


@pytest.mark.django_db
def test_a_disabled_or_deleted_cluster_is_not_sampled():
    cluster = Cluster.objects.create(name="off", connection_type=ConnectionType.SIMULATOR, enabled=False)
    assert sample_cluster(cluster.pk, SLOT.isoformat()) == "skipped"
    assert sample_cluster(cluster.pk + 1000, SLOT.isoformat()) == "skipped"
    assert not SampleSlot.objects.exists()


@pytest.mark.django_db
def test_transient_database_errors_are_retried_with_the_same_slot(monkeypatch):
    cluster = Cluster.objects.create(name="demo", connection_type=ConnectionType.SIMULATOR)
    calls = []
    real = sampling.take_sample

    def flaky(cluster_id, slot):
        calls.append(slot)
        if len(calls) < 3:
            raise OperationalError("deadlock detected")
        return real(cluster_id, slot)

    monkeypatch.setattr(sampling, "take_sample", flaky)
    assert sample_cluster.apply(args=[cluster.pk, "2026-03-02T10:00:10+00:00"]).get() == "recorded"
    assert calls == [SLOT] * 3
    assert SampleSlot.objects.get().slot == SLOT


@pytest.mark.django_db
def test_retries_are_bounded(monkeypatch):
    cluster = Cluster.objects.create(name="demo", connection_type=ConnectionType.SIMULATOR)
    calls = []

    def broken(cluster_id, slot):
        calls.append(slot)
        raise OperationalError("database is locked")

    monkeypatch.setattr(sampling, "take_sample", broken)
    with pytest.raises(OperationalError):
        sample_cluster.apply(args=[cluster.pk, SLOT.isoformat()]).get()
    assert len(calls) == 1 + sampling.MAX_RETRIES


@pytest.mark.django_db
def test_a_database_error_in_the_cluster_lookup_is_retried_like_any_other(monkeypatch):
    cluster = Cluster.objects.create(name="demo", connection_type=ConnectionType.SIMULATOR)
    calls = []
    real = sampling.slot_of

    def flaky(cluster_id, when):
        calls.append(when)
        if len(calls) < 3:
            raise OperationalError("connection refused")
        return real(cluster_id, when)

    monkeypatch.setattr(sampling, "slot_of", flaky)
    assert sample_cluster.apply(args=[cluster.pk, "2026-03-02T10:00:10+00:00"]).get() == "recorded"
    assert calls == [datetime(2026, 3, 2, 10, 0, 10, tzinfo=UTC)] * 3  # the same time each try
    assert SampleSlot.objects.get().slot == SLOT


@pytest.mark.django_db
def test_a_slot_whose_retries_are_spent_ends_as_a_gap_with_the_reason(monkeypatch):
    cluster = Cluster.objects.create(name="demo", connection_type=ConnectionType.SIMULATOR)

    def broken(cluster_id, slot):
        raise OperationalError("could not serialize access")

    monkeypatch.setattr(sampling, "take_sample", broken)
    with pytest.raises(OperationalError):
        sample_cluster.apply(args=[cluster.pk, SLOT.isoformat()]).get()
    gap = SampleSlot.objects.get()
    assert (gap.slot, gap.status, gap.reason) == (
        SLOT,
        SampleStatus.GAP,
        "not sampled: database error (OperationalError)",
    )
    assert CoverageHour.objects.get().gap_seconds == 60


def test_a_retry_is_planned_only_if_it_starts_before_the_message_expires():
    now = datetime(2026, 3, 2, 10, 0, 50, tzinfo=UTC)
    expires = "2026-03-02T10:00:55+00:00"  # sent at 10:00:55 less one 60 s interval
    assert sampling.retry_starts_in_time(expires, 4, now)
    assert not sampling.retry_starts_in_time(expires, 8, now)
    assert not sampling.retry_starts_in_time(datetime.fromisoformat(expires), 5, now)
    assert sampling.retry_starts_in_time(None, 3600, now)  # sent by hand: no deadline


def test_a_sample_message_is_stamped_with_the_time_it_is_sent():
    from costing.signals import stamp_sample_slot

    before = datetime.now(UTC)
    body = ([7], {}, {})
    stamp_sample_slot(sender="costing.sample_cluster", body=body)
    assert before <= datetime.fromisoformat(body[1]["slot_iso"]) <= datetime.now(UTC)
    given = ([7, SLOT.isoformat()], {}, {})
    stamp_sample_slot(sender="costing.sample_cluster", body=given)
    assert given[1] == {}  # a slot given is kept
    other = ([7], {}, {})
    stamp_sample_slot(sender="costing.recompute_day", body=other)
    assert other[1] == {}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_run_that_starts_late_records_the_slot_it_was_sent_for(api):
    cluster = kube_cluster(api.url)
    Cluster.objects.filter(pk=cluster.pk).update(sampling_interval=2)  # below the form's minimum: quick
    with running_worker() as queue:
        sent = datetime.now(UTC)
        # Held by the worker for 3 s: it starts after its 2 s slot has ended.
        sample_cluster.apply_async(args=[cluster.pk], queue=queue, countdown=3)
        deadline = time.monotonic() + 60
        while not SampleSlot.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        late = SampleSlot.objects.get()
        assert late.slot == floor_slot(sent, 2)
        assert late.recorded_at >= late.slot + timedelta(seconds=2)  # ran in a later slot
        assert late.status == SampleStatus.OK

        # The next run, on time, takes its own slot: none taken twice, none skipped for the late one.
        now = datetime.now(UTC)
        sample_cluster.apply_async(args=[cluster.pk], queue=queue)
        while SampleSlot.objects.count() < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    slots = list(SampleSlot.objects.order_by("slot").values_list("slot", "status"))
    assert slots == [(late.slot, SampleStatus.OK), (floor_slot(now, 2), SampleStatus.OK)]
