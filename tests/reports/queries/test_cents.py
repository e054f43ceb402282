"""Rounding to the cent in one place (reports/queries/cents.py), and the pages that show the same figure."""

# ruff: noqa: F811  (pytest fixtures imported from views_fixtures are redefined as arguments)
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from costing.choices import ConnectionType
from costing.models import Cluster, ClusterDay, DepartmentCostDay
from reports.queries.cents import (
    cents,
    round_department_rows,
    split_cents,
    split_rows,
    split_rows_to,
)
from reports.queries.clusters import CLUSTER_PARTS
from tests.reports.views_fixtures import fixed_today, make_user  # noqa: F401

D = Decimal


def _two_clusters() -> list[dict]:
    # Each cluster: physical 1.00 = workload 0.495 + idle 0.505. Over both: 0.99 + 1.01, exactly.
    return [
        {
            "physical_cost": D("1.00"),
            "workload_cost": D("0.495"),
            "idle_cost": D("0.505"),
            "overhead_cost": D(0),
        }
        for _ in range(2)
    ]


def test_split_rows_rounds_each_row_then_sums_the_rounded_rows():
    rows = _two_clusters()
    totals = split_rows(rows, "physical_cost", CLUSTER_PARTS)
    # Per cluster 0.495 / 0.505 tie on their remainders: the earlier part (workload) takes the cent.
    assert [(r["workload"], r["idle"], r["overhead"]) for r in rows] == [
        (D("0.50"), D("0.50"), D("0.00"))
    ] * 2
    assert totals == {
        "physical_cost": D("2.00"),
        "workload": D("1.00"),
        "idle": D("1.00"),
        "overhead": D("0.00"),
    }
    # The whole period's split on its own would say idle 1.01: not what the table beside it adds up to.
    assert split_cents(D("2.00"), {"workload": D("0.99"), "idle": D("1.01")}) == {
        "workload": D("0.99"),
        "idle": D("1.01"),
    }


def test_cents_and_department_rows():
    rows = [{"cost": D("0.333")}, {"cost": D("0.333")}, {"cost": D("0.334")}]
    assert cents(rows, "cost") == D("1.00") and [r["cost"] for r in rows] == [D("0.33"), D("0.33"), D("0.34")]
    assert cents([], "cost", D("0.005")) == D("0.01")
    departments = [
        {
            "direct": D("1.005"),
            "shared": D("0"),
            "idle": D("0.5"),
            "gpu_idle": D("0"),
            "overhead": D("0"),
            "total": D("1.505"),
        },
        {
            "direct": D("2"),
            "shared": D("0.125"),
            "idle": D("0"),
            "gpu_idle": D("0"),
            "overhead": D("0.37"),
            "total": D("2.495"),
        },
    ]
    totals = round_department_rows(departments, D("4.00"))
    # Totals 1.505 and 2.495 against 4.00: a tie on .005, the earlier row takes the cent.
    assert [r["total"] for r in departments] == [D("1.51"), D("2.49")]
    assert [r["direct"] for r in departments] == [D("1.01"), D("2.00")]
    assert totals == {
        "total": D("4.00"),
        "direct": D("3.01"),
        "shared": D("0.12"),
        "idle": D("0.50"),
        "gpu_idle": D("0.00"),
        "overhead": D("0.37"),
    }


@pytest.mark.django_db
def test_overview_and_clusters_page_show_the_same_idle(client, make_user, fixed_today):
    from costing.choices import Role

    for name in ("east", "west"):
        cluster = Cluster.objects.create(name=name, connection_type=ConnectionType.SIMULATOR)
        ClusterDay.objects.create(
            cluster=cluster,
            day=date(2025, 3, 10),
            dirty=False,
            physical_cost=D("1.00"),
            workload_cost=D("0.495"),
            idle_cost=D("0.505"),
            overhead_cost=D(0),
            estimated_cost=D(0),
            coverage=1.0,
        )
    client.force_login(make_user("vic", Role.VIEWER))
    overview = client.get("/?period=2025-03-10").context["totals"]
    clusters = client.get("/clusters/?period=2025-03-10").context
    assert overview["idle"] == clusters["totals"]["idle"] == D("1.00")
    assert overview["workload"] == clusters["totals"]["workload"] == D("1.00")
    assert overview["total"] == clusters["total"] == D("2.00")


def test_split_rows_to_keeps_rows_and_columns_adding_up():
    rows = [{"total": D("1.00"), "direct": D("0.495"), "idle": D("0.505")} for _ in range(2)]
    totals = split_rows_to(rows, "total", ["direct", "idle"], {"direct": D("0.99"), "idle": D("1.01")})
    # Alone each row is 0.50 + 0.50; one cent moves from direct to idle, in the earlier row (a tie).
    assert [(r["total"], r["direct"], r["idle"]) for r in rows] == [
        (D("1.00"), D("0.49"), D("0.51")),
        (D("1.00"), D("0.50"), D("0.50")),
    ]
    assert totals == {"total": D("2.00"), "direct": D("0.99"), "idle": D("1.01")}


def _department_day(cluster, name, direct, idle):
    DepartmentCostDay.objects.create(
        cluster=cluster,
        day=date(2025, 3, 10),
        name=name,
        direct=D(direct),
        shared=D(0),
        idle=D(idle),
        overhead=D(0),
        total=D(direct) + D(idle),
    )


@pytest.mark.django_db
def test_a_department_viewer_sees_the_same_idle_on_every_page(client, make_user, fixed_today):
    from costing.choices import Role

    east = Cluster.objects.create(name="east", connection_type=ConnectionType.SIMULATOR)
    west = Cluster.objects.create(name="west", connection_type=ConnectionType.SIMULATOR)
    # Payments in two clusters, 0.495 + 0.505 in each: 0.99 + 1.01 over both, exactly.
    for cluster in (east, west):
        _department_day(cluster, "Payments", "0.495", "0.505")
    # Search and Ads in east only, the same: 1.00 of direct and 1.00 of idle once each is rounded.
    _department_day(east, "Search", "0.495", "0.505")
    _department_day(east, "Ads", "0.495", "0.505")
    period = "period=2025-03-10"

    client.force_login(make_user("pam", Role.DEPARTMENT_VIEWER, departments=["Payments"]))
    overview = client.get(f"/?{period}").context["totals"]
    departments = client.get(f"/departments/?{period}").context["totals"]
    clusters = client.get(f"/clusters/?{period}").context
    assert overview["idle"] == departments["idle"] == clusters["totals"]["idle"] == D("1.01")
    assert overview["total"] == departments["total"] == clusters["totals"]["total"] == D("2.00")
    # Each cluster still adds up: 1.00 each, east 0.49 + 0.51, west 0.50 + 0.50.
    assert [(r["cluster__name"], r["total"], r["direct"], r["idle"]) for r in clusters["share_rows"]] == [
        ("east", D("1.00"), D("0.49"), D("0.51")),
        ("west", D("1.00"), D("0.50"), D("0.50")),
    ]

    client.force_login(make_user("sam", Role.DEPARTMENT_VIEWER, departments=["Search", "Ads"]))
    overview = client.get(f"/?{period}").context["totals"]
    departments = client.get(f"/departments/?{period}").context["totals"]
    clusters = client.get(f"/clusters/?{period}").context
    # Per department 0.50 + 0.50: idle 1.00 on every page (the whole period on its own would say 1.01),
    # east's one row too (1.01 of idle, exactly, shown as 1.00 so that it matches the departments).
    assert overview["idle"] == departments["idle"] == clusters["totals"]["idle"] == D("1.00")
    assert [(r["total"], r["direct"], r["idle"]) for r in clusters["share_rows"]] == [
        (D("2.00"), D("1.00"), D("1.00"))
    ]
