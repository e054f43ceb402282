"""The period picker and filters in the URL: parsing, friendly 400s, custom ranges, previous-period deltas."""

# ruff: noqa: F811  (pytest fixtures imported from views_fixtures are redefined as arguments)
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from reports.periods import parse_period
from tests.reports.test_views_pages import text
from tests.reports.views_fixtures import clients, fixed_today, make_user, prod_of_module  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod(prod_of_module, fixed_today):
    """The scenario built once for this module's tests, which only read it (views_fixtures.prod_of_module)."""
    return prod_of_module


D = Decimal


def test_default_period_is_the_current_month(clients, prod):
    page = clients["admin"].get("/")
    assert page.context["state"].period.key == "2025-03"  # "today" is 2025-03-20 in these tests
    # March holds the 10th (32.92) and the 11th (2.40 of overhead).
    assert page.context["totals"]["total"] == D("35.32")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("period=2025-13", "not a valid month"),
        ("period=soon", "is not a period"),
        ("period=2022-01", "two years back"),
        ("period=2025-04", "in the future"),
        ("period=2025-03-10..2025-03-01", "must end after it starts"),
        ("period=2025-03&cluster=nope", "no cluster named"),
        ("period=2025-03&department=Nope", "no department is named"),
        ("from=2025-03-01&to=march", "must be dates"),
        ("from=2025-03-05&to=2025-03-01", "is before"),
    ],
)
def test_bad_parameters_get_a_friendly_400(clients, prod, query, says):
    for path in ("/", "/namespaces/", "/departments/", "/labels/", "/clusters/", "/data-quality/"):
        response = clients["admin"].get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        assert says in response.content.decode(), (path, query)


def test_bad_page_parameters_get_a_400(clients, prod):
    assert clients["admin"].get("/clusters/prod/nodes/n1/?day=yesterday").status_code == 400
    assert clients["admin"].get("/explain/node-hour/prod/n1/2025-03-10T4pm/").status_code == 400
    assert clients["admin"].get(f"/labels/?key={'k' * 400}").status_code == 400
    assert clients["admin"].get("/explain/node-hour/prod/n1/2025-03-10T05/?period=2025-03").status_code == 200
    assert clients["admin"].get("/explain/node-hour/prod/n3/2025-03-10T05/?period=2025-03").status_code == 404


def test_custom_range_redirects_to_the_canonical_url(clients, prod):
    response = clients["admin"].get("/namespaces/?from=2025-03-01&to=2025-03-10&cluster=prod")
    assert response.status_code == 302
    assert response["Location"] == "/namespaces/?cluster=prod&period=2025-03-01..2025-03-11"
    page = clients["admin"].get(response["Location"])
    assert page.status_code == 200 and page.context["state"].period.days == 10
    assert "2025-03-01 – 2025-03-10" in text(page)


@pytest.mark.parametrize(
    ("key", "total"),
    [
        ("2025-03-10", "32.92"),
        ("2025-W11", "35.32"),
        ("2025-Q1", "35.32"),
        ("2025", "35.32"),
        ("2025-03-11", "2.40"),
    ],
)
def test_every_kind_of_period(clients, prod, key, total):
    page = clients["viewer"].get(f"/?period={key}")
    assert page.status_code == 200 and page.context["totals"]["total"] == D(total)


def test_comparison_with_the_previous_period(clients, prod):
    page = clients["admin"].get("/?period=2025-03-11")
    change = page.context["change"]
    # The 11th (2.40) against the 10th (32.92): 30.52 less, 92.7 % down.
    assert change["diff"] == D("-30.52") and change["pct"] == pytest.approx(-30.52 / 32.92 * 100)
    assert "−30.52 (−92.7 %)" in text(page) and "down from the previous period" in text(page)
    departments = clients["admin"].get("/departments/?period=2025-03-11")
    rows = {r["name"]: r for r in departments.context["rows"]}
    # On the 11th no department ran: the 2.40 of overhead stays on its own line.
    assert set(rows) == {"Overhead"} and rows["Overhead"]["total"] == D("2.40")
    namespaces = clients["admin"].get("/namespaces/?period=2025-03-10")
    payments = {r["namespace__name"]: r for r in namespaces.context["rows"]}["payments"]
    assert payments["change"]["diff"] == D("6.00") and payments["change"]["pct"] is None  # nothing before
    # The 9th was never collected: no "+6.00" of growth from nothing, but no comparison, said so.
    assert "+6.00" not in text(namespaces) and "there is nothing to compare with" in text(namespaces)
    assert "Workload cost by namespace: 15.18 EUR no comparison: nothing was collected in 2025-03-09" in text(
        namespaces
    )


def test_period_links(clients, prod):
    page = clients["admin"].get("/?period=2025-03-11&cluster=prod")
    picker = page.context["picker"]
    assert picker["previous"] == "period=2025-03-10&cluster=prod"
    assert picker["next"] == "period=2025-03-12&cluster=prod"
    month = clients["admin"].get("/?period=2025-03").context["picker"]
    assert month["previous"] == "period=2025-02" and month["next"] is None  # April has not begun
    assert parse_period("2024-12").next().key == "2025-01"
    assert parse_period("2024-Q4").next().key == "2025-Q1"
    assert parse_period("2024-W52").next().key == "2025-W01"
    assert parse_period("2024-03-01..2024-03-11").next().start == date(2024, 3, 11)


def test_the_url_carries_the_state_into_every_link(clients, prod):
    query = "period=2025-03-10&cluster=prod&department=Payments"
    page = clients["admin"].get(f"/namespaces/?{query}")
    body = page.content.decode()
    assert {r["namespace__name"] for r in page.context["rows"]} == {"payments", "checkout"}
    assert f'href="/namespaces/prod/checkout/?{query.replace("&", "&amp;")}"' in body
    assert f'href="/departments/?{query.replace("&", "&amp;")}"' in body  # the nav too
    overview = clients["admin"].get(f"/?{query}")
    assert overview.context["totals"]["total"] == D("27.20")  # the department filter on the overview


def test_a_department_name_with_a_slash_and_an_ampersand(clients, prod):
    from costing.models import Department

    Department.objects.create(name="R&D / Labs")
    page = clients["admin"].get("/namespaces/?period=2025-03-10&department=R%26D+%2F+Labs")
    assert page.status_code == 200 and page.context["state"].department == "R&D / Labs"
    assert page.context["rows"] == []  # it owns no namespace
    detail = clients["admin"].get("/departments/R%26D%20/%20Labs/?period=2025-03-10")
    assert detail.status_code == 200 and detail.context["total"] == 0


def test_an_incomplete_previous_period_shows_no_percentage(clients, prod):
    # 11th-12th (2.40, nothing sampled) against 9th-10th, of which only the 10th was collected (32.92).
    query = "period=2025-03-11..2025-03-13"
    overview = clients["admin"].get(f"/?{query}")
    change = overview.context["change"]
    assert change["diff"] == D("-30.52") and change["pct"] is None
    t = text(overview)
    assert "1 of 2 days collected" in t and "Not like for like" in t and "−30.52 " in t and "%) " not in t
    for path in ("/clusters/", "/departments/", "/namespaces/"):
        page = clients["admin"].get(f"{path}?{query}")
        assert "1 of 2 days collected" in text(page), path
        assert page.context["change"]["pct"] is None, path
        assert "(−" not in text(page) and "(+" not in text(page), path  # no row shows a percentage
    # The department viewer's share of each cluster says the same.
    assert "1 of 2 days collected" in text(clients["payments"].get(f"/clusters/?{query}"))


@pytest.fixture
def running(prod, monkeypatch):
    """prod's days (2025-03-10 and 11) and dev's 2025-04-10 at 56.92 (helpers.doubled_second_cluster), "today"
    being that day."""
    from tests.reports.reporting.helpers import doubled_second_cluster

    doubled_second_cluster(date(2025, 4, 10))
    monkeypatch.setattr("reports.views_common.today", lambda: date(2025, 4, 10))


def cent(amount) -> Decimal:
    """A change as the page shows it: the rounded current figure less the exact previous one, to the cent."""
    return amount.quantize(D("0.01"))


def test_a_running_month_is_compared_with_the_same_days_of_the_previous_one(clients, running):
    # April 2025 has begun 10 days ago: its 56.92 (dev's 10th) against March's first 10 days, which hold
    # prod's 10th (32.92) but not its 11th (2.40): +24.00, not +21.60 against the whole of March. March's
    # first 10 days have 1 collected: no percentage.
    says = "vs 2025-03-01 – 2025-03-10, the same 10 days of March 2025"
    overview = clients["admin"].get("/?period=2025-04")
    change = overview.context["change"]
    assert change["previous"] == D("32.92") and change["diff"] == D("24.00") and change["pct"] is None
    t = text(overview)
    assert (
        f"+24.00 up from the previous period {says}" in t
        and "2025-03-01 – 2025-03-10: 1 of 10 days collected" in t
    )
    assert "April 2025 is not over. Changes are from 2025-03-01 – 2025-03-10," in t
    assert "← March 2025" in t  # the picker still steps to the whole previous month
    clusters = clients["admin"].get("/clusters/?period=2025-04")
    assert clusters.context["change"]["diff"] == D("24.00") and says in text(clusters)
    rows = {r["cluster__name"]: r["change"]["diff"] for r in clusters.context["rows"]}
    assert rows == {"dev": D("56.92")}  # prod's 10th is not in its row: prod has no April figures
    namespaces = clients["admin"].get("/namespaces/?period=2025-04")
    # Workloads 27.93 against prod's 15.18 on the 10th; payments 12.00 (dev) against 6.00 (prod).
    assert namespaces.context["change"]["diff"] == D("12.75") and says in text(namespaces)
    departments = clients["admin"].get("/departments/?period=2025-04")
    by_name = {r["name"]: cent(r["change"]["diff"]) for r in departments.context["rows"]}
    assert by_name == {"Payments": D("24.10"), "Search": D("-0.10")} and says in text(departments)
    payments = clients["admin"].get("/departments/Payments/?period=2025-04")
    assert cent(payments.context["change"]["diff"]) == D("24.10") and says in text(payments)
    share = clients["payments"].get("/clusters/?period=2025-04")
    assert cent(share.context["change"]["diff"]) == D("24.10") and says in text(share)
    # The period over, the whole of March again.
    march = clients["admin"].get("/?period=2025-03")
    assert march.context["state"].previous_label == "February 2025" and "not over" not in text(march)


def test_a_running_custom_range_keeps_its_percentage_when_the_same_span_was_collected(clients, running):
    # 2025-04-10..2025-05-10 has begun today: against the first day of the 31 before, prod's 10th of March,
    # which was collected: 56.92 - 32.92 = +24.00, +72.9 %. The whole 31 days before (35.32, 1 of 31
    # collected) would give +21.60 and no percentage.
    query = "period=2025-04-10..2025-05-11"
    page = clients["admin"].get(f"/?{query}")
    change = page.context["change"]
    assert change["diff"] == D("24.00") and change["pct"] == pytest.approx(24.00 / 32.92 * 100)
    says = "+24.00 (+72.9 %) up from the previous period vs 2025-03-10, the first day of the 31 days before"
    assert says in text(page) and "Not like for like" not in text(page)
    viewer = clients["payments"].get(f"/departments/?{query}")
    (row,) = viewer.context["rows"]
    assert cent(row["change"]["diff"]) == D("24.10") and "+24.10 (+88.6 %)" in text(viewer)  # 24.10 / 27.20


def test_a_complete_previous_period_keeps_its_percentage(clients, prod):
    page = clients["admin"].get("/?period=2025-03-11")
    assert "Not like for like" not in text(page) and page.context["state"].like_for_like


def test_coverage_counts_the_whole_year(clients, prod):
    # "Today" is 2025-03-20: 79 days of 2025 have begun, of which only the 10th was sampled (23.5 h).
    page = clients["admin"].get("/?period=2025")
    coverage = page.context["state"].coverage
    assert coverage.collected_days == 1 and coverage.elapsed_days == 79
    assert coverage.sampled == pytest.approx(23.5 / 24 / 79)
    t = text(page)
    assert "1.2 %" in t and "1 of 365 days collected" in t and "97.9 %" not in t
    assert "Collection started on 2025-03-10" in t and "Collection of prod started on 2025-03-10" in t


def test_todays_unfinished_hours_are_in_progress(clients, prod, monkeypatch):
    from datetime import UTC, datetime

    monkeypatch.setattr("reports.views_common.now", lambda: datetime(2025, 3, 10, 18, tzinfo=UTC))
    monkeypatch.setattr("reports.views_common.today", lambda: date(2025, 3, 10))
    page = clients["admin"].get("/?period=2025-03-10")
    coverage = page.context["state"].coverage
    # 18 hours have passed and were sampled: nothing is missing, 6 hours are still to come.
    assert coverage.sampled == pytest.approx(1.0) and coverage.in_progress_hours == 6
    assert "today in progress (6 h to come)" in text(page) and "100.0 %" in text(page)
    quality = clients["admin"].get("/data-quality/?period=2025-03-10")
    assert quality.context["low_coverage"] == []  # the running day is not listed as short of samples
    assert quality.context["days"][0]["coverage"] == pytest.approx(1.0)  # nor pale on the heatmap


def test_pending_recomputation_is_on_every_page_of_the_period(clients, prod):
    from costing.models import ClusterDay

    ClusterDay.objects.filter(day="2025-03-11").update(dirty=True)
    says = "1 day is being recomputed after a change (policy, bill or late samples); figures may change"
    for path in ("/", "/clusters/", "/namespaces/", "/labels/", "/departments/", "/data-quality/"):
        assert says in text(clients["admin"].get(f"{path}?period=2025-03")), path
    assert says in text(clients["payments"].get("/departments/?period=2025-03"))
    assert "being recomputed" not in text(clients["admin"].get("/?period=2025-03-10"))  # that day is done


def _values(array):
    """A plotly array as numbers (numpy arrays come as base64 typed arrays)."""
    import base64

    import numpy as np

    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return array


def test_a_year_reads_as_months_and_shows_days_on_demand(clients, prod):
    import json

    page = clients["admin"].get("/?period=2025")
    trend = json.loads(page.context["trend"])
    (prod_bars,) = trend["data"]
    # One bar per month of 2025; March holds the 10th (32.92) and the 11th (2.40).
    assert prod_bars["x"][:3] == ["2025-01-01", "2025-02-01", "2025-03-01"] and len(prod_bars["x"]) == 12
    assert _values(prod_bars["y"])[2] == pytest.approx(35.32)
    assert trend["layout"]["xaxis"]["tickformat"] == "%Y-%m"
    assert "Show days" in text(page)
    days = clients["admin"].get(f"/?{page.context['bars']['switch']['query']}")
    assert len(json.loads(days.context["trend"])["data"][0]["x"]) == 365 and "Show months" in text(days)
    assert not clients["admin"].get("/?period=2025-03").context["bars"]["switch"]  # a month reads as days
    quarter = clients["admin"].get("/departments/?period=2025-Q1")
    assert len(json.loads(quarter.context["trend"])["data"][0]["x"]) == 3


def test_one_colour_per_department_across_the_charts_of_a_page(clients, prod):
    import json

    from reports.charts import colour_map

    page = clients["admin"].get("/departments/?period=2025-03")
    names = [r["name"] for r in page.context["rows"]]
    colours = {t["name"]: t["marker"]["color"] for t in json.loads(page.context["trend"])["data"]}
    expected = colour_map(names)
    assert colours and all(colours[n] == expected[n] for n in colours)
    assert len(set(expected.values())) == len(expected)  # each its own colour
