"""Budgets and alert channels set in the admin: the file's rules, and a webhook URL never rendered back."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from costing.admin import AlertChannelForm
from costing.models import AlertChannel, Budget, BudgetPlan

pytestmark = pytest.mark.django_db


def test_a_budget_follows_the_rules_of_the_file():
    plan = BudgetPlan.objects.create(effective_from=date(2026, 1, 1))
    Budget(
        plan=plan, subject_kind="department", subject="Payments", amount=Decimal(10), thresholds=[80, 100]
    ).full_clean()
    with pytest.raises(ValidationError) as caught:
        Budget(
            plan=plan, subject_kind="organisation", subject="all", amount=Decimal(10), thresholds=[0, "x"]
        ).full_clean()
    assert set(caught.value.message_dict) == {"subject", "thresholds"}


def test_a_channel_target_is_checked_and_kept_when_left_empty():
    form = AlertChannelForm(
        data={"name": "ding", "kind": "dingtalk", "target": "ftp://x?access_token=SECRET", "active": True}
    )
    assert not form.is_valid()
    assert form.errors["target"] == ["Must be an http(s) URL."]
    form = AlertChannelForm(
        data={"name": "ding", "kind": "dingtalk", "target": "https://oapi.example/robot?access_token=SECRET"}
    )
    channel = form.save()
    assert "SECRET" not in AlertChannelForm(instance=channel).as_p()
    form = AlertChannelForm(data={"name": "ding", "kind": "dingtalk", "target": ""}, instance=channel)
    assert form.is_valid()
    form.save()
    assert AlertChannel.objects.get().target == "https://oapi.example/robot?access_token=SECRET"
    form = AlertChannelForm(data={"name": "team", "kind": "email", "target": "a@example.com, not-an-address"})
    assert form.errors["target"] == ["Must be comma-separated e-mail addresses."]
