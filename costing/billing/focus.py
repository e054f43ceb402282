"""Reads FOCUS 1.0, 1.1 and 1.2 cost and usage exports into canonical bill lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from costing.billing import lines as L
from costing.billing._source import RawChunk
from costing.billing.errors import BillError

# FOCUS column -> canonical column. Mandatory: a file without them is refused at line 1.
MANDATORY = {
    "BillingAccountId": "billing_account_id",
    "BillingPeriodStart": "billing_period_start",
    "BillingPeriodEnd": "billing_period_end",
    "ChargePeriodStart": "charge_period_start",
    "ChargePeriodEnd": "charge_period_end",
    "ChargeCategory": "charge_category",
    "BillingCurrency": "currency",
    "EffectiveCost": "effective_cost",
    "BilledCost": "billed_cost",
}
# Optional: absent columns and null values read as None ({} for Tags).
OPTIONAL = {
    "ListCost": "list_cost",
    "ChargeClass": "charge_class",
    "ChargeFrequency": "charge_frequency",
    "CommitmentDiscountId": "commitment_discount_id",
    "CommitmentDiscountStatus": "commitment_discount_status",
    "ProviderName": "provider",
    "ServiceProviderName": "provider",  # FOCUS 1.3 name, used when ProviderName is absent
    "ServiceName": "service_name",
    "ServiceCategory": "service_category",
    "SkuId": "sku_id",
    "RegionId": "region",
    "RegionName": "region",  # used when RegionId is absent or null
    "ResourceId": "resource_id",
    "ResourceName": "resource_name",
    "ResourceType": "resource_type",
    "Tags": "tags",
    "PricingQuantity": "pricing_quantity",
    "ConsumedQuantity": "consumed_quantity",
}
NOT_NULL = "missing value (FOCUS does not allow null here)"
# Columns that first appear in a version: their presence dates the file.
VERSION_MARKERS = {
    "1.2": (
        "BillingAccountType",
        "SubAccountType",
        "InvoiceId",
        "PricingCurrency",
        "PricingCurrencyContractedUnitPrice",
        "PricingCurrencyEffectiveCost",
        "PricingCurrencyListUnitPrice",
    ),
    "1.1": (
        "CapacityReservationId",
        "CapacityReservationStatus",
        "CommitmentDiscountQuantity",
        "CommitmentDiscountUnit",
        "ServiceSubcategory",
        "SkuMeter",
        "SkuPriceDetails",
    ),
}


def detect_version(header: list[str]) -> str:
    present = {name.lower() for name in header}
    for version, markers in VERSION_MARKERS.items():
        if any(marker.lower() in present for marker in markers):
            return version
    return "1.0"


def resolve_columns(header: list[str], path: str | Path) -> dict[str, str]:
    """FOCUS name -> the header name as written (matched without regard to case). Refuses a missing one."""
    by_folded = {name.lower(): name for name in header}
    known = (*MANDATORY, *OPTIONAL)
    found = {focus: by_folded[focus.lower()] for focus in known if focus.lower() in by_folded}
    missing = [focus for focus in MANDATORY if focus not in found]
    if missing:
        names = ", ".join(missing)
        raise BillError(
            path,
            f"missing mandatory FOCUS column{'s' if len(missing) > 1 else ''}: {names}",
            line=1,
            column=missing[0],
        )
    return found


def convert_chunk(raw: RawChunk, columns: dict[str, str], path: str | Path) -> pd.DataFrame:
    """Validate one chunk and return its canonical lines; faulty rows raise BillErrors (all of them)."""
    frame, n = raw.frame, len(raw.frame)
    faults = L.Faults()
    out: dict[str, object] = {}

    def col(focus: str) -> pd.Series | None:
        return frame[columns[focus]] if focus in columns else None

    def raw_value(focus: str, row: int) -> str:
        return repr(frame[columns[focus]].iat[row])

    for focus in ("EffectiveCost", "BilledCost", "ListCost", "PricingQuantity", "ConsumedQuantity"):
        target = MANDATORY.get(focus) or OPTIONAL[focus]
        values = col(focus)
        if values is None:
            out[target] = L.no_numbers(n)
            continue
        converted = L.numbers(values)
        faults.add(converted.bad, columns[focus], lambda i, f=focus: f"not a number: {raw_value(f, i)}")
        if focus in MANDATORY:
            faults.add(converted.null, columns[focus], lambda i: NOT_NULL)
        out[target] = converted

    for focus in ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"):
        parsed, null, bad = L.timestamps(col(focus))
        faults.add(bad, columns[focus], lambda i, f=focus: f"not a timestamp: {raw_value(f, i)}")
        faults.add(null, columns[focus], lambda i: NOT_NULL)
        out[MANDATORY[focus]] = parsed
    for start, end in (("BillingPeriodStart", "BillingPeriodEnd"), ("ChargePeriodStart", "ChargePeriodEnd")):
        before = np.asarray(out[MANDATORY[end]] < out[MANDATORY[start]])
        faults.add(
            before,
            columns[end],
            lambda i, s=start, e=end: f"{e} {raw_value(e, i)} is before {s} {raw_value(s, i)}",
        )

    for focus, target in (("BillingAccountId", "billing_account_id"), ("BillingCurrency", "currency")):
        values = L.text(col(focus))
        faults.add(pd.isna(values), columns[focus], lambda i: NOT_NULL)
        out[target] = values
    codes, uniques = pd.factorize(out["currency"])  # None: code -1, the last of the lookup
    out["currency"] = np.array([*(c.upper() for c in uniques), None], dtype=object)[codes]

    category, unknown = L.enum(col("ChargeCategory"), L.CHARGE_CATEGORIES)
    faults.add(
        unknown,
        columns["ChargeCategory"],
        lambda i: (
            f"unknown ChargeCategory {raw_value('ChargeCategory', i)} "
            f"(expected one of {', '.join(L.CHARGE_CATEGORIES)})"
        ),
    )
    faults.add(pd.isna(category) & ~unknown, columns["ChargeCategory"], lambda i: NOT_NULL)
    out["charge_category"] = category
    for focus, choices in (
        ("ChargeClass", L.CHARGE_CLASSES),
        ("ChargeFrequency", L.CHARGE_FREQUENCIES),
        ("CommitmentDiscountStatus", L.COMMITMENT_STATUSES),
    ):
        values = col(focus)
        # Outside the enumeration is kept as written: these columns inform, they do not decide a cost.
        out[OPTIONAL[focus]] = L.enum(values, choices)[0] if values is not None else np.full(n, None, object)

    tags = col("Tags")
    if tags is None:
        out["tags"] = np.array([{} for _ in range(n)], dtype=object) if n else np.empty(0, dtype=object)
    else:
        parsed, bad, reasons = L.json_tags(tags)
        faults.add(bad, columns["Tags"], lambda i: reasons[i])
        out["tags"] = parsed

    for focus in (
        "CommitmentDiscountId",
        "ServiceName",
        "ServiceCategory",
        "SkuId",
        "ResourceId",
        "ResourceName",
        "ResourceType",
    ):
        values = col(focus)
        out[OPTIONAL[focus]] = L.text(values) if values is not None else np.full(n, None, dtype=object)
    out["provider"] = _first_present(frame, columns, ("ProviderName", "ServiceProviderName"), n)
    out["region"] = _first_present(frame, columns, ("RegionId", "RegionName"), n)
    out["source_row"] = raw.lines

    faults.raise_if_any(path, raw.lines, partial=lambda: L.canonical_frame(out))
    return L.canonical_frame(out)


def _first_present(frame: pd.DataFrame, columns: dict[str, str], names: tuple[str, ...], n: int):
    """Row by row, the first of `names` that has a value."""
    result = np.full(n, None, dtype=object)
    for name in names:
        if name in columns:
            values = L.text(frame[columns[name]])
            missing = pd.isna(result)
            result[missing] = values[missing]
    return result
