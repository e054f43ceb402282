"""The Workload and Pod pages' queries over the scenario's stored day."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reports.queries.workloads import pod_breakdown, workload_breakdown
from tests.reports.queries.conftest import NEXT_DAY, ON_DAY

pytestmark = pytest.mark.django_db
D = Decimal


def test_workload_breakdown_pods_add_up_to_the_days(computed):
    proxy = computed["workloads"][("kube-system", "kube-proxy")]
    got = workload_breakdown(proxy.pk, ON_DAY)
    assert [(p["pod__name"], p["node__name"], p["cost"]) for p in got["pods"]] == [
        ("ks-1", "n1", D("2.25")),
        ("ks-2", "n2", D("0.81")),
    ]
    assert got["total"] == D("3.06") and [d["cost"] for d in got["days"]] == [D("3.06")]
    totals = got["totals"]
    # Two pods of 0.5 core and 1 GiB for 24 hours; ks-2's 0.81 was priced from the sheet.
    assert (totals["cpu_request_core_hours"], totals["mem_request_gib_hours"]) == (24.0, 48.0)
    assert (totals["cost"], totals["estimated_cost"]) == (D("3.06"), D("0.81"))
    assert (totals["cpu_efficiency"], totals["mem_efficiency"]) == (1.0, 1.0)


def test_workload_breakdown_of_a_department_keeps_its_own_namespaces(computed):
    proxy = computed["workloads"][("kube-system", "kube-proxy")]
    shared = workload_breakdown(proxy.pk, ON_DAY, frozenset(["Payments"]))
    assert (shared["pods"], shared["days"], shared["total"]) == ([], [], D("0.00"))
    checkout = computed["workloads"][("checkout", "checkout")]
    own = workload_breakdown(checkout.pk, ON_DAY, frozenset(["Payments"]))
    assert [(p["pod__name"], p["cost"]) for p in own["pods"]] == [("co-1", D("4.50"))]


def test_pod_breakdown_days_and_their_node_hours(computed):
    pod = computed["pods"]["co-1"]
    got = pod_breakdown(pod.pk, pod.workload_id, ON_DAY, with_hours=True)
    (day,) = got["days"]
    assert day["cost"] == D("4.50") == got["total"] and len(day["hours"]) == 24
    # co-1 bills 1 core-hour at 0.125 and 2 GiB-hours at 0.03125 each hour.
    hour = day["hours"][3]
    assert (hour["cpu_price"], hour["mem_price"], hour["cost"]) == pytest.approx((0.125, 0.03125, 0.1875))
    assert got["explained"]["pods"][0]["pod"] == "co-1"
    without = pod_breakdown(pod.pk, pod.workload_id, ON_DAY, with_hours=False)
    assert without["explained"] is None and without["days"][0]["hours"] == []
    assert without["total"] == D("4.50")
    empty = pod_breakdown(pod.pk, pod.workload_id, NEXT_DAY, with_hours=True)
    assert (empty["days"], empty["total"], empty["explained"]) == ([], D("0.00"), None)
