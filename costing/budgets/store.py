"""Budget plans in the database: stored whole or not at all, read back as the plan in force on a day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from costing.budgets.yamlfile import BudgetPlanSpec, BudgetSpec
from costing.models import Budget, BudgetPlan


@transaction.atomic
def save_plan(spec: BudgetPlanSpec, user=None) -> BudgetPlan:
    """Store the plan; a plan of the same effective date is replaced entirely."""
    BudgetPlan.objects.filter(effective_from=spec.effective_from).delete()
    plan = BudgetPlan.objects.create(
        effective_from=spec.effective_from, comment=spec.comment, created_by=user
    )
    Budget.objects.bulk_create(
        Budget(
            plan=plan,
            subject_kind=b.subject_kind,
            subject=b.subject,
            period=b.period,
            amount=b.amount,
            thresholds=[format(t, "f") for t in b.thresholds],
            position=i,
        )
        for i, b in enumerate(spec.budgets)
    )
    return plan


def spec_from_plan(plan: BudgetPlan) -> BudgetPlanSpec:
    return BudgetPlanSpec(
        effective_from=plan.effective_from,
        comment=plan.comment,
        budgets=[
            BudgetSpec(
                b.subject_kind, b.subject, b.period, b.amount, tuple(Decimal(str(t)) for t in b.thresholds)
            )
            for b in plan.budgets.order_by("position", "pk")
        ],
    )


def plan_on(day: date) -> BudgetPlan | None:
    """The plan in force on `day`: the latest whose effective date is not after it."""
    return BudgetPlan.objects.filter(effective_from__lte=day).order_by("-effective_from").first()
