"""import_prometheus against the other servers of the Prometheus HTTP API (docs/prometheus.md, "Prometheus 2.x
and 3.x, Thanos, VictoriaMetrics"): the known cluster of prometheus_server.py served by each, backfilled, and
the quantities recorded checked against the hand-computed figures of test_prometheus.py (Debian's Prometheus
2.42 is the reference and runs the same checks); plus what each server does differently on bad input.

Servers: Debian's Prometheus 2.42 (conftest.prometheus_server) and Debian's VictoriaMetrics 1.79
(compat_servers.py). Prometheus 3.x and Thanos Query are not here: no package of them can be installed on
this project's machines (docs/prometheus.md says what is known of them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from costing.choices import ConnectionType, SampleStatus
from costing.models import Cluster, ContainerHour, Namespace, Node, NodeHour, Pod, PodHour, SampleSlot
from tests.costing.collectors import compat_servers
from tests.costing.collectors import prometheus_server as known
from tests.costing.collectors.prometheus_server import GAP_SLOT, GIB, MIB, T0

pytestmark = pytest.mark.django_db

SELECTOR = 'cluster="prod"'
SAMPLED = known.SLOTS - 1  # every slot but the scrape gap
MINUTE = 60 / 3600


@pytest.fixture(scope="module")
def victoria_metrics(tmp_path_factory):
    compat_servers.require(compat_servers.VICTORIA_METRICS, "Debian's victoria-metrics package")
    server = compat_servers.VictoriaMetricsServer(
        tmp_path_factory.mktemp("victoria-metrics"), known.cluster_metrics()
    ).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["prometheus-2.42", "victoria-metrics"])
def server(request):
    """(name, url) of each server holding the known cluster."""
    fixture = "prometheus_server" if request.param == "prometheus-2.42" else "victoria_metrics"
    return request.param, request.getfixturevalue(fixture).url


@pytest.fixture
def cluster():
    return Cluster.objects.create(name="prod", connection_type=ConnectionType.KUBECONFIG)


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(T0 + seconds, tz=UTC).isoformat()


def run(url: str, *extra: str, start: int = 0, end: int = known.SLOTS * 60, step: str = "60s") -> str:
    out = StringIO()
    call_command(
        "import_prometheus", "--cluster", "prod", "--url", url, "--start", iso(start), "--end", iso(end),
        "--step", step, "--label-selector", SELECTOR, *extra, stdout=out, stderr=StringIO(),
    )  # fmt: skip
    return out.getvalue()


def pod_hours(cluster, pod: str) -> dict:
    return PodHour.objects.filter(cluster=cluster, pod__name=pod).aggregate(
        samples=Sum("samples"),
        without=Sum("samples_without_metrics"),
        cpu_request=Sum("cpu_request_core_hours"),
        cpu_usage=Sum("cpu_usage_core_hours"),
        cpu_billable=Sum("cpu_billable_core_hours"),
        mem_request=Sum("mem_request_gib_hours"),
        mem_usage=Sum("mem_usage_gib_hours"),
        mem_billable=Sum("mem_billable_gib_hours"),
    )


# CPU usage in the first slot of a counter's life, with a rate window of one slot: Prometheus extrapolates
# the counter down to zero only (59.999 s of the 60, test_prometheus.py); VictoriaMetrics' rate() does not
# extrapolate and reads the counter's slope between the samples it has: the whole 60 s.
FIRST_SLOT = {"prometheus-2.42": 59.999 / 60, "victoria-metrics": 1.0}


def test_each_server_records_the_known_cluster(server, cluster):
    name, url = server
    output = run(url, "--rate-window", "60s")

    assert f"{SAMPLED} slots sampled, 1 without data in Prometheus (gaps)" in output
    slots = SampleSlot.objects.filter(cluster=cluster)
    assert slots.filter(status=SampleStatus.OK).count() == SAMPLED
    assert slots.get(status=SampleStatus.GAP).slot == datetime.fromtimestamp(T0 + GAP_SLOT * 60, tz=UTC)
    assert sorted(Pod.objects.filter(cluster=cluster).values_list("name", flat=True)) == [
        "bare",
        "job-x-28-abcde",
        "web-1",
    ]
    n1 = Node.objects.get(cluster=cluster, name="n1")
    assert (n1.node_pool.name, n1.instance_type, n1.instance_id) == ("pool-a", "m5.xlarge", "i-0001")
    assert Namespace.objects.get(cluster=cluster, name="shop").labels == {"department": "sales"}
    owners = {p.name: (p.workload.kind, p.workload.name) for p in Pod.objects.filter(cluster=cluster)}
    assert owners == {
        "web-1": ("Deployment", "web"),
        "job-x-28-abcde": ("CronJob", "job-x"),
        "bare": ("Pod", "bare"),
    }
    n1_hours = NodeHour.objects.get(cluster=cluster, node=n1)
    assert n1_hours.cpu_capacity_core_hours == pytest.approx(4 * SAMPLED * MINUTE)
    assert n1_hours.mem_capacity_gib_hours == pytest.approx(16 * SAMPLED * MINUTE)

    first = FIRST_SLOT[name]
    web = pod_hours(cluster, "web-1")  # requests max(0.6, 2) cores, max(1.125, 0.5) GiB; usage 0.45, 612 MiB
    assert (web["samples"], web["without"]) == (SAMPLED, 0)
    assert web["cpu_request"] == pytest.approx(2.0 * SAMPLED * MINUTE)
    assert web["cpu_usage"] == pytest.approx(0.45 * (SAMPLED - 1 + first) * MINUTE, rel=1e-9)
    assert web["mem_request"] == pytest.approx(1.125 * SAMPLED * MINUTE)
    assert web["mem_usage"] == pytest.approx(612 * MIB / GIB * SAMPLED * MINUTE)
    bare = pod_hours(cluster, "bare")  # no cAdvisor: charged its request
    assert (bare["samples"], bare["without"], bare["cpu_usage"]) == (SAMPLED, SAMPLED, 0)
    assert bare["cpu_billable"] == pytest.approx(0.2 * SAMPLED * MINUTE)
    job = pod_hours(cluster, "job-x-28-abcde")  # three slots; 1.55 cores used of 1.1 requested
    assert job["samples"] == 3
    assert job["cpu_usage"] == pytest.approx(1.55 * (first + 2) * MINUTE, rel=1e-9)
    assert job["cpu_billable"] == pytest.approx(1.55 * (first + 2) * MINUTE, rel=1e-9)
    assert job["cpu_request"] == pytest.approx(1.1 * 3 * MINUTE)
    assert job["mem_billable"] == pytest.approx((2 * GIB + 64 * MIB) / GIB * 3 * MINUTE)
    containers = dict(ContainerHour.objects.filter(cluster=cluster).values_list("container", "init"))
    assert containers == {"app": False, "proxy": False, "c": False, "worker": False, "log": False}
    app = ContainerHour.objects.get(cluster=cluster, pod__name="web-1", container="app")
    assert app.cpu_limit_core_hours == pytest.approx(1.0 * SAMPLED * MINUTE)
    assert app.mem_usage_max_bytes == 512 * MIB
    # A second run adds nothing.
    assert "0 slots sampled, 0 without data" in run(url, "--rate-window", "60s")


def test_a_long_range_gives_the_slots_asked_for(server, cluster):
    """59 slots of 10 s from T0 + 10 s: VictoriaMetrics would move the start of a range of 50 points or more
    down to a multiple of the step (one more point, whose window (T0, T0 + 10 s] holds the scrape at T0 + 5 s)
    unless asked not to; no slot before the start is recorded, and each 10 s slot holding a scrape is sampled
    (scrapes every 15 s from T0 + 20 s: 39, less the 4 of the scrape gap)."""
    _, url = server
    output = run(url, "--rate-window", "60s", start=10, end=600, step="10s")

    assert "35 slots sampled, 24 without data in Prometheus (gaps)" in output
    slots = SampleSlot.objects.filter(cluster=cluster)
    assert slots.count() == 59
    assert min(slots.values_list("slot", flat=True)) == datetime.fromtimestamp(T0 + 10, tz=UTC)
    # n1's capacity in the 35 slots of 10 s.
    n1 = NodeHour.objects.get(cluster=cluster, node__name="n1")
    assert n1.cpu_capacity_core_hours == pytest.approx(4 * 35 * 10 / 3600)


def test_the_default_rate_window_on_each_server(server, cluster):
    """A rate window of 120 s over 60 s slots: Prometheus reads only the part of the window it has samples for
    at a counter's start and after the scrape gap (test_prometheus.py, the bound); VictoriaMetrics' rate() is
    the counter's slope between its samples (the last before the window included): exact for these counters."""
    name, url = server
    run(url)
    web = pod_hours(cluster, "web-1")
    job = pod_hours(cluster, "job-x-28-abcde")
    if name == "victoria-metrics":
        assert web["cpu_usage"] == pytest.approx(0.45 * SAMPLED * MINUTE, rel=1e-9)
        assert job["cpu_usage"] == pytest.approx(1.55 * 3 * MINUTE, rel=1e-9)
    else:
        assert web["cpu_usage"] == pytest.approx(
            0.45 * ((59.999 + 119.999 + 62.499) / 120 + 6) / 60, rel=1e-9
        )
        assert job["cpu_usage"] == pytest.approx(1.55 * ((59.999 + 119.999) / 120 + 1) / 60, rel=1e-9)


# --- what VictoriaMetrics says differently ----------------------------------------------------------------


def test_victoria_metrics_wrong_path_and_selector_are_named(victoria_metrics, cluster):
    # VictoriaMetrics answers a path it does not serve with HTTP 400 and text, not 404.
    with pytest.raises(
        CommandError,
        match=r"/api/v1/api/v1/.* is not found \(HTTP 400\): give the URL of the Prometheus HTTP API",
    ):
        run(victoria_metrics.url + "/api/v1")
    with pytest.raises(CommandError, match=r"Prometheus refused .*unexpected token"):
        call_command(
            "import_prometheus", "--cluster", "prod", "--url", victoria_metrics.url, "--start", iso(0),
            "--end", iso(600), "--label-selector", 'cluster=="prod"', stdout=StringIO(),
        )  # fmt: skip
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_prometheus", "--cluster", "prod", "--url", victoria_metrics.url, "--start", iso(0),
            "--end", iso(600), "--label-selector", 'cluster="nowhere"', stdout=StringIO(),
        )  # fmt: skip
    assert "no series of kube_node_info, kube_node_status_capacity, kube_pod_info" in str(raised.value)
    assert not SampleSlot.objects.exists()


def test_victoria_metrics_sample_limit_names_its_flag(victoria_metrics, cluster, tmp_path):
    """-search.maxSamplesPerQuery counts every sample of the storage blocks a query reads, whatever the time
    range: halving the range does not pass, and the import stops naming the flag, having written nothing."""
    limited = compat_servers.VictoriaMetricsServer(
        tmp_path / "limited", known.cluster_metrics(), "-search.maxSamplesPerQuery=20"
    ).start()
    try:
        with pytest.raises(CommandError) as raised:
            run(limited.url)
    finally:
        limited.stop()
    message = str(raised.value)
    assert "refuses even one slot of" in message
    assert "cannot select more than -search.maxSamplesPerQuery=20 samples" in message
    assert "VictoriaMetrics -search.maxSamplesPerQuery" in message
    assert not SampleSlot.objects.exists()
