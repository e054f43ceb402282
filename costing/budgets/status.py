"""Budgets, forecasts and alerts as one user may see them, as plain rows: the pages and the API render them."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from costing import access
from costing.budgets import history
from costing.budgets.evaluate import BudgetStatus, budget_statuses
from costing.budgets.store import plan_on
from costing.models import Alert, Budget
from reports.periods import earliest_start


def parse_as_of(text: str | None) -> date | None:
    """The `date` a page or the API asks figures as of: YYYY-MM-DD within the history kept, up to today;
    ValueError saying why not."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not YYYY-MM-DD") from None
    today = timezone.now().date()
    if not earliest_start(today) <= day <= today:
        raise ValueError(f"{day} is not between {earliest_start(today)} and today")
    return day


def as_of_day(requested: date | None = None) -> date:
    """The day figures are shown as of: the one asked for, else the last computed day, else yesterday."""
    return requested or history.last_computed_day() or timezone.now().date() - timedelta(days=1)


def visible_statuses(user, as_of: date) -> list[BudgetStatus]:
    plan = plan_on(as_of)
    if plan is None:
        return []
    budgets = access.visible_budgets(Budget.objects.filter(plan=plan).order_by("position", "pk"), user)
    return budget_statuses(as_of, list(budgets))


def status_row(status: BudgetStatus) -> dict:
    budget = status.budget

    def money(value):
        return None if value is None else round(value, 2)

    return {
        "subject_kind": budget.subject_kind,
        "subject": budget.subject,
        "period": budget.period,
        "period_label": status.period_label,
        "period_start": status.period_start.isoformat(),
        "period_end": status.period_end.isoformat(),
        "budget": str(budget.amount),
        "thresholds": [str(t) for t in budget.thresholds],
        "actual": money(status.actual),
        "forecast": money(status.forecast),
        "forecast_low": money(status.low),
        "forecast_high": money(status.high),
        "method": status.method,
        "used": round(status.actual / float(budget.amount) * 100, 1) if budget.amount else None,
        "status": status.status,
    }


def visible_alerts(user):
    return access.visible_alerts(Alert.objects.prefetch_related("deliveries"), user)
