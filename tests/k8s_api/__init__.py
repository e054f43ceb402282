"""A local Kubernetes API server serving real Kubernetes JSON, for collector tests and benchmarks."""

from tests.k8s_api.server import (
    FakeKubeAPI,
    build_cluster,
    make_container,
    make_job,
    make_namespace,
    make_node,
    make_node_metrics,
    make_pod,
    make_pod_metrics,
    make_pv,
    make_pvc,
    make_replicaset,
    make_service,
    owner_reference,
    status_json,
)

__all__ = [
    "FakeKubeAPI",
    "build_cluster",
    "make_container",
    "make_job",
    "make_namespace",
    "make_node",
    "make_node_metrics",
    "make_pod",
    "make_pod_metrics",
    "make_pv",
    "make_pvc",
    "make_replicaset",
    "make_service",
    "owner_reference",
    "status_json",
]
