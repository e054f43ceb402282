"""The Budgets and Alerts pages: each budget's figures, each alert's deliveries, as the role allows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from costing.budgets.delivery import plan_deliveries
from costing.budgets.evaluate import evaluate, raise_alerts
from costing.budgets.store import save_plan
from costing.budgets.yamlfile import BudgetPlanSpec, BudgetSpec
from costing.choices import ChannelKind, Role
from costing.models import AlertChannel
from tests.costing.budgets import results

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(django_user_model):
    from django.contrib.auth.models import Group

    results.build()
    save_plan(
        BudgetPlanSpec(
            date(2026, 1, 1),
            [
                BudgetSpec("organisation", "", "month", Decimal(100)),
                BudgetSpec("department", "Search", "month", Decimal(200)),
            ],
        )
    )
    clients = {}
    for name, role in (("vic", Role.VIEWER), ("pam", Role.DEPARTMENT_VIEWER)):
        user = django_user_model.objects.create_user(name)
        user.groups.add(Group.objects.get(name=role))
        clients[name] = Client()
        clients[name].force_login(user)
    from costing.models import Department

    Department.objects.get(name="Payments").viewers.add(django_user_model.objects.get(username="pam"))
    return clients


def test_the_budgets_page_shows_budget_actual_forecast_and_status(pages):
    html = pages["vic"].get("/budgets/").content.decode()  # as of the last computed day, 8 November
    assert "Sun 08 Nov 2026" in html
    assert "Organisation" in html and "140.00" in html and "<strong>over</strong>" in html
    # Search: 5 a day, 40 spent, 150.00 at the end of November (no spread), 20 % of 200.
    assert "150.00 to 150.00" in html and "20.0 %" in html
    mine = pages["pam"].get("/budgets/").content.decode()
    assert "No budget is in force" in mine and "Search" not in mine


def test_the_alerts_page_shows_each_alert_with_its_deliveries(pages):
    AlertChannel.objects.create(name="team mail", kind=ChannelKind.EMAIL, target="finops@example.com")
    for alert in raise_alerts(evaluate(results.AS_OF)):
        plan_deliveries(alert)
    html = pages["vic"].get("/alerts/").content.decode()
    assert "The organisation has spent 140.00 EUR in November 2026" in html
    assert "team mail: pending" in html
    mine = pages["pam"].get("/alerts/").content.decode()
    assert "more pods: 4 against 2" in mine and "The organisation" not in mine
    # In the page's language, whatever FINOPS_LANGUAGE wrote `message` in.
    chinese = pages["vic"].get("/alerts/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "组织 在 2026年11月 已花费 140.00 EUR" in chinese and "The organisation" not in chinese
    assert pages["vic"].get("/budgets/?date=8-11").status_code == 400
