"""Servers of the Prometheus HTTP API other than Debian's Prometheus 2.42, for tests/costing/collectors/
test_prometheus_compat.py: each started on a free port with the known cluster of prometheus_server.py.

- VictoriaMetrics: Debian's `victoria-metrics` package (single-node, /usr/bin/victoria-metrics; .ci/run
  installs it). The OpenMetrics text is imported with its timestamps through /api/v1/import/prometheus,
  then flushed (/internal/force_flush) so that queries see it. FINOPS_TEST_VICTORIA_METRICS names another
  binary (a newer release built from source) to run the same tests against.

Like Debian's prometheus, a missing server skips its tests on a developer's machine and fails them under
CI=true, where .ci/run installs it (.ci/test-servers.sh).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.costing.collectors.prometheus_server import free_port

# FINOPS_TEST_VICTORIA_METRICS names another build to test (e.g. a newer release built from source).
VICTORIA_METRICS = (
    os.environ.get("FINOPS_TEST_VICTORIA_METRICS")
    or shutil.which("victoria-metrics")
    or "/usr/bin/victoria-metrics"
)


def require(binary: str, what: str) -> None:
    """Skip when `binary` is missing, except in CI, where its absence is a failure."""
    if Path(binary).exists():
        return
    message = f"{what} ({binary}) is not installed"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message + " (CI: .ci/run installs it through .ci/test-servers.sh)")
    pytest.skip(message + ": run .ci/test-servers.sh")


def prometheus_text(openmetrics: str) -> str:
    """The OpenMetrics text of prometheus_server.cluster_metrics as Prometheus' text format: timestamps in
    milliseconds (OpenMetrics has seconds), comments and `# EOF` left out."""
    lines = []
    for line in openmetrics.splitlines():
        if not line or line.startswith("#"):
            continue
        head, value, stamp = line.rsplit(" ", 2)
        lines.append(f"{head} {value} {round(float(stamp) * 1000)}")
    return "\n".join(lines) + "\n"


class VictoriaMetricsServer:
    """A single-node VictoriaMetrics over a new data directory, holding `openmetrics`; `url` once started."""

    def __init__(self, directory: Path, openmetrics: str, *extra: str):
        self.directory = directory
        self.openmetrics = openmetrics
        self.extra = extra
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> VictoriaMetricsServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log_path = self.directory / f"victoria-metrics-{self.port}.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                VICTORIA_METRICS,
                f"-storageDataPath={self.directory / 'data'}",
                "-retentionPeriod=100y",  # the data are months old: the default month would drop them
                f"-httpListenAddr=127.0.0.1:{self.port}",
                *self.extra,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_ready()
            response = requests.post(
                self.url + "/api/v1/import/prometheus",
                data=prometheus_text(self.openmetrics).encode(),
                timeout=60,
            )
            response.raise_for_status()
            requests.get(self.url + "/internal/force_flush", timeout=60).raise_for_status()
        except Exception:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"victoria-metrics exited: {self.log_path.read_text()[-2000:]}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("victoria-metrics did not become ready within 30 s")

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
