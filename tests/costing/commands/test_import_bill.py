"""The import_bill and bill_imports commands: summaries, JSON, and a bad file that changes nothing."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from costing.choices import ConnectionType
from costing.models import BillImport, BillLine, Cluster, Policy, TagRule
from tests.costing.billing.conftest import FOCUS_SAMPLE, focus_row, focus_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _dollars(settings):
    settings.FINOPS_CURRENCY = "USD"


@pytest.fixture
def write_focus(tmp_path):
    def write(rows, name="bill.csv"):
        path = tmp_path / name
        path.write_text(focus_text(rows), encoding="utf-8")
        return path

    return write


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_json_summary_of_the_focus_sample():
    with open(FOCUS_SAMPLE, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    effective = sum((Decimal(r["EffectiveCost"]) for r in rows), Decimal(0))
    billed = sum((Decimal(r["BilledCost"]) for r in rows), Decimal(0))

    data = json.loads(_run("import_bill", str(FOCUS_SAMPLE), "--format", "focus", "--output", "json"))

    assert data["status"] == "succeeded" and data["rows"] == len(rows) == 1000
    assert Decimal(data["effective_total"]) == effective and Decimal(data["billed_total"]) == billed
    assert data["currency"] == "USD"
    assert data["period_start"].startswith("2024-09-01") and data["period_end"].startswith("2024-11-01")
    assert data["by_kind"]["outside"]["lines"] == 1000
    assert data["by_kind"]["node"] == {"lines": 0, "effective": "0", "billed": "0"}


def test_text_summary_with_lines_by_kind(write_focus):
    Cluster.objects.create(name="prod", connection_type=ConnectionType.KUBECONFIG)
    policy = Policy.objects.create(effective_from=date(2026, 1, 1))
    TagRule.objects.create(policy=policy, cluster_name="prod", key="aws:eks:cluster-name", value="prod")
    path = write_focus([focus_row(EffectiveCost="1.25"), focus_row(EffectiveCost="2.50", Tags="{}")])

    text = _run("import_bill", str(path), "--format", "focus")

    assert "rows:      2" in text and "currency:  USD" in text
    assert (
        "EffectiveCost: 3.75" in text and "BilledCost:    3\n" in text
    )  # 1.50 twice, without the trailing zeros
    overhead = next(line for line in text.splitlines() if line.strip().startswith("overhead"))
    outside = next(line for line in text.splitlines() if line.strip().startswith("outside"))
    assert overhead.split()[1:3] == ["1", "1.25"] and outside.split()[1:3] == ["1", "2.50"]


def test_a_bad_file_exits_with_its_line_and_column_and_changes_nothing(write_focus):
    _run("import_bill", str(FOCUS_SAMPLE), "--format", "focus")
    before = BillLine.objects.count()
    path = write_focus([focus_row(), focus_row(EffectiveCost="12,5")])

    with pytest.raises(CommandError, match=r"bill.csv, line 3, column EffectiveCost: not a number: '12,5'"):
        _run("import_bill", str(path), "--format", "focus")

    assert BillLine.objects.count() == before
    assert BillImport.objects.filter(status="failed").count() == 1


def test_every_error_of_the_file_is_told_as_on_the_page(write_focus, settings):
    settings.FINOPS_EXCHANGE_RATES = {}
    rows = [
        focus_row(EffectiveCost="12,5"),
        focus_row(),
        focus_row(ChargeCategory="Refund", BillingCurrency="CNY"),
    ]
    path = write_focus(rows, name="several.csv")

    with pytest.raises(CommandError) as caught:
        _run("import_bill", str(path), "--format", "focus")

    record = BillImport.objects.get()
    assert str(caught.value) == f"bill import #{record.pk} failed: {record.error}"
    assert record.error.splitlines()[:3] == [
        "several.csv: 3 errors",
        "  line 2, column EffectiveCost: not a number: '12,5'",
        "  line 4, column ChargeCategory: unknown ChargeCategory 'Refund' "
        "(expected one of Usage, Purchase, Tax, Credit, Adjustment)",
    ]
    assert record.error.splitlines()[3].startswith(
        "  line 4, column BillingCurrency: currency 'CNY' is not the organisation's currency 'USD', and no "
        "exchange rate into it is in force on 2026-09-02: add a rate CNY to USD valid from 2026-09-02"
    )
    assert BillLine.objects.count() == 0


def test_a_first_row_with_more_fields_than_the_header_is_a_line_error(tmp_path):
    header, first, *rest = FOCUS_SAMPLE.read_text(encoding="utf-8-sig").splitlines()
    path = tmp_path / "bill.csv"
    path.write_text("\n".join([header, first + ",surplus", *rest]) + "\n", encoding="utf-8")

    with pytest.raises(CommandError) as caught:
        _run("import_bill", str(path), "--format", "focus")

    assert str(caught.value).endswith("bill.csv, line 2: 45 fields where the header has 44")
    assert BillLine.objects.count() == 0


def test_a_cbc_file_takes_its_account_from_the_option(tmp_path, settings):
    settings.FINOPS_CURRENCY = "CNY"
    source = (FOCUS_SAMPLE.parents[1] / "cbc_zh_utf8_bom.csv").read_text(encoding="utf-8-sig")
    # Without its account column (the second; no quoted comma comes before the third field).
    lines = [line.split(",", 2) for line in source.splitlines()]
    path = tmp_path / "no-account.csv"
    path.write_text("\n".join(f"{cycle},{rest}" for cycle, _, rest in lines) + "\n", encoding="utf-8")

    with pytest.raises(CommandError, match="missing CBC column"):
        _run("import_bill", str(path), "--format", "cbc")
    data = json.loads(
        _run("import_bill", str(path), "--format", "cbc", "--account", "acct-9", "--output", "json")
    )

    assert data["billing_account_ids"] == ["acct-9"] and data["rows"] == 7
    assert Decimal(data["effective_total"]) == Decimal(
        "249.6523"
    )  # 1 + 2 + 0.72 + 255 + 0.099 - 12.5 + 3.3333


def test_the_import_history(write_focus):
    _run("import_bill", str(FOCUS_SAMPLE), "--format", "focus")
    with pytest.raises(CommandError):
        _run("import_bill", str(write_focus([focus_row(BilledCost="x")])), "--format", "focus")

    history = json.loads(_run("bill_imports", "--output", "json"))

    assert [(h["file"], h["status"], h["rows"]) for h in history] == [
        ("bill.csv", "failed", 0),
        ("focus_sample.csv", "succeeded", 1000),
    ]
    assert "line 2, column BilledCost" in history[0]["error"]
    text = _run("bill_imports")
    assert "focus_sample.csv" in text and "error: bill.csv, line 2, column BilledCost" in text
