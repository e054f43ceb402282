"""A cluster whose connection type is Prometheus: its sampling runs read the complete slots back from a real
Prometheus and catch up after an outage; its credentials are encrypted; and the same cluster sampled by our
own collector gives the same quantities."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models import Sum
from django_celery_beat.models import PeriodicTask

from costing.admin import ClusterForm
from costing.choices import ConnectionType, SampleSource, SampleStatus
from costing.collectors.kubernetes import KubernetesCollector
from costing.collectors.prometheus import PrometheusSource
from costing.collectors.prometheus_client import PrometheusClient
from costing.collectors.prometheus_import import import_range
from costing.collectors.sampling import schedule_name, sweep_missed_slots, take_sample
from costing.models import Cluster, ContainerHour, PodHour, SampleSlot
from costing.recording import record_snapshot
from tests.costing.collectors import prometheus_server as known
from tests.costing.collectors.prometheus_server import GAP_SLOT, T0
from tests.k8s_api import make_container, make_namespace, make_node, make_pod
from tests.k8s_api.server import make_job, make_pod_metrics, make_replicaset

pytestmark = pytest.mark.django_db

SELECTOR = 'cluster="prod"'


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, tz=UTC)


def prometheus_cluster(url: str, name: str = "prod") -> Cluster:
    cluster = Cluster.objects.create(
        name=name,
        connection_type=ConnectionType.PROMETHEUS,
        prometheus_url=url,
        prometheus_selector=SELECTOR,
        prometheus_token="s3cret-prometheus-token",
    )
    # Sampling was switched on at T0 (the series' own time): the slots expected begin there.
    PeriodicTask.objects.filter(name=schedule_name(cluster.pk)).update(start_time=at(0))
    return cluster


def slots(cluster) -> dict[str, int]:
    rows = SampleSlot.objects.filter(cluster=cluster)
    return {status: rows.filter(status=status).count() for status in (SampleStatus.OK, SampleStatus.GAP)}


def test_runs_read_complete_slots_and_catch_up_after_an_outage(prometheus_server):
    cluster = prometheus_cluster(prometheus_server.url)
    # The run sent at T0 + 5 min reads the slots that ended a minute before: 0 to 3.
    assert take_sample(cluster.pk, at(300)) == "recorded"
    assert slots(cluster) == {SampleStatus.OK: 4, SampleStatus.GAP: 0}
    assert take_sample(cluster.pk, at(300)) == "duplicate"
    # The worker was down for five minutes: the next run reads them all back, the scrape gap as a gap.
    assert take_sample(cluster.pk, at(11 * 60)) == "recorded"
    assert slots(cluster) == {SampleStatus.OK: known.SLOTS - 1, SampleStatus.GAP: 1}
    gap = SampleSlot.objects.get(cluster=cluster, status=SampleStatus.GAP)
    assert gap.slot == at(GAP_SLOT * 60) and gap.source == SampleSource.PROMETHEUS
    assert set(SampleSlot.objects.filter(cluster=cluster).values_list("source", flat=True)) == {"prometheus"}
    web = PodHour.objects.filter(cluster=cluster, pod__name="web-1").aggregate(
        s=Sum("samples"), r=Sum("cpu_request_core_hours")
    )
    assert web == {"s": known.SLOTS - 1, "r": pytest.approx(2.0 * (known.SLOTS - 1) / 60)}
    # The sweep leaves a Prometheus cluster to its own runs.
    assert cluster.name not in sweep_missed_slots(at(40 * 60))


def test_an_unreachable_prometheus_is_read_once_it_answers(prometheus_server):
    cluster = prometheus_cluster(f"http://127.0.0.1:{known.free_port()}")
    assert take_sample(cluster.pk, at(300)) == "unreachable"
    assert not SampleSlot.objects.filter(cluster=cluster).exists()  # no gap: Prometheus keeps the data
    Cluster.objects.filter(pk=cluster.pk).update(prometheus_url=prometheus_server.url)
    assert take_sample(cluster.pk, at(300)) == "recorded"
    assert slots(cluster) == {SampleStatus.OK: 4, SampleStatus.GAP: 0}


def test_credentials_are_encrypted_at_rest_and_never_rendered_back():
    cluster = prometheus_cluster("http://prometheus:9090")
    Cluster.objects.filter(pk=cluster.pk).update(prometheus_password="pa55word", prometheus_username="finops")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT prometheus_token, prometheus_password FROM costing_cluster WHERE id = %s", [cluster.pk]
        )
        token, password = cursor.fetchone()
    assert token.startswith("gAAAAA") and "s3cret" not in token
    assert password.startswith("gAAAAA") and "pa55word" not in password
    form = ClusterForm(instance=Cluster.objects.get(pk=cluster.pk))
    html = form.as_p()
    assert "s3cret-prometheus-token" not in html and "pa55word" not in html
    data = {
        "name": "prod",
        "connection_type": ConnectionType.PROMETHEUS,
        "prometheus_url": "http://prometheus:9090",
        "prometheus_selector": '{cluster="prod"}',
        "prometheus_username": "finops",
        "sampling_interval": 60,
        "simulator_seed": 42,
        "enabled": True,
    }
    form = ClusterForm(data=data, instance=Cluster.objects.get(pk=cluster.pk))
    assert "a bearer token or a user and password, not both" in form.errors["prometheus_token"][0]
    Cluster.objects.filter(pk=cluster.pk).update(prometheus_token="")
    form = ClusterForm(data=data, instance=Cluster.objects.get(pk=cluster.pk))
    assert form.is_valid(), form.errors
    saved = form.save()
    assert saved.prometheus_password == "pa55word"  # empty keeps the stored one
    assert saved.prometheus_selector == 'cluster="prod"'
    form = ClusterForm(data={**data, "name": "other", "prometheus_url": ""})
    assert not form.is_valid()
    assert "needs the server's URL" in form.errors["prometheus_url"][0]
    form = ClusterForm(data={**data, "name": "other", "prometheus_selector": 'a="b"}{'})
    assert "give matchers only" in form.errors["prometheus_selector"][0]


# --- same numbers as our own collector --------------------------------------------------------------------


def _live_cluster(kube_api) -> None:
    """The known cluster of prometheus_server.py as the Kubernetes API and metrics-server show it in slot 3."""
    server = kube_api.server
    server.add(
        make_namespace("shop", {"department": "sales"}),
        make_namespace("batch"),
        make_node("n1", "4", "16Gi", pool_label=("cloud.google.com/gke-nodepool", "pool-a"),
                  provider_id="aws:///eu-west-1a/i-0001"),
        make_node("n2", "2", "8Gi", provider_id="aws:///eu-west-1a/i-0002", instance_type=None),
        make_replicaset("shop", "web-6d4", "web"),
        make_job("batch", "job-x-28", "job-x"),
        make_pod("shop", "web-1", "n1",
                 [make_container("app", "500m", "1Gi", limits={"cpu": "1", "memory": "2Gi"}),
                  make_container("proxy", "100m", "128Mi")],
                 [make_container("migrate", "2", "512Mi")], owner=("ReplicaSet", "web-6d4"), uid="u-web-1"),
        make_pod("shop", "bare", "n2", [make_container("c", "200m", "256Mi")], uid="u-bare"),
        make_pod("batch", "job-x-28-abcde", "n2", [make_container("worker", "1", "2Gi")],
                 [make_container("log", "100m", "64Mi", restart_policy="Always")], owner=("Job", "job-x-28"),
                 uid="u-job"),
        make_pod("batch", "done-1", "n2", [make_container("c", "300m", "128Mi")], phase="Succeeded", uid="u-done"),
        make_pod_metrics("shop", "web-1", {"app": ("250m", "512Mi"), "proxy": ("200m", "100Mi")}),
        make_pod_metrics("batch", "job-x-28-abcde", {"worker": ("1500m", "1Gi"), "log": ("50m", "32Mi")}),
    )  # fmt: skip


FIELDS = (
    "samples", "samples_without_metrics", "cpu_request_core_hours", "cpu_usage_core_hours",
    "cpu_billable_core_hours", "mem_request_gib_hours", "mem_usage_gib_hours", "mem_billable_gib_hours",
)  # fmt: skip


def test_the_same_minute_gives_the_same_quantities_as_our_collector(prometheus_server, kube_api):
    slot = at(180)  # slot 3: every pod's counters have a whole rate window behind them
    live = Cluster.objects.create(name="live", connection_type=ConnectionType.KUBECONFIG)
    _live_cluster(kube_api)
    snapshot = KubernetesCollector(kube_api.client).snapshot(slot)
    record_snapshot(live, snapshot, slot=slot, interval=60, source=SampleSource.COLLECTOR)
    prom = Cluster.objects.create(name="prom", connection_type=ConnectionType.KUBECONFIG)
    source = PrometheusSource(PrometheusClient(prometheus_server.url), selector=SELECTOR, rate_window=60)
    import_range(prom, source, slot, at(240), 60)

    def pods(cluster):
        return {
            row.pop("pod__name"): row
            for row in PodHour.objects.filter(cluster=cluster).values("pod__name", *FIELDS)
        }

    def containers(cluster):
        rows = ContainerHour.objects.filter(cluster=cluster).values(
            "pod__name", "container", "init", "cpu_limit_core_hours", "mem_limit_gib_hours", *FIELDS
        )
        return {(row.pop("pod__name"), row.pop("container")): row for row in rows}

    expected, got = pods(live), pods(prom)
    assert sorted(got) == sorted(expected) == ["bare", "job-x-28-abcde", "web-1"]
    for name, row in expected.items():
        assert got[name] == pytest.approx(row, rel=1e-9), name
    expected, got = containers(live), containers(prom)
    assert sorted(got) == sorted(expected)
    for key, row in expected.items():
        assert got[key] == pytest.approx(row, rel=1e-9), key
