"""The alerts task: a computed day's alerts raised and sent once, however often beat runs it."""

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail

from costing.budgets.store import save_plan
from costing.budgets.yamlfile import BudgetPlanSpec, BudgetSpec
from costing.choices import ChannelKind, DeliveryStatus
from costing.models import Alert, AlertChannel, AlertDelivery, ClusterDay
from costing.tasks.alerts import evaluate_alerts
from tests.costing.budgets import results

pytestmark = pytest.mark.django_db


def test_the_task_raises_and_sends_each_alert_once():
    results.build()
    save_plan(BudgetPlanSpec(date(2026, 1, 1), [BudgetSpec("organisation", "", "month", Decimal(100))]))
    AlertChannel.objects.create(name="team", kind=ChannelKind.EMAIL, target="finops@example.com")
    ClusterDay.objects.filter(day=results.AS_OF).update(dirty=True)
    assert evaluate_alerts("2026-11-08") == 0  # not computed yet: waits for the next beat
    ClusterDay.objects.filter(day=results.AS_OF).update(dirty=False)

    # Organisation 80 % and 100 %, and the anomaly of pay-api, its namespace and its department.
    assert evaluate_alerts("2026-11-08") == 5
    assert len(mail.outbox) == 5
    assert set(AlertDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert evaluate_alerts("2026-11-08") == 0
    assert (Alert.objects.count(), len(mail.outbox)) == (5, 5)
