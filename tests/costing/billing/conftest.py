"""Small FOCUS files written on the spot, for the tests that need one broken in a precise place."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data" / "bills"
FOCUS_SAMPLE = DATA / "focus-1.0-sample" / "focus_sample.csv"

FOCUS_COLUMNS = [
    "BilledCost",
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountId",
    "CommitmentDiscountStatus",
    "EffectiveCost",
    "ListCost",
    "ProviderName",
    "RegionId",
    "ResourceId",
    "ServiceName",
    "Tags",
]


def focus_row(**values: str) -> dict[str, str]:
    row = {
        "BilledCost": "1.50",
        "BillingAccountId": "acct-1",
        "BillingCurrency": "USD",
        "BillingPeriodEnd": "2026-10-01 00:00:00",
        "BillingPeriodStart": "2026-09-01 00:00:00",
        "ChargeCategory": "Usage",
        "ChargeClass": "NULL",
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodEnd": "2026-09-02 01:00:00",
        "ChargePeriodStart": "2026-09-02 00:00:00",
        "CommitmentDiscountId": "NULL",
        "CommitmentDiscountStatus": "NULL",
        "EffectiveCost": "1.25",
        "ListCost": "2.00",
        "ProviderName": "AWS",
        "RegionId": "eu-west-1",
        "ResourceId": "i-0abc",
        "ServiceName": "Amazon Elastic Compute Cloud",
        "Tags": '{"aws:eks:cluster-name": "prod"}',
    }
    row.update(values)
    return row


def focus_text(rows: list[dict[str, str]], columns: list[str] | None = None, newline: str = "\n") -> str:
    columns = columns or list(rows[0]) if rows else FOCUS_COLUMNS
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator=newline)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@pytest.fixture
def write_focus(tmp_path):
    """write_focus(rows, name=..., columns=..., encoding=...) -> Path of a FOCUS CSV in tmp_path."""

    def write(rows, name="bill.csv", columns=None, encoding="utf-8", newline="\n") -> Path:
        path = tmp_path / name
        path.write_bytes(focus_text(rows, columns, newline).encode(encoding))
        return path

    return write
