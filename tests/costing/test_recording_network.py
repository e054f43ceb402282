"""Load balancers through the recorder: per slot and hour, idempotent per slot, ids accumulated, a
re-import replacing its hours, a bad row named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from costing.choices import ConnectionType, SampleSource
from costing.collectors.snapshot import LoadBalancerSample, NamespaceInfo, NodeSample, Snapshot
from costing.models import Cluster, LoadBalancer, LoadBalancerHour
from costing.recording import record_samples, record_snapshot
from costing.recording_network import LoadBalancerRecordingError
from tests.costing.test_recording import node_rows

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SIM = SampleSource.SIMULATOR
ELB = "7f3a1c2e-5b6d-4e8f-9a0b-1c2d3e4f5a6b"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def lb_rows(times, *, service="web", namespace="shop", cloud_id=ELB, ip="1.2.3.4"):
    return pd.DataFrame(
        {
            "timestamp": list(times),
            "namespace": namespace,
            "service": service,
            "cloud_id": cloud_id,
            "hostname": "",
            "ip": ip,
        }
    )


@pytest.fixture
def cluster(db):
    return Cluster.objects.create(name="c1", connection_type=ConnectionType.SIMULATOR)


def record(cluster, times, lbs, **kwargs):
    return record_samples(
        cluster, node_rows(times), pd.DataFrame(), interval=kwargs.pop("interval", 600), source=SIM,
        load_balancers=lbs, **kwargs,
    )  # fmt: skip


def test_seconds_per_hour_and_a_slot_across_the_hour(cluster):
    # 10-minute slots at 10:00, 10:10 and 10:55 (5 minutes in 10:00, 5 in 11:00).
    times = [at(0), at(10), at(55)]
    result = record(cluster, times, lb_rows(times))
    assert result.load_balancer_hours == 2
    lb = LoadBalancer.objects.get()
    assert (lb.namespace.name, lb.name, lb.cloud_id, lb.ip) == ("shop", "web", ELB, "1.2.3.4")
    assert lb.ids == ["1.2.3.4", ELB] and (lb.first_seen, lb.last_seen) == (at(0), at(55))
    hours = {h.hour: (h.samples, h.seconds) for h in LoadBalancerHour.objects.all()}
    assert hours == {T0: (3, 600 + 600 + 300), T0 + timedelta(hours=1): (0, 300)}


def test_a_slot_recorded_again_adds_nothing_and_new_ids_accumulate(cluster):
    record(cluster, [at(0)], lb_rows([at(0)]))
    record(cluster, [at(0)], lb_rows([at(0)]))
    assert LoadBalancerHour.objects.get().seconds == 600
    record(cluster, [at(10)], lb_rows([at(10)], cloud_id="", ip="5.6.7.8"))  # its IP changed
    lb = LoadBalancer.objects.get()
    assert lb.ids == ["1.2.3.4", "5.6.7.8", ELB] and (lb.ip, lb.cloud_id) == ("5.6.7.8", "")
    assert LoadBalancerHour.objects.get().seconds == 1200


def test_a_reimport_replaces_its_hours(cluster):
    record(cluster, [at(0), at(10)], lb_rows([at(0), at(10)]))
    record(cluster, [at(0)], lb_rows([at(0)]), replace=True)
    assert LoadBalancerHour.objects.get().seconds == 600


def test_a_row_without_a_service_name_is_refused_naming_it(cluster):
    with pytest.raises(LoadBalancerRecordingError, match="row 1, field service"):
        record(cluster, [at(0)], pd.concat([lb_rows([at(0)]), lb_rows([at(0)], service="")]))
    assert not LoadBalancer.objects.exists()


def test_a_snapshot_records_its_load_balancers(cluster):
    snap = Snapshot(
        taken_at=at(0),
        nodes=[NodeSample("n1", "pool", "aws:///a/i-1", 4, 8 * 2**30)],
        pods=[],
        namespaces=[NamespaceInfo("ingress-nginx")],
        load_balancers=[LoadBalancerSample("ingress-nginx", "controller", cloud_id=ELB, ids=(ELB,))],
    )
    record_snapshot(cluster, snap, slot=at(0), interval=60, source=SIM)
    assert LoadBalancerHour.objects.get().seconds == 60
    assert LoadBalancer.objects.get().ids == [ELB]
