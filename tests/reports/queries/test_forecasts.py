"""The forecast of the Overview and Department pages and of the reports: the line, its band and the sentence,
against forecasts computed by hand on short series (the same numbers as the Budgets page)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from costing.budgets.evaluate import budget_statuses
from costing.budgets.store import save_plan
from costing.budgets.yamlfile import BudgetPlanSpec, BudgetSpec
from costing.choices import Role, SubjectKind
from costing.engine.forecast import Forecast
from reports.periods import parse_period
from reports.queries.forecasts import forecast_sentence, period_forecast
from tests.costing.budgets import results

D = Decimal
NOVEMBER = parse_period("2026-11")
SATURDAY = date(2026, 11, 7)
SUNDAY = date(2026, 11, 8)  # today in these tests: 7 November is the last computed day


def test_the_sentence_of_the_issue():
    # 1,019.6 spent and forecast, 950.4 to 1,090.2: whole units; 1,019.6 / 940 = 1.0847, 8 % over.
    forecast = Forecast(700.0, 1019.6, 950.4, 1090.2, "ets-weekly", 30)
    assert forecast_sentence("Payments", "November 2026", forecast, D(940), "EUR") == (
        "Payments will end November 2026 at 1,020 EUR (950 to 1,090), 8 % over its budget of 940 EUR."
    )
    # 900 / 940 = 0.957: 4 % under; no budget: no comparison; no spread: no interval.
    under = Forecast(700.0, 900.0, 880.0, 930.0, "ets-level", 10)
    assert forecast_sentence("Payments", "November 2026", under, D(940), "EUR").endswith(
        "(880 to 930), 4 % under its budget of 940 EUR."
    )
    exact = Forecast(10.0, 15.0, 15.0, 15.0, "mean", 2)
    assert forecast_sentence("Search", "November 2026", exact, None, "EUR") == (
        "Search will end November 2026 at 15 EUR."
    )


@pytest.fixture
def weeks(db):
    """Sunday 4 October to Saturday 7 November: five whole weeks of the weekly pattern of results.py."""
    results.build(last=SATURDAY)
    save_plan(
        BudgetPlanSpec(
            date(2026, 1, 1),
            [
                BudgetSpec("organisation", "", "month", D(500)),
                BudgetSpec("department", "Payments", "month", D(250)),
            ],
        )
    )


def test_the_line_continues_the_actual_costs_to_the_period_end(weeks):
    found = period_forecast(SubjectKind.DEPARTMENT, "Payments", NOVEMBER, SUNDAY)
    # Payments costs 11 Sunday..Thursday and 4 on Friday and Saturday: 63 a week. As of Saturday 7
    # November, 63 spent; left: 8..28 November (three weeks, 189) and Sunday 29, Monday 30 (22): 274.
    assert found["as_of"] == SATURDAY and found["actual"] == 63
    assert found["total"] == pytest.approx(274, abs=0.01)
    assert (found["low"], found["high"]) == (pytest.approx(274, abs=0.01), pytest.approx(274, abs=0.01))
    # 274 / 250 = 1.096: 10 % over.
    assert found["sentence"] == "Payments will end November 2026 at 274 EUR, 10 % over its budget of 250 EUR."
    days = {d["day"]: d for d in found["days"]}
    assert [days[date(2026, 11, n)]["actual"] for n in (1, 5, 6, 7)] == [11, 55, 59, 63]
    assert days[SATURDAY]["forecast"] == 63 and days[date(2026, 11, 1)]["forecast"] is None
    assert days[date(2026, 11, 8)]["actual"] is None
    assert days[date(2026, 11, 8)]["forecast"] == pytest.approx(74, abs=0.01)
    assert days[date(2026, 11, 14)]["forecast"] == pytest.approx(126, abs=0.01)  # a week later: + 63
    assert days[date(2026, 11, 30)]["forecast"] == pytest.approx(274, abs=0.01)
    # The Budgets page's figures are the same forecast.
    status = next(s for s in budget_statuses(SATURDAY) if s.budget.subject == "Payments")
    assert round(status.forecast, 2) == found["total"]
    # The organisation: 18 Sunday..Thursday, 11 Friday and Saturday (112 a week): 112 + 3 x 112 + 36 = 484.
    org = period_forecast(SubjectKind.ORGANISATION, "", NOVEMBER, SUNDAY)
    assert (
        org["sentence"]
        == "The organisation will end November 2026 at 484 EUR, 3 % under its budget of 500 EUR."
    )
    # A period that has ended, or has not started, has no forecast.
    assert period_forecast(SubjectKind.DEPARTMENT, "Payments", parse_period("2026-10"), SUNDAY) is None
    assert period_forecast(SubjectKind.DEPARTMENT, "Payments", parse_period("2026-12"), SUNDAY) is None
    assert period_forecast(SubjectKind.DEPARTMENT, "Payments", NOVEMBER, date(2026, 12, 1)) is None


def test_the_pages_and_the_report_say_it(weeks, django_user_model, monkeypatch):
    from django.contrib.auth.models import Group

    monkeypatch.setattr("reports.views_common.today", lambda: SUNDAY)
    from reports.reporting.builder import build_report

    user = django_user_model.objects.create_user("vic")
    user.groups.add(Group.objects.get(name=Role.VIEWER))
    client = Client()
    client.force_login(user)
    overview = client.get("/?period=2026-11").content.decode()
    assert "The organisation will end November 2026 at 484 EUR, 3 % under its budget of 500 EUR." in overview
    assert 'id="chart-forecast"' in overview
    page = client.get("/departments/Payments/?period=2026-11").content.decode()
    assert "Payments will end November 2026 at 274 EUR, 10 % over its budget of 250 EUR." in page
    # One cluster's part of a department has no forecast of its own.
    assert "will end" not in client.get("/departments/Payments/?period=2026-11&cluster=prod").content.decode()
    report = build_report(NOVEMBER, department="Payments", today=SUNDAY)
    assert report.summary_value("Forecast") == (
        "Payments will end November 2026 at 274 EUR, 10 % over its budget of 250 EUR."
    )
    assert report.summary_value("Forecast total") == D("274.00")
    [table] = [t for t in report.tables if t.name == "forecast"]
    by_day = {row["day"]: row for row in table.rows}
    assert by_day[SATURDAY]["actual"] == D("63.00") and by_day[date(2026, 11, 30)]["forecast"] == D("274.00")
