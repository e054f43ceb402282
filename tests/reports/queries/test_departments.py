"""The Departments and Department pages' queries over the scenario's stored days."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reports.queries.departments import department_breakdown, department_table
from tests.reports.queries.conftest import DAY, NEXT_DAY, ON_DAY

pytestmark = pytest.mark.django_db
D = Decimal


def test_department_table_rows_add_up_to_the_clusters_with_the_days(computed):
    got = department_table(ON_DAY, ON_DAY.previous())
    rows = {r["name"]: r for r in got["rows"]}
    # Payments 10.50 + 3.06 x 10.50/12.12 + 14.14 x 10.50/12.12 + 3.60 / 2 = 27.2009...
    assert (rows["Payments"]["total"], rows["Search"]["total"]) == (D("27.20"), D("5.72"))
    assert got["totals"]["total"] == D("32.92") == got["grand"].quantize(D("0.01"))
    assert {(d["day"], d["name"]) for d in got["days"]} == {(DAY, "Payments"), (DAY, "Search")}


def test_department_breakdown_parts_namespaces_and_pools(computed):
    got = department_breakdown("Payments", ON_DAY, ON_DAY.previous())
    # Shared 3.06 x 10.50/12.12 = 2.65, idle 14.14 x 10.50/12.12 = 12.25, overhead 3.60 / 2 = 1.80.
    assert got["parts"] == {
        "direct": D("10.50"),
        "shared": D("2.65"),
        "idle": D("12.25"),
        "gpu_idle": D("0.00"),  # no GPU: its column is 0
        "overhead": D("1.80"),
    }
    assert got["total"] == D("27.20") and got["pool_total"] == D("16.70")
    assert [(n["namespace"], n["cost"]) for n in got["namespaces"]] == [
        ("payments", D("6.00")),
        ("checkout", D("4.50")),
    ]
    assert [(p["pool"], p["amount"]) for p in got["pools"]] == [
        ("idle", D("12.25")),
        ("overhead", D("1.80")),
        ("shared", D("2.65")),
    ]
    assert next(p for p in got["pools"] if p["pool"] == "idle")["pool_amount"] == D("14.14")
    assert [d["day"] for d in got["days"]] == [DAY] and got["previous_total"] == 0


def test_department_breakdown_of_a_line_and_the_previous_period(computed):
    # The next day no department has direct cost: its 2.40 of overhead stays on the Overhead line, which
    # has no trend of its own.
    line = department_breakdown("Overhead", NEXT_DAY, NEXT_DAY.previous(), "prod", computed["cluster"].pk)
    assert line["explained"]["is_line"] and line["days"] == []
    assert (line["total"], line["parts"]["overhead"], line["pool_total"]) == (D("2.40"), D("2.40"), D("2.40"))
    payments = department_breakdown("Payments", NEXT_DAY, NEXT_DAY.previous(), "prod", computed["cluster"].pk)
    assert payments["total"] == D("0.00")
    # Against the 27.2009... of the day before.
    assert payments["previous_total"].quantize(D("0.01")) == D("27.20")


def test_a_department_viewer_reads_the_organisations_cents_for_its_department():
    """Three departments pay 1.005 each of a 3.015 cluster-day: the organisation's rounding (largest
    remainder against 3.02) gives 1.01, 1.01, 1.00. The third department's viewer reads 1.00 as the admin
    does, on the page, the overview and the `costs` rows, not 1.01 from rounding its row alone."""
    from costing.models import Cluster, ClusterDay, DepartmentCostDay
    from reports.queries.costs import cost_rows
    from reports.queries.departments import department_figures

    cluster = Cluster.objects.create(name="prod")
    third = D("1.005")
    ClusterDay.objects.create(
        cluster=cluster, day=DAY, dirty=False, physical_cost=3 * third, workload_cost=3 * third,
        idle_cost=0, overhead_cost=0, estimated_cost=0,
    )  # fmt: skip
    for name in ["Alpha", "Beta", "Gamma"]:
        DepartmentCostDay.objects.create(
            cluster=cluster, day=DAY, name=name, direct=third, shared=0, idle=0, overhead=0, total=third
        )
    admin = {r["name"]: r["total"] for r in department_table(ON_DAY, ON_DAY.previous())["rows"]}
    assert admin == {"Alpha": D("1.01"), "Beta": D("1.01"), "Gamma": D("1.00")}
    viewer = department_table(ON_DAY, ON_DAY.previous(), departments=["Gamma"])
    assert [(r["name"], r["total"], r["direct"]) for r in viewer["rows"]] == [("Gamma", D("1.00"), D("1.00"))]
    assert viewer["totals"]["total"] == D("1.00") and viewer["grand"] is None
    assert department_figures(ON_DAY, None, ["Gamma"])["total"] == D("1.00")
    rows = cost_rows(ON_DAY.start, ON_DAY.end, "department", department="Gamma")
    assert [(r["department"], r["total"]) for r in rows] == [("Gamma", D("1.00")), ("Total", D("1.00"))]
