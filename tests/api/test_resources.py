"""Departments, clusters (node pools, nodes) and explanations, per role."""

from __future__ import annotations

from decimal import Decimal

import pytest

from api.serializers import plain
from costing.choices import ConnectionType
from costing.models import Cluster, Department
from reports.queries.explain import explain_department, explain_namespace
from tests.api.conftest import DAY, NEXT

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod(prod_of_module, db):
    """The scenario built once for this module's tests, which only read it (tests/api/conftest.py)."""
    return prod_of_module


DAY_QUERY = "start=2025-03-10&end=2025-03-11"


def test_departments_per_role(prod, client_as):
    everyone = client_as("viewer").get("/api/v1/departments/").json()
    assert [d["name"] for d in everyone["results"]] == ["Payments", "Search"]
    dept = client_as("dept")
    mine = dept.get("/api/v1/departments/").json()
    assert [d["name"] for d in mine["results"]] == ["Payments"]
    search = Department.objects.get(name="Search")
    assert dept.get(f"/api/v1/departments/{search.pk}/").status_code == 404
    assert client_as("nobody").get("/api/v1/departments/").status_code == 403


def test_clusters_node_pools_and_nodes(prod, client_as):
    Cluster.objects.create(name="lab", connection_type=ConnectionType.SIMULATOR, kubeconfig="secret: yes")
    client = client_as("admin")
    listed = client.get("/api/v1/clusters/").json()
    assert [c["name"] for c in listed["results"]] == ["lab", "prod"]
    assert all("kubeconfig" not in c for c in listed["results"])
    prod_id = prod["cluster"].pk
    detail = client.get(f"/api/v1/clusters/{prod_id}/").json()
    assert detail["node_pools"] == [{"id": prod["nodes"]["n1"].node_pool_id, "name": "general", "nodes": 3}]
    assert client.get(f"/api/v1/clusters/{prod_id}/node-pools/").json() == detail["node_pools"]
    nodes = client.get(f"/api/v1/clusters/{prod_id}/nodes/?page_size=2").json()
    assert nodes["count"] == 3 and [n["name"] for n in nodes["results"]] == ["n1", "n2"]
    assert nodes["results"][0]["cpu_capacity_cores"] == 4 and nodes["results"][0]["node_pool"] == "general"
    # A department viewer sees the clusters their departments have namespaces in.
    dept = client_as("dept")
    assert [c["name"] for c in dept.get("/api/v1/clusters/").json()["results"]] == ["prod"]
    lab = Cluster.objects.get(name="lab")
    assert dept.get(f"/api/v1/clusters/{lab.pk}/").status_code == 404
    assert client.get("/api/v1/clusters/99999999999999999999999/").status_code == 404


def test_explain_department(prod, client_as):
    body = client_as("viewer").get(f"/api/v1/explain/department/?name=Payments&{DAY_QUERY}").json()
    assert body == {
        "period": body["period"],
        **plain(explain_department("Payments", DAY, NEXT)),
    }
    assert Decimal(body["direct"]) == Decimal("10.50")
    assert {n["namespace"] for n in body["namespaces"]} == {"payments", "checkout"}
    dept = client_as("dept")
    assert dept.get(f"/api/v1/explain/department/?name=Payments&{DAY_QUERY}").status_code == 200
    assert dept.get(f"/api/v1/explain/department/?name=Search&{DAY_QUERY}").status_code == 403
    assert dept.get(f"/api/v1/explain/department/?name=Idle&{DAY_QUERY}").status_code == 403
    unknown = client_as("admin").get(f"/api/v1/explain/department/?name=Payments&cluster=nope&{DAY_QUERY}")
    assert unknown.status_code == 404


def test_explain_namespace(prod, client_as):
    url = f"/api/v1/explain/namespace/?cluster=prod&namespace=checkout&{DAY_QUERY}"
    body = client_as("admin").get(url).json()
    assert {k: v for k, v in body.items() if k != "period"} == plain(
        explain_namespace("prod", "checkout", DAY, NEXT)
    )
    assert body["cost"] == "4.50000000"
    dept = client_as("dept")
    assert dept.get(url).status_code == 200
    for namespace in ("kube-system", "search", "nope"):
        url = f"/api/v1/explain/namespace/?cluster=prod&namespace={namespace}&{DAY_QUERY}"
        assert dept.get(url).status_code == 404
    missing = client_as("admin").get(f"/api/v1/explain/namespace/?cluster=prod&{DAY_QUERY}")
    assert missing.status_code == 400 and "namespace" in missing.json()["errors"]


def test_explain_workload(prod, client_as):
    pay_api = prod["workloads"][("payments", "pay-api")]
    body = client_as("admin").get(f"/api/v1/explain/workload/?workload={pay_api.pk}&{DAY_QUERY}").json()
    (pod,) = body["pods"]
    assert pod["pod"] == "pay-1" and Decimal(pod["cost"]) == Decimal("6.00")
    # 24 node-hours at 0.125 per core-hour and 0.03125 per GiB-hour (scenario.py): 0.25 each.
    assert len(pod["hours"]) == 24 and {h["cost"] for h in pod["hours"]} == {0.25}
    kube_proxy = prod["workloads"][("kube-system", "kube-proxy")]
    dept = client_as("dept")
    assert dept.get(f"/api/v1/explain/workload/?workload={pay_api.pk}&{DAY_QUERY}").status_code == 200
    assert dept.get(f"/api/v1/explain/workload/?workload={kube_proxy.pk}&{DAY_QUERY}").status_code == 404
    too_big = client_as("admin").get(f"/api/v1/explain/workload/?workload={2**70}&{DAY_QUERY}")
    assert too_big.status_code == 400 and "workload" in too_big.json()["errors"]


def test_explain_node_hour(prod, client_as):
    n1 = prod["nodes"]["n1"]
    url = f"/api/v1/explain/node-hour/?node={n1.pk}&hour=2025-03-10T05:00:00Z"
    body = client_as("viewer").get(url).json()
    assert Decimal(body["cost"]) == Decimal("1.00") and not body["estimated"]
    (line,) = body["bill_lines"]
    assert line["resource_id"] == "i-1" and Decimal(line["part"]) == Decimal("1.00")
    assert client_as("dept").get(url).status_code == 403
    admin = client_as("admin")
    assert admin.get(f"/api/v1/explain/node-hour/?node={n1.pk}&hour=2025-03-10T05:30:00Z").status_code == 400
    assert admin.get(f"/api/v1/explain/node-hour/?node={n1.pk}&hour=noon").status_code == 400
    assert admin.get(f"/api/v1/explain/node-hour/?node={n1.pk}&hour=2025-03-12T05:00:00Z").status_code == 404
