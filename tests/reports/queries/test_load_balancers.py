"""Load balancers in the page queries and the `costs` rows (tests/costing/scenario.py's day, its ELB line
elb-1 of 1.20 now Service checkout/web's): a network column that adds up, and a namespace explained into
its workloads and its load balancer with the bill line."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from costing.compute import recompute_day
from costing.models import LoadBalancer
from reports.queries.costs import LOAD_BALANCERS, cost_rows
from reports.queries.namespaces import namespace_table, namespace_workloads
from tests.costing import scenario
from tests.reports.queries.conftest import NEXT_DAY, ON_DAY

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def with_lb(computed):
    seen = {"first_seen": scenario.START, "last_seen": scenario.START + timedelta(hours=23)}
    LoadBalancer.objects.create(
        cluster=computed["cluster"],
        namespace=computed["namespaces"]["checkout"],
        name="web",
        ids=["elb-1"],
        **seen,
    )
    recompute_day(ON_DAY.start)
    recompute_day(NEXT_DAY.start)
    return computed


def groups(rows):
    return [r for r in rows if r["row"] == "group"]


def test_costs_by_namespace_and_cluster_have_a_network_part(with_lb):
    rows = cost_rows(ON_DAY.start, ON_DAY.end, "namespace")
    checkout = next(r for r in groups(rows) if r["namespace"] == "checkout")
    assert (checkout["cost"], checkout["network_cost"]) == (D("5.70"), D("1.20"))
    assert checkout["cpu_cost"] + checkout["mem_cost"] + checkout["gpu_cost"] + checkout["network_cost"] == D(
        "5.70"
    )
    total = rows[-1]
    # Physical 32.92 = charged 16.38 (pods 15.18 + load balancer 1.20) + idle 14.14 + overhead 2.40.
    assert (total["cost"], total["network_cost"], total["idle"], total["overhead"]) == (
        D("16.38"),
        D("1.20"),
        D("14.14"),
        D("2.40"),
    )
    assert total["physical_cost"] == D("32.92")
    (cluster,) = groups(cost_rows(ON_DAY.start, ON_DAY.end, "cluster"))
    assert cluster["network_cost"] == D("1.20") and cluster["physical_cost"] == D("32.92")


def test_costs_by_pods_show_the_load_balancer_on_its_own(with_lb):
    by_node = cost_rows(ON_DAY.start, ON_DAY.end, "node")
    lbs = next(r for r in groups(by_node) if r["node"] == LOAD_BALANCERS)
    assert (lbs["cost"], lbs["network_cost"], lbs["idle"]) == (D("1.20"), D("1.20"), 0)
    assert by_node[-1]["physical_cost"] == D("32.92")
    by_workload = {
        (r["workload_kind"], r["workload"]): r
        for r in groups(cost_rows(ON_DAY.start, ON_DAY.end, "workload"))
    }
    assert by_workload[("Service", "web")]["cost"] == D("1.20")
    assert sum(r["cost"] for r in by_workload.values()) == D("16.38")
    by_department = cost_rows(ON_DAY.start, ON_DAY.end, "workload", department="Payments")
    assert sum(r["cost"] for r in groups(by_department)) == D("11.70")  # 6.00 + 4.50 + 1.20


def test_a_namespace_into_its_workloads_and_its_load_balancer(with_lb):
    figures = namespace_workloads("prod", "checkout", ON_DAY)
    assert figures["total"] == D("5.70") and figures["network_cost"] == D("1.20")
    (lb,) = figures["load_balancers"]
    assert (lb["service"], lb["cost"]) == ("web", D("1.20"))
    (line,) = lb["lines"]
    assert (line["resource_id"], line["effective_cost"]) == ("elb-1", D("1.20"))
    assert sum(w["cost"] for w in figures["workloads"]) + lb["cost"] == figures["total"]
    table = namespace_table(ON_DAY, NEXT_DAY)
    checkout = next(r for r in table["rows"] if r["namespace__name"] == "checkout")
    assert checkout["network_cost"] == D("1.20")
