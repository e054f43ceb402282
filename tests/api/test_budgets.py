"""API: budgets with actual and forecast, the budget file stored whole or refused by line, forecasts and
alerts, each as the caller's role allows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from costing.budgets.evaluate import evaluate, raise_alerts
from costing.budgets.store import save_plan
from costing.budgets.yamlfile import BudgetPlanSpec, BudgetSpec
from costing.models import Alert, BudgetPlan
from tests.costing.budgets import results

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _now_after_the_results(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 11, 9, 6, tzinfo=UTC))


@pytest.fixture
def stored(users):
    results.build()
    save_plan(
        BudgetPlanSpec(
            date(2026, 1, 1),
            [
                BudgetSpec("organisation", "", "month", D(100)),
                BudgetSpec("department", "Search", "month", D(200)),
                BudgetSpec("namespace", "search", "month", D(200)),
            ],
        )
    )


def test_budgets_give_actual_forecast_and_status_to_each_role(stored, client_as):
    body = client_as("viewer").get("/api/v1/budgets/?date=2026-11-08").json()
    assert body["effective_from"] == "2026-01-01"
    rows = {(r["subject_kind"], r["subject"]): r for r in body["budgets"]}
    assert set(rows) == {("organisation", ""), ("department", "Search"), ("namespace", "search")}
    search = rows[("namespace", "search")]
    # 4 a day: 32 spent in 8 days of November, 120 at its end; 16 % of 200.
    assert (search["actual"], search["forecast"], search["forecast_low"], search["forecast_high"]) == (
        32,
        120,
        120,
        120,
    )
    assert (search["used"], search["status"], search["period_start"]) == (16.0, "within", "2026-11-01")
    assert rows[("organisation", "")]["status"] == "over"
    # Search: 5 a day -> 40 spent, 150 forecast.
    assert (rows[("department", "Search")]["actual"], rows[("department", "Search")]["forecast"]) == (40, 150)
    # A Payments viewer: no Search budget, no organisation-wide one.
    assert client_as("dept").get("/api/v1/budgets/?date=2026-11-08").json()["budgets"] == []


def test_admins_store_a_budget_file_whole_or_not_at_all(stored, client_as):
    text = (
        "effective_from: 2026-12-01\nbudgets:\n  - subject: department\n    name: Payments\n    amount: 900\n"
    )
    answer = client_as("admin").put("/api/v1/budgets/", text, content_type="application/yaml")
    assert (answer.status_code, answer.json()) == (
        201,
        {"effective_from": "2026-12-01", "budgets": 1, "replaced": False},
    )
    bad = text.replace("Payments", "Payroll")  # the same date: the stored plan must stay as it was
    answer = client_as("admin").post("/api/v1/budgets/", {"yaml": bad}, format="json")
    assert answer.status_code == 400
    assert answer.json()["lines"] == [
        {"line": 4, "field": "budgets[0].name", "message": "no department is named 'Payroll'"}
    ]
    plan = BudgetPlan.objects.get(effective_from=date(2026, 12, 1))
    assert list(plan.budgets.values_list("subject", flat=True)) == ["Payments"]
    assert (
        client_as("viewer").put("/api/v1/budgets/", text, content_type="application/yaml").status_code == 403
    )
    assert client_as("dept").get("/api/v1/budgets/?format=yaml").status_code == 403
    dumped = client_as("viewer").get("/api/v1/budgets/?date=2026-11-08&format=yaml").content.decode()
    assert "name: Search\n    period: month\n    amount: 200\n" in dumped


def test_forecasts_of_any_subject_within_the_role(stored, client_as):
    body = (
        client_as("dept")
        .get("/api/v1/forecasts/?date=2026-11-08&subject_kind=department&subject=Payments")
        .json()
    )
    assert (body["actual"], body["period_end"], body["method"]) == (84, "2026-12-01", "ets-weekly")
    assert body["forecast_low"] <= body["forecast"] <= body["forecast_high"]
    quarter = client_as("viewer").get(
        "/api/v1/forecasts/?date=2026-11-08&subject_kind=namespace&subject=search&period=quarter"
    )
    # Q4: 4 a day from 4 October (the first day with a cost) to 8 November: 36 days, 144; then 53 days
    # to 31 December at 4: 212 more, 356.
    assert (quarter.json()["actual"], quarter.json()["forecast"]) == (144, 356)
    assert client_as("dept").get("/api/v1/forecasts/?subject_kind=cluster&subject=prod").status_code == 403
    assert client_as("viewer").get("/api/v1/forecasts/?subject_kind=team&subject=x").status_code == 400
    assert client_as("viewer").get("/api/v1/forecasts/?date=2026-11-10").json()["errors"] == {
        "date": ["2026-11-10 is not between 2024-11-01 and today"]
    }


def test_alerts_are_listed_to_whom_they_belong(stored, client_as):
    raise_alerts(evaluate(results.AS_OF))
    every = client_as("viewer").get("/api/v1/alerts/").json()["results"]
    assert {(a["kind"], a["subject_kind"], a["subject"]) for a in every} == {
        ("budget", "organisation", ""),
        ("anomaly", "workload", "payments/Deployment/pay-api"),
        ("anomaly", "namespace", "payments"),
        ("anomaly", "department", "Payments"),
    }
    mine = client_as("dept").get("/api/v1/alerts/").json()["results"]
    assert {a["subject"] for a in mine} == {"payments/Deployment/pay-api", "payments", "Payments"}


def test_an_alerts_message_is_in_the_requests_language(stored, client_as, settings):
    settings.FINOPS_LANGUAGE = "en"
    raise_alerts(evaluate(results.AS_OF))
    alert = Alert.objects.filter(kind="budget", subject_kind="organisation").first()
    english = client_as("viewer").get(f"/api/v1/alerts/{alert.pk}/").json()["message"]
    chinese = client_as("viewer").get(f"/api/v1/alerts/{alert.pk}/", HTTP_ACCEPT_LANGUAGE="zh-CN").json()
    assert english == alert.message == alert.messages["en"]
    assert chinese["message"] == alert.messages["zh-hans"] != english
    assert "预算" in chinese["message"]
