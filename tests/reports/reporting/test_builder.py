"""The report builder: the same figures as reports.queries.cost_rows, to the cent, for every scope and period."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from reports.periods import parse_period
from reports.queries.costs import cost_rows
from reports.reporting.builder import ReportError, build_report, report_from_data, report_to_data
from tests.costing.scenario import DAY
from tests.module_rows import rows_of_the_module
from tests.reports.reporting.helpers import (
    DEPARTMENTS,
    TWO_DAYS,
    department_viewer,
    doubled_second_cluster,
    make_user,
)

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = date(2025, 6, 15)
MARCH = parse_period("2025-03")


@pytest.fixture(scope="module")
def prod_of_module(django_db_setup, django_db_blocker):
    """The scenario built once for this module's tests, which only read it (tests/module_rows.py)."""
    from tests.reports.reporting.helpers import build_scenario

    with rows_of_the_module(django_db_blocker):
        yield build_scenario(DAY)


@pytest.fixture
def prod(prod_of_module, db):
    return prod_of_module


def by(rows, key):
    return {r[key]: r for r in rows if r["row"] != "total"}


def total_of(rows):
    return next(r for r in rows if r["row"] == "total")


def test_organisation_report_matches_the_hand_computed_scenario_and_cost_rows(prod):
    report = build_report("2025-03", today=TODAY)
    departments = report.table("departments")
    assert {r["department"]: r["total"] for r in departments.rows} == DEPARTMENTS
    assert departments.total["total"] == TWO_DAYS["physical"]
    assert {r["department"]: r["kind"] for r in departments.rows}["Overhead"] == "Line"
    assert departments.rows[0]["share"] == pytest.approx(float(D("27.20") / D("35.32")))
    # Every table agrees with the query the dashboard runs, row by row and in its totals.
    for name, grouping, keys in (
        ("namespaces", "namespace", ("cluster", "namespace", "department")),
        ("workloads", "workload", ("cluster", "namespace", "workload_kind", "workload")),
        ("node_pools", "node_pool", ("cluster", "node_pool")),
    ):
        expected = cost_rows(MARCH.start, MARCH.end, grouping)
        table = report.table(name)
        got = {tuple(r[k] for k in keys): r["cost"] for r in table.rows}
        assert got == {tuple(r[k] for k in keys): r["cost"] for r in expected if r["row"] != "total"}
        assert table.total["cost"] == total_of(expected)["cost"] == TWO_DAYS["workload"]
    pools = report.table("node_pools")
    assert pools.rows[0]["idle"] == TWO_DAYS["idle"] and pools.rows[0]["node_cost"] == D("29.32")
    assert report.summary_value("Physical cost") == TWO_DAYS["physical"]
    assert report.summary_value("Workload cost") == TWO_DAYS["workload"]
    assert report.summary_value("Idle") == TWO_DAYS["idle"]
    assert report.summary_value("Overhead") == TWO_DAYS["overhead"]
    assert report.summary_value("Estimated share") == pytest.approx(2.43 / 15.18)
    assert report.summary_value("Policy version(s) in force") == "from 2025-01-01"
    assert report.summary_value("Status") == "Open"
    assert report.status == "open"


def test_daily_trend_adds_up_to_the_period_and_each_day_to_its_cluster_days(prod):
    daily = build_report("2025-03", today=TODAY).table("daily")
    assert [r["day"] for r in daily.rows] == [DAY, DAY + timedelta(days=1)]
    first, second = daily.rows
    assert (first["cost"], first["idle"], first["overhead"], first["total"]) == (
        D("15.18"),
        D("14.14"),
        D("3.60"),
        D("32.92"),
    )
    assert (second["cost"], second["idle"], second["overhead"], second["total"]) == (
        D(0),
        D(0),
        D("2.40"),
        D("2.40"),
    )
    assert daily.total["total"] == sum(r["total"] for r in daily.rows) == TWO_DAYS["physical"]
    assert first["coverage"] == pytest.approx((23 * 3600 + 1800) / 86400)


def test_bill_sources_spread_into_the_period(prod):
    # The control plane line (4.80 over 48 h) lies in March whole; a report of the first day only
    # takes half of it. The line outside Kubernetes never counts.
    march = build_report("2025-03", today=TODAY).table("bill_sources")
    kinds = {r["kind"]: r for r in march.rows}
    assert kinds["Node compute"]["lines"] == 2 and kinds["Node compute"]["in_period"] == D("25.00")
    assert kinds["Cluster overhead"]["in_period"] == D("6.00")
    one_day = build_report(DAY.isoformat(), today=TODAY).table("bill_sources")
    assert {r["kind"]: r["in_period"] for r in one_day.rows} == {
        "Node compute": D("25.00"),
        "Cluster overhead": D("3.60"),
    }
    assert one_day.total["line_cost"] == D("31.00")


def test_department_report_is_the_departments_own_figures(prod):
    report = build_report("2025-03", department="Payments", today=TODAY)
    assert [r["department"] for r in report.table("departments").rows] == ["Payments"]
    assert report.summary_value("Department total") == D("27.20")
    assert report.summary_value("Direct") == D("10.50")
    namespaces = report.table("namespaces")
    assert {r["namespace"] for r in namespaces.rows} == {"payments", "checkout"}
    assert (
        namespaces.total["cost"]
        == total_of(cost_rows(MARCH.start, MARCH.end, "namespace", department="Payments"))["cost"]
    )
    daily = report.table("daily")
    assert daily.total["total"] == D("27.20") and sum(r["total"] for r in daily.rows) == D("27.20")
    # Bills are the organisation's; a department's policy sheet shows only its own rule.
    assert report.table("bill_sources") is None
    policy = "\n".join(r["line"] for r in report.table("policy").rows)
    assert "Payments" in policy and "Search" not in policy


def test_quarter_year_and_custom_range_carry_the_same_totals(prod):
    for key in ("2025-Q1", "2025", "2025-03-01..2025-04-01", "2025-03-10..2025-03-12"):
        report = build_report(key, today=TODAY)
        assert report.summary_value("Physical cost") == TWO_DAYS["physical"], key
    first_day = build_report("2025-03-10..2025-03-11", today=TODAY)
    assert first_day.summary_value("Physical cost") == D("32.92")


def test_previous_period_change(prod):
    # April has no results: its departments all changed by minus their March figures.
    april = build_report("2025-04", today=TODAY).table("departments")
    assert april.rows == []
    assert (
        april.total["previous_total"] == TWO_DAYS["physical"]
        and april.total["change"] == -TWO_DAYS["physical"]
    )
    march = build_report("2025-03", today=TODAY).table("departments")
    # February was never computed: no comparison rather than a change from zero.
    assert march.total["previous_total"] is None and march.rows[0]["change"] is None


def test_a_running_period_changes_from_the_same_days_of_the_previous_one(prod):
    # dev's 2025-04-10 (56.92; Payments 51.30, Search 5.62) with "today" that day: April against March's
    # first 10 days, prod's 10th (Payments 27.20, Search 5.72; its 11th's 2.40 of overhead left out).
    doubled_second_cluster(date(2025, 4, 10))
    report = build_report("2025-04", today=date(2025, 4, 10))
    assert report.summary_value("Compared with") == "2025-03-01 – 2025-03-10, the same 10 days of March 2025"
    departments = report.table("departments")
    rows = {r["department"]: r for r in departments.rows}
    assert {n: r["previous_total"] for n, r in rows.items()} == {"Payments": D("27.20"), "Search": D("5.72")}
    assert {n: r["change"] for n, r in rows.items()} == {"Payments": D("24.10"), "Search": D("-0.10")}
    assert departments.total["previous_total"] == D("32.92") and departments.total["change"] == D("24.00")
    # March's first 10 days have 1 collected: no change in %.
    assert departments.total["change_pct"] is None
    assert report.summary_value("Previous period") == (
        "2025-03-01 – 2025-03-10: 1 of 10 days collected: no change in %"
    )
    # A range begun today against the first day of the one before, prod's 10th, collected: with a %.
    custom = build_report("2025-04-10..2025-05-11", today=date(2025, 4, 10))
    assert custom.summary_value("Compared with") == "2025-03-10, the first day of the 31 days before"
    total = custom.table("departments").total
    assert total["change"] == D("24.00") and total["change_pct"] == pytest.approx(24.00 / 32.92)
    # Once over, April is compared with the whole of March.
    assert build_report("2025-04", today=TODAY).summary_value("Compared with") == "March 2025"


def test_cluster_scope_and_bad_arguments(prod):
    report = build_report("2025-03", cluster="prod", today=TODAY)
    assert (
        report.summary_value("Physical cost") == TWO_DAYS["physical"] and report.scope_label == "cluster prod"
    )
    with pytest.raises(ReportError, match="cluster: no cluster named 'nope'"):
        build_report("2025-03", cluster="nope", today=TODAY)
    with pytest.raises(ReportError, match="department: no costs were ever booked to 'Nobody'"):
        build_report("2025-03", department="Nobody", today=TODAY)
    with pytest.raises(ReportError, match="period: '2025-13' is not a valid month"):
        build_report("2025-13", today=TODAY)
    with pytest.raises(ReportError, match="before 2023-06-01"):
        build_report("2023-05", today=TODAY)
    with pytest.raises(ReportError, match="lies in the future"):
        build_report("2025-07", today=TODAY)


def test_department_viewers_get_only_their_departments(prod, django_user_model):
    dee = department_viewer(django_user_model, "dee", ["Search"])
    report = build_report("2025-03", user=dee, today=TODAY)
    assert report.department == "Search" and report.summary_value("Department total") == D("5.72")
    with pytest.raises(PermissionDenied):
        build_report("2025-03", department="Payments", user=dee, today=TODAY)
    two = department_viewer(django_user_model, "two", ["Search", "Payments"])
    with pytest.raises(PermissionDenied):
        build_report("2025-03", user=two, today=TODAY)  # the whole organisation is not theirs
    nobody = make_user(django_user_model, "nob")
    with pytest.raises(PermissionDenied):
        build_report("2025-03", user=nobody, today=TODAY)


def test_plain_data_round_trips_exactly(prod):
    report = build_report("2025-03", today=TODAY)
    again = report_from_data(report_to_data(report))
    assert again.summary == report.summary
    assert [(t.name, t.columns, t.rows, t.total) for t in again.tables] == [
        (t.name, t.columns, t.rows, t.total) for t in report.tables
    ]


def test_summary_coverage_counts_the_whole_period(prod):
    # "Today" is 2025-06-15: 166 days of 2025 have begun; only the 10th of March was sampled (23.5 h).
    report = build_report("2025", today=TODAY)
    assert report.summary_value("Coverage") == pytest.approx(23.5 / 24 / 166)
    assert report.summary_value("Days collected") == "1 of 365"
    assert report.summary_value("Collection started on") == DAY
    # March against February, which has no day collected: no change in %.
    march = build_report("2025-03", today=TODAY)
    assert march.summary_value("Previous period") == (
        "February 2025: 0 of 28 days collected, against 1 in March 2025: no change in %"
    )
    assert all(r["change_pct"] is None for r in march.table("departments").rows)


def test_summary_says_when_days_wait_for_a_recompute(prod):
    from costing.models import ClusterDay

    assert build_report("2025-03", today=TODAY).summary_value("Pending recomputation") is None
    ClusterDay.objects.filter(day=DAY).update(dirty=True)
    assert build_report("2025-03", today=TODAY).summary_value("Pending recomputation") == (
        "1 day is being recomputed after a change (policy, bill or late samples); figures may change"
    )


def test_a_quarter_has_month_by_month_sheets_per_department_and_cluster(prod):
    report = build_report("2025-Q1", today=TODAY)
    months = report.table("departments_by_month")
    assert [c.key for c in months.columns] == ["department", "2025-01", "2025-02", "2025-03", "total"]
    rows = {r["department"]: r for r in months.rows}
    # Every cost of the quarter is in March, and each row adds up to its total on the Departments sheet.
    assert {n: r["total"] for n, r in rows.items()} == DEPARTMENTS
    assert all(
        r["2025-01"] == r["2025-02"] == D("0.00") and r["2025-03"] == r["total"] for r in rows.values()
    )
    clusters = report.table("clusters_by_month")
    assert [(r["cluster"], r["2025-03"]) for r in clusters.rows] == [("prod", TWO_DAYS["physical"])]
    assert clusters.total["total"] == TWO_DAYS["physical"]
    payments = build_report("2025-Q1", department="Payments", today=TODAY)
    share = payments.table("clusters_by_month")
    assert share.title == "Payments by cluster and month" and share.total["2025-03"] == D("27.20")
    assert build_report("2025-03", today=TODAY).table("departments_by_month") is None  # a month has days


def test_recommendations_sheet_for_the_period_end(prod):
    from tests.costing import rightsizing_history

    rightsizing_history.build(prod)
    report = build_report("2025-03-10", today=date(2025, 3, 20))
    table = report.table("recommendations")
    assert [r["workload_name"] for r in table.rows] == ["checkout", "search-api", "checkout"]
    assert table.rows[2]["container"] == "sidecar" and table.rows[2]["status"] == "under-requested"
    assert table.rows[0]["department"] == "Payments" and table.rows[0]["monthly_cost_now"] == 32.85
    assert table.total["monthly_saving"] == round(2 * rightsizing_history.SAVING, 2)
    mine = build_report("2025-03-10", department="Payments", today=date(2025, 3, 20)).table("recommendations")
    assert [r["namespace"] for r in mine.rows] == ["checkout", "checkout"]
