"""The sampling service: secrets kept out of reasons, the beat schedule per cluster, the sweep of missed slots."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from costing.choices import ConnectionType, SampleSource, SampleStatus
from costing.collectors.sampling import (
    MISSED_REASON,
    missed_slots,
    redact,
    schedule_name,
    sweep_missed_slots,
)
from costing.models import Cluster, CoverageHour, SampleSlot
from costing.recording import record_gaps
from costing.tasks.sampling import sample_cluster
from tests.costing.collectors.conftest import TOKEN, kubeconfig_for
from tests.k8s_api import FakeKubeAPI, make_container, make_namespace, make_node, make_pod

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def api():
    server = FakeKubeAPI(token=TOKEN).start()
    server.add(
        make_namespace("shop"),
        make_node("node-a", "4", "16Gi"),
        make_pod("shop", "web", "node-a", [make_container("app", "500m", "1Gi")], uid="uid-web"),
    )
    try:
        yield server
    finally:
        server.stop()


def sampling_since(cluster: Cluster, when: datetime) -> None:
    """As if sampling of the cluster had been switched on at `when`."""
    PeriodicTask.objects.filter(name=schedule_name(cluster.pk)).update(start_time=when)


def test_redact_removes_every_secret_value_of_the_kubeconfig():
    config = kubeconfig_for("https://k8s.example.com", "abcd-1234-secret")
    assert redact("token abcd-1234-secret rejected", config) == "token [redacted] rejected"
    assert redact("nothing to hide", "not: [valid") == "nothing to hide"


@pytest.mark.django_db
def test_the_beat_schedule_follows_the_cluster():
    cluster = Cluster.objects.create(
        name="prod",
        connection_type=ConnectionType.KUBECONFIG,
        kubeconfig=kubeconfig_for("https://x", "sekr3t-tok"),
    )
    task = PeriodicTask.objects.get(name=schedule_name(cluster.pk))
    assert task.task == "costing.sample_cluster"
    assert json.loads(task.args) == [cluster.pk]  # the id only: no credential in task arguments
    assert "sekr3t-tok" not in task.args + task.kwargs + task.description
    assert (task.interval.every, task.interval.period, task.enabled, task.expire_seconds) == (
        60,
        "seconds",
        True,
        60,
    )

    cluster.sampling_interval = 300
    cluster.save()
    task.refresh_from_db()
    assert (task.interval.every, task.expire_seconds) == (300, 300)

    cluster.enabled = False
    cluster.save()
    task.refresh_from_db()
    assert task.enabled is False

    pk = cluster.pk
    cluster.delete()
    assert not PeriodicTask.objects.filter(name=schedule_name(pk)).exists()
    assert PeriodicTask.objects.filter(task="costing.prune_usage").exists()


@pytest.mark.django_db
def test_the_schedule_starts_when_sampling_is_switched_on():
    cluster = Cluster.objects.create(name="prod", connection_type=ConnectionType.SIMULATOR)
    task = PeriodicTask.objects.get(name=schedule_name(cluster.pk))
    created = task.start_time
    assert created is not None
    cluster.sampling_interval = 300  # re-timed: sampling went on, the start stays
    cluster.save()
    task.refresh_from_db()
    assert task.start_time == created
    cluster.enabled = False
    cluster.save()
    cluster.enabled = True  # paused and resumed: the pause is not time that should have been sampled
    cluster.save()
    task.refresh_from_db()
    assert task.start_time > created


@pytest.mark.django_db
def test_missed_slots_become_gaps_with_the_reason_and_count_once(api, admin_user, client):
    cluster = Cluster.objects.create(
        name="prod", connection_type=ConnectionType.KUBECONFIG, kubeconfig=kubeconfig_for(api.url)
    )
    sampling_since(cluster, at(0.5))  # switched on at 10:00:30: the 10:00 slot is the first expected
    for minute in (0, 1, 3):
        assert sample_cluster(cluster.pk, at(minute).isoformat()) == "recorded"

    # At 10:10 a 60 s slot is settled once its message expired (2 intervals) and the 120 s grace passed:
    # 10:00 .. 10:06 are expected; 10:02, 10:04, 10:05 and 10:06 were never sampled.
    assert sweep_missed_slots(at(10), lookback_days=30) == {"prod": 4}
    gaps = SampleSlot.objects.filter(status=SampleStatus.GAP).order_by("slot")
    assert [g.slot for g in gaps] == [at(2), at(4), at(5), at(6)]
    assert {(g.reason, g.source, g.interval) for g in gaps} == {(MISSED_REASON, SampleSource.COLLECTOR, 60)}
    hour = CoverageHour.objects.get()
    assert (hour.sampled_seconds, hour.gap_seconds) == (180, 240)

    # Again: nothing new. A run for a swept slot that comes after all adds nothing (the slot counts once).
    assert sweep_missed_slots(at(10), lookback_days=30) == {}
    assert sample_cluster(cluster.pk, at(5).isoformat()) == "duplicate"
    assert SampleSlot.objects.count() == 7
    hour.refresh_from_db()
    assert (hour.sampled_seconds, hour.gap_seconds) == (180, 240)

    # The Data quality page says why.
    client.force_login(admin_user)
    page = re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", client.get("/data-quality/?period=2026-03-02").content.decode())
    )
    assert re.search(re.escape(MISSED_REASON) + r" 4\b", page)


@pytest.mark.django_db
def test_the_sweep_expects_nothing_before_sampling_was_switched_on_nor_of_a_paused_cluster():
    cluster = Cluster.objects.create(name="demo", connection_type=ConnectionType.SIMULATOR)
    sampling_since(cluster, at(7))
    assert sweep_missed_slots(at(10), lookback_days=30) == {}  # 10:07 is not settled yet
    assert sweep_missed_slots(at(12), lookback_days=30) == {"demo": 2}  # 10:07 and 10:08
    assert SampleSlot.objects.filter(source=SampleSource.SIMULATOR).count() == 2
    # A sweep after a long stop looks back `lookback_days` only: one day here.
    two_days_on = T0 + timedelta(days=2)
    # 10:00 the next day (the horizon) to 09:56 of the day after: 09:57 and later are not settled yet.
    assert sweep_missed_slots(two_days_on, lookback_days=1) == {"demo": 1440 - 3}
    first = SampleSlot.objects.filter(slot__gt=at(8)).order_by("slot").first()
    assert first.slot == T0 + timedelta(days=1)
    cluster.enabled = False
    cluster.save()
    assert sweep_missed_slots(at(20), lookback_days=30) == {}


@pytest.mark.django_db
def test_a_slot_covered_by_a_row_of_another_interval_is_not_missed():
    cluster = Cluster.objects.create(
        name="demo", connection_type=ConnectionType.SIMULATOR, sampling_interval=60
    )
    # Sampled every 5 minutes until 10:10 (rows of 300 s), then every minute.
    record_gaps(cluster, [at(0), at(5)], interval=300, source=SampleSource.SIMULATOR, reason="api down")
    assert missed_slots(cluster, at(0), at(16)) == [at(10), at(11), at(12)]  # 10:12 settled at 10:16
