"""A closed month keeps its figures through a recompute; the difference shows as a restatement; reopening is logged."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

import pytest

from costing.compute import recompute_day
from costing.models import BillLine
from costing.policy import PoolSpec
from costing.policy.store import save_spec
from reports.models import ClosedPeriod, PeriodLog
from reports.periods import parse_period
from reports.queries.costs import cost_rows
from reports.reporting.builder import build_report
from reports.reporting.closing import ClosingError, close_period, reopen_period
from reports.reporting.excel import render_xlsx
from tests.costing import scenario
from tests.costing.scenario import DAY
from tests.reports.reporting.helpers import (
    DEPARTMENTS,
    TWO_DAYS,
    build_scenario,
    cents,
    sheet_rows,
    summary_of,
    workbook,
)

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = date(2025, 6, 15)
MARCH = parse_period("2025-03")
NEXT = DAY + timedelta(days=1)


@pytest.fixture
def closed(admin_user):
    objects = build_scenario(DAY)
    close_period("2025-03", admin_user, "March books", today=TODAY)
    return objects


def departments(report) -> dict:
    return {r["department"]: r["total"] for r in report.table("departments").rows}


def current_totals(**scope) -> dict:
    return {
        r["department"]: r["total"]
        for r in cost_rows(MARCH.start, MARCH.end, "department", **scope)
        if r["row"] != "total"
    }


def test_closing_freezes_every_scope(closed, admin_user):
    closing = ClosedPeriod.objects.get(key="2025-03")
    scopes = set(closing.snapshots.values_list("cluster", "department"))
    assert scopes == {
        ("", ""),
        ("prod", ""),
        ("", "Payments"),
        ("", "Search"),
        ("prod", "Payments"),
        ("prod", "Search"),
    }
    report = build_report("2025-03", today=TODAY)
    assert report.status == "closed" and report.closed_by == "root"
    assert departments(report) == DEPARTMENTS
    assert report.table("restatement") is None
    assert report.summary_value("Status").endswith("figures unchanged since")
    (log,) = PeriodLog.objects.all()
    assert (log.key, log.action, log.user, log.reason) == ("2025-03", "close", admin_user, "March books")


def test_a_late_bill_is_a_restatement_not_a_silent_change(closed):
    # The node n1's bill line is corrected from 24.00 to 48.00 after the month was closed.
    BillLine.objects.filter(pk=closed["lines"]["n1"].pk).update(
        effective_cost=D("48.00"), billed_cost=D("48.00")
    )
    recompute_day(DAY)
    now = current_totals()
    assert sum(now.values()) == TWO_DAYS["physical"] + D("24.00")

    report = build_report("2025-03", today=TODAY)
    # Every sheet keeps the closed figures ...
    assert departments(report) == DEPARTMENTS
    assert report.table("daily").total["total"] == TWO_DAYS["physical"]
    assert report.table("node_pools").rows[0]["idle"] == TWO_DAYS["idle"]
    assert report.summary_value("Physical cost") == TWO_DAYS["physical"]
    # ... and the restatement shows, per department, closed, current and the adjustment.
    assert report.status == "restated"
    restatement = report.table("restatement")
    rows = {r["department"]: r for r in restatement.rows}
    for name, closed_total in DEPARTMENTS.items():
        if now[name] != closed_total:
            assert rows[name]["closed_total"] == closed_total
            assert rows[name]["current_total"] == now[name]
            assert rows[name]["adjustment"] == now[name] - closed_total
    assert restatement.total["adjustment"] == D("24.00")
    assert report.summary_value("Restatement adjustment") == D("24.00")

    book = workbook(render_xlsx(report))
    assert book.sheetnames[1] == "Restatement"
    sheet, total = sheet_rows(book["Restatement"])
    assert cents(total["Adjustment"]) == D("24.00")
    assert {r["Department"] for r in sheet} == set(rows)
    assert "restated" in summary_of(book["Summary"])["Status"]
    assert cents(summary_of(book["Summary"])["Physical cost"]) == TWO_DAYS["physical"]


def test_a_policy_change_moves_money_between_departments(closed):
    # Shared costs (kube-system, 3.06) become their own line instead of going to the departments:
    # Payments gives back 3.06 x 10.50 / 12.12 = 2.65, Search 3.06 x 1.62 / 12.12 = 0.41.
    pools = {**scenario.POLICY.pools, "shared": PoolSpec("separate", "cluster")}
    save_spec(dataclasses.replace(scenario.POLICY, pools=pools))
    recompute_day(DAY)
    recompute_day(NEXT)
    report = build_report("2025-03", today=TODAY)
    adjustments = {r["department"]: r["adjustment"] for r in report.table("restatement").rows}
    assert adjustments == {"Payments": D("-2.65"), "Search": D("-0.41"), "Shared": D("3.06")}
    assert departments(report) == DEPARTMENTS
    # The department's own report: its frozen figures and only its own adjustment.
    search = build_report("2025-03", department="Search", today=TODAY)
    assert search.summary_value("Department total") == D("5.72")
    assert [(r["department"], r["current_total"]) for r in search.table("restatement").rows] == [
        ("Search", D("5.31"))
    ]
    # A quarter holding the closed month shows current figures and lists the month's restatement.
    quarter = build_report("2025-Q1", today=TODAY)
    assert quarter.status == "open"
    assert departments(quarter)["Shared"] == D("3.06")
    assert {r["period"] for r in quarter.table("restatement").rows} == {"2025-03"}
    assert "contains closed period(s) 2025-03 restated" in quarter.summary_value("Status")


def test_reopening_needs_a_reason_and_is_logged(closed, django_user_model):
    boss = django_user_model.objects.create_superuser("boss", "b@example.com", "pw")
    with pytest.raises(ClosingError, match="reason"):
        reopen_period("2025-03", boss, "  ")
    BillLine.objects.filter(pk=closed["lines"]["n1"].pk).update(effective_cost=D("48.00"))
    recompute_day(DAY)
    reopen_period("2025-03", boss, "late bill from the provider")
    closing = ClosedPeriod.objects.get(key="2025-03")
    assert closing.reopened_by == boss and closing.reopen_reason == "late bill from the provider"
    assert [(e.action, e.user.username, e.reason) for e in PeriodLog.objects.order_by("at", "pk")] == [
        ("close", "root", "March books"),
        ("reopen", "boss", "late bill from the provider"),
    ]
    report = build_report("2025-03", today=TODAY)
    assert report.status == "open" and report.summary_value("Physical cost") == TWO_DAYS["physical"] + D(
        "24.00"
    )
    with pytest.raises(ClosingError, match="is not closed"):
        reopen_period("2025-03", boss, "again")
    # Closed again: the new figures are frozen, the old closing stays in the history.
    close_period("2025-03", boss, today=TODAY)
    assert ClosedPeriod.objects.filter(key="2025-03").count() == 2
    assert build_report("2025-03", today=TODAY).status == "closed"


def test_what_cannot_be_closed(closed, admin_user):
    with pytest.raises(ClosingError, match="already closed"):
        close_period("2025-03", admin_user, today=TODAY)
    with pytest.raises(ClosingError, match="has not ended yet"):
        close_period("2025-06", admin_user, today=TODAY)
    with pytest.raises(ClosingError, match="close a month, a quarter or a year"):
        close_period("2025-03-01..2025-03-15", admin_user, today=TODAY)
    with pytest.raises(ClosingError, match="not a period"):
        close_period("March", admin_user, today=TODAY)
