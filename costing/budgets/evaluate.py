"""Which alerts a computed day raises: budgets crossed by actual or forecast cost, and anomalous days.

`evaluate` only reads and returns rows (the CLI's --dry-run prints them); `raise_alerts` stores them,
once per subject, kind, threshold and period: the unique constraint makes a recomputed day raise
nothing it has raised already.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import dateformat, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from costing.budgets import history
from costing.budgets.store import plan_on
from costing.choices import AlertKind, SubjectKind
from costing.engine.anomalies import Reason, find_anomalies
from costing.engine.forecast import MAX_HISTORY_DAYS, Forecast, forecast_period
from costing.models import Alert, Budget, ClusterDay
from reports.periods import current_period

CENT = Decimal("0.01")


@dataclass(frozen=True)
class AlertRow:
    """An alert to raise (or, in a dry run, that would be raised)."""

    kind: str
    subject_kind: str
    subject: str
    department: str
    period_start: date
    period_end: date
    threshold: Decimal
    as_of: date
    actual: Decimal
    forecast: Decimal | None
    forecast_low: Decimal | None
    forecast_high: Decimal | None
    budget: Decimal | None
    expected: Decimal | None
    message: str
    # The message in each language of LANGUAGES; `message` is the one in FINOPS_LANGUAGE.
    messages: dict[str, str] = field(default_factory=dict, compare=False)

    def as_json(self) -> dict:
        row = asdict(self)
        row.pop("messages")
        for key, value in row.items():
            if isinstance(value, date):
                row[key] = value.isoformat()
            elif isinstance(value, Decimal):
                row[key] = str(value.quantize(CENT))
        row["period"] = f"{row.pop('period_start')}..{row.pop('period_end')}"
        return row


def _money(value: float | Decimal) -> str:
    return f"{Decimal(value).quantize(CENT):,} {settings.FINOPS_CURRENCY}"


def _dec(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("0.00000001"))


def in_every_language(write: Callable[[], str]) -> dict[str, str]:
    """What `write` says in each language of LANGUAGES: every recipient gets the alert in their own
    (costing/budgets/delivery.py). `write` builds its text with gettext, under each language in turn."""
    texts = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            texts[code] = write()
    return texts


def _subject_label(kind: str, subject: str) -> str:
    return gettext("The organisation") if kind == SubjectKind.ORGANISATION else subject


# The subjects of anomalies, named in the alerts' language (an unknown kind keeps its own name).
ANOMALY_SUBJECTS = {
    "namespace": _("Namespace"),
    "department": _("Department"),
    "cluster": _("Cluster"),
    "workload": _("Workload"),
}


@dataclass(frozen=True)
class BudgetStatus:
    """One budget as of a day: its period, what was spent, where it will end, and the thresholds crossed."""

    budget: Budget
    period_label: str
    period_start: date
    period_end: date
    actual: float
    forecast: float | None
    low: float | None
    high: float | None
    method: str

    @property
    def status(self) -> str:
        amount = float(self.budget.amount)
        if self.actual > amount:
            return "over"
        if self.forecast is not None and self.forecast > amount:
            return "forecast over"
        return "within"


def subject_forecast(subject_kind: str, subject: str, start: date, end: date, as_of: date) -> Forecast | None:
    """Where the cost of a subject (SubjectKind) over [start, end) will end, as of the end of `as_of`, from its
    stored daily costs (costing.engine.forecast); None without any. The Budgets page, the API, the alerts,
    the Overview and Department pages and the reports all forecast through this function."""
    first = min(start, as_of - timedelta(days=MAX_HISTORY_DAYS - 1))
    costs = history.daily_costs(subject_kind, subject, first, as_of + timedelta(days=1))
    return forecast_period(costs, start, end, as_of)


def budget_statuses(as_of: date, budgets=None) -> list[BudgetStatus]:
    """Each budget in force on `as_of` with its actual and forecast cost for the period holding that day."""
    if budgets is None:
        plan = plan_on(as_of)
        budgets = list(plan.budgets.all()) if plan else []
    statuses = []
    for budget in budgets:
        period = current_period(budget.period, as_of)
        forecast = subject_forecast(budget.subject_kind, budget.subject, period.start, period.end, as_of)
        statuses.append(
            BudgetStatus(
                budget=budget,
                period_label=period.label,
                period_start=period.start,
                period_end=period.end,
                actual=forecast.actual if forecast else 0.0,
                forecast=forecast.total if forecast else None,
                low=forecast.low if forecast else None,
                high=forecast.high if forecast else None,
                method=forecast.method if forecast else "",
            )
        )
    return statuses


def _spent_message(status: BudgetStatus, threshold: Decimal, as_of: date) -> str:
    budget, amount = status.budget, status.budget.amount
    spent = status.actual / float(amount) * 100 if amount else 0
    return gettext(
        "%(subject)s has spent %(actual)s in %(period)s: %(spent)s %% of its budget "
        "of %(budget)s; alert at %(threshold)s %%"
    ) % {
        "subject": _subject_label(budget.subject_kind, budget.subject),
        "actual": _money(status.actual),
        # The period's label in the active language (2026年10月), not the one computed with the status.
        "period": current_period(budget.period, as_of).label,
        "spent": f"{spent:.0f}",
        "budget": _money(amount),
        "threshold": f"{threshold:g}",
    }


def _forecast_message(status: BudgetStatus, threshold: Decimal, as_of: date) -> str:
    budget, amount = status.budget, status.budget.amount
    over = (status.forecast / float(amount) - 1) * 100 if amount else 0
    relation = (
        gettext("%(pct)s %% over") % {"pct": f"{over:.0f}"}
        if over >= 0
        else gettext("%(pct)s %% under") % {"pct": f"{-over:.0f}"}
    )
    return gettext(
        "%(subject)s will end %(period)s at %(forecast)s (%(low)s to %(high)s), "
        "%(relation)s its budget of %(budget)s; alert at %(threshold)s %%"
    ) % {
        "subject": _subject_label(budget.subject_kind, budget.subject),
        "period": current_period(budget.period, as_of).label,
        "forecast": _money(status.forecast),
        "low": _money(status.low).split()[0],
        "high": _money(status.high).split()[0],
        "relation": relation,
        "budget": _money(amount),
        "threshold": f"{threshold:g}",
    }


def budget_alerts(as_of: date) -> list[AlertRow]:
    rows = []
    for status in budget_statuses(as_of):
        budget = status.budget
        amount = budget.amount
        department = budget.subject if budget.subject_kind == SubjectKind.DEPARTMENT else ""
        for threshold in sorted(Decimal(str(t)) for t in budget.thresholds):
            limit = float(amount * threshold / 100)
            if status.actual >= limit and status.actual > 0:
                kind, write = AlertKind.BUDGET, _spent_message
            elif status.forecast is not None and status.forecast >= limit and status.forecast > 0:
                kind, write = AlertKind.FORECAST, _forecast_message
            else:
                continue
            messages = in_every_language(lambda w=write, t=threshold, s=status: w(s, t, as_of))
            rows.append(
                AlertRow(
                    kind=kind,
                    subject_kind=budget.subject_kind,
                    subject=budget.subject,
                    department=department,
                    period_start=status.period_start,
                    period_end=status.period_end,
                    threshold=threshold,
                    as_of=as_of,
                    actual=_dec(status.actual),
                    forecast=_dec(status.forecast) if status.forecast is not None else None,
                    forecast_low=_dec(status.low) if status.low is not None else None,
                    forecast_high=_dec(status.high) if status.high is not None else None,
                    budget=amount,
                    expected=None,
                    message=messages.get(translation.get_language()) or write(status, threshold, as_of),
                    messages=messages,
                )
            )
    return rows


def anomaly_alerts(as_of: date) -> list[AlertRow]:
    first = history.first_computed_day()
    if first is None:
        return []
    days = [as_of - timedelta(days=7 * w) for w in range(5)]
    rows = []
    for kind, frame in history.anomaly_frames(days).items():
        department_of = (
            {(s, d): dep for s, d, dep in frame[["subject", "day", "department"]].itertuples(index=False)}
            if not frame.empty
            else {}
        )
        for anomaly in find_anomalies(frame, as_of, history_start=first):
            department = department_of.get((anomaly.subject, as_of)) or next(
                (dep for (s, _), dep in department_of.items() if s == anomaly.subject and dep), ""
            )
            messages = in_every_language(
                lambda kind=kind, anomaly=anomaly: _anomaly_message(kind, anomaly, as_of)
            )
            rows.append(
                AlertRow(
                    kind=AlertKind.ANOMALY,
                    subject_kind=kind,
                    subject=anomaly.subject,
                    department=department,
                    period_start=as_of,
                    period_end=as_of + timedelta(days=1),
                    threshold=Decimal(0),
                    as_of=as_of,
                    actual=_dec(anomaly.cost),
                    forecast=None,
                    forecast_low=None,
                    forecast_high=None,
                    budget=None,
                    expected=_dec(anomaly.expected),
                    message=messages.get(translation.get_language())
                    or _anomaly_message(kind, anomaly, as_of),
                    messages=messages,
                )
            )
    return rows


def _anomaly_message(kind: str, anomaly, as_of: date) -> str:
    said = [r.translated() if isinstance(r, Reason) else r for r in anomaly.reasons]
    because = f": {'; '.join(said)}" if said else ""
    above = (
        gettext("%(kind)s %(subject)s cost %(cost)s on %(day)s, %(deviation)s above the usual %(expected)s")
        if anomaly.deviation > 0
        else gettext(
            "%(kind)s %(subject)s cost %(cost)s on %(day)s, %(deviation)s below the usual %(expected)s"
        )
    )
    return (
        above
        % {
            "kind": str(ANOMALY_SUBJECTS.get(kind, kind.capitalize())),
            "subject": anomaly.subject,
            "cost": _money(anomaly.cost),
            # Translators: the day of an anomaly, in Django's date format ("Mon 05 Oct 2026").
            "day": dateformat.format(as_of, gettext("D d M Y")),
            "deviation": _money(abs(anomaly.deviation)).split()[0],
            "expected": _money(anomaly.expected),
        }
        + because
    )


def evaluate(as_of: date) -> list[AlertRow]:
    """Every alert the day `as_of` (computed) raises, budgets first; nothing is stored. `message` is
    written in FINOPS_LANGUAGE, and `messages` holds it in every language (each recipient gets theirs)."""
    with translation.override(settings.FINOPS_LANGUAGE):
        return _evaluate(as_of)


def _evaluate(as_of: date) -> list[AlertRow]:
    return budget_alerts(as_of) + anomaly_alerts(as_of)


def day_is_computed(day: date) -> bool:
    """Whether every cluster's `day` is computed and clean: alerts on a half-computed day would be wrong."""
    days = ClusterDay.objects.filter(day=day)
    return days.exists() and not days.filter(dirty=True).exists()


def _key(row: AlertRow) -> dict:
    return {
        "kind": row.kind,
        "subject_kind": row.subject_kind,
        "subject": row.subject,
        "period_start": row.period_start,
        "period_end": row.period_end,
        "threshold": row.threshold,
    }


def not_raised(rows: list[AlertRow]) -> list[AlertRow]:
    """The rows no stored alert has raised yet: what would be sent."""
    return [row for row in rows if not Alert.objects.filter(**_key(row)).exists()]


def raise_alerts(rows: list[AlertRow]) -> list[Alert]:
    """Store the rows not raised before (same kind, subject, period and threshold); the new alerts."""
    created = []
    for row in not_raised(rows):
        key = _key(row)
        values = {k: v for k, v in asdict(row).items() if k not in key}
        try:
            with transaction.atomic():
                created.append(Alert.objects.create(**key, **values))
        except IntegrityError:
            continue  # raised meanwhile by another worker: the constraint keeps it once
    return created
