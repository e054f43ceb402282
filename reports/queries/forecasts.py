"""Where a subject's cost will end in a period: the line that continues the actual daily costs, its interval
and the sentence of the Overview and Department pages and of the reports (docs/budgets.md, "Forecasts").

The figures come from costing.budgets.evaluate.subject_forecast, the function the Budgets page, the API and
the alerts forecast with, so that every place shows the same numbers.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils.translation import gettext

from costing.budgets import history
from costing.budgets.evaluate import subject_forecast
from costing.budgets.store import plan_on
from costing.choices import SubjectKind
from costing.engine.forecast import Forecast
from costing.models import Budget
from reports.periods import Period

__all__ = ["forecast_sentence", "period_forecast", "whole"]

# The period kinds a budget can have: a page's period of one of these kinds is compared with its budget.
_BUDGET_PERIODS = ("month", "quarter", "year")


def whole(value: float | Decimal) -> str:
    """An amount in whole currency units with thousands separators: 1019.6 -> "1,020" (half up)."""
    return f"{Decimal(repr(float(value))).quantize(Decimal(1), ROUND_HALF_UP):,}"


def subject_label(subject_kind: str, subject: str) -> str:
    if subject_kind == SubjectKind.ORGANISATION:
        return gettext("The organisation")
    if subject_kind == SubjectKind.CLUSTER:
        return gettext("Cluster %(name)s") % {"name": subject}
    return subject


def forecast_sentence(
    label: str, period_label: str, forecast: Forecast, budget: Decimal | None, currency: str
) -> str:
    """ "Payments will end November 2026 at 1,020 EUR (950 to 1,090), 8 % over its budget of 940 EUR.":
    whole currency units; the share over (or under) the budget rounded to a whole percent."""
    values = {
        "subject": label,
        "period": period_label,
        "total": whole(forecast.total),
        "low": whole(forecast.low),
        "high": whole(forecast.high),
        "currency": currency,
    }
    if values["low"] == values["high"]:
        text = gettext("%(subject)s will end %(period)s at %(total)s %(currency)s") % values
    else:
        text = (
            gettext("%(subject)s will end %(period)s at %(total)s %(currency)s (%(low)s to %(high)s)")
            % values
        )
    if not budget:
        return text + "."
    share = (Decimal(repr(forecast.total)) / Decimal(budget) - 1) * 100
    percent = share.copy_abs().quantize(Decimal(1), ROUND_HALF_UP)
    values = {"text": text, "percent": percent, "budget": whole(budget), "currency": currency}
    if percent == 0:
        return gettext("%(text)s, on its budget of %(budget)s %(currency)s.") % values
    if share > 0:
        return gettext("%(text)s, %(percent)s %% over its budget of %(budget)s %(currency)s.") % values
    return gettext("%(text)s, %(percent)s %% under its budget of %(budget)s %(currency)s.") % values


def _budget(subject_kind: str, subject: str, period: Period, as_of: date) -> Decimal | None:
    """The amount of the subject's budget for `period` (a calendar month, quarter or year) in force on
    `as_of`; None without one."""
    if period.kind not in _BUDGET_PERIODS:
        return None
    plan = plan_on(as_of)
    if plan is None:
        return None
    found = Budget.objects.filter(
        plan=plan,
        subject_kind=subject_kind,
        subject="" if subject_kind == SubjectKind.ORGANISATION else subject,
        period=period.kind,
    ).first()
    return found.amount if found else None


def period_forecast(
    subject_kind: str, subject: str, period: Period, today: date, as_of: date | None = None
) -> dict | None:
    """The forecast of `period` for one subject (SubjectKind: organisation, cluster, department, namespace),
    as of the last computed day (or `as_of`): None unless the period runs (`today` is in it), that day is
    in it with days left after it, and the subject has a stored cost.

    A dict: `as_of`, `actual`, `total`, `low`, `high` (the 80 % interval), `method`, `budget` (or None),
    `sentence`, and `days`: per day of the period, `day`, `actual` (the cost so far, accumulated; None after
    as_of) and `forecast`, `low`, `high` (accumulated; None before as_of, the actual at as_of, so that the
    line continues the actual one).
    """
    if not period.start <= today < period.end:
        return None
    as_of = as_of or history.last_computed_day()
    if as_of is None or not period.start <= as_of < period.last_day:
        return None
    forecast = subject_forecast(subject_kind, subject, period.start, period.end, as_of)
    if forecast is None:
        return None
    daily = history.daily_costs(subject_kind, subject, period.start, as_of + timedelta(days=1))
    budget = _budget(subject_kind, subject, period, as_of)
    days, running = [], 0.0
    for day in period.each_day():
        if day <= as_of:
            running += float(daily.get(day, 0.0))
            at_as_of = day == as_of
            days.append(
                {
                    "day": day,
                    "actual": round(running, 2),
                    "forecast": round(forecast.actual, 2) if at_as_of else None,
                    "low": round(forecast.actual, 2) if at_as_of else None,
                    "high": round(forecast.actual, 2) if at_as_of else None,
                }
            )
        else:
            i = (day - as_of).days - 1
            days.append(
                {
                    "day": day,
                    "actual": None,
                    "forecast": round(forecast.actual + forecast.cumulative[i], 2),
                    "low": round(forecast.actual + forecast.cumulative_low[i], 2),
                    "high": round(forecast.actual + forecast.cumulative_high[i], 2),
                }
            )
    currency = settings.FINOPS_CURRENCY
    return {
        "as_of": as_of,
        "actual": round(forecast.actual, 2),
        "total": round(forecast.total, 2),
        "low": round(forecast.low, 2),
        "high": round(forecast.high, 2),
        "method": forecast.method,
        "budget": budget,
        "sentence": forecast_sentence(
            subject_label(subject_kind, subject), period.label, forecast, budget, currency
        ),
        "days": days,
    }
