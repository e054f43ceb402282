"""A real Prometheus for the tests: a TSDB built by promtool from OpenMetrics text, served on a free port.

`cluster_metrics` writes the series of a small known cluster (kube-state-metrics v2 and cAdvisor names);
EXPECTED in the tests is computed by hand from the same constants.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

T0 = 1772445600  # 2026-03-02T10:00:00Z, an hour's start
SLOTS = 10  # ten one-minute slots of data: [T0, T0 + 10 min)
SCRAPE = 15  # seconds between scrapes, first at T0 + 5 s
GAP_SLOT = 7  # no scrape at all in [T0 + 7 min, T0 + 8 min)
GIB = 2**30
MIB = 2**20


def available() -> bool:
    return Path(PROMETHEUS).exists() and Path(PROMTOOL).exists()


def require_prometheus() -> None:
    """Skip when Debian's prometheus is not installed, except in CI, where its absence is a failure."""
    if available():
        return
    message = "Debian's prometheus package (/usr/bin/prometheus, /usr/bin/promtool) is not installed"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message + " (CI: .ci/run installs it)")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrometheusServer:
    """One prometheus process over a TSDB directory; `url` once started."""

    def __init__(self, data: Path, *extra: str):
        self.data = data
        self.extra = extra
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> PrometheusServer:
        config = self.data.parent / "prometheus.yml"
        config.write_text("global: {}\n")
        self.log_path = self.data.parent / f"prometheus-{self.port}.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.data}",
                "--storage.tsdb.retention.time=100y",
                f"--web.listen-address=127.0.0.1:{self.port}",
                *self.extra,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.log_path.read_text()[-2000:]}")
            try:
                # 401: up, behind basic authentication.
                if requests.get(self.url + "/-/ready", timeout=1).status_code in (200, 401):
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("prometheus did not become ready within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()


def build_tsdb(openmetrics: str, directory: Path) -> Path:
    """`promtool tsdb create-blocks-from openmetrics` of the text into directory/data."""
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "series.om"
    source.write_text(openmetrics)
    data = directory / "data"
    subprocess.run(
        [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
        check=True,
        capture_output=True,
    )
    return data


# --- the known cluster -----------------------------------------------------------------------------------


def scrape_times(start: int = 0, end: int = SLOTS * 60) -> list[int]:
    """Scrape instants (Unix s) between T0 + start and T0 + end, without the scrape gap."""
    return [
        T0 + s
        for s in range(5, SLOTS * 60, SCRAPE)
        if start <= s < end and not GAP_SLOT * 60 <= s < (GAP_SLOT + 1) * 60
    ]


# Pods: (namespace, pod, uid, node, lives [from, to) seconds after T0, phase)
PODS = [
    ("shop", "web-1", "u-web-1", "n1", 0, SLOTS * 60, "Running"),
    ("shop", "bare", "u-bare", "n2", 0, SLOTS * 60, "Running"),
    ("batch", "job-x-28-abcde", "u-job", "n2", 120, 300, "Running"),  # lives three minutes: slots 2, 3, 4
    ("batch", "done-1", "u-done", "n2", 0, SLOTS * 60, "Succeeded"),
]
# Containers: pod -> [(container, kind, cpu req, mem req, cpu lim, mem lim, cpu usage, mem usage)];
# kind: app, init (not running: no cAdvisor series), sidecar (init with restartPolicy Always). None: not set.
CONTAINERS = {
    "web-1": [
        ("app", "app", 0.5, GIB, 1.0, 2 * GIB, 0.25, 512 * MIB),
        ("proxy", "app", 0.1, 128 * MIB, None, None, 0.2, 100 * MIB),
        ("migrate", "init", 2.0, 512 * MIB, None, None, None, None),
    ],
    "bare": [("c", "app", 0.2, 256 * MIB, None, None, None, None)],  # no cAdvisor: no metrics
    "job-x-28-abcde": [
        ("worker", "app", 1.0, 2 * GIB, None, None, 1.5, GIB),
        ("log", "sidecar", 0.1, 64 * MIB, None, None, 0.05, 32 * MIB),
    ],
    "done-1": [("c", "app", 0.3, 128 * MIB, None, None, None, None)],
}
OWNERS = {  # pod -> kube_pod_owner (kind, name)
    "web-1": ("ReplicaSet", "web-6d4"),
    "bare": ("<none>", "<none>"),
    "job-x-28-abcde": ("Job", "job-x-28"),
    "done-1": ("<none>", "<none>"),
}
NODES = [  # (node, provider_id, cpu, memory, labels)
    ("n1", "aws:///eu-west-1a/i-0001", 4, 16 * GIB, {"cloud_google_com_gke_nodepool": "pool-a",
                                                     "node_kubernetes_io_instance_type": "m5.xlarge"}),
    ("n2", "aws:///eu-west-1a/i-0002", 2, 8 * GIB, {}),
]  # fmt: skip


# The GPU variant (cluster_metrics(gpu=True)): a GPU node with three GPUs (two whole, one in seven MIG
# slices: 3 devices) and its pods. train-1 requests one
# GPU and, by dcgm-exporter (dcgm=True), uses its GPU 0 at 40 % in [T0, T0 + 5 min), 100 % after; notebook
# requests none and uses GPU 1 at 30 % (dcgm-exporter's older labels pod_name, ...); infer requests two MIG
# slices 1g.10gb (2/7 of a device), for which DCGM has no utilisation. A third GPU series has no pod.
GPU_NODES = [
    ("g1", "aws:///eu-west-1a/i-0003", 8, 64 * GIB, {"node_kubernetes_io_instance_type": "p3.8xlarge"})
]
GPU_CAPACITY = {"g1": (("nvidia_com_gpu", 2), ("nvidia_com_mig_1g_10gb", 7))}
GPU_PODS = [
    ("ml", "train-1", "u-train", "g1", 0, SLOTS * 60, "Running"),
    ("ml", "notebook", "u-nb", "g1", 0, SLOTS * 60, "Running"),
    ("ml", "infer", "u-infer", "g1", 0, SLOTS * 60, "Running"),
]
GPU_CONTAINERS = {
    "train-1": [("trainer", "app", 1.0, 4 * GIB, None, None, 0.5, GIB)],
    "notebook": [("jupyter", "app", 0.5, GIB, None, None, 0.25, 512 * MIB)],
    "infer": [("server", "app", 0.5, GIB, None, None, 0.25, 512 * MIB)],
}
GPU_OWNERS = dict.fromkeys(GPU_CONTAINERS, ("<none>", "<none>"))
GPU_REQUESTS = {"train-1": ("nvidia_com_gpu", 1), "infer": ("nvidia_com_mig_1g_10gb", 2)}
DCGM_SWITCH = 300  # train-1's GPU: 40 % before T0 + 300 s, 100 % from then


def _labels(**labels) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


class _Writer:
    def __init__(self):
        self.lines: list[str] = []

    def family(self, name: str, kind: str) -> None:
        self.lines.append(f"# TYPE {name} {kind}")

    def series(self, name: str, labels: dict, times: list[int], value) -> None:
        text = _labels(**labels)
        for t in times:
            v = value(t) if callable(value) else value
            self.lines.append(f"{name}{text} {v} {t}")


def cluster_metrics(
    cluster: str = "prod", other: str = "other", *, gpu: bool = False, dcgm: bool = True
) -> str:
    """OpenMetrics text of the known cluster (label cluster=`cluster`) and of a second cluster (`other`); with
    `gpu`, its GPU node and pods too, and with `dcgm` their dcgm-exporter utilisation."""
    nodes = NODES + (GPU_NODES if gpu else [])
    pods = PODS + (GPU_PODS if gpu else [])
    containers = {**CONTAINERS, **(GPU_CONTAINERS if gpu else {})}
    owners = {**OWNERS, **(GPU_OWNERS if gpu else {})}
    w = _Writer()
    everywhere = scrape_times()
    c = {"cluster": cluster}
    w.family("kube_node_info", "gauge")
    for node, provider, *_ in nodes:
        w.series(
            "kube_node_info",
            {**c, "node": node, "provider_id": provider, "internal_ip": "10.0.0.1"},
            everywhere,
            1,
        )
    w.series("kube_node_info", {"cluster": other, "node": "o1", "provider_id": "x"}, everywhere, 1)
    w.family("kube_node_status_capacity", "gauge")
    for node, _, cpu, memory, _ in nodes:
        gpus = tuple((resource, "integer", count) for resource, count in GPU_CAPACITY.get(node, ()))
        for resource, unit, value in (
            ("cpu", "core", cpu),
            ("memory", "byte", memory),
            ("pods", "integer", 110),
            *gpus,
        ):
            w.series(
                "kube_node_status_capacity",
                {**c, "node": node, "resource": resource, "unit": unit},
                everywhere,
                value,
            )
    for resource, unit, value in (("cpu", "core", 64), ("memory", "byte", 256 * GIB)):
        w.series(
            "kube_node_status_capacity",
            {"cluster": other, "node": "o1", "resource": resource, "unit": unit},
            everywhere,
            value,
        )
    w.family("kube_node_labels", "gauge")
    for node, _, _, _, labels in nodes:
        w.series(
            "kube_node_labels",
            {**c, "node": node, **{f"label_{k}": v for k, v in labels.items()}},
            everywhere,
            1,
        )
    w.family("kube_namespace_labels", "gauge")
    w.series("kube_namespace_labels", {**c, "namespace": "shop", "label_department": "sales"}, everywhere, 1)
    w.series("kube_namespace_labels", {**c, "namespace": "batch"}, everywhere, 1)
    if gpu:
        w.series("kube_namespace_labels", {**c, "namespace": "ml"}, everywhere, 1)
    _pod_families(w, c, other, pods, containers, owners)
    _cadvisor(w, c, pods, containers)
    if gpu and dcgm:
        _dcgm(w, c)
    w.lines.append("# EOF")
    return "\n".join(w.lines) + "\n"


def _pod_families(w: _Writer, c: dict, other: str, pods: list, containers: dict, owners: dict) -> None:
    def each(name, kind, make):
        w.family(name, kind)
        for namespace, pod, uid, node, begin, end, phase in pods:
            times = scrape_times(begin, end)
            for labels, value in make(namespace, pod, uid, node, phase):
                w.series(name, {**c, "namespace": namespace, "pod": pod, "uid": uid, **labels}, times, value)

    # Two replicas of kube-state-metrics (instances a and b) export web-1's info and requests twice.
    each("kube_pod_info", "gauge", lambda ns, pod, uid, node, phase: [
        ({"node": node, "host_ip": "10.0.0.1", "instance": i}, 1) for i in (("a", "b") if pod == "web-1" else ("a",))
    ])  # fmt: skip
    other_pod = {"cluster": other, "namespace": "shop", "pod": "other-pod", "uid": "u-o", "node": "o1"}
    w.series("kube_pod_info", other_pod, scrape_times(), 1)
    each("kube_pod_status_phase", "gauge", lambda ns, pod, uid, node, phase: [
        ({"phase": p}, 1 if p == phase else 0) for p in ("Pending", "Running", "Succeeded", "Failed")
    ])  # fmt: skip
    each("kube_pod_owner", "gauge", lambda ns, pod, uid, node, phase: [
        ({"owner_kind": owners[pod][0], "owner_name": owners[pod][1],
          "owner_is_controller": "true" if owners[pod][0] != "<none>" else "<none>"}, 1)
    ])  # fmt: skip
    each(
        "kube_pod_labels", "gauge", lambda ns, pod, uid, node, phase: [({"label_app": pod.split("-")[0]}, 1)]
    )
    each("kube_pod_container_info", "gauge", lambda ns, pod, uid, node, phase: [
        ({"container": name, "image": "img"}, 1) for name, kind, *_ in containers[pod] if kind == "app"
    ])  # fmt: skip
    each("kube_pod_init_container_info", "gauge", lambda ns, pod, uid, node, phase: [
        ({"container": name, "image": "img", **({"restart_policy": "Always"} if kind == "sidecar" else {})}, 1)
        for name, kind, *_ in containers[pod] if kind != "app"
    ])  # fmt: skip

    def figures(app: bool, first: int):
        def make(ns, pod, uid, node, phase):
            out = []
            for name, kind, *values in containers[pod]:
                if (kind == "app") != app:
                    continue
                cpu, memory = values[first], values[first + 1]
                for resource, unit, value in (("cpu", "core", cpu), ("memory", "byte", memory)):
                    replicas = ("a", "b") if pod == "web-1" else ("a",)
                    if value is not None:
                        out.extend(
                            ({"container": name, "node": node, "resource": resource, "unit": unit, "instance": i},
                             value)
                            for i in replicas
                        )  # fmt: skip
                if app and first == 0 and pod in GPU_REQUESTS:
                    resource, count = GPU_REQUESTS[pod]
                    out.append(
                        ({"container": name, "node": node, "resource": resource, "unit": "integer"}, count)
                    )
            return out

        return make

    each("kube_pod_container_resource_requests", "gauge", figures(True, 0))
    each("kube_pod_container_resource_limits", "gauge", figures(True, 2))
    each("kube_pod_init_container_resource_requests", "gauge", figures(False, 0))
    w.family("kube_replicaset_owner", "gauge")
    w.series("kube_replicaset_owner", {**c, "namespace": "shop", "replicaset": "web-6d4", "owner_kind": "Deployment",
                                       "owner_name": "web", "owner_is_controller": "true"}, scrape_times(), 1)  # fmt: skip
    w.family("kube_job_owner", "gauge")
    w.series("kube_job_owner", {**c, "namespace": "batch", "job_name": "job-x-28", "owner_kind": "CronJob",
                                "owner_name": "job-x", "owner_is_controller": "true"}, scrape_times(120, 300), 1)  # fmt: skip


def _dcgm(w: _Writer, c: dict) -> None:
    """dcgm-exporter's DCGM_FI_DEV_GPU_UTIL on g1, scraped with the others (two jobs for GPU 0: once)."""
    w.family("DCGM_FI_DEV_GPU_UTIL", "gauge")
    device = {**c, "Hostname": "g1", "modelName": "Tesla V100-SXM2-16GB"}
    train = {"gpu": "0", "UUID": "GPU-0000", "namespace": "ml", "pod": "train-1", "container": "trainer"}
    for job in ("dcgm-exporter", "gpu-metrics"):
        w.series("DCGM_FI_DEV_GPU_UTIL", {**device, **train, "job": job}, scrape_times(),
                 lambda t: 40 if t < T0 + DCGM_SWITCH else 100)  # fmt: skip
    old = {
        "gpu": "1",
        "UUID": "GPU-0001",
        "pod_namespace": "ml",
        "pod_name": "notebook",
        "container_name": "jupyter",
    }
    w.series("DCGM_FI_DEV_GPU_UTIL", {**device, **old}, scrape_times(), 30)
    w.series("DCGM_FI_DEV_GPU_UTIL", {**device, "gpu": "2", "UUID": "GPU-0002"}, scrape_times(), 0)
    mig = {
        "gpu": "2",
        "UUID": "GPU-0002",
        "GPU_I_ID": "1",
        "namespace": "ml",
        "pod": "infer",
        "container": "server",
    }
    w.series("DCGM_FI_DEV_GPU_UTIL", {**device, **mig}, scrape_times(), 90)  # a MIG instance: left out


def _cadvisor(w: _Writer, c: dict, pods: list, containers: dict) -> None:
    """Usage of the running containers: CPU counters growing at a constant rate from the pod's start (so that
    rate() is exact), working sets constant; plus the pod-level and pause series that must be left out."""
    w.family("container_cpu_usage_seconds", "counter")
    for namespace, pod, _, node, begin, end, phase in pods:
        for name, _, *values in containers[pod]:
            rate = values[4]
            if rate is None or phase != "Running":
                continue
            labels = {
                **c,
                "namespace": namespace,
                "pod": pod,
                "container": name,
                "node": node,
                "id": f"/{pod}/{name}",
            }
            # web-1's app is scraped by two jobs: the same cgroup must count once.
            for job in ("kubelet", "cadvisor") if name == "app" else ("kubelet",):
                w.series("container_cpu_usage_seconds_total", {**labels, "job": job}, scrape_times(begin, end),
                         lambda t, r=rate, b=begin: round(r * (t - T0 - b), 6))  # fmt: skip
        pod_level = {**c, "namespace": namespace, "pod": pod, "container": "", "node": node, "id": f"/{pod}"}
        w.series(
            "container_cpu_usage_seconds_total",
            pod_level,
            scrape_times(begin, end),
            lambda t, b=begin: 99 * (t - T0 - b),
        )
    w.family("container_memory_working_set_bytes", "gauge")
    for namespace, pod, _, node, begin, end, phase in pods:
        for name, _, *values in containers[pod]:
            if values[5] is None or phase != "Running":
                continue
            labels = {
                **c,
                "namespace": namespace,
                "pod": pod,
                "container": name,
                "node": node,
                "id": f"/{pod}/{name}",
            }
            w.series("container_memory_working_set_bytes", labels, scrape_times(begin, end), values[5])
        pause = {
            **c,
            "namespace": namespace,
            "pod": pod,
            "container": "POD",
            "node": node,
            "id": f"/{pod}/pause",
        }
        w.series("container_memory_working_set_bytes", pause, scrape_times(begin, end), 10**12)
