"""Load balancers through the collector: Services of type LoadBalancer with the cloud load balancer behind
them (Huawei ELB id annotation, AWS hostname, Azure public IP), over HTTP against the local test API
server; and one form for a Service's ids and a bill's ResourceId."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from costing.collectors.kubernetes import KubernetesCollector
from costing.collectors.snapshot import LoadBalancerSample, SnapshotError
from costing.load_balancers import normalise_lb_id, resource_keys, service_ids
from tests.k8s_api import make_node, make_service

NOW = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)
ELB = "7f3a1c2e-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
AWS_HOST = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6-0123456789abcdef.elb.eu-west-1.amazonaws.com"
AWS_NAME = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"


def snapshot(kube_api):
    return KubernetesCollector(kube_api.client).snapshot(NOW)


def test_load_balancer_services_with_their_cloud_ids(kube_api):
    kube_api.server.add(
        make_node("n1"),
        make_service(
            "ingress-nginx",
            "controller",
            annotations={"kubernetes.io/elb.id": ELB, "kubernetes.io/elb.class": "performance"},
            ip="121.36.10.20",
        ),
        make_service("shop", "web", hostname=AWS_HOST),
        make_service(
            "api",
            "gw",
            annotations={"service.beta.kubernetes.io/azure-pip-name": "API-GW-PIP"},
            ip="20.1.2.3",
        ),
        make_service("shop", "pending"),  # the cloud has not provisioned it yet
        make_service("shop", "internal", type="ClusterIP"),
        make_service("shop", "ports", type="NodePort"),
    )
    found = {(lb.namespace, lb.name): lb for lb in snapshot(kube_api).load_balancers}
    assert set(found) == {
        ("ingress-nginx", "controller"),
        ("shop", "web"),
        ("api", "gw"),
        ("shop", "pending"),
    }
    nginx = found[("ingress-nginx", "controller")]
    assert nginx == LoadBalancerSample(
        namespace="ingress-nginx",
        name="controller",
        uid=nginx.uid,
        cloud_id=ELB,
        hostname="",
        ip="121.36.10.20",
        ids=("121.36.10.20", ELB),
        selector={"app": "controller"},
    )
    assert (found[("shop", "web")].hostname, found[("shop", "web")].ids) == (AWS_HOST, (AWS_NAME,))
    assert found[("api", "gw")].cloud_id == "API-GW-PIP"
    assert found[("api", "gw")].ids == ("20.1.2.3", "api-gw-pip")
    assert found[("shop", "pending")].ids == ()


def test_a_role_without_service_access_still_samples_without_load_balancers(kube_api):
    kube_api.server.add(make_node("n1"), make_service("shop", "web", ip="1.2.3.4"))
    kube_api.server.fail_next("/api/v1/services", 403)
    snap = snapshot(kube_api)
    assert snap.load_balancers is None and [n.name for n in snap.nodes] == ["n1"]
    assert [lb.name for lb in snapshot(kube_api).load_balancers] == ["web"]  # allowed again


def test_other_failures_listing_services_make_the_sample_a_gap(kube_api):
    kube_api.server.add(make_node("n1"))
    kube_api.server.fail_next("/api/v1/services", 500)
    with pytest.raises(SnapshotError, match="services"):
        snapshot(kube_api)


@pytest.mark.parametrize(
    ("resource_id", "expected"),
    [
        (
            f"arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/{AWS_NAME}/0123456789abcdef",
            AWS_NAME,
        ),
        (f"arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/{AWS_NAME}", AWS_NAME),
        (AWS_HOST, AWS_NAME),
        (
            "/subscriptions/S/resourceGroups/MC_rg/providers/Microsoft.Network/publicIPAddresses/API-GW-PIP",
            "api-gw-pip",
        ),
        (ELB.upper(), ELB),
        (" 121.36.10.20 ", "121.36.10.20"),
    ],
)
def test_bill_resource_ids_and_service_ids_meet_in_one_form(resource_id, expected):
    assert normalise_lb_id(resource_id) == expected
    assert expected in resource_keys(resource_id)


def test_a_huawei_resource_path_is_matched_by_its_last_segment():
    assert resource_keys(f"elb/{ELB}") == (f"elb/{ELB}", ELB)
    assert resource_keys("") == () and resource_keys(None) == ()


def test_service_ids_of_a_service_without_ingress_or_annotations():
    assert service_ids({"metadata": {}, "status": {}}) == ("", "", "", ())
