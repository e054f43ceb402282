"""GPUs through the collector: node capacity and pods' requests of nvidia.com/gpu, MIG slices and
policy-named extended resources, over HTTP against the local test API server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from costing.collectors.kubernetes import KubernetesCollector
from costing.collectors.snapshot import SnapshotError
from tests.k8s_api import make_container, make_node, make_pod

NOW = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)


def snapshot(kube_api, **options):
    return KubernetesCollector(kube_api.client, **options).snapshot(NOW)


def test_gpu_capacity_and_requests_with_a_mig_slice(kube_api):
    # One whole GPU and one cut into seven 1g.10gb slices: 1 + 7/7 = 2 devices.
    kube_api.server.add(
        make_node("gpu-1", "8", "64Gi", extended={"nvidia.com/gpu": "1", "nvidia.com/mig-1g.10gb": "7"}),
        make_node("cpu-1"),
        make_pod("ml", "train", "gpu-1", [make_container("t", "2", "8Gi", extended={"nvidia.com/gpu": "1"})]),
        make_pod(
            "ml",
            "infer",
            "gpu-1",
            [make_container("i", "1", "4Gi", extended={"nvidia.com/mig-1g.10gb": "1"})],
        ),
        make_pod("web", "shop", "cpu-1", [make_container("app", "1", "1Gi")]),
    )
    snap = snapshot(kube_api)
    nodes = {n.name: n for n in snap.nodes}
    assert nodes["gpu-1"].gpu_capacity_devices == pytest.approx(2.0)
    assert nodes["cpu-1"].gpu_capacity_devices == 0.0
    pods = {p.name: p for p in snap.pods}
    assert pods["train"].gpu_request_devices == 1.0
    assert pods["infer"].gpu_request_devices == pytest.approx(1 / 7)
    assert pods["shop"].gpu_request_devices == 0.0
    # No DCGM in the metrics API: GPU usage is 0, so the request is what is billed.
    assert pods["train"].gpu_usage_devices == 0.0


def test_init_containers_and_sidecars_follow_the_scheduler_rule_and_limits_only_count(kube_api):
    kube_api.server.add(
        make_node("gpu-1", extended={"nvidia.com/gpu": "4"}),
        make_pod(
            "ml",
            "job",
            "gpu-1",
            [make_container("app", "1", "1Gi", extended={"nvidia.com/gpu": "1"})],
            [
                make_container("warm", "1", "1Gi", extended={"nvidia.com/gpu": "2"}),
                make_container("side", "1", "1Gi", restart_policy="Always", limits={"nvidia.com/gpu": "1"}),
            ],
        ),
    )
    # Running: app 1 + sidecar 1 (a limit only is requested at the limit) = 2; init phase: warm 2.
    assert snapshot(kube_api).pods[0].gpu_request_devices == 2.0


def test_extended_resources_named_by_the_policy_count_as_gpus(kube_api):
    kube_api.server.add(
        make_node("amd-1", extended={"amd.com/gpu": "2"}),
        make_pod("ml", "p", "amd-1", [make_container("a", "1", "1Gi", extended={"amd.com/gpu": "1"})]),
    )
    assert snapshot(kube_api).nodes[0].gpu_capacity_devices == 0.0
    named = snapshot(kube_api, gpu_resources={"amd.com/gpu": 1.0})
    assert named.nodes[0].gpu_capacity_devices == 2.0
    assert named.pods[0].gpu_request_devices == 1.0


def test_a_bad_gpu_quantity_names_the_pod_container_and_resource(kube_api):
    kube_api.server.add(
        make_node("gpu-1", extended={"nvidia.com/gpu": "1"}),
        make_pod("ml", "p", "gpu-1", [make_container("a", "1", "1Gi", extended={"nvidia.com/gpu": "one"})]),
    )
    with pytest.raises(SnapshotError) as caught:
        snapshot(kube_api)
    assert "pod ml/p container a resources.requests nvidia.com/gpu" in caught.value.reason
