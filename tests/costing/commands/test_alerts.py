"""The alerts command: the day's alerts as JSON rows, a dry run storing nothing, a real run raising them once."""

import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from costing.budgets.store import save_plan
from costing.budgets.yamlfile import BudgetPlanSpec, BudgetSpec
from costing.models import Alert
from tests.costing.budgets import results

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("alerts", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_check_prints_json_rows_and_a_dry_run_stores_nothing():
    results.build()
    save_plan(
        BudgetPlanSpec(
            date(2026, 1, 1), [BudgetSpec("cluster", "prod", "month", Decimal(150), (Decimal(90),))]
        )
    )
    args = ("--check", "--date", "2026-11-08", "--format", "json")
    rows = json.loads(run(*args, "--dry-run"))
    assert not Alert.objects.exists()
    budget = next(r for r in rows if r["subject_kind"] == "cluster")
    # prod: 112 + 28 = 140 spent of 150, over the 90 % (135) threshold.
    assert {
        k: budget[k] for k in ("subject_kind", "subject", "period", "kind", "threshold", "actual", "budget")
    } == {
        "subject_kind": "cluster",
        "subject": "prod",
        "period": "2026-11-01..2026-12-01",
        "kind": "budget",
        "threshold": "90.00",
        "actual": "140.00",
        "budget": "150.00",
    }
    assert float(budget["forecast"]) > 140
    assert sorted((r["kind"], r["subject_kind"]) for r in rows) == [
        ("anomaly", "department"),
        ("anomaly", "namespace"),
        ("anomaly", "workload"),
        ("budget", "cluster"),
    ]
    assert json.loads(run(*args)) == rows
    assert Alert.objects.count() == 4
    assert json.loads(run(*args)) == []  # raised already: nothing to send again


def test_bad_arguments_are_refused():
    with pytest.raises(CommandError, match="give --check"):
        run()
    with pytest.raises(CommandError, match="not YYYY-MM-DD"):
        run("--check", "--date", "8 Nov")
