"""/allocation's loadBalancerCost (tests/costing/scenario.py's day with two load balancers): by namespace
the namespace's load balancers; by pod spread over the pods the Service selects by the time they ran, or
an __unmounted__ pod when it selects none (OpenCost's rule)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from costing.choices import LineKind
from costing.compute import recompute_day
from costing.models import LoadBalancer
from tests.api.conftest import DAY, NEXT
from tests.api.test_allocation import allocation, totals
from tests.costing import scenario

pytestmark = pytest.mark.django_db


@pytest.fixture
def lbs(db):
    """elb-1 (1.20 today) is Service kube-system/ingress selecting team=core (ks-1 and ks-2, 24 h each);
    elb-9 (0.48 today) is Service payments/old selecting no pod."""
    objects = scenario.build()
    cluster, namespaces = objects["cluster"], objects["namespaces"]
    seen = {"first_seen": scenario.START, "last_seen": scenario.START + timedelta(hours=23)}
    LoadBalancer.objects.create(
        cluster=cluster,
        namespace=namespaces["kube-system"],
        name="ingress",
        ids=["elb-1"],
        selector={"team": "core"},
        **seen,
    )
    LoadBalancer.objects.create(
        cluster=cluster,
        namespace=namespaces["payments"],
        name="old",
        ids=["elb-9"],
        selector={"app": "x"},
        **seen,
    )
    scenario.line(
        objects["lines"]["lb"].bill_import,
        cluster,
        LineKind.OVERHEAD,
        "0.48",
        scenario.START,
        24,
        None,
        "elb-9",
    )
    recompute_day(DAY)
    recompute_day(NEXT)
    return objects


def test_by_namespace_the_namespaces_load_balancers(lbs, client_as):
    (data,) = allocation(client_as("admin"), aggregate="namespace")
    assert data["kube-system"]["loadBalancerCost"] == pytest.approx(1.20)
    assert data["kube-system"]["totalCost"] == pytest.approx(3.06 + 1.20)
    assert data["payments"]["loadBalancerCost"] == pytest.approx(0.48)
    assert data["payments"]["totalCost"] == pytest.approx(6.00 + 0.48)
    assert data["checkout"]["loadBalancerCost"] == 0
    assert sum(totals(data).values()) == pytest.approx(15.18 + 1.68)


def test_by_pod_over_the_selected_pods_or_unmounted(lbs, client_as):
    (data,) = allocation(client_as("admin"), aggregate="pod")
    assert data["ks-1"]["loadBalancerCost"] == pytest.approx(0.60)
    assert data["ks-2"]["loadBalancerCost"] == pytest.approx(0.60)
    assert data["__unmounted__"]["loadBalancerCost"] == pytest.approx(0.48)
    assert data["__unmounted__"]["cpuCost"] == 0 and data["pay-1"]["loadBalancerCost"] == 0
    (daily,) = allocation(client_as("admin"), aggregate="namespace,pod", accumulate="false")[:1]
    assert daily["payments/__unmounted__"]["loadBalancerCost"] == pytest.approx(0.48)


def test_the_namespace_explanation_names_its_load_balancer_and_bill_line(lbs, client_as):
    url = "/api/v1/explain/namespace/?cluster=prod&namespace=kube-system&start=2025-03-10&end=2025-03-11"
    response = client_as("admin").get(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["network_cost"] == "1.20000000"
    (lb,) = body["load_balancers"]
    assert (lb["service"], lb["cost"]) == ("ingress", "1.20000000")
    assert [line["resource_id"] for line in lb["lines"]] == ["elb-1"]


def test_costs_api_rows_carry_network_cost(lbs, client_as):
    response = client_as("admin").get("/api/v1/costs/?by=namespace&start=2025-03-10&end=2025-03-11")
    assert response.status_code == 200, response.content
    rows = {r["namespace"]: r for r in response.json()["results"]}
    assert rows["kube-system"]["network_cost"] == "1.20" and rows["payments"]["network_cost"] == "0.48"
    assert response.json()["total"]["network_cost"] == "1.68"
