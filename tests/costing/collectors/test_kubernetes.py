"""Tests of costing.collectors.kubernetes: the real client over HTTP against the local test API server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from costing.collectors.kubernetes import (
    KubeconfigError,
    KubernetesCollector,
    api_client_from_kubeconfig,
    in_cluster_api_client,
)
from costing.collectors.snapshot import SnapshotError
from tests.costing.collectors.conftest import TOKEN, kubeconfig_for
from tests.k8s_api import (
    make_container,
    make_job,
    make_namespace,
    make_node,
    make_pod,
    make_pod_metrics,
    make_replicaset,
    owner_reference,
)

NOW = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)
Mi = 2**20
Gi = 2**30


def snapshot(kube_api, **options):
    return KubernetesCollector(kube_api.client, **options).snapshot(NOW)


def pods_by_name(snap):
    return {pod.name: pod for pod in snap.pods}


def failure(kube_api, **options) -> str:
    with pytest.raises(SnapshotError) as caught:
        snapshot(kube_api, **options)
    reason = caught.value.reason
    assert TOKEN not in reason
    return reason


# --- nodes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label",
    [
        "cce.cloud.com/cce-nodepool",
        "eks.amazonaws.com/nodegroup",
        "karpenter.sh/nodepool",
        "cloud.google.com/gke-nodepool",
        "kubernetes.azure.com/agentpool",
        "agentpool",
    ],
)
def test_node_pool_from_each_cloud_label(kube_api, label):
    kube_api.server.add(make_node("n1", pool_label=(label, "general-purpose")))
    (node,) = snapshot(kube_api).nodes
    assert node.node_pool == "general-purpose"


def test_configured_pool_label_wins_and_default_pool(kube_api):
    kube_api.server.add(
        make_node("labelled", labels={"team.example.com/pool": "batch", "karpenter.sh/nodepool": "ng-1"}),
        make_node("eks-only", pool_label=("eks.amazonaws.com/nodegroup", "ng-1")),
        make_node("bare"),
    )
    nodes = {n.name: n for n in snapshot(kube_api, node_pool_label="team.example.com/pool").nodes}
    assert nodes["labelled"].node_pool == "batch"
    assert nodes["eks-only"].node_pool == "ng-1"
    assert nodes["bare"].node_pool == "default"
    # Without the configured label the well-known one is used.
    nodes = {n.name: n for n in snapshot(kube_api).nodes}
    assert nodes["labelled"].node_pool == "ng-1"


def test_node_capacity_provider_id_instance_type_and_labels(kube_api):
    kube_api.server.add(
        make_node(
            "ip-10-0-1-17",
            cpu="3920m",
            memory="16393216Ki",
            provider_id="aws:///eu-west-1a/i-0abc123def4567890",
            instance_type="m5.xlarge",
        ),
        make_node(
            "old-node",
            cpu="2",
            memory="8Gi",
            instance_type="n1-standard-2",
            instance_type_label="beta.kubernetes.io/instance-type",
        ),
    )
    nodes = {n.name: n for n in snapshot(kube_api).nodes}
    node = nodes["ip-10-0-1-17"]
    assert node.cpu_capacity_cores == pytest.approx(3.92)
    assert node.memory_capacity_bytes == 16393216 * 1024
    assert node.provider_id == "aws:///eu-west-1a/i-0abc123def4567890"
    assert node.instance_id == "i-0abc123def4567890"
    assert node.instance_type == "m5.xlarge"
    assert node.labels["kubernetes.io/hostname"] == "ip-10-0-1-17"
    old = nodes["old-node"]
    assert (old.instance_type, old.provider_id, old.memory_capacity_bytes) == ("n1-standard-2", "", 8 * Gi)


def test_namespaces_and_their_labels(kube_api):
    kube_api.server.add(make_namespace("shop", {"cost-center": "cc-42"}), make_namespace("kube-system"))
    namespaces = {ns.name: ns.labels for ns in snapshot(kube_api).namespaces}
    assert namespaces == {
        "shop": {"kubernetes.io/metadata.name": "shop", "cost-center": "cc-42"},
        "kube-system": {"kubernetes.io/metadata.name": "kube-system"},
    }


def test_taken_at_is_utc_and_now_must_be_aware(kube_api):
    paris = timezone(timedelta(hours=1))
    snap = KubernetesCollector(kube_api.client).snapshot(datetime(2025, 1, 6, 11, 0, tzinfo=paris))
    assert snap.taken_at == NOW
    assert snap.taken_at.utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="timezone-aware"):
        KubernetesCollector(kube_api.client).snapshot(datetime(2025, 1, 6, 10, 0))


# --- which pods, and their effective requests ----------------------------------------------------------


def test_only_bound_unfinished_pods(kube_api):
    kube_api.server.add(
        make_node("n1"),
        make_pod("shop", "running", "n1"),
        make_pod("shop", "pending-bound", "n1", phase="Pending"),
        make_pod("shop", "unscheduled", None, phase="Pending"),
        make_pod("shop", "done", "n1", phase="Succeeded"),
        make_pod("shop", "crashed", "n1", phase="Failed"),
        make_pod("shop", "unknown", "n1", phase="Unknown"),
    )
    assert set(pods_by_name(snapshot(kube_api))) == {"running", "pending-bound", "unknown"}


def requests_of(kube_api, **pod_kwargs) -> tuple[float, float]:
    kube_api.server.add(make_node("n1"), make_pod("shop", "web-1", "n1", **pod_kwargs))
    (pod,) = snapshot(kube_api).pods
    return pod.cpu_request_cores, pod.memory_request_bytes


def test_requests_sum_app_containers(kube_api):
    cpu, memory = requests_of(
        kube_api, containers=[make_container("app", "100m", "128Mi"), make_container("proxy", "250m", "64Mi")]
    )
    assert cpu == pytest.approx(0.35)
    assert memory == 192 * Mi


def test_a_larger_init_container_sets_the_request(kube_api):
    cpu, memory = requests_of(
        kube_api,
        containers=[make_container("app", "100m", "512Mi")],
        init_containers=[make_container("migrate", "1", "256Mi"), make_container("warm", "200m", "1Gi")],
    )
    # Init containers run one at a time: the largest of them, resource by resource, against the app's sum.
    assert cpu == pytest.approx(1.0)
    assert memory == 1 * Gi


def test_sidecars_add_to_the_app_and_to_later_init_containers(kube_api):
    cpu, memory = requests_of(
        kube_api,
        containers=[make_container("app", "300m", "256Mi")],
        init_containers=[
            make_container("mesh", "50m", "64Mi", restart_policy="Always"),
            make_container("migrate", "500m", "100Mi"),
            make_container("logs", "20m", "32Mi", restart_policy="Always"),
            make_container("seed", "200m", "512Mi"),
        ],
    )
    # Running: 300+50+20 = 370m, 256+64+32 = 352Mi.
    # Init phases: migrate 500+50 = 550m, 100+64 = 164Mi; seed 200+70 = 270m, 512+96 = 608Mi.
    assert cpu == pytest.approx(0.55)
    assert memory == 608 * Mi


def test_sidecars_only_run_beside_the_app(kube_api):
    cpu, memory = requests_of(
        kube_api,
        containers=[make_container("app", "1", "1Gi")],
        init_containers=[
            make_container("setup", "100m", "64Mi"),
            make_container("mesh", "250m", "128Mi", restart_policy="Always"),
        ],
    )
    assert cpu == pytest.approx(1.25)
    assert memory == 1 * Gi + 128 * Mi


def test_overhead_is_added(kube_api):
    cpu, memory = requests_of(
        kube_api,
        containers=[make_container("app", "100m", "128Mi"), make_container("proxy", "250m", "64Mi")],
        overhead={"cpu": "250m", "memory": "120Mi"},
    )
    assert cpu == pytest.approx(0.6)
    assert memory == 312 * Mi


def test_missing_requests_count_as_zero(kube_api):
    cpu, memory = requests_of(
        kube_api,
        containers=[
            make_container("no-resources"),
            make_container("cpu-only", cpu="300m"),
            make_container("limits-only", limits={"cpu": "2", "memory": "1Gi"}),
        ],
        init_containers=[make_container("init-memory-only", memory="64Mi")],
    )
    assert cpu == pytest.approx(0.3)
    assert memory == 64 * Mi


def test_pod_level_requests_replace_the_containers(kube_api):
    cpu, memory = requests_of(
        kube_api,
        containers=[make_container("app", "100m", "128Mi")],
        pod_requests={"cpu": "2"},
        overhead={"cpu": "100m"},
    )
    assert cpu == pytest.approx(2.1)
    assert memory == 128 * Mi


def test_exponent_and_nano_quantities(kube_api):
    cpu, memory = requests_of(kube_api, containers=[make_container("app", "250000000n", "129e6")])
    assert cpu == pytest.approx(0.25)
    assert memory == 129_000_000


# --- owners ----------------------------------------------------------------------------------------------


def test_owner_resolution_for_each_kind(kube_api):
    rollout = owner_reference("Rollout", "canary", "argoproj.io/v1alpha1")
    kube_api.server.add(
        make_node("n1"),
        make_replicaset("shop", "web-7d9f8c6b5", deployment="web"),
        make_replicaset("shop", "orphan-rs"),
        make_replicaset("shop", "canary-5f6d7", owner=rollout),
        make_job("shop", "report-29000000", cronjob="report"),
        make_job("shop", "one-off"),
        make_pod("shop", "web-7d9f8c6b5-x2x9k", "n1", owner=("ReplicaSet", "web-7d9f8c6b5")),
        make_pod("shop", "orphan-rs-abcde", "n1", owner=("ReplicaSet", "orphan-rs")),
        make_pod("shop", "gone-rs-abcde", "n1", owner=("ReplicaSet", "gone-rs")),
        make_pod("shop", "canary-5f6d7-qwert", "n1", owner=("ReplicaSet", "canary-5f6d7")),
        make_pod("shop", "report-29000000-zz9tq", "n1", owner=("Job", "report-29000000")),
        make_pod("shop", "one-off-8xk2p", "n1", owner=("Job", "one-off")),
        make_pod("shop", "db-0", "n1", owner=("StatefulSet", "db")),
        make_pod("shop", "fluentbit-4kq7d", "n1", owner=("DaemonSet", "fluentbit")),
        make_pod("shop", "debug", "n1"),
        make_pod("shop", "wf-step-1", "n1", owner=("Workflow", "nightly")),
        make_pod("kube-system", "kube-apiserver-n1", "n1", owner=("Node", "n1")),
        make_pod("shop", "adopted", "n1", owner=owner_reference("ConfigMap", "cfg", "v1", controller=False)),
    )
    owners = {p.name: (p.owner_kind, p.owner_name) for p in snapshot(kube_api).pods}
    assert owners == {
        "web-7d9f8c6b5-x2x9k": ("Deployment", "web"),
        "orphan-rs-abcde": ("ReplicaSet", "orphan-rs"),
        "gone-rs-abcde": ("ReplicaSet", "gone-rs"),
        "canary-5f6d7-qwert": ("Rollout", "canary"),
        "report-29000000-zz9tq": ("CronJob", "report"),
        "one-off-8xk2p": ("Job", "one-off"),
        "db-0": ("StatefulSet", "db"),
        "fluentbit-4kq7d": ("DaemonSet", "fluentbit"),
        "debug": ("Pod", "debug"),
        "wf-step-1": ("Workflow", "nightly"),
        "kube-apiserver-n1": ("Node", "n1"),
        "adopted": ("Pod", "adopted"),
    }


# --- paging ----------------------------------------------------------------------------------------------


def test_every_list_is_paged(kube_api):
    server = kube_api.server
    server.add(*(make_node(f"n{i}") for i in range(5)))
    server.add(*(make_replicaset("shop", f"rs{i}", deployment=f"d{i}") for i in range(3)))
    names = [f"web-{i:02d}" for i in range(7)]
    server.add(
        *(make_pod("shop", n, f"n{i % 5}", owner=("ReplicaSet", f"rs{i % 3}")) for i, n in enumerate(names))
    )
    server.add(*(make_pod_metrics("shop", name, {"app": ("10m", "1Mi")}) for name in names))
    snap = snapshot(kube_api, page_size=2)
    assert sorted(p.name for p in snap.pods) == names
    assert sorted(n.name for n in snap.nodes) == [f"n{i}" for i in range(5)]
    assert {p.owner_name for p in snap.pods} == {"d0", "d1", "d2"}
    assert all(p.has_metrics and p.cpu_usage_cores == pytest.approx(0.01) for p in snap.pods)

    def requests_to(path):
        return [r for r in server.requests if r.split("?")[0] == path]

    # ceil(7 / 2) = 4 pages of pods, 3 of nodes, 2 of replicasets, 4 of metrics; each asked with limit=2
    assert len(requests_to("/api/v1/pods")) == 4
    assert len(requests_to("/api/v1/nodes")) == 3
    assert len(requests_to("/apis/apps/v1/replicasets")) == 2
    assert len(requests_to("/apis/metrics.k8s.io/v1beta1/pods")) == 4
    pod_requests = requests_to("/api/v1/pods")
    assert all("limit=2" in r for r in pod_requests)
    assert ["continue=" in r for r in pod_requests] == [False, True, True, True]


# --- usage -----------------------------------------------------------------------------------------------


def test_usage_sums_containers_and_a_pod_without_metrics_is_flagged(kube_api):
    kube_api.server.add(
        make_node("n1"),
        make_pod(
            "shop",
            "web-1",
            "n1",
            [make_container("app", "500m", "256Mi")],
            [make_container("mesh", "100m", "64Mi", restart_policy="Always")],
        ),
        make_pod("shop", "web-2", "n1"),
        make_pod_metrics("shop", "web-1", {"app": ("250m", "100Mi"), "mesh": ("5m", "20Mi")}),
        make_pod_metrics("other", "web-2", {"app": ("1", "1Gi")}),  # same name, other namespace
    )
    pods = pods_by_name(snapshot(kube_api))
    assert pods["web-1"].has_metrics is True
    assert pods["web-1"].cpu_usage_cores == pytest.approx(0.255)
    assert pods["web-1"].memory_usage_bytes == 120 * Mi
    assert pods["web-2"].has_metrics is False
    assert (pods["web-2"].cpu_usage_cores, pods["web-2"].memory_usage_bytes) == (0, 0)
    assert pods["web-2"].cpu_request_cores == pytest.approx(0.1)


def test_each_container_keeps_its_requests_limits_and_usage(kube_api):
    kube_api.server.add(
        make_node("n1"),
        make_pod(
            "shop",
            "web-1",
            "n1",
            [make_container("app", "500m", "256Mi", limits={"cpu": "1", "memory": "512Mi"})],
            [
                make_container("migrate", "1", "64Mi"),  # an init container, running now
                make_container("setup", "1", "64Mi"),  # an init container, finished (not in the metrics)
                make_container("mesh", "100m", "64Mi", restart_policy="Always"),
            ],
        ),
        make_pod_metrics("shop", "web-1", {"migrate": ("900m", "50Mi"), "mesh": ("5m", "20Mi")}),
    )
    (pod,) = snapshot(kube_api).pods
    containers = {c.name: c for c in pod.containers}
    assert list(containers) == ["app", "migrate", "mesh"]
    app, migrate, mesh = containers["app"], containers["migrate"], containers["mesh"]
    assert (app.cpu_request_cores, app.cpu_limit_cores, app.memory_limit_bytes) == (0.5, 1.0, 512 * Mi)
    assert (app.has_metrics, app.cpu_usage_cores, app.init) == (False, 0.0, False)  # not started yet
    assert (migrate.init, migrate.cpu_usage_cores, migrate.memory_usage_bytes) == (True, 0.9, 50 * Mi)
    assert (mesh.init, mesh.cpu_request_cores, mesh.memory_limit_bytes) == (False, 0.1, 0.0)
    assert pod.cpu_usage_cores == pytest.approx(0.905)


def test_without_the_metrics_api_finished_init_containers_cannot_be_told_and_are_left_out(kube_api):
    kube_api.server.add(
        make_node("n1"),
        make_pod(
            "shop", "web-1", "n1", [make_container("app", "500m", "256Mi")], [make_container("setup", "1")]
        ),
    )
    kube_api.server.metrics_available = False
    (pod,) = snapshot(kube_api).pods
    assert [(c.name, c.has_metrics) for c in pod.containers] == [("app", False)]


@pytest.mark.parametrize("how", ["not registered (404)", "unavailable (503)"])
def test_metrics_api_absent_is_not_a_failure(kube_api, how):
    kube_api.server.add(
        make_node("n1"),
        make_pod("shop", "web-1", "n1"),
        make_pod_metrics("shop", "web-1", {"app": ("250m", "100Mi")}),
    )
    if how.endswith("(404)"):
        kube_api.server.metrics_available = False
    else:
        kube_api.server.fail_next("/apis/metrics.k8s.io/", 503)
    (pod,) = snapshot(kube_api).pods
    assert pod.has_metrics is False
    assert (pod.cpu_usage_cores, pod.memory_usage_bytes) == (0, 0)
    assert pod.memory_request_bytes == 128 * Mi


# --- failures --------------------------------------------------------------------------------------------


def test_api_server_down(kube_api):
    kube_api.server.add(make_node("n1"))
    snapshot(kube_api)  # a pooled keep-alive connection now exists
    kube_api.server.stop()
    assert "connection refused" in failure(kube_api)


def test_timeout(kube_api):
    kube_api.server.delay = 0.5
    kube_api.server.delay_path_prefix = "/api/v1/pods"
    reason = failure(kube_api, timeout=0.2)
    assert "timed out" in reason
    assert "pods" in reason


def test_wrong_token_is_unauthorized(kube_api):
    client = api_client_from_kubeconfig(kubeconfig_for(kube_api.server.url, token="wrong"), None)
    try:
        with pytest.raises(SnapshotError) as caught:
            KubernetesCollector(client).snapshot(NOW)
    finally:
        client.close()
    assert "unauthorized" in caught.value.reason
    assert "wrong" not in caught.value.reason


@pytest.mark.parametrize(
    ("path", "status", "expected"),
    [
        ("/api/v1/nodes", 403, "forbidden: the credentials may not list nodes"),
        ("/apis/apps/v1/replicasets", 403, "forbidden: the credentials may not list replicasets"),
        ("/apis/metrics.k8s.io/v1beta1/pods", 403, "forbidden: the credentials may not list pod metrics"),
        ("/api/v1/pods", 500, "API server error (HTTP 500) while listing pods"),
        ("/api/v1/namespaces", 503, "API server error (HTTP 503) while listing namespaces"),
        ("/apis/batch/v1/jobs", 429, "throttled"),
    ],
)
def test_http_errors(kube_api, path, status, expected):
    kube_api.server.add(make_node("n1"), make_pod("shop", "web-1", "n1"))
    kube_api.server.fail_next(path, status)
    assert expected in failure(kube_api)
    # The failure was one response: the next sample succeeds.
    assert len(snapshot(kube_api).pods) == 1


def test_expired_continue_token(kube_api):
    kube_api.server.add(make_node("n1"), *(make_pod("shop", f"web-{i}", "n1") for i in range(5)))
    kube_api.server.expire_continue_tokens(after_first_page_of="/api/v1/pods")
    assert "continue token expired while listing pods" in failure(kube_api, page_size=2)


def test_malformed_json(kube_api):
    kube_api.server.add(make_node("n1"))
    kube_api.server.fail_next("/api/v1/nodes", 200, body=b'{"kind":"NodeList","items":[{"metadata":')
    assert failure(kube_api) == "malformed JSON from the API server while listing nodes"


def test_bad_request_quantity_names_pod_container_and_field(kube_api):
    kube_api.server.add(
        make_node("n1"),
        make_pod("default", "web-1", "n1", [make_container("app", "1.2.3", "128Mi")]),
    )
    reason = failure(kube_api)
    assert "pod default/web-1 container app resources.requests.cpu" in reason
    assert "'1.2.3'" in reason


def test_bad_init_overhead_capacity_and_usage_quantities(kube_api):
    server = kube_api.server
    server.add(make_node("n1"), make_pod("default", "web-1", "n1", None, [make_container("m", "5Q")]))
    assert "pod default/web-1 initContainer m resources.requests.cpu: " in failure(kube_api)
    server.add(make_pod("default", "web-1", "n1", overhead={"memory": "1 Gi"}))
    assert "pod default/web-1 spec.overhead.memory" in failure(kube_api)
    server.add(make_pod("default", "web-1", "n1"), make_node("n1", memory="Mi"))
    assert "node n1 status.capacity.memory" in failure(kube_api)
    server.add(make_node("n1"), make_pod_metrics("default", "web-1", {"app": ("12x", "1Mi")}))
    assert "PodMetrics default/web-1 container app usage.cpu" in failure(kube_api)


# --- clients ---------------------------------------------------------------------------------------------


def test_kubeconfig_with_several_contexts(kube_api):
    document = (
        kubeconfig_for(kube_api.server.url)
        .replace("current-context: test", "current-context: broken")
        .replace("contexts:\n", "contexts:\n- name: broken\n  context:\n    cluster: test\n    user: other\n")
        + "- name: other\n  user:\n    token: nope\n"
    )
    kube_api.server.add(make_node("n1"))
    good = api_client_from_kubeconfig(document, "test")
    bad = api_client_from_kubeconfig(document, None)  # current-context: the wrong token
    try:
        assert [n.name for n in KubernetesCollector(good).snapshot(NOW).nodes] == ["n1"]
        with pytest.raises(SnapshotError, match="unauthorized"):
            KubernetesCollector(bad).snapshot(NOW)
    finally:
        good.close()
        bad.close()


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ("    token: ", "    exec: {command: /bin/sh}\n    token: ", "'exec' is not supported"),
        ("    token: ", "    tokenFile: /etc/passwd\n    token: ", "'tokenFile' is not supported"),
        ("    server: ", "    certificate-authority: /etc/ca.pem\n    server: ", "'certificate-authority'"),
        ("current-context: test", "current-context: nowhere", "no contexts entry named 'nowhere'"),
        ("clusters:", "clusters: [", "not valid YAML"),
    ],
)
def test_unusable_kubeconfigs_are_refused(replace, by, message):
    text = kubeconfig_for("https://127.0.0.1:6443").replace(replace, by, 1)
    with pytest.raises(KubeconfigError, match=message):
        api_client_from_kubeconfig(text, None)


def test_in_cluster_client_outside_a_pod_is_refused(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubeconfigError, match="not running inside a Kubernetes pod"):
        in_cluster_api_client()
