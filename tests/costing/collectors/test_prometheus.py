"""import_prometheus against a real Prometheus (tests/costing/collectors/prometheus_server.py): what it records,
that a second run adds nothing, and the clear errors of bad input."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from costing.choices import ConnectionType, SampleSource, SampleStatus
from costing.collectors.prometheus import PrometheusSource
from costing.collectors.prometheus_client import PrometheusClient, TooManySamples
from costing.collectors.prometheus_import import slots_to_read
from costing.models import Cluster, ContainerHour, Namespace, Node, NodeHour, Pod, PodHour, SampleSlot
from costing.recording import record_gaps
from tests.costing.collectors import prometheus_server as known
from tests.costing.collectors.prometheus_server import GAP_SLOT, GIB, MIB, T0

pytestmark = pytest.mark.django_db

SELECTOR = 'cluster="prod"'
SAMPLED = known.SLOTS - 1  # every slot but the scrape gap
HOUR = 3600


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, tz=UTC)


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(T0 + seconds, tz=UTC).isoformat()


def run(url: str, *extra: str, start: int = 0, end: int = known.SLOTS * 60, cluster: str = "prod") -> str:
    out = StringIO()
    call_command(
        "import_prometheus",
        "--cluster", cluster, "--url", url, "--start", iso(start), "--end", iso(end),
        "--step", "60s", "--label-selector", SELECTOR, "--rate-window", "60s", *extra,
        stdout=out, stderr=StringIO(),
    )  # fmt: skip
    return out.getvalue()


@pytest.fixture
def cluster():
    return Cluster.objects.create(name="prod", connection_type=ConnectionType.KUBECONFIG)


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


def test_import_records_the_known_cluster(prometheus_server, cluster):
    output = run(prometheus_server.url)

    assert "read 10/10 slots (100%)" in output
    assert f"{SAMPLED} slots sampled, 1 without data in Prometheus (gaps)" in output
    slots = SampleSlot.objects.filter(cluster=cluster)
    assert slots.filter(status=SampleStatus.OK, source=SampleSource.PROMETHEUS).count() == SAMPLED
    gap = slots.get(status=SampleStatus.GAP)
    assert gap.slot == datetime.fromtimestamp(T0 + GAP_SLOT * 60, tz=UTC)
    assert "no data in Prometheus" in gap.reason
    # The other cluster of the same Prometheus, and the finished pod, are not there.
    assert sorted(Node.objects.filter(cluster=cluster).values_list("name", flat=True)) == ["n1", "n2"]
    assert sorted(Pod.objects.filter(cluster=cluster).values_list("name", flat=True)) == [
        "bare",
        "job-x-28-abcde",
        "web-1",
    ]
    n1 = Node.objects.get(cluster=cluster, name="n1")
    assert (n1.node_pool.name, n1.instance_type, n1.instance_id) == ("pool-a", "m5.xlarge", "i-0001")
    assert Node.objects.get(cluster=cluster, name="n2").node_pool.name == "default"
    assert Namespace.objects.get(cluster=cluster, name="shop").labels == {"department": "sales"}
    owners = {p.name: (p.workload.kind, p.workload.name) for p in Pod.objects.filter(cluster=cluster)}
    assert owners == {
        "web-1": ("Deployment", "web"),
        "job-x-28-abcde": ("CronJob", "job-x"),
        "bare": ("Pod", "bare"),
    }
    minute = 60 / HOUR
    n1_hours = NodeHour.objects.get(cluster=cluster, node=n1)
    assert n1_hours.samples == SAMPLED
    assert n1_hours.cpu_capacity_core_hours == pytest.approx(4 * SAMPLED * minute)
    assert n1_hours.mem_capacity_gib_hours == pytest.approx(16 * SAMPLED * minute)

    # web-1: requests by the scheduler's rule, max(app + proxy, init migrate) = max(0.6, 2) cores and
    # max(1 GiB + 128 MiB, 512 MiB); usage 0.25 + 0.2 cores, 512 + 100 MiB. In the first slot of the counters'
    # life, rate() sees 59.999 s of the 60 (Prometheus does not extrapolate a counter below its start).
    web = pod_hours(cluster, "web-1")
    assert web["samples"] == SAMPLED and web["without"] == 0
    assert web["cpu_request"] == pytest.approx(2.0 * SAMPLED * minute)
    assert web["cpu_usage"] == pytest.approx(0.45 * (SAMPLED - 1 + 59.999 / 60) * minute, rel=1e-9)
    assert web["cpu_billable"] == pytest.approx(2.0 * SAMPLED * minute)
    assert web["mem_request"] == pytest.approx(1.125 * SAMPLED * minute)
    assert web["mem_usage"] == pytest.approx(612 * MIB / GIB * SAMPLED * minute)
    # bare: no cAdvisor series: charged its request, counted without metrics.
    bare = pod_hours(cluster, "bare")
    assert (bare["samples"], bare["without"]) == (SAMPLED, SAMPLED)
    assert bare["cpu_usage"] == 0
    assert bare["cpu_billable"] == pytest.approx(0.2 * SAMPLED * minute)
    # The pod that lived three minutes: slots 2, 3, 4; its first slot is again the counter's first.
    job = pod_hours(cluster, "job-x-28-abcde")
    assert job["samples"] == 3
    usage = 1.55 * (59.999 / 60 + 2) * minute
    assert job["cpu_usage"] == pytest.approx(usage, rel=1e-9)
    assert job["cpu_billable"] == pytest.approx(usage, rel=1e-9)  # above its 1.1 cores requested
    assert job["cpu_request"] == pytest.approx(1.1 * 3 * minute)
    assert job["mem_billable"] == pytest.approx((2 * GIB + 64 * MIB) / GIB * 3 * minute)
    containers = dict(ContainerHour.objects.filter(cluster=cluster).values_list("container", "init"))
    assert containers == {"app": False, "proxy": False, "c": False, "worker": False, "log": False}
    app = ContainerHour.objects.get(cluster=cluster, pod__name="web-1", container="app")
    assert app.cpu_limit_core_hours == pytest.approx(1.0 * SAMPLED * minute)
    assert app.mem_usage_max_bytes == 512 * MIB


def test_a_second_run_and_an_interrupted_one_count_once(prometheus_server, cluster):
    run(prometheus_server.url, start=0, end=240)  # stopped after four slots
    output = run(prometheus_server.url)
    assert f"{SAMPLED - 4} slots sampled, 1 without data" in output
    again = run(prometheus_server.url)
    assert "0 slots sampled, 0 without data" in again
    assert SampleSlot.objects.filter(cluster=cluster).count() == known.SLOTS
    web = pod_hours(cluster, "web-1")
    assert web["samples"] == SAMPLED
    assert web["cpu_request"] == pytest.approx(2.0 * SAMPLED / 60)


def test_slots_already_recorded_are_not_read_again(cluster):
    # A 5-minute sample at T0 + 10 min and a 90 s one at T0 + 30 s (it reaches into the second minute).
    record_gaps(cluster, [at(600)], interval=300, source=SampleSource.IMPORT, reason="x")
    record_gaps(cluster, [at(30)], interval=90, source=SampleSource.IMPORT, reason="x")
    slots = slots_to_read(cluster, at(0), at(1200), 60) - T0
    assert slots.tolist() == [120, 180, 240, 300, 360, 420, 480, 540, 900, 960, 1020, 1080, 1140]
    # The start is rounded up to a whole step, the end down.
    assert (slots_to_read(cluster, at(130), at(299), 60) - T0).tolist() == [180]


def test_unreachable_url_names_it_and_writes_nothing(cluster):
    url = f"http://127.0.0.1:{known.free_port()}"
    with pytest.raises(
        CommandError, match=r"cannot connect to Prometheus at http://127\.0\.0\.1:\d+: check the URL"
    ):
        run(url)
    assert not SampleSlot.objects.exists()


def test_a_wrong_path_or_selector_is_named(prometheus_server, cluster):
    with pytest.raises(
        CommandError, match=r"is not found \(HTTP 404\): give the URL of the Prometheus HTTP API's root"
    ):
        run(prometheus_server.url + "/api/v1")
    with pytest.raises(CommandError, match=r"Prometheus refused .*parse error"):
        call_command(
            "import_prometheus", "--cluster", "prod", "--url", prometheus_server.url, "--start", iso(0),
            "--end", iso(600), "--label-selector", 'cluster=="prod"', stdout=StringIO(),
        )  # fmt: skip
    with pytest.raises(CommandError, match="give matchers only"):
        run(prometheus_server.url, "--label-selector", "}{")
    assert not SampleSlot.objects.exists()


def test_missing_kube_state_metrics_is_named(prometheus_server, cluster):
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_prometheus", "--cluster", "prod", "--url", prometheus_server.url, "--start", iso(0),
            "--end", iso(600), "--label-selector", 'cluster="nowhere"', stdout=StringIO(),
        )  # fmt: skip
    message = str(raised.value)
    assert "no series of kube_node_info, kube_node_status_capacity, kube_pod_info" in message
    assert 'matching {cluster="nowhere"}' in message
    assert "install kube-state-metrics v2" in message
    # The other cluster has kube-state-metrics' nodes but no requests and no cAdvisor.
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_prometheus", "--cluster", "prod", "--url", prometheus_server.url, "--start", iso(0),
            "--end", iso(600), "--label-selector", 'cluster="other"', stdout=StringIO(),
        )  # fmt: skip
    message = str(raised.value)
    assert "kube_pod_container_resource_requests, container_cpu_usage_seconds_total" in message
    assert "/metrics/cadvisor" in message
    assert not SampleSlot.objects.exists()


# --- a second server: basic authentication and a small sample limit ---------------------------------------

PASSWORD = "correct horse"
# Its bcrypt hash (cost 4), as Prometheus' web config wants it; made once with crypt.crypt (libxcrypt).
PASSWORD_HASH = "$2b$04$ENPheHBIWw5ryAk8z/PcWOawrA1OL8v1Xi0Qw25z6RmedvJnWYS2O"


@pytest.fixture(scope="module")
def guarded_server(prometheus_server, tmp_path_factory):
    """The same series behind basic authentication (user finops), refusing queries of more than 20 samples."""
    directory = tmp_path_factory.mktemp("guarded")
    shutil.copytree(
        prometheus_server.data,
        directory / "data",
        ignore=shutil.ignore_patterns("lock", "wal", "chunks_head"),
    )
    web = directory / "web.yml"
    web.write_text(f"basic_auth_users:\n  finops: '{PASSWORD_HASH}'\n")
    server = known.PrometheusServer(directory / "data", f"--web.config.file={web}", "--query.max-samples=20")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_wrong_credentials_are_a_401_message(guarded_server, cluster, tmp_path):
    secret = tmp_path / "password"
    secret.write_text("wrong\n")
    with pytest.raises(
        CommandError, match=r"rejected the credentials \(HTTP 401\): give a valid --token-file"
    ):
        run(guarded_server.url, "--user", "finops", "--password-file", str(secret))
    assert not SampleSlot.objects.exists()


def test_too_many_samples_splits_then_names_the_limit(guarded_server, prometheus_server, cluster, tmp_path):
    client = PrometheusClient(guarded_server.url, username="finops", password=PASSWORD)
    source = PrometheusSource(client, selector=SELECTOR)
    slots = np.array([T0 + 60 * k for k in range(known.SLOTS)])
    # kube_node_info over ten slots is more than 20 samples: the range is halved until it passes, same rows.
    expr = f"last_over_time(kube_node_info{{{SELECTOR}}}[60000ms])"
    with pytest.raises(TooManySamples):
        client.query_range(expr, slots[0] + 59.999, slots[-1] + 59.999, 60)
    split = source._range(expr, slots, 60, ["node"])
    whole = PrometheusSource(PrometheusClient(prometheus_server.url))._range(expr, slots, 60, ["node"])
    assert sorted(map(tuple, split.to_numpy().tolist())) == sorted(map(tuple, whole.to_numpy().tolist()))
    # The whole import passes in smaller queries, with the same numbers.
    secret = tmp_path / "password"
    secret.write_text(PASSWORD)
    run(guarded_server.url, "--user", "finops", "--password-file", str(secret))
    web = pod_hours(cluster, "web-1")
    assert web["samples"] == SAMPLED
    assert web["cpu_usage"] == pytest.approx(0.45 * (SAMPLED - 1 + 59.999 / 60) / 60, rel=1e-9)
    # A rate window of ten minutes loads 40 samples per series for a single slot: the import stops and
    # says which limit to raise, before anything of the chunk is stored.
    Cluster.objects.create(name="prod2", connection_type=ConnectionType.KUBECONFIG)
    with pytest.raises(
        CommandError,
        match=r"refuses even one slot .* raise the server's limit \(Prometheus --query.max-samples",
    ):
        run(guarded_server.url, "--user", "finops", "--password-file", str(secret), "--rate-window", "10m",
            cluster="prod2")  # fmt: skip
    assert not SampleSlot.objects.filter(cluster__name="prod2").exists()
