"""Load balancers in a computed day, by hand (tests/costing/scenario.py's day): one charged to its
Service's namespace, one in a namespace without pods, one that matches no Service staying overhead;
departments still add up to the physical cost to the cent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest

from costing.choices import LineKind
from costing.compute import recompute_day
from costing.engine.network import load_balancer_days, with_network
from costing.models import (
    BillLine,
    ClusterDay,
    DepartmentCostDay,
    LoadBalancer,
    LoadBalancerCostDay,
    Namespace,
    NamespaceCostDay,
    PodCostDay,
)
from tests.costing import scenario
from tests.costing.scenario import DAY, START

pytestmark = pytest.mark.django_db
D = Decimal


def close(a, b, tol="0.0000001"):
    return abs(D(a) - D(b)) <= D(tol)


@pytest.fixture
def prod():
    """The scenario's day, its load balancer line elb-1 (1.20 today) now that of Service checkout/web;
    plus an ELB line of 0.48 over 12 h for Service edge/gw (a namespace without pods) and an ELB line of
    0.96 tagged with a Service nobody has seen (it stays overhead)."""
    objects = scenario.build()
    cluster = objects["cluster"]
    seen = {"first_seen": START, "last_seen": START + timedelta(hours=23)}
    edge = Namespace.objects.create(cluster=cluster, name="edge", **seen)
    web = LoadBalancer.objects.create(
        cluster=cluster, namespace=objects["namespaces"]["checkout"], name="web", ids=["elb-1"], **seen
    )
    gw = LoadBalancer.objects.create(cluster=cluster, namespace=edge, name="gw", ids=["elb-2"], **seen)
    bill = objects["lines"]["lb"].bill_import
    scenario.line(bill, cluster, LineKind.OVERHEAD, "0.48", START, 12, None, "elb-2")
    stray = scenario.line(bill, cluster, LineKind.OVERHEAD, "0.96", START, 24, None, "elb-3")
    stray.tags = {**stray.tags, "kubernetes.io/service-name": "edge/old"}
    stray.save()
    recompute_day(DAY)
    return {**objects, "web": web, "gw": gw, "edge": edge}


def test_a_load_balancer_is_its_services_namespace_cost(prod):
    day = ClusterDay.objects.get(day=DAY)
    # physical 32.92 + 0.48 + 0.96; overhead 2.40 control plane + 0.96 stray; network 1.20 + 0.48.
    assert day.physical_cost == D("34.36")
    assert day.network_cost == D("1.68") and day.overhead_cost == D("3.36")
    # Charged (workload) = the pods' 15.18 + the load balancers' 1.68.
    assert close(day.workload_cost, "16.86") and close(day.idle_cost, "14.14")
    assert day.workload_cost + day.idle_cost + day.overhead_cost == day.physical_cost
    pods = sum(p.cost for p in PodCostDay.objects.filter(day=DAY))
    assert pods + day.network_cost == day.workload_cost
    assert set(BillLine.objects.filter(kind="load_balancer").values_list("resource_id", "load_balancer")) == {
        ("elb-1", prod["web"].pk),
        ("elb-2", prod["gw"].pk),
    }
    assert BillLine.objects.get(resource_id="elb-3").kind == "overhead"  # no such Service: overhead

    by_ns = {
        r.namespace.name: r for r in NamespaceCostDay.objects.filter(day=DAY).select_related("namespace")
    }
    checkout = by_ns["checkout"]
    assert checkout.network_cost == D("1.20") and close(checkout.cost, "5.70")  # co-1 4.50 + 1.20
    assert close(checkout.cpu_cost + checkout.mem_cost + checkout.gpu_cost, "4.50")
    edge = by_ns["edge"]  # no pod, only its load balancer
    assert (edge.network_cost, edge.cost, edge.cpu_billable_core_hours) == (D("0.48"), D("0.48"), 0)
    assert edge.department == "Unallocated"
    assert sum(r.cost for r in by_ns.values()) == ClusterDay.objects.get(day=DAY).workload_cost
    assert {(r.load_balancer.name, r.cost, r.lines) for r in LoadBalancerCostDay.objects.filter(day=DAY)} == {
        ("web", D("1.20"), 1),
        ("gw", D("0.48"), 1),
    }


def test_departments_take_the_load_balancer_as_direct_cost(prod):
    rows = {r.name: r for r in DepartmentCostDay.objects.filter(day=DAY)}
    assert set(rows) == {"Payments", "Search", "Unallocated"}
    pay, search, other = rows["Payments"], rows["Search"], rows["Unallocated"]
    # Direct: Payments 6.00 + 4.50 + 1.20, Search 1.62, Unallocated 0.48 (of 13.80); shared 3.06 and idle
    # 14.14 by direct cost; overhead 3.36 evenly over the three.
    assert pay.direct == D("11.70") and search.direct == D("1.62") and other.direct == D("0.48")
    assert close(pay.shared, D("3.06") * D("11.70") / D("13.80"))
    assert close(other.idle, D("14.14") * D("0.48") / D("13.80"))
    assert pay.overhead == D("1.12") and other.overhead == D("1.12")
    assert sum(r.total for r in rows.values()) == D("34.36")


def test_a_load_balancer_whose_service_is_deleted_falls_back_to_overhead(prod):
    prod["gw"].delete()  # its line keeps kind load_balancer, without its load balancer
    recompute_day(DAY)
    day = ClusterDay.objects.get(day=DAY)
    assert (
        day.network_cost == D("1.20") and day.overhead_cost == D("3.84") and day.physical_cost == D("34.36")
    )
    assert sum(r.total for r in DepartmentCostDay.objects.filter(day=DAY)) == D("34.36")


def test_the_network_rollup_alone():
    hours = pd.DataFrame(
        {
            "load_balancer": [7, 7, 8],
            "namespace": [1, 1, 3],
            "effective_cost": [D("0.05"), D("0.05"), D("0.000000004")],
            "lines": [2, 2, 1],
        }
    )
    days = load_balancer_days(hours)
    assert days.to_dict("list") == {
        "load_balancer": [7, 8],
        "namespace": [1, 3],
        "cost": [10_000_000, 0],
        "lines": [2, 1],
    }
    namespaces = pd.DataFrame(
        {
            "namespace": [1, 2],
            "cpu_cost": [5, 6],
            "mem_cost": [1, 1],
            "gpu_cost": [0, 0],
            "cost": [6, 7],
            "estimated_cost": [0, 0],
            "cpu_billable_core_hours": [1.0, 2.0],
        }
    )
    out = with_network(namespaces, days)
    assert out["namespace"].tolist() == [1, 2, 3]
    assert out["network_cost"].tolist() == [10_000_000, 0, 0]
    assert out["cost"].tolist() == [10_000_006, 7, 0]
    assert out["cpu_billable_core_hours"].tolist() == [1.0, 2.0, 0.0]
