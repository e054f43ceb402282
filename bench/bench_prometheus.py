"""import_prometheus's backfill from a local Prometheus, beside the time Prometheus itself takes to answer.

The series (kube-state-metrics v2 and cAdvisor names, one scrape a minute) of a fleet of nodes and pods are
written as OpenMetrics, turned into a TSDB by `promtool tsdb create-blocks-from openmetrics` and served by
Debian's prometheus on a free port. The figure is the backfill end to end (queries, frames, recording into
PostgreSQL); the floor is the time spent waiting for Prometheus' answers to the same queries.

    python bench/bench_prometheus.py --small   # 20 nodes, 200 pods, 3 hours
    python bench/bench_prometheus.py           # 500 nodes, 10,000 pods, 7 days (about 900 million samples:
                                               # tens of GB of OpenMetrics and hours of promtool first)
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import add_size_argument, bench_database, result

START = 1772409600  # 2026-03-02T00:00:00Z
SCRAPE = 60
GIB = 2**30


class _Series:
    """Writes one scrape a minute of each series, streamed."""

    def __init__(self, out, hours: int):
        self.out = out
        self.times = np.arange(START + 5, START + hours * 3600, SCRAPE)
        self.stamps = [f" {t}\n" for t in self.times]
        self.samples = 0

    def family(self, name: str, kind: str = "gauge") -> None:
        self.out.write(f"# TYPE {name} {kind}\n")

    def __call__(self, name: str, labels: str, value) -> None:
        if callable(value):
            pairs = zip(self.times, self.stamps, strict=True)
            self.out.write("".join(f"{name}{{{labels}}} {value(t)}{s}" for t, s in pairs))
        else:
            head = f"{name}{{{labels}}} {value}"
            self.out.write("".join(head + s for s in self.stamps))
        self.samples += len(self.times)


def write_series(path: Path, nodes: int, pods: int, hours: int, seed: int = 1) -> int:
    """OpenMetrics of the fleet, streamed to `path`; returns the number of samples."""
    with path.open("w") as out:
        series = _Series(out, hours)
        _nodes(series, nodes)
        _pods(series, nodes, pods, np.random.default_rng(seed))
        out.write("# EOF\n")
    return series.samples


def _nodes(series: _Series, nodes: int) -> None:
    series.family("kube_node_info")
    for n in range(nodes):
        series("kube_node_info", f'node="n-{n}",provider_id="aws:///eu-west-1a/i-{n:06d}"', 1)
    series.family("kube_node_status_capacity")
    for n in range(nodes):
        series("kube_node_status_capacity", f'node="n-{n}",resource="cpu",unit="core"', 32)
        series("kube_node_status_capacity", f'node="n-{n}",resource="memory",unit="byte"', 128 * GIB)
    series.family("kube_node_labels")
    for n in range(nodes):
        series("kube_node_labels", f'node="n-{n}",label_eks_amazonaws_com_nodegroup="pool-{n % 4}"', 1)
    series.family("kube_namespace_labels")
    for ns in range(20):
        series("kube_namespace_labels", f'namespace="ns-{ns}",label_department="d-{ns % 5}"', 1)


def _pods(series: _Series, nodes: int, pods: int, rng: np.random.Generator) -> None:
    cpu_request = rng.choice([0.1, 0.25, 0.5, 1.0], size=pods)
    mem_request = rng.choice([128, 256, 512, 1024], size=pods) * 2**20
    cpu_usage = np.round(cpu_request * rng.uniform(0.2, 1.5, size=pods), 3)
    mem_usage = np.round(mem_request * rng.uniform(0.3, 1.2, size=pods))
    pod = [f'namespace="ns-{i % 20}",pod="p-{i}",uid="u-{i}"' for i in range(pods)]
    simple = {
        "kube_pod_info": lambda i: f'{pod[i]},node="n-{i % nodes}"',
        "kube_pod_owner": lambda i: (
            f'{pod[i]},owner_kind="ReplicaSet",owner_name="rs-{i // 10}",owner_is_controller="true"'
        ),
        "kube_pod_labels": lambda i: f'{pod[i]},label_app="web-{i // 10}"',
        "kube_pod_container_info": lambda i: f'{pod[i]},container="app"',
    }
    for name, labels in simple.items():
        series.family(name)
        for i in range(pods):
            series(name, labels(i), 1)
    series.family("kube_replicaset_owner")
    for r in range(-(-pods // 10)):
        series("kube_replicaset_owner", f'namespace="ns-{(r * 10) % 20}",replicaset="rs-{r}",'
               f'owner_kind="Deployment",owner_name="web-{r}",owner_is_controller="true"', 1)  # fmt: skip
    series.family("kube_pod_container_resource_requests")
    for i in range(pods):
        base = f'{pod[i]},container="app",node="n-{i % nodes}"'
        series("kube_pod_container_resource_requests", f'{base},resource="cpu",unit="core"', cpu_request[i])
        series(
            "kube_pod_container_resource_requests",
            f'{base},resource="memory",unit="byte"',
            int(mem_request[i]),
        )
    series.family("container_cpu_usage_seconds", "counter")
    for i in range(pods):
        series("container_cpu_usage_seconds_total", f'namespace="ns-{i % 20}",pod="p-{i}",container="app"',
               lambda t, r=cpu_usage[i]: round(r * (t - START), 3))  # fmt: skip
    series.family("container_memory_working_set_bytes")
    for i in range(pods):
        series("container_memory_working_set_bytes", f'namespace="ns-{i % 20}",pod="p-{i}",container="app"',
               int(mem_usage[i]))  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(data: Path, log: Path) -> tuple[subprocess.Popen, str]:
    import requests

    port = free_port()
    config = data.parent / "prometheus.yml"
    config.write_text("global: {}\n")
    process = subprocess.Popen(
        [shutil.which("prometheus") or "/usr/bin/prometheus", f"--config.file={config}",
         f"--storage.tsdb.path={data}", "--storage.tsdb.retention.time=100y",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if requests.get(url + "/-/ready", timeout=1).status_code == 200:
                return process, url
        except requests.RequestException:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.5)
    process.terminate()
    sys.exit(f"prometheus did not start: see {log}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_size_argument(parser)
    args = parser.parse_args()
    nodes, pods, hours = (20, 200, 3) if args.small else (500, 10_000, 7 * 24)
    for tool in ("prometheus", "promtool"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed: apt-get install prometheus")
    with tempfile.TemporaryDirectory(prefix="bench_prometheus_") as folder:
        folder = Path(folder)
        began = time.perf_counter()
        samples = write_series(folder / "series.om", nodes, pods, hours)
        subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(folder / "series.om"), str(folder / "data")],
            check=True, capture_output=True,
        )  # fmt: skip
        (folder / "series.om").unlink()
        print(
            f"{nodes} nodes, {pods} pods, {hours} h: {samples:,} samples in a TSDB in {time.perf_counter() - began:.1f} s"
        )
        process, url = serve(folder / "data", folder / "prometheus.log")
        try:
            with bench_database("prometheus"):
                figure, floor = backfill(url, hours)
        finally:
            process.terminate()
            process.wait(timeout=30)
    result(
        f"import_prometheus of {hours} h x {pods} pods",
        figure,
        "Prometheus answering the same queries",
        floor,
    )


def backfill(url: str, hours: int) -> tuple[float, float]:
    from costing.choices import ConnectionType
    from costing.collectors.prometheus import PrometheusSource
    from costing.collectors.prometheus_client import PrometheusClient
    from costing.collectors.prometheus_import import import_range
    from costing.models import Cluster, PodHour

    cluster = Cluster.objects.create(name="bench", connection_type=ConnectionType.KUBECONFIG, enabled=False)
    client = PrometheusClient(url, timeout=600)
    waited = [0.0]
    get = client._session.get

    def timed_get(*args, **kwargs):
        began = time.perf_counter()
        try:
            return get(*args, **kwargs)
        finally:
            waited[0] += time.perf_counter() - began

    client._session.get = timed_get
    source = PrometheusSource(client, rate_window=120)
    reading = [0.0]
    read = source.read

    def timed_read(*args, **kwargs):
        began = time.perf_counter()
        try:
            return read(*args, **kwargs)
        finally:
            reading[0] += time.perf_counter() - began

    source.read = timed_read
    start = datetime.fromtimestamp(START, tz=UTC)
    end = datetime.fromtimestamp(START + hours * 3600, tz=UTC)
    began = time.perf_counter()
    outcome = import_range(
        cluster,
        source,
        start,
        end,
        60,
        queue=False,
        progress=lambda done, total: print(f"  {done}/{total} slots", end="\r"),
    )
    figure = time.perf_counter() - began
    print()
    print(
        f"{outcome.recorded.slots} slots, {outcome.gaps} gaps, {outcome.recorded.pod_samples:,} pod samples, "
        f"{PodHour.objects.filter(cluster=cluster).count():,} pod-hours"
    )
    print(
        f"reading {reading[0]:.2f} s (of which Prometheus answering {waited[0]:.2f} s), "
        f"recording {figure - reading[0]:.2f} s"
    )
    return figure, waited[0]


if __name__ == "__main__":
    main()
