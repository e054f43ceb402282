"""The Namespaces and Namespace pages' queries over the scenario's stored day."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from costing.models import NamespaceCostDay
from reports.queries.namespaces import namespace_table, namespace_workloads
from tests.reports.queries.conftest import DAY, NEXT_DAY, ON_DAY

pytestmark = pytest.mark.django_db
D = Decimal


def test_namespace_table_rounds_rows_to_their_total_with_the_previous_period(computed):
    # The previous day stored checkout at 4.00 (a stored result, as a recompute would leave it).
    before = NamespaceCostDay.objects.get(namespace__name="checkout", day=DAY)
    before.pk, before.day, before.cost = None, DAY - timedelta(days=1), D("4.00")
    before.save()

    got = namespace_table(ON_DAY, ON_DAY.previous(), computed["cluster"].pk)

    rows = {r["namespace__name"]: r for r in got["rows"]}
    assert [(r["namespace__name"], r["department"], r["cost"]) for r in got["rows"]] == [
        ("payments", "Payments", D("6.00")),
        ("checkout", "Payments", D("4.50")),
        ("kube-system", "Shared", D("3.06")),
        ("search", "Search", D("1.62")),
    ]
    assert got["total"] == D("15.18")
    # search-api runs on n2, priced from the sheet; ks-2's 0.81 of kube-system's 3.06 too.
    assert rows["search"]["estimated_share"] == 1.0 and rows["payments"]["estimated_share"] == 0.0
    assert rows["kube-system"]["estimated_share"] == pytest.approx(0.81 / 3.06)
    # checkout requested 0.5 core and used 1; requested 2 GiB and used 1.
    assert (rows["checkout"]["cpu_efficiency"], rows["checkout"]["mem_efficiency"]) == (2.0, 0.5)
    assert rows["checkout"]["previous"] == D("4.00") and rows["payments"]["previous"] is None
    assert got["previous_total"] == D("4.00")
    # 3.5 cores requested and 4 used, 10 GiB requested and 9 used, over 24 hours.
    usage = got["usage"]
    assert (usage["cpu_request_core_hours"], usage["cpu_usage_core_hours"]) == (84.0, 96.0)
    assert (usage["mem_request_gib_hours"], usage["mem_usage_gib_hours"]) == (240.0, 216.0)
    assert usage["cpu_efficiency"] == pytest.approx(96 / 84) and usage["mem_efficiency"] == pytest.approx(0.9)


def test_namespace_table_of_a_department_and_of_a_day_without_pods(computed):
    got = namespace_table(ON_DAY, ON_DAY.previous(), None, frozenset(["Payments"]))
    assert [(r["namespace__name"], r["cost"]) for r in got["rows"]] == [
        ("payments", D("6.00")),
        ("checkout", D("4.50")),
    ]
    assert got["total"] == D("10.50") and got["usage"]["cpu_request_core_hours"] == 36.0
    # The next day has no pods; the day before it had 15.18 of them.
    empty = namespace_table(NEXT_DAY, NEXT_DAY.previous())
    assert (empty["rows"], empty["total"], empty["previous_total"]) == ([], D("0.00"), D("15.18"))


def test_namespace_workloads_add_up_to_the_namespace(computed):
    got = namespace_workloads("prod", "kube-system", ON_DAY)
    (proxy,) = got["workloads"]
    # kube-proxy: 2.25 on n1 + 0.81 on n2, requests used in full.
    assert (proxy["name"], proxy["pods"], proxy["cost"]) == ("kube-proxy", 2, D("3.06"))
    assert (proxy["cpu_efficiency"], proxy["mem_efficiency"]) == (1.0, 1.0)
    assert got["total"] == D("3.06") and got["explained"]["shared"]
    payments = namespace_workloads("prod", "payments", ON_DAY)
    assert [(w["name"], w["cost"]) for w in payments["workloads"]] == [("pay-api", D("6.00"))]
    assert payments["explained"]["departments"] == ["Payments"]
