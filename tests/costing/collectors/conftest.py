"""Fixtures for the collector tests: a started local Kubernetes API server and a client pointed at it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from kubernetes.client import ApiClient

from costing.collectors.kubernetes import api_client_from_kubeconfig
from tests.k8s_api import FakeKubeAPI

TOKEN = "s3cret-test-token"


def kubeconfig_for(url: str, token: str = TOKEN) -> str:
    return f"""
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: {url}
contexts:
- name: test
  context:
    cluster: test
    user: collector
current-context: test
users:
- name: collector
  user:
    token: {token}
"""


@dataclass
class KubeAPI:
    server: FakeKubeAPI
    client: ApiClient


@pytest.fixture
def kube_api():
    """A started FakeKubeAPI and an ApiClient (bearer token, from a kubeconfig) pointed at it."""
    server = FakeKubeAPI(token=TOKEN).start()
    client = api_client_from_kubeconfig(kubeconfig_for(server.url), None)
    try:
        yield KubeAPI(server, client)
    finally:
        client.close()
        server.stop()


@pytest.fixture(scope="session")
def prometheus_server(tmp_path_factory):
    """A real Prometheus serving the known cluster of tests/costing/collectors/prometheus_server.py, started
    once per test session (per xdist worker)."""
    from tests.costing.collectors import prometheus_server as known

    known.require_prometheus()
    directory = tmp_path_factory.mktemp("prometheus")
    server = known.PrometheusServer(known.build_tsdb(known.cluster_metrics(), directory)).start()
    try:
        yield server
    finally:
        server.stop()
