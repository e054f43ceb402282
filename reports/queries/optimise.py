"""The Optimise view's one query: the capacity levers of a period for a user (costing.opportunities)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from costing.opportunities import Opportunities, opportunities_between

__all__ = ["optimise_window", "period_opportunities"]


def optimise_window(period, today: date) -> tuple[datetime, datetime]:
    """[start, end) of the data a period's levers read: the period, up to the end of today at the latest."""
    end = min(period.end, today + timedelta(days=1))
    return _midnight(period.start), _midnight(max(end, period.start))


def period_opportunities(
    period, today: date, *, cluster: str | None = None, departments=None, namespace: str | None = None
) -> Opportunities:
    """What the page, the API and the report sheet show: every lever of the period (docs/optimise.md)."""
    start, end = optimise_window(period, today)
    return opportunities_between(start, end, cluster=cluster, departments=departments, namespace=namespace)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
