"""The Labels page's query over the scenario's stored day."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reports.queries.labels import label_table
from tests.reports.queries.conftest import ON_DAY

pytestmark = pytest.mark.django_db
D = Decimal


def test_label_table_rounds_the_values_to_their_total(computed):
    got = label_table("team", ON_DAY, cluster_ids=[computed["cluster"].pk])
    # team=pay: pay-1 6.00; team=core: ks-1 2.25 + ks-2 0.81; none: co-1 4.50 + se-1 1.62.
    assert [(r["label"], r["pods"], r["cost"]) for r in got["rows"]] == [
        ("(none)", 2, D("6.12")),
        ("pay", 1, D("6.00")),
        ("core", 2, D("3.06")),
    ]
    assert (got["total"], got["keys"], got["key"]) == (D("15.18"), ["team"], "team")
    # Without a key, one seen on the pods; a department sees its own pods only.
    assert label_table(None, ON_DAY)["key"] == "team"
    payments = label_table("team", ON_DAY, departments=frozenset(["Payments"]))
    assert {r["label"]: r["cost"] for r in payments["rows"]} == {"pay": D("6.00"), "(none)": D("4.50")}
    assert payments["total"] == D("10.50")
