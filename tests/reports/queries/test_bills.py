"""The Bills page's query: the imports and the cost outside Kubernetes of the scenario's bill."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from reports.queries.bills import bill_history

pytestmark = pytest.mark.django_db
D = Decimal


def test_bill_history_imports_and_the_cost_outside_kubernetes(computed):
    got = bill_history(None)
    # The scenario's bill has one line that is no cluster's: rds-1, 99.00 on 2025-03-10.
    assert [i.file_name for i in got["imports"]] == ["bill.csv"]
    assert got["month"] == date(2025, 3, 1)
    (row,) = got["outside"]
    assert (row["lines"], row["effective"], row["billed"], row["currency"]) == (1, D("99"), D("99"), "EUR")
    assert got["outside_total"] == D("99")
    february = bill_history(date(2025, 2, 1), imports=0)
    assert february == {"imports": [], "month": date(2025, 2, 1), "outside": [], "outside_total": None}


def test_bill_history_without_bills(db):
    assert bill_history(None) == {"imports": [], "month": None, "outside": [], "outside_total": None}
