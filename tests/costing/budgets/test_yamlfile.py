"""Tests of the budget file: every error located by line and field, and the dump/load round trip."""

import textwrap
from datetime import date
from decimal import Decimal

import pytest

from costing.budgets.yamlfile import BudgetFileError, BudgetPlanSpec, BudgetSpec, dump_budgets, read_budgets

D = Decimal
KNOWN = {"departments": ["Payments", "Search"], "clusters": ["prod"]}

GOOD = textwrap.dedent(
    """\
    effective_from: 2026-11-01
    thresholds: [80, 100]
    budgets:
      - subject: organisation
        period: year
        amount: 120000
      - subject: department
        name: Payments
        amount: 940.50
        thresholds: [50, 90.5, 100]
      - subject: namespace
        name: pay-api
        period: quarter
        amount: 300
      - subject: cluster
        name: prod
        amount: 5000
    """
)


def test_a_good_file_reads_with_defaults_and_exact_amounts():
    plan = read_budgets(GOOD, **KNOWN)
    assert plan.effective_from == date(2026, 11, 1)
    assert plan.budgets == [
        BudgetSpec("organisation", "", "year", D("120000"), (D(80), D(100))),
        BudgetSpec("department", "Payments", "month", D("940.50"), (D(50), D("90.5"), D(100))),
        BudgetSpec("namespace", "pay-api", "quarter", D(300), (D(80), D(100))),
        BudgetSpec("cluster", "prod", "month", D(5000), (D(80), D(100))),
    ]


def test_every_error_of_the_file_is_told_with_its_line_and_field():
    text = textwrap.dedent(
        """\
        effective_from: 2026-13-01
        budgets:
          - subject: team
            amount: 10
          - subject: department
            name: Payroll
            amount: -5
          - subject: namespace
            amount: 1.234
            period: week
          - subject: organisation
            name: all
            amount: 1
            thresholds: [0, 2000]
          - subject: cluster
            name: prod
            amount: 1
            colour: red
        """
    )
    with pytest.raises(BudgetFileError) as caught:
        read_budgets(text, source="b.yaml", **KNOWN)
    found = {(e.line, e.field) for e in caught.value.errors}
    assert found == {
        (1, "effective_from"),
        (3, "budgets[0].subject"),
        (6, "budgets[1].name"),
        (7, "budgets[1].amount"),
        (8, "budgets[2].name"),
        (9, "budgets[2].amount"),
        (10, "budgets[2].period"),
        (12, "budgets[3].name"),
        (14, "budgets[3].thresholds[0]"),
        (14, "budgets[3].thresholds[1]"),
        (18, "budgets[4].colour"),
    }
    assert "b.yaml, line 6, field budgets[1].name: no department is named 'Payroll'" in str(caught.value)


def test_a_budget_given_twice_is_refused_at_the_second():
    text = GOOD + "  - subject: department\n    name: Payments\n    amount: 1\n"
    with pytest.raises(BudgetFileError) as caught:
        read_budgets(text, **KNOWN)
    [error] = caught.value.errors
    assert (error.line, error.field) == (18, "budgets[4]")
    assert "repeats the month budget of budgets[1]" in error.message


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("", 1, "the file is empty"),
        ("budgets: [\n", 2, "invalid YAML"),
        ("effective_from: 2026-11-01\n", 1, "is required"),
        ("effective_from: !!python/name:os.system 2026-11-01\nbudgets: []\n", 1, "tag"),
    ],
)
def test_broken_files_are_refused_with_a_line(text, line, reason):
    with pytest.raises(BudgetFileError) as caught:
        read_budgets(text)
    assert caught.value.errors[0].line == line
    assert reason in str(caught.value)


def test_dump_reads_back_equal():
    plan = read_budgets(GOOD, **KNOWN)
    plan = BudgetPlanSpec(plan.effective_from, plan.budgets, comment="FY27: 'cut' #3")
    assert read_budgets(dump_budgets(plan), **KNOWN) == plan
