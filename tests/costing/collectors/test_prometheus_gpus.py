"""GPUs from Prometheus (a real one, tests/costing/collectors/prometheus_server.py with its GPU node): requests
and node capacity from kube-state-metrics, usage from dcgm-exporter's DCGM_FI_DEV_GPU_UTIL when Prometheus has
it; without it a pod pays its GPU request, as with the collector (docs/prometheus.md)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from costing.choices import ConnectionType
from costing.collectors.prometheus import PrometheusSource
from costing.collectors.prometheus_client import PrometheusClient
from costing.collectors.sampling import take_sample
from costing.models import Cluster, NodeHour, PodHour
from tests.costing.collectors import prometheus_server as known
from tests.costing.collectors.test_prometheus import SAMPLED, iso
from tests.costing.collectors.test_prometheus_sampling import at, prometheus_cluster

pytestmark = pytest.mark.django_db

MINUTE = 60 / 3600


def _server(tmp_path_factory, dcgm: bool):
    known.require_prometheus()
    directory = tmp_path_factory.mktemp("prometheus-gpu")
    metrics = known.cluster_metrics(gpu=True, dcgm=dcgm)
    return known.PrometheusServer(known.build_tsdb(metrics, directory)).start()


@pytest.fixture(scope="module")
def gpu_servers(tmp_path_factory):
    """Two Prometheus servers of the GPU cluster: with dcgm-exporter's series and without."""
    servers = {}
    try:
        for dcgm in (True, False):
            servers[dcgm] = _server(tmp_path_factory, dcgm)
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def _import(url: str) -> Cluster:
    cluster = Cluster.objects.create(name="prod", connection_type=ConnectionType.KUBECONFIG)
    call_command(
        "import_prometheus",
        "--cluster", "prod", "--url", url, "--start", iso(0), "--end", iso(known.SLOTS * 60),
        "--step", "60s", "--label-selector", 'cluster="prod"', "--rate-window", "60s",
        stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip
    return cluster


def _gpu(cluster, pod: str) -> dict:
    return PodHour.objects.filter(cluster=cluster, pod__name=pod).aggregate(
        samples=Sum("samples"),
        request=Sum("gpu_request_hours"),
        usage=Sum("gpu_usage_hours"),
        billable=Sum("gpu_billable_hours"),
    )


def _capacity(cluster, node: str) -> float:
    return NodeHour.objects.filter(cluster=cluster, node__name=node).aggregate(c=Sum("gpu_capacity_hours"))[
        "c"
    ]


def test_gpu_usage_from_dcgm(gpu_servers):
    cluster = _import(gpu_servers[True].url)

    # g1: two whole GPUs and one in seven 1g.10gb slices = 3 devices, in the 9 sampled slots (slot 7 is the gap).
    assert _capacity(cluster, "g1") == pytest.approx(3 * SAMPLED * MINUTE)
    assert _capacity(cluster, "n1") == 0
    # train-1 requests 1 GPU; its GPU 0 runs at 40 % in slots 0-4 and 100 % in slots 5, 6, 8, 9 (GPU 0 scraped by
    # two jobs counts once): usage (5 * 0.4 + 4 * 1.0) / 60 = 0.1 GPU-hours; billable max(usage, 1) a slot.
    train = _gpu(cluster, "train-1")
    assert train["samples"] == SAMPLED
    assert train["request"] == pytest.approx(SAMPLED * MINUTE)
    assert train["usage"] == pytest.approx((5 * 0.4 + 4 * 1.0) * MINUTE)
    assert train["usage"] == pytest.approx(0.1)
    assert train["billable"] == pytest.approx(0.15)
    # notebook requests no GPU and uses GPU 1 at 30 % (the older labels pod_name, ...): it pays its usage.
    notebook = _gpu(cluster, "notebook")
    assert notebook["request"] == 0
    assert notebook["usage"] == pytest.approx(0.3 * SAMPLED * MINUTE)
    assert notebook["billable"] == pytest.approx(0.045)
    # infer: two MIG slices = 2/7 of a device; its MIG instance's utilisation (GPU_I_ID) is left out.
    infer = _gpu(cluster, "infer")
    assert infer["request"] == pytest.approx(2 / 7 * SAMPLED * MINUTE)
    assert infer["usage"] == 0
    assert infer["billable"] == pytest.approx(2 / 7 * SAMPLED * MINUTE)
    # The pods without GPUs are unchanged.
    assert _gpu(cluster, "web-1") == {"samples": SAMPLED, "request": 0, "usage": 0, "billable": 0}


def test_without_dcgm_a_pod_pays_its_gpu_request(gpu_servers):
    cluster = _import(gpu_servers[False].url)

    assert _capacity(cluster, "g1") == pytest.approx(3 * SAMPLED * MINUTE)
    train = _gpu(cluster, "train-1")
    assert (train["request"], train["usage"], train["billable"]) == pytest.approx((0.15, 0, 0.15))
    notebook = _gpu(cluster, "notebook")
    assert (notebook["request"], notebook["usage"], notebook["billable"]) == (0, 0, 0)
    assert _gpu(cluster, "infer")["billable"] == pytest.approx(2 / 7 * SAMPLED * MINUTE)


def test_continuous_sampling_reads_dcgm_usage(gpu_servers):
    """A cluster of connection type Prometheus: its runs record the same GPU figures as the import."""
    cluster = prometheus_cluster(gpu_servers[True].url)
    # The run at T0 + 5 min reads slots 0-3: train-1's GPU at 40 %.
    assert take_sample(cluster.pk, at(300)) == "recorded"
    train = _gpu(cluster, "train-1")
    assert (train["usage"], train["billable"]) == pytest.approx((4 * 0.4 * MINUTE, 4 * MINUTE))
    assert _gpu(cluster, "notebook")["billable"] == pytest.approx(4 * 0.3 * MINUTE)
    # The next runs read the rest: 5 slots at 40 %, 4 at 100 % (slot 7 is the gap).
    assert take_sample(cluster.pk, at(11 * 60)) == "recorded"
    train = _gpu(cluster, "train-1")
    assert (train["usage"], train["billable"]) == pytest.approx((0.1, 0.15))
    assert _capacity(cluster, "g1") == pytest.approx(3 * SAMPLED * MINUTE)


def test_resources_named_by_the_policy_by_their_sanitised_names(gpu_servers):
    """The policy's gpu.resources (nvidia.com/mig-1g.10gb as a quarter of an A30) apply to kube-state-metrics'
    sanitised names: g1 has 2 + 7 / 4 devices, infer requests 2 / 4."""
    with PrometheusClient(gpu_servers[True].url) as client:
        source = PrometheusSource(
            client, selector='cluster="prod"', gpu_resources={"nvidia.com/mig-1g.10gb": 0.25}
        )
        frames = source.read(known.T0 + 180, known.T0 + 180, 60)
    nodes = dict(zip(frames.nodes["node"], frames.nodes["gpu_capacity_devices"], strict=True))
    assert nodes == {"n1": 0, "n2": 0, "g1": pytest.approx(3.75)}
    pods = frames.pods.set_index("pod")
    assert pods.loc["infer", "gpu_request_devices"] == pytest.approx(0.5)
    assert (
        pods.loc["train-1", "gpu_request_devices"],
        pods.loc["train-1", "gpu_usage_devices"],
    ) == pytest.approx((1, 0.4))
