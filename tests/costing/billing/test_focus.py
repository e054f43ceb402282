from __future__ import annotations

import csv
import gzip
import shutil
from decimal import Decimal

import pandas as pd
import pytest

from costing.billing import CANONICAL_COLUMNS, BillError, BillReader, read_bill
from tests.costing.billing.conftest import FOCUS_SAMPLE, focus_row


def _read_all(path, **options) -> tuple[BillReader, pd.DataFrame]:
    reader = BillReader(path, "focus", **options)
    return reader, pd.concat(list(reader), ignore_index=True)


def _independent_sums(path) -> dict[str, Decimal]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {
        "rows": len(rows),
        "EffectiveCost": sum((Decimal(r["EffectiveCost"]) for r in rows), Decimal(0)),
        "BilledCost": sum((Decimal(r["BilledCost"]) for r in rows), Decimal(0)),
        "ListCost": sum((Decimal(r["ListCost"]) for r in rows), Decimal(0)),
    }


def test_the_foundation_sample_imports_completely_to_the_last_decimal():
    expected = _independent_sums(FOCUS_SAMPLE)
    reader, lines = _read_all(FOCUS_SAMPLE, chunk_size=128)
    assert reader.rows == len(lines) == expected["rows"] == 1000
    assert reader.effective_total == expected["EffectiveCost"] == Decimal("14.97651418586")
    assert reader.billed_total == expected["BilledCost"] == Decimal("20.52022672899")
    assert reader.list_total == expected["ListCost"]
    assert sum(lines["effective_cost"], Decimal(0)) == expected["EffectiveCost"]
    assert tuple(lines.columns) == CANONICAL_COLUMNS
    assert reader.focus_version == "1.0"
    assert reader.currency == "USD"
    assert reader.billing_account_ids == {
        "1234567890123",
        "/providers/Microsoft.Billing/billingAccounts/8611537",
        "20209880",
    }
    # Every physical line 2..1001 is one record of this file.
    assert list(lines["source_row"]) == list(range(2, 1002))


def test_the_sample_values_are_read_as_focus_means_them():
    _, lines = _read_all(FOCUS_SAMPLE)
    first = lines.iloc[0]  # line 2 of the file, written by hand below from the CSV
    assert first["charge_period_start"] == pd.Timestamp("2024-09-18 22:00", tz="UTC")
    assert first["charge_period_end"] == pd.Timestamp("2024-09-18 23:00", tz="UTC")
    assert first["billing_period_start"] == pd.Timestamp("2024-09-01", tz="UTC")
    assert first["billed_cost"] == Decimal("0.00000080000")
    assert first["effective_cost"] == 0
    assert first["charge_class"] is None  # literal NULL
    assert first["tags"] == {}  # NULL Tags
    assert first["resource_name"] is None
    second = lines.iloc[1]
    assert second["tags"] == {
        "application": "BrightLensMatrix",
        "environment": "dev",
        "business_unit": "ViennaAI",
    }
    # Oracle writes "Usage-based" and empty strings where others write NULL.
    assert set(lines["charge_frequency"]) == {"Usage-Based", "One-Time"}
    credit = lines[lines["charge_category"] == "Credit"].iloc[0]
    assert credit["effective_cost"] == Decimal("-3.00000000000")
    assert credit["billed_cost"] == Decimal("-2.61370000000")
    assert all(isinstance(v, Decimal) for v in lines["billed_cost"])


def test_the_sample_has_no_commitment_purchase_so_nothing_is_zeroed():
    reader, lines = _read_all(FOCUS_SAMPLE)
    assert "Purchase" not in set(lines["charge_category"])
    assert reader.zeroed_purchases == 0
    covered = lines[lines["commitment_discount_status"] == "Used"]
    assert len(covered) == 4


def test_a_commitment_purchase_is_not_counted_twice(write_focus):
    sp = "arn:aws:savingsplans::1:savingsplan/abc"
    path = write_focus(
        [
            # the purchase (non-conformant: EffectiveCost should be 0) and the usage it covers, amortised
            focus_row(
                ChargeCategory="Purchase",
                ChargeFrequency="Recurring",
                CommitmentDiscountId=sp,
                BilledCost="10",
                EffectiveCost="10",
                ListCost="10",
                ResourceId=sp,
                Tags="NULL",
            ),
            focus_row(
                CommitmentDiscountId=sp, CommitmentDiscountStatus="Used", BilledCost="0", EffectiveCost="7"
            ),
            focus_row(
                CommitmentDiscountId=sp,
                CommitmentDiscountStatus="unused",
                BilledCost="0",
                EffectiveCost="3",
                ResourceId=sp,
                Tags="",
            ),
        ]
    )
    reader, lines = _read_all(path)
    assert reader.effective_total == Decimal(10)  # 7 + 3, not 20
    assert reader.billed_total == Decimal(10)
    assert reader.zeroed_purchases == 1 and reader.zeroed_purchase_cost == Decimal(10)
    assert list(lines["commitment_discount_status"]) == [None, "Used", "Unused"]


def test_focus_1_2_shaped_file_with_extra_and_x_columns(write_focus):
    columns = [
        "InvoiceId",
        "BillingAccountType",
        "PricingCurrency",
        "CapacityReservationId",
        "ServiceSubcategory",
        "x_UsageType",
        "x_ServiceCode",
        "Vendor Note",
    ]
    rows = [
        focus_row(
            ChargePeriodStart="2026-09-02T00:00:00Z",
            ChargePeriodEnd="2026-09-02T01:00:00Z",
            BillingPeriodStart="2026-09-01T00:00:00Z",
            BillingPeriodEnd="2026-10-01T00:00:00Z",
            ChargeCategory="usage",
            ChargeFrequency="usage-based",
            BilledCost="1E-3",
            EffectiveCost="0.0009",
            InvoiceId="INV-1",
            BillingAccountType="Billing Profile",
            PricingCurrency="USD",
            x_UsageType="BoxUsage",
            **{"Vendor Note": 'a, quoted "note"'},
        ),
        focus_row(
            ChargeCategory="TAX",
            BilledCost="-0.5",
            EffectiveCost="-0.5",
            ChargePeriodStart="2026-09-02",
            ChargePeriodEnd="2026-09-03",
            ChargeClass="correction",
            Tags='{"n": 3, "flag": true, "none": null}',
        ),
    ]
    path = write_focus(rows, columns=[*columns, *focus_row()])
    reader, lines = _read_all(path)
    assert reader.focus_version == "1.2"
    assert list(lines["charge_category"]) == ["Usage", "Tax"]
    assert list(lines["charge_class"]) == [None, "Correction"]
    assert lines["charge_frequency"].iat[0] == "Usage-Based"
    assert lines["billed_cost"].iat[0] == Decimal("0.001")
    assert lines["charge_period_end"].iat[1] == pd.Timestamp("2026-09-03", tz="UTC")
    assert lines["tags"].iat[1] == {"n": "3", "flag": "true", "none": ""}
    assert reader.effective_total == Decimal("0.0009") - Decimal("0.5")


def test_focus_1_1_is_detected(write_focus):
    path = write_focus(
        [focus_row(CapacityReservationId="cr-1")], columns=["CapacityReservationId", *focus_row()]
    )
    reader, _ = _read_all(path)
    assert reader.focus_version == "1.1"


def test_crlf_bom_and_a_line_break_inside_a_quoted_field(tmp_path, write_focus):
    rows = [
        focus_row(ServiceName="two\nlines", BilledCost="1"),
        focus_row(BilledCost="2"),
        focus_row(BilledCost="x"),
    ]
    path = write_focus(rows, newline="\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    with pytest.raises(BillError) as caught:
        _read_all(path)
    # header = 1, first record = lines 2-3, second = 4, third = 5
    assert (caught.value.line, caught.value.column) == (5, "BilledCost")
    rows[2]["BilledCost"] = "3"
    path = write_focus(rows, name="fixed.csv", newline="\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    reader, lines = _read_all(path)
    assert list(lines["source_row"]) == [2, 4, 5]
    assert lines["service_name"].iat[0] == "two\nlines"
    assert reader.billed_total == 6


def test_a_gzipped_export_reads_like_the_plain_one(tmp_path):
    packed = tmp_path / "focus_sample.csv.gz"  # gzip is recognised by its magic bytes, not its name
    with open(FOCUS_SAMPLE, "rb") as source, gzip.open(packed, "wb") as target:
        shutil.copyfileobj(source, target)
    renamed = packed.rename(tmp_path / "export.csv")
    reader, _ = _read_all(renamed)
    assert reader.rows == 1000
    assert reader.effective_total == _independent_sums(FOCUS_SAMPLE)["EffectiveCost"]


def test_a_truncated_gzip_is_refused(tmp_path):
    packed = gzip.compress(FOCUS_SAMPLE.read_bytes())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(BillError, match="truncated or corrupt gzip"):
        _read_all(path, chunk_size=100)


def test_another_currency_is_refused_when_the_organisation_has_one(write_focus):
    path = write_focus([focus_row(), focus_row(BillingCurrency="EUR")])
    with pytest.raises(BillError) as caught:
        _read_all(path, expected_currency="usd")
    assert (caught.value.line, caught.value.column) == (3, "BillingCurrency")
    assert "'EUR' is not the organisation's currency 'USD'" in caught.value.reason
    with pytest.raises(BillError, match="one currency"):
        _read_all(path)


def test_a_configured_exchange_rate_converts_exactly(write_focus):
    path = write_focus([focus_row(), focus_row(BillingCurrency="EUR", EffectiveCost="2.00", BilledCost="3")])
    reader, lines = _read_all(path, expected_currency="USD", exchange_rates={"EUR": Decimal("1.1")})
    assert list(lines["currency"]) == ["USD", "USD"]
    assert reader.effective_total == Decimal("1.25") + Decimal("2.200")
    assert reader.source_currencies == {"USD", "EUR"}


def test_read_bill_yields_chunks_of_the_requested_size(write_focus):
    path = write_focus([focus_row(BilledCost=str(i)) for i in range(10)])
    sizes = [len(chunk) for chunk in read_bill(path, "focus", chunk_size=4)]
    assert sizes == [4, 4, 2]


def test_header_only_file_yields_nothing(write_focus):
    path = write_focus([], columns=list(focus_row()))
    reader, _ = BillReader(path, "focus"), None
    assert list(reader) == []
    assert reader.rows == 0 and reader.effective_total == 0
