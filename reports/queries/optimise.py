"""The Optimise view's one query: the capacity levers of a period for a user (costing.opportunities)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from costing.opportunities import Opportunities, opportunities_between

__all__ = ["MAX_WINDOW_DAYS", "optimise_window", "period_opportunities"]

# A longer period reads its last four weeks (weekdays and weekends, and bounded work for a year's report).
MAX_WINDOW_DAYS = 28


def optimise_window(period, today: date) -> tuple[datetime, datetime]:
    """[start, end) of the data a period's levers read: the period up to the end of today at the latest, its
    last MAX_WINDOW_DAYS days at most."""
    end = max(min(period.end, today + timedelta(days=1)), period.start)
    start = max(period.start, end - timedelta(days=MAX_WINDOW_DAYS))
    return _midnight(start), _midnight(end)


def period_opportunities(
    period, today: date, *, cluster: str | None = None, departments=None, namespace: str | None = None
) -> Opportunities:
    """What the page, the API and the report sheet show: every lever of the period (docs/optimise.md)."""
    start, end = optimise_window(period, today)
    return opportunities_between(start, end, cluster=cluster, departments=departments, namespace=namespace)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
