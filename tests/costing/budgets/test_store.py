"""Tests of stored budget plans and the load_budgets / dump_budgets commands: all or nothing, read back equal."""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from costing.budgets.store import plan_on
from costing.models import Budget, BudgetPlan, Cluster, Department

pytestmark = pytest.mark.django_db

FILE = """\
effective_from: 2026-11-01
budgets:
  - subject: department
    name: Payments
    amount: 940
  - subject: cluster
    name: prod
    period: year
    amount: 12000
    thresholds: [50, 100]
"""


@pytest.fixture
def known():
    Department.objects.create(name="Payments")
    Cluster.objects.create(name="prod")


def test_load_stores_the_plan_and_dump_prints_it_back(known, tmp_path):
    path = tmp_path / "budgets.yaml"
    path.write_text(FILE)
    out = StringIO()
    call_command("load_budgets", str(path), stdout=out)
    assert "2 budgets from 2026-11-01 stored" in out.getvalue()
    plan = plan_on(date(2026, 12, 31))
    assert [(b.subject_kind, b.subject, b.period, b.amount, b.thresholds) for b in plan.budgets.all()] == [
        ("department", "Payments", "month", Decimal("940.00"), ["80", "100"]),
        ("cluster", "prod", "year", Decimal("12000.00"), ["50", "100"]),
    ]
    assert plan_on(date(2026, 10, 31)) is None

    dumped = StringIO()
    call_command("dump_budgets", "--date", "2026-11-15", stdout=dumped)
    path.write_text(dumped.getvalue())
    call_command("load_budgets", str(path), stdout=StringIO())  # the same date: replaced, not doubled
    assert BudgetPlan.objects.count() == 1
    assert Budget.objects.count() == 2


def test_a_file_with_an_error_stores_nothing_and_names_line_and_field(known, tmp_path):
    path = tmp_path / "budgets.yaml"
    path.write_text(FILE.replace("name: prod", "name: staging"))
    with pytest.raises(CommandError) as caught:
        call_command("load_budgets", str(path))
    assert f"{path}, line 7, field budgets[1].name: no cluster is named 'staging'" in str(caught.value)
    assert not BudgetPlan.objects.exists()


def test_dry_run_stores_nothing(known, tmp_path):
    path = tmp_path / "budgets.yaml"
    path.write_text(FILE)
    call_command("load_budgets", str(path), "--dry-run", stdout=StringIO())
    assert not BudgetPlan.objects.exists()
