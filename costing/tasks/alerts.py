"""The beat task that raises budget, forecast and anomaly alerts once a day is computed, and sends them."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from costing.budgets.delivery import plan_deliveries, send_due
from costing.budgets.evaluate import day_is_computed, evaluate, raise_alerts

log = logging.getLogger(__name__)


def check_day(day: date) -> int:
    """Raise the alerts of a computed `day` not raised before, plan their deliveries; the new alerts' count."""
    if not day_is_computed(day):
        log.info("alerts of %s wait: the day is not computed yet", day)
        return 0
    created = raise_alerts(evaluate(day))
    for alert in created:
        plan_deliveries(alert)
    return len(created)


@shared_task(name="costing.evaluate_alerts", ignore_result=True, acks_late=True)
def evaluate_alerts(day_iso: str | None = None) -> int:
    """Beat, hourly: yesterday's alerts once yesterday is computed (safe to run again: each alert is raised
    once), then every delivery due, first attempts and retries."""
    day = date.fromisoformat(day_iso) if day_iso else timezone.now().date() - timedelta(days=1)
    created = check_day(day)
    sent, failed = send_due()
    if created or sent or failed:
        log.info("alerts of %s: %d raised, %d sent, %d failed attempt(s)", day, created, sent, failed)
    return created
