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


def cluster_metrics(cluster: str = "prod", other: str = "other") -> str:
    """OpenMetrics text of the known cluster (label cluster=`cluster`) and of a second cluster (`other`)."""
    w = _Writer()
    everywhere = scrape_times()
    c = {"cluster": cluster}
    w.family("kube_node_info", "gauge")
    for node, provider, *_ in NODES:
        w.series(
            "kube_node_info",
            {**c, "node": node, "provider_id": provider, "internal_ip": "10.0.0.1"},
            everywhere,
            1,
        )
    w.series("kube_node_info", {"cluster": other, "node": "o1", "provider_id": "x"}, everywhere, 1)
    w.family("kube_node_status_capacity", "gauge")
    for node, _, cpu, memory, _ in NODES:
        for resource, unit, value in (
            ("cpu", "core", cpu),
            ("memory", "byte", memory),
            ("pods", "integer", 110),
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
    for node, _, _, _, labels in NODES:
        w.series(
            "kube_node_labels",
            {**c, "node": node, **{f"label_{k}": v for k, v in labels.items()}},
            everywhere,
            1,
        )
    w.family("kube_namespace_labels", "gauge")
    w.series("kube_namespace_labels", {**c, "namespace": "shop", "label_department": "sales"}, everywhere, 1)
    w.series("kube_namespace_labels", {**c, "namespace": "batch"}, everywhere, 1)
    _pod_families(w, c, other)
    _cadvisor(w, c)
    w.lines.append("# EOF")
    return "\n".join(w.lines) + "\n"


def _pod_families(w: _Writer, c: dict, other: str) -> None:
    def each(name, kind, make):
        w.family(name, kind)
        for namespace, pod, uid, node, begin, end, phase in PODS:
            times = scrape_times(begin, end)
            for labels, value in make(namespace, pod, uid, node, phase):
                w.series(name, {**c, "namespace": namespace, "pod": pod, "uid": uid, **labels}, times, value)

    each(
        "kube_pod_info",
        "gauge",
        lambda ns, pod, uid, node, phase: [({"node": node, "host_ip": "10.0.0.1"}, 1)],
    )
    other_pod = {"cluster": other, "namespace": "shop", "pod": "other-pod", "uid": "u-o", "node": "o1"}
    w.series("kube_pod_info", other_pod, scrape_times(), 1)
    each("kube_pod_status_phase", "gauge", lambda ns, pod, uid, node, phase: [
        ({"phase": p}, 1 if p == phase else 0) for p in ("Pending", "Running", "Succeeded", "Failed")
    ])  # fmt: skip
    each("kube_pod_owner", "gauge", lambda ns, pod, uid, node, phase: [
        ({"owner_kind": OWNERS[pod][0], "owner_name": OWNERS[pod][1],
          "owner_is_controller": "true" if OWNERS[pod][0] != "<none>" else "<none>"}, 1)
    ])  # fmt: skip
    each(
        "kube_pod_labels", "gauge", lambda ns, pod, uid, node, phase: [({"label_app": pod.split("-")[0]}, 1)]
    )
    each("kube_pod_container_info", "gauge", lambda ns, pod, uid, node, phase: [
        ({"container": name, "image": "img"}, 1) for name, kind, *_ in CONTAINERS[pod] if kind == "app"
    ])  # fmt: skip
    each("kube_pod_init_container_info", "gauge", lambda ns, pod, uid, node, phase: [
        ({"container": name, "image": "img", **({"restart_policy": "Always"} if kind == "sidecar" else {})}, 1)
        for name, kind, *_ in CONTAINERS[pod] if kind != "app"
    ])  # fmt: skip

    def figures(app: bool, first: int):
        def make(ns, pod, uid, node, phase):
            out = []
            for name, kind, *values in CONTAINERS[pod]:
                if (kind == "app") != app:
                    continue
                cpu, memory = values[first], values[first + 1]
                for resource, unit, value in (("cpu", "core", cpu), ("memory", "byte", memory)):
                    if value is not None:
                        out.append(
                            ({"container": name, "node": node, "resource": resource, "unit": unit}, value)
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


def _cadvisor(w: _Writer, c: dict) -> None:
    """Usage of the running containers: CPU counters growing at a constant rate from the pod's start (so that
    rate() is exact), working sets constant; plus the pod-level and pause series that must be left out."""
    w.family("container_cpu_usage_seconds", "counter")
    for namespace, pod, _, node, begin, end, phase in PODS:
        for name, _, *values in CONTAINERS[pod]:
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
            w.series("container_cpu_usage_seconds_total", labels, scrape_times(begin, end),
                     lambda t, r=rate, b=begin: round(r * (t - T0 - b), 6))  # fmt: skip
        pod_level = {**c, "namespace": namespace, "pod": pod, "container": "", "node": node, "id": f"/{pod}"}
        w.series(
            "container_cpu_usage_seconds_total",
            pod_level,
            scrape_times(begin, end),
            lambda t, b=begin: 99 * (t - T0 - b),
        )
    w.family("container_memory_working_set_bytes", "gauge")
    for namespace, pod, _, node, begin, end, phase in PODS:
        for name, _, *values in CONTAINERS[pod]:
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
