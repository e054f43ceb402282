"""/api/v1/costs: the `costs` command's rows (reports.queries.cost_rows) with the dashboard's period rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from api.serializers import plain
from reports.queries.costs import cost_rows
from tests.api.conftest import DAY, NEXT

pytestmark = pytest.mark.django_db
D = Decimal
DAY_QUERY = "start=2025-03-10&end=2025-03-11"


def get(client, query):
    return client.get(f"/api/v1/costs/?{query}")


@pytest.mark.parametrize(
    "by", ["cluster", "node_pool", "node", "namespace", "workload", "department", "label:team"]
)
def test_every_grouping_answers_the_rows_of_cost_rows(prod, client_as, by):
    body = get(client_as("admin"), f"by={by}&{DAY_QUERY}").json()
    rows = plain(cost_rows(DAY, NEXT, by))
    assert body["results"] == [r for r in rows if r["row"] != "total"]
    assert body["total"] == rows[-1]
    assert body["count"] == len(rows) - 1
    assert body["period"] == {
        "key": "2025-03-10..2025-03-11",
        "kind": "custom",
        "label": "2025-03-10 – 2025-03-10",
        "start": "2025-03-10",
        "end": "2025-03-11",
    }


def test_by_cluster_on_the_hand_computed_day(prod, client_as):
    body = get(client_as("viewer"), f"by=cluster&{DAY_QUERY}").json()
    (row,) = body["results"]
    # tests/costing/scenario.py: 15.18 + 14.14 + 3.60 = 32.92, money as exact decimal text.
    assert (row["cost"], row["idle"], row["overhead"], row["physical_cost"]) == (
        "15.18",
        "14.14",
        "3.60",
        "32.92",
    )
    assert body["currency"] == "EUR"


def test_a_month_period_is_the_sum_of_its_days(prod, client_as):
    body = get(client_as("admin"), "by=cluster&period=2025-03").json()
    assert body["period"]["start"] == "2025-03-01" and body["period"]["end"] == "2025-04-01"
    # The day before plus the second half of the control-plane line on the next day.
    assert body["total"]["physical_cost"] == str(D("32.92") + D("2.40"))
    assert body["total"] == plain(cost_rows(date(2025, 3, 1), date(2025, 4, 1), "cluster")[-1])


def test_department_filter(prod, client_as):
    body = get(client_as("admin"), f"by=namespace&department=Payments&{DAY_QUERY}").json()
    assert {r["namespace"]: r["cost"] for r in body["results"]} == {"checkout": "4.50", "payments": "6.00"}


def test_pagination(prod, client_as):
    client = client_as("admin")
    first = get(client, f"by=namespace&page_size=3&{DAY_QUERY}").json()
    assert first["count"] == 4 and len(first["results"]) == 3 and first["previous"] is None
    assert "page=2" in first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    names = [r["namespace"] for r in first["results"] + second["results"]]
    assert names == ["checkout", "kube-system", "payments", "search"]
    assert first["total"] == second["total"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "by"),
        (f"by=bogus&{DAY_QUERY}", "by"),
        (f"by=label:&{DAY_QUERY}", "by"),
        ("by=cluster&period=2025-13", "period"),
        ("by=cluster&period=yesterday", "period"),
        ("by=cluster&start=2025-03-10", "end"),
        ("by=cluster&end=2025-03-10", "start"),
        ("by=cluster&start=2025-03-10&end=2025-03-10", "end"),
        ("by=cluster&start=2025-02-30&end=2025-03-11", "start"),
        ("by=cluster&period=2025-03&start=2025-03-01&end=2025-04-01", "period"),
        ("by=cluster&period=2022-01", "period"),  # before the two years of history
        ("by=cluster&period=2025-04", "period"),  # in the future
        (f"by=cluster&cluster=nope&{DAY_QUERY}", "cluster"),
        (f"by=namespace&department=Nobody&{DAY_QUERY}", "department"),
        (f"by=cluster&page=abc&{DAY_QUERY}", "page"),
        (f"by=cluster&page_size=-1&{DAY_QUERY}", "page_size"),
        (f"by=cluster%00&{DAY_QUERY}", "by"),
    ],
)
def test_bad_parameters_are_400_with_field_messages(client_as, query, field):
    response = get(client_as("admin"), query)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert field in errors and all(isinstance(m, str) and m for m in errors[field])


def test_the_period_defaults_to_the_current_month(prod, client_as):
    body = get(client_as("admin"), "by=cluster").json()
    assert body["period"]["key"] == "2025-03"  # the tests' "now" is 2025-03-20


def test_department_viewer_gets_their_department_only(prod, client_as):
    client = client_as("dept")  # Payments
    by_ns = get(client, f"by=namespace&{DAY_QUERY}").json()
    assert by_ns["department"] == "Payments"
    assert {r["namespace"]: r["cost"] for r in by_ns["results"]} == {"checkout": "4.50", "payments": "6.00"}
    # By cluster: their namespaces' cost in it, no idle, overhead or physical cost of the cluster.
    by_cluster = get(client, f"by=cluster&{DAY_QUERY}").json()
    (row,) = by_cluster["results"]
    assert row["cost"] == "10.50" and "idle" not in row and "physical_cost" not in by_cluster["total"]
    by_dept = get(client, f"by=department&{DAY_QUERY}").json()
    assert [r["department"] for r in by_dept["results"]] == ["Payments"]
    assert by_dept["total"]["total"] == by_dept["results"][0]["total"]
    refused = get(client, f"by=namespace&department=Search&{DAY_QUERY}")
    assert refused.status_code == 403


def test_department_viewer_of_several_departments_names_one(prod, client_as, users):
    from costing.models import Department

    Department.objects.get(name="Search").viewers.add(users["dept"])
    client = client_as("dept")
    response = get(client, f"by=namespace&{DAY_QUERY}")
    assert response.status_code == 400 and "Payments, Search" in response.json()["errors"]["department"][0]
    assert (
        get(client, f"by=namespace&department=Search&{DAY_QUERY}").json()["results"][0]["namespace"]
        == "search"
    )
    both = get(client, f"by=department&{DAY_QUERY}").json()
    assert [r["department"] for r in both["results"]] == ["Payments", "Search"]


def test_a_department_with_nothing_booked_yet_is_empty_for_its_viewer(users, client_as, db):
    body = get(client_as("dept"), f"by=namespace&{DAY_QUERY}").json()
    assert body["results"] == [] and body["count"] == 0
