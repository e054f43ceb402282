"""import_samples: quantity strings, every kind of bad field named by file/line/column with nothing stored, re-import."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from costing.choices import ConnectionType, SampleSource
from costing.models import Cluster, CoverageHour, Namespace, Node, NodeHour, Pod, PodHour, SampleSlot

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
NODES = """timestamp,node,node_pool,provider_id,cpu_capacity_cores,memory_capacity_bytes,labels
2026-03-02T10:00:00Z,n1,pool-a,aws:///eu-west-1a/i-0abc,4,16Gi,"{""zone"": ""a""}"
2026-03-02T10:01:00Z,n1,pool-a,aws:///eu-west-1a/i-0abc,4000m,17179869184,
"""
PODS = """timestamp,namespace,pod,node,owner_kind,owner_name,cpu_request_cores,cpu_usage_cores,memory_request_bytes,memory_usage_bytes
2026-03-02T10:00:00Z,shop,web-1,n1,Deployment,web,500m,0.2,1Gi,512Mi
2026-03-02T10:01:00Z,shop,web-1,n1,Deployment,web,0.5,700m,1073741824,2Gi
2026-03-02T10:01:00+00:00,shop,job-1,n1,,,1,,2Gi,
"""
NAMESPACES = """namespace,labels
shop,"{""department"": ""retail""}"
"""


@pytest.fixture
def cluster(db):
    return Cluster.objects.create(name="prod", connection_type=ConnectionType.KUBECONFIG)


def write(tmp_path, nodes=NODES, pods=PODS, namespaces=NAMESPACES):
    paths = {}
    for name, text in (("nodes", nodes), ("pods", pods), ("namespaces", namespaces)):
        path = tmp_path / f"{name}.csv"
        path.write_text(text)
        paths[name] = str(path)
    return paths


def run(paths, cluster="prod", **extra):
    out = io.StringIO()
    call_command(
        "import_samples",
        "--cluster", cluster,
        "--nodes", paths["nodes"],
        "--pods", paths["pods"],
        "--namespaces", paths["namespaces"],
        *[f"--{k}={v}" for k, v in extra.items()],
        stdout=out,
    )  # fmt: skip
    return out.getvalue()


def state():
    return (
        sorted(
            PodHour.objects.values_list(
                "pod__name", "samples", "cpu_billable_core_hours", "mem_billable_gib_hours"
            )
        ),
        sorted(NodeHour.objects.values_list("node__name", "samples", "cpu_capacity_core_hours")),
        sorted(CoverageHour.objects.values_list("hour", "sampled_seconds")),
        sorted(SampleSlot.objects.values_list("slot", "source")),
        Pod.objects.count(),
    )


def test_happy_path_with_quantity_strings(cluster, tmp_path):
    output = run(write(tmp_path))
    assert "2 slots" in output and "3 pod samples" in output
    assert "Recording" not in output  # no progress bar when stdout is not a terminal
    web = PodHour.objects.get(pod__name="web-1")
    assert web.samples == 2 and web.samples_without_metrics == 0
    assert web.cpu_request_core_hours == pytest.approx((0.5 + 0.5) / 60)
    assert web.cpu_usage_core_hours == pytest.approx((0.2 + 0.7) / 60)
    assert web.cpu_billable_core_hours == pytest.approx((0.5 + 0.7) / 60)
    assert web.mem_usage_gib_hours == pytest.approx((0.5 + 2) / 60)
    assert web.mem_billable_gib_hours == pytest.approx((1 + 2) / 60)
    job = PodHour.objects.get(pod__name="job-1")  # empty usage: no metrics, charged its request
    assert (job.samples, job.samples_without_metrics) == (1, 1)
    assert job.cpu_usage_core_hours == 0 and job.cpu_billable_core_hours == pytest.approx(1 / 60)
    assert job.mem_billable_gib_hours == pytest.approx(2 / 60)
    pod = Pod.objects.get(name="job-1")
    assert (pod.uid, pod.workload.kind, pod.workload.name) == ("shop/job-1", "Pod", "job-1")
    node = Node.objects.get()
    assert (node.node_pool.name, node.instance_id, node.labels) == ("pool-a", "i-0abc", {})
    assert node.first_seen == T0
    node_hour = NodeHour.objects.get()
    assert node_hour.cpu_capacity_core_hours == pytest.approx(8 / 60)
    assert node_hour.mem_capacity_gib_hours == pytest.approx(32 / 60)
    assert Namespace.objects.get(name="shop").labels == {"department": "retail"}
    assert set(SampleSlot.objects.values_list("source", flat=True)) == {SampleSource.IMPORT}
    assert CoverageHour.objects.get().sampled_seconds == 120


def test_reimport_replaces_the_hours_it_touches(cluster, tmp_path):
    run(write(tmp_path))
    # the same first slot with other numbers, and nothing for 10:01: hour 10 is now only this
    pods = PODS.splitlines()[0] + "\n2026-03-02T10:00:00Z,shop,web-1,n1,Deployment,web,1,3,1Gi,1Gi\n"
    run(write(tmp_path, nodes="\n".join(NODES.splitlines()[:2]) + "\n", pods=pods))
    (row,) = PodHour.objects.all()
    assert (row.pod.name, row.samples, row.cpu_billable_core_hours) == ("web-1", 1, pytest.approx(3 / 60))
    assert NodeHour.objects.get().samples == 1
    assert CoverageHour.objects.get().sampled_seconds == 60
    assert SampleSlot.objects.count() == 1
    before = state()
    run(write(tmp_path, nodes="\n".join(NODES.splitlines()[:2]) + "\n", pods=pods))
    assert state() == before


HEADER_PODS = PODS.splitlines()[0]
POD_ROW = "2026-03-02T10:00:00Z,shop,web-1,n1,Deployment,web,500m,0.2,1Gi,512Mi"


@pytest.mark.parametrize(
    ("which", "text", "message"),
    [
        ("pods", f"{HEADER_PODS}\n{POD_ROW}\nyesterday,shop,web-2,n1,Deployment,web,1,1,1,1\n",
         "pods.csv, line 3, column timestamp: not an ISO 8601 time: 'yesterday'"),
        ("pods", f"{HEADER_PODS}\n{POD_ROW.replace('500m', '5X')}\n",
         "pods.csv, line 2, column cpu_request_cores: unknown suffix"),
        ("pods", f"{HEADER_PODS}\n{POD_ROW.replace('512Mi', '-512Mi')}\n",
         "pods.csv, line 2, column memory_usage_bytes: negative"),
        ("pods", f"{HEADER_PODS}\n{POD_ROW.replace(',0.2,', ',-0.2,')}\n",
         "pods.csv, line 2, column cpu_usage_cores: negative"),
        ("pods", f"{HEADER_PODS.replace(',owner_name', '')}\n{POD_ROW}\n",
         "pods.csv, line 1, column owner_name: missing column"),
        ("pods", f"{HEADER_PODS}\n{POD_ROW}\n{POD_ROW.replace(',n1,', ',n9,').replace('web-1', 'web-2')}\n",
         "pods.csv, line 3, column node: node 'n9' is not in nodes.csv at 2026-03-02T10:00:00+00:00"),
        ("pods", f"{HEADER_PODS}\n{POD_ROW.replace(',0.2,', ',,')}\n",
         "pods.csv, line 2, column cpu_usage_cores: empty while the other usage is not"),
        ("pods", f"{HEADER_PODS}\n{POD_ROW}\n{POD_ROW}\n",
         "pods.csv, line 3, column pod: pod 'shop/web-1' is listed twice"),
        ("pods", f"{HEADER_PODS},labels\n{POD_ROW},[1]\n",
         "pods.csv, line 2, column labels: not a JSON object"),
        ("nodes", NODES.replace(",4000m,", ",4 cores,"),
         "nodes.csv, line 3, column cpu_capacity_cores:"),
        ("nodes", NODES.replace("2026-03-02T10:01:00Z", "2026-03-32T10:01:00Z"),
         "nodes.csv, line 3, column timestamp: not an ISO 8601 time"),
        ("nodes", NODES.replace(",16Gi,", ",,"),
         "nodes.csv, line 2, column memory_capacity_bytes: empty"),
        ("nodes", NODES.replace("provider_id,", "provider,"),
         "nodes.csv, line 1, column provider_id: missing column"),
        ("nodes", NODES.replace(",labels", ",labels,colour").replace("\n2026", ",x\n2026"),
         "nodes.csv, line 1, column colour: unknown column"),
        ("namespaces", 'namespace,labels\nshop,"{""a"": 1}"\n',
         "namespaces.csv, line 2, column labels: not a JSON object of strings"),
        # Names Kubernetes itself would refuse (k8snames): they cannot be real, and break the pages' links.
        ("pods", f"{HEADER_PODS}\n{POD_ROW.replace(',shop,', ',team/a b,')}\n",
         "pods.csv, line 2, column namespace: namespace name 'team/a b' is not one Kubernetes accepts "
         "(an RFC 1123 label"),
        ("pods", f"{HEADER_PODS}\n{POD_ROW}\n{POD_ROW.replace(',shop,', ',-x,')}\n",
         "pods.csv, line 3, column namespace: namespace name '-x' is not one Kubernetes accepts"),
        ("pods", f"{HEADER_PODS}\n{POD_ROW.replace(',shop,', ',' + 'n' * 64 + ',')}\n",
         "pods.csv, line 2, column namespace: namespace name 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...' "
         "is 64 characters; Kubernetes allows at most 63"),
        ("pods", f"{HEADER_PODS}\n{POD_ROW.replace('web-1', 'Web_1')}\n",
         "pods.csv, line 2, column pod: pod name 'Web_1' is not one Kubernetes accepts (an RFC 1123 subdomain"),
        ("pods", f"{HEADER_PODS}\n{POD_ROW.replace('web-1', 'w' * 254)}\n",
         "pods.csv, line 2, column pod: pod name 'wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww...' is 254 characters; "
         "Kubernetes allows at most 253"),
        ("pods", f"{HEADER_PODS}\n{POD_ROW.replace(',n1,', ',n1.,')}\n",
         "pods.csv, line 2, column node: node name 'n1.' is not one Kubernetes accepts"),
        ("pods", f"{HEADER_PODS}\n{POD_ROW.replace('Deployment,web', 'Job,' + 'j' * 64)}\n",
         "pods.csv, line 2, column owner_name: Job name 'jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj...' is 64 "
         "characters; Kubernetes allows at most 63"),
        ("pods", f"{HEADER_PODS}\n{POD_ROW.replace('Deployment,web', 'CronJob,' + 'c' * 53)}\n",
         "pods.csv, line 2, column owner_name: CronJob name 'ccccccccccccccccccccccccccccccccccccc...' is 53 "
         "characters; Kubernetes allows at most 52"),
        ("pods", f"{HEADER_PODS}\n{POD_ROW.replace('Deployment,web', 'Deployment,web app')}\n",
         "pods.csv, line 2, column owner_name: Deployment name 'web app' is not one Kubernetes accepts"),
        ("pods", f"{HEADER_PODS}\n{POD_ROW.replace('Deployment,web', 'Deploy ment,web')}\n",
         "pods.csv, line 2, column owner_kind: 'Deploy ment' is not a Kubernetes kind"),
        ("nodes", NODES.replace(",n1,", ",n1/a,", 1),
         "nodes.csv, line 2, column node: node name 'n1/a' is not one Kubernetes accepts"),
        ("namespaces", "namespace,labels\nShop,\n",
         "namespaces.csv, line 2, column namespace: namespace name 'Shop' is not one Kubernetes accepts"),
    ],
)  # fmt: skip
def test_a_bad_field_is_named_and_nothing_is_stored(cluster, tmp_path, which, text, message):
    run(write_dir(tmp_path / "good"))
    before = state()
    paths = write_dir(tmp_path / "bad", **{which: text})
    with pytest.raises(CommandError) as error:
        run(paths)
    assert message in str(error.value)
    assert state() == before


def test_the_longest_names_kubernetes_allows_are_imported(cluster, tmp_path):
    namespace = "n" * 63
    pod = ".".join(["p" * 63] * 4)[:253]  # dot-separated labels, 253 characters
    cronjob = "c" * 52
    row = POD_ROW.replace(",shop,", f",{namespace},").replace("web-1", pod)
    row = row.replace("Deployment,web", f"CronJob,{cronjob}")
    uid = "4f6c1a52-9d1e-4d8e-9a57-0c1d2e3f4a5b"
    paths = write(tmp_path, pods=f"{HEADER_PODS}\n{row}\n", namespaces=f"namespace\n{namespace}\n")
    # Without a pod_uid, the pod's identity is namespace/pod: 317 characters, more than is kept.
    with pytest.raises(
        CommandError, match=r"pods.csv, line 2, column pod: namespace/pod is 317 characters, more "
    ):
        run(paths)
    paths = write(
        tmp_path, pods=f"{HEADER_PODS},pod_uid\n{row},{uid}\n", namespaces=f"namespace\n{namespace}\n"
    )
    run(paths)
    (stored,) = Pod.objects.all()
    assert (stored.namespace.name, stored.name, stored.uid, stored.workload.kind, stored.workload.name) == (
        namespace,
        pod,
        uid,
        "CronJob",
        cronjob,
    )


@pytest.mark.parametrize(
    ("which", "column", "longest"),
    [("nodes", "node_pool", 253), ("nodes", "provider_id", 500), ("nodes", "instance_type", 100)],
)
def test_texts_longer_than_the_database_keeps_are_refused(cluster, tmp_path, which, column, longest):
    header, first, second = NODES.splitlines()
    header += ",instance_type"
    values = dict(zip(header.split(","), next(csv.reader([first + ",m5.large"])), strict=True))
    values[column] = "x" * (longest + 1)
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(values.values())
    row = out.getvalue()
    paths = write(tmp_path, nodes=f"{header}\n{row}\n{second},m5.large\n")
    with pytest.raises(CommandError) as error:
        run(paths)
    assert (
        str(error.value)
        == f"nodes.csv, line 2, column {column}: {longest + 1} characters, more than the {longest} kept"
    )


def write_dir(folder, **texts):
    folder.mkdir(exist_ok=True)
    return write(folder, **texts)


def test_unknown_cluster_and_bad_interval(cluster, tmp_path):
    paths = write(tmp_path)
    with pytest.raises(CommandError, match="no cluster named 'nope'"):
        run(paths, cluster="nope")
    with pytest.raises(CommandError, match="--interval"):
        run(paths, interval=0)
    assert not SampleSlot.objects.exists()


def test_an_import_over_midnight_records_each_day_and_the_straddling_slot(cluster, tmp_path):
    header_nodes = NODES.splitlines()[0]
    nodes = (
        header_nodes
        + "\n"
        + "\n".join(f"{t},n1,pool-a,,4,16Gi," for t in ("2026-03-02T23:59:30Z", "2026-03-03T00:00:30Z"))
    )
    pods = (
        HEADER_PODS
        + "\n"
        + "\n".join(
            f"{t},shop,web-1,n1,Deployment,web,1,0.5,1Gi,1Gi"
            for t in ("2026-03-02T23:59:30Z", "2026-03-03T00:00:30Z")
        )
    )
    paths = write(tmp_path, nodes=nodes + "\n", pods=pods + "\n")
    for _ in range(2):  # the second import replaces the first
        run(paths)
        by_hour = dict(PodHour.objects.values_list("hour", "cpu_billable_core_hours"))
        assert by_hour == {
            datetime(2026, 3, 2, 23, tzinfo=UTC): pytest.approx(30 / 3600),
            datetime(2026, 3, 3, 0, tzinfo=UTC): pytest.approx(90 / 3600),
        }
        assert dict(CoverageHour.objects.values_list("hour", "sampled_seconds")) == {
            datetime(2026, 3, 2, 23, tzinfo=UTC): 30,
            datetime(2026, 3, 3, 0, tzinfo=UTC): 90,
        }


CONTAINER_PODS = """timestamp,namespace,pod,node,owner_kind,owner_name,container,init,cpu_request_cores,cpu_limit_cores,cpu_usage_cores,memory_request_bytes,memory_limit_bytes,memory_usage_bytes
2026-03-02T10:00:00Z,shop,web-1,n1,Deployment,web,migrate,true,1,,0.9,64Mi,,50Mi
2026-03-02T10:01:00Z,shop,web-1,n1,Deployment,web,app,false,500m,1,0.4,256Mi,512Mi,200Mi
2026-03-02T10:01:00Z,shop,web-1,n1,Deployment,web,proxy,,100m,,,64Mi,,
"""


def test_a_container_column_gives_container_hours_and_their_pod(cluster, tmp_path):
    from costing.models import ContainerHour

    output = run(write(tmp_path, pods=CONTAINER_PODS))
    assert "2 pod samples" in output
    web = PodHour.objects.get()
    # Request: the init container alone (1 core), then app + proxy (0.6); usage 0.9, then 0.4 (proxy: none).
    assert web.cpu_request_core_hours == pytest.approx((1 + 0.6) / 60)
    assert web.cpu_usage_core_hours == pytest.approx((0.9 + 0.4) / 60)
    assert web.samples_without_metrics == 0  # one container with metrics is enough for the pod
    hours = {h.container: h for h in ContainerHour.objects.all()}
    assert sorted(hours) == ["app", "migrate", "proxy"]
    assert hours["migrate"].init and not hours["app"].init and not hours["proxy"].init
    assert hours["app"].cpu_limit_core_hours == pytest.approx(1 / 60)
    assert hours["app"].mem_limit_gib_hours == pytest.approx(0.5 / 60)
    assert (hours["proxy"].samples_without_metrics, hours["proxy"].cpu_histogram) == (1, {})


def test_a_file_without_container_column_is_one_main_container_per_pod(cluster, tmp_path):
    from costing.models import ContainerHour

    run(write(tmp_path))
    assert sorted(ContainerHour.objects.values_list("pod__name", "container")) == [
        ("job-1", "main"),
        ("web-1", "main"),
    ]


@pytest.mark.parametrize(
    ("pods", "message"),
    [
        (CONTAINER_PODS.replace(",proxy,", ",app,"),
         "pods.csv, line 4, column container: pod|container 'shop/web-1|app' is listed twice at this timestamp"),
        (CONTAINER_PODS.replace(",proxy,", ",Proxy_1,"),
         "pods.csv, line 4, column container: container name 'Proxy_1' is not one Kubernetes accepts"),
        (CONTAINER_PODS.replace(",migrate,true,", ",migrate,maybe,"),
         "pods.csv, line 2, column init: not true or false: 'maybe'"),
        (CONTAINER_PODS.replace(",n1,Deployment,web,proxy,", ",n2,Deployment,web,proxy,"),
         "pods.csv, line 4, column node: pod shop/web-1 has another node in an earlier row of the same timestamp"),
        (PODS.replace("memory_usage_bytes\n", "memory_usage_bytes,init\n", 1),
         "pods.csv, line 1, column init: only a file with a container column may have this column"),
    ],
)  # fmt: skip
def test_bad_container_rows_are_named_and_nothing_is_stored(cluster, tmp_path, pods, message):
    with pytest.raises(CommandError) as error:
        run(write(tmp_path, pods=pods))
    assert message in str(error.value)
    assert state() == ([], [], [], [], 0)


# The usage columns are read as numbers by the CSV parser (csv_files._read_floats) when every value is a plain
# positive number; any other value sends the column through the text checks, with the same errors as ever.
@pytest.mark.parametrize(
    ("usage", "message"),
    [
        ("true", "pods.csv, line 2, column cpu_usage_cores: not a Kubernetes quantity: 'true'"),
        ("FALSE", "pods.csv, line 2, column cpu_usage_cores: not a Kubernetes quantity: 'FALSE'"),
        ("inf", "pods.csv, line 2, column cpu_usage_cores: not a finite number: 'inf'"),
        ("-0.5", "pods.csv, line 2, column cpu_usage_cores: negative: '-0.5'"),
        ("nan", "pods.csv, line 2, column cpu_usage_cores: not a Kubernetes quantity: 'nan'"),
    ],
)
def test_usage_read_as_numbers_still_names_a_bad_value(cluster, tmp_path, usage, message):
    pods = f"{HEADER_PODS}\n{POD_ROW.replace(',0.2,', f',{usage},')}\n"
    with pytest.raises(CommandError) as error:
        run(write(tmp_path, pods=pods))
    assert str(error.value) == message
    assert state() == ([], [], [], [], 0)


def test_usage_values_of_every_form_are_read_exactly(cluster, tmp_path):
    from costing.collectors.csv_files import _read_floats, _read_text

    # 0 and 1 (which the parser would also give for false/true) go through the text path; the others are
    # parsed by the CSV parser: each must be the double that float() gives for the text.
    texts = ["0.1", "1e-7", "123456789.123456789", " 0.25", "2.5e3", "0", "1", "7", "0.30000000000000004"]
    rows = [
        f"2026-03-02T10:{i:02d}:00Z,shop,web-1,n1,Deployment,web,1,{t},1Gi,{2 + i}"
        for i, t in enumerate(texts)
    ]
    nodes = (
        NODES.splitlines()[0]
        + "\n"
        + "".join(f"2026-03-02T10:{i:02d}:00Z,n1,pool-a,,4,16Gi,\n" for i in range(len(texts)))
    )
    paths = write(tmp_path, nodes=nodes, pods=HEADER_PODS + "\n" + "\n".join(rows) + "\n")
    floats = _read_floats(tmp_path / "pods.csv", ("cpu_usage_cores", "memory_usage_bytes"))
    assert floats["memory_usage_bytes"].dtype == np.float64  # all plain numbers above 1
    assert floats["cpu_usage_cores"].dtype != np.float64  # 0 and 1: read as text
    text = _read_text(tmp_path / "pods.csv")
    assert floats["memory_usage_bytes"].tolist() == [float(v) for v in text["memory_usage_bytes"]]
    only_numbers = write_dir(
        tmp_path / "plain",
        pods=HEADER_PODS
        + "\n"
        + "\n".join(r for r, t in zip(rows, texts, strict=True) if t.strip() not in ("0", "1"))
        + "\n",
        nodes=nodes,
    )
    floats = _read_floats(tmp_path / "plain" / "pods.csv", ("cpu_usage_cores",))
    assert floats["cpu_usage_cores"].tolist() == [float(t) for t in texts if t.strip() not in ("0", "1")]
    run(paths)
    hours = PodHour.objects.get()
    assert hours.samples == len(texts)
    assert hours.cpu_usage_core_hours == pytest.approx(sum(float(t) for t in texts) / 60, rel=1e-12)
    run(only_numbers)
