"""Reads Huawei Cloud Billing Center (CBC) resource bills (Chinese or English headers) into bill lines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from costing.billing import lines as L
from costing.billing._source import RawChunk
from costing.billing.errors import BillError
from costing.billing.lines import _factorize

# The Huawei console writes times in Beijing time without saying so.
DEFAULT_TIMEZONE = "+08:00"
PROVIDER = "Huawei Cloud"
# What the console writes for "nothing", besides the FOCUS-style null tokens.
NULL_TOKENS = (*L.NULL_TOKENS, "--", "-")

# Role -> accepted header names (compared without case, after dropping a unit suffix such as "(¥)").
HEADERS: dict[str, tuple[str, ...]] = {
    "billing_cycle": ("账期", "Billing Cycle"),
    "account_id": ("账号ID", "帐号ID", "Account ID"),
    "resource_id": ("资源ID", "Resource ID"),
    "resource_name": ("资源名称", "Resource Name"),
    "tags": ("资源标签", "Resource Tag", "Resource Tags"),
    "start": ("使用开始时间", "Usage Start Time", "Start Time"),
    "end": ("使用结束时间", "Usage End Time", "End Time"),
    "amount": ("应付金额", "Amount Due"),
    "list_price": ("官网价", "List Price"),
    "currency": ("币种", "Currency"),
    "billing_mode": ("计费模式", "Billing Mode"),
    "service_name": ("产品类型", "Service Type", "Product Type"),
    "resource_type": ("资源类型", "Resource Type"),
    "sku_id": ("规格", "Specifications"),
    "region": ("区域", "Region"),
}
MANDATORY = ("billing_cycle", "resource_id", "start", "end", "amount")
# Half- and full-width parentheses around the unit: 应付金额(¥), 应付金额\uff08元\uff09.
_UNIT = re.compile("^(.*?)\\s*[(\uff08]\\s*([^)\uff09]*?)\\s*[)\uff09]\\s*$")
_UNIT_CURRENCY = {"¥": "CNY", "￥": "CNY", "元": "CNY", "RMB": "CNY", "$": "USD", "€": "EUR"}
_CYCLE = re.compile(r"(\d{4})\s*[-/年.]?\s*(\d{1,2})\s*月?")
_SUBSCRIPTION = ("包年", "包月", "yearly", "monthly")


@dataclass
class Layout:
    """Which header column plays which role in this file, and the currency its amount header names."""

    columns: dict[str, str]
    amount_currency: str | None
    usecols: list[str] = field(default_factory=list)

    @property
    def currency_column(self) -> str:
        return self.columns.get("currency", self.columns["amount"])


def resolve_columns(header: list[str], path: str | Path, *, account_id: str | None = None) -> Layout:
    wanted = {name.lower(): role for role, names in HEADERS.items() for name in names}
    columns: dict[str, str] = {}
    units: dict[str, str] = {}
    for name in header:
        base, unit = name, None
        match = _UNIT.match(name)
        if match:
            base, unit = match.group(1), match.group(2)
        role = wanted.get(base.strip().lower())
        if role and role not in columns:
            columns[role] = name
            if unit:
                units[role] = unit
    missing = [role for role in MANDATORY if role not in columns]
    if "account_id" not in columns and not account_id:
        missing.append("account_id")
    if missing:
        names = "; ".join(" / ".join(HEADERS[role]) for role in missing)
        raise BillError(path, f"missing CBC column(s): {names}", line=1, column=HEADERS[missing[0]][0])
    unit = units.get("amount")
    currency = _UNIT_CURRENCY.get(unit, unit.upper() if unit and re.fullmatch(r"[A-Za-z]{3}", unit) else None)
    if currency is None and "currency" not in columns:
        if unit:
            reason = f"unknown currency {unit!r} in the amount header"
            raise BillError(path, reason, line=1, column=columns["amount"])
        currency = "CNY"  # the Chinese console's bills without a unit are in yuan
    return Layout(columns, currency, list(columns.values()))


def convert_chunk(
    raw: RawChunk,
    layout: Layout,
    path: str | Path,
    *,
    account_id: str | None,
    timezone: str = DEFAULT_TIMEZONE,
) -> pd.DataFrame:
    """Validate one chunk and return its canonical lines; faulty rows raise BillErrors (all of them)."""
    frame, n, columns = raw.frame, len(raw.frame), layout.columns
    faults = L.Faults()
    out: dict[str, object] = {}

    def col(role: str) -> pd.Series | None:
        return frame[columns[role]] if role in columns else None

    def raw_value(role: str, row: int) -> str:
        return repr(frame[columns[role]].iat[row])

    def text(role: str) -> np.ndarray:
        values = col(role)
        if values is None:
            return np.full(n, None, dtype=object)
        cleaned = L.text(values)
        return np.array([None if v in NULL_TOKENS else v for v in cleaned], dtype=object) if n else cleaned

    amount = L.numbers(_plain_amounts(col("amount")))
    faults.add(amount.bad, columns["amount"], lambda i: f"not a number: {raw_value('amount', i)}")
    faults.add(amount.null, columns["amount"], lambda i: "missing amount")
    out["effective_cost"] = out["billed_cost"] = amount
    if "list_price" in columns:
        listed = L.numbers(_plain_amounts(col("list_price")))
        faults.add(listed.bad, columns["list_price"], lambda i: f"not a number: {raw_value('list_price', i)}")
        out["list_cost"] = listed
    else:
        out["list_cost"] = L.no_numbers(n)

    period_start, period_end, bad = _cycles(col("billing_cycle"), timezone)
    faults.add(
        bad,
        columns["billing_cycle"],
        lambda i: f"not a billing cycle (YYYY-MM): {raw_value('billing_cycle', i)}",
    )
    start, start_null, start_bad = L.timestamps(col("start"), default_zone=timezone, null_tokens=NULL_TOKENS)
    end, end_null, end_bad = L.timestamps(col("end"), default_zone=timezone, null_tokens=NULL_TOKENS)
    faults.add(start_bad, columns["start"], lambda i: f"not a timestamp: {raw_value('start', i)}")
    faults.add(end_bad, columns["end"], lambda i: f"not a timestamp: {raw_value('end', i)}")
    # A line with no usage period (a one-off fee) is spread over its billing cycle.
    both_null = start_null & end_null
    faults.add(
        start_null ^ end_null,
        columns["start" if start_null.any() else "end"],
        lambda i: "usage start and end must both be given or both be empty",
    )
    start = pd.DatetimeIndex(np.where(both_null, period_start, start)).tz_localize(None).tz_localize("UTC")
    end = pd.DatetimeIndex(np.where(both_null, period_end, end)).tz_localize(None).tz_localize("UTC")
    faults.add(
        np.asarray(end < start),
        columns["end"],
        lambda i: f"usage end {raw_value('end', i)} is before start {raw_value('start', i)}",
    )
    out["charge_period_start"], out["charge_period_end"] = start, end
    out["billing_period_start"], out["billing_period_end"] = period_start, period_end

    accounts = np.full(n, account_id, dtype=object) if account_id else text("account_id")
    if not account_id:
        faults.add(pd.isna(accounts), columns["account_id"], lambda i: "missing account id")
    out["billing_account_id"] = accounts

    if "currency" in columns:
        written = text("currency")
        currency = np.array([c.upper() if c else layout.amount_currency for c in written], dtype=object)
        faults.add(pd.isna(currency), columns["currency"], lambda i: "missing currency")
    else:
        currency = np.full(n, layout.amount_currency, dtype=object)
    out["currency"] = currency

    if "tags" in columns:
        tags, bad, reasons = _tags(col("tags"))
        faults.add(bad, columns["tags"], lambda i: reasons[i])
        out["tags"] = tags
    else:
        out["tags"] = np.array([{} for _ in range(n)], dtype=object) if n else np.empty(0, dtype=object)

    mode = text("billing_mode")
    subscription = np.array([bool(m) and any(s in m.lower() for s in _SUBSCRIPTION) for m in mode], bool)
    negative = amount.coef < 0
    category = np.where(negative, "Credit", np.where(subscription, "Purchase", "Usage"))
    out["charge_category"] = category.astype(object)
    out["charge_frequency"] = np.where(subscription, "One-Time", "Usage-Based").astype(object)
    for name in (
        "charge_class",
        "commitment_discount_id",
        "commitment_discount_status",
        "service_category",
    ):
        out[name] = np.full(n, None, dtype=object)
    out["pricing_quantity"] = out["consumed_quantity"] = L.no_numbers(n)
    out["provider"] = np.full(n, PROVIDER, dtype=object)
    for role in ("service_name", "sku_id", "region", "resource_id", "resource_name", "resource_type"):
        out[role] = text(role)
    out["source_row"] = raw.lines

    faults.raise_if_any(path, raw.lines, partial=lambda: L.canonical_frame(out))
    return L.canonical_frame(out)


def _plain_amounts(values: pd.Series) -> pd.Series:
    """Amounts as the console may write them: '1,234.50', '¥12.00' -> '1234.50', '12.00'; '--' is null."""
    cleaned = values.str.replace(r"[,¥￥\s]", "", regex=True)
    return cleaned.where(~cleaned.isin(("--", "-")), "")


def _cycles(values: pd.Series, timezone: str) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex, np.ndarray]:
    """账期 '2026-10' -> the month [start, end) in the console's zone, as UTC."""
    codes, uniques = _factorize(values)
    starts, ends, bad = [], [], np.zeros(len(uniques), dtype=bool)
    for i, value in enumerate(uniques):
        match = _CYCLE.fullmatch(value.strip())
        month = int(match.group(2)) if match else 0
        if not match or not 1 <= month <= 12:
            bad[i] = True
            starts.append(pd.NaT)
            ends.append(pd.NaT)
            continue
        first = pd.Timestamp(f"{match.group(1)}-{month:02d}-01T00:00{timezone}")
        starts.append(first.tz_convert("UTC"))
        ends.append((first + pd.DateOffset(months=1)).tz_convert("UTC"))
    start_index = pd.DatetimeIndex(starts, dtype="datetime64[us, UTC]")
    end_index = pd.DatetimeIndex(ends, dtype="datetime64[us, UTC]")
    return start_index.take(codes), end_index.take(codes), bad[codes]


def _tags(values: pd.Series):
    """'key:value;key2:value2' -> dict; '--' or empty: no tags. A part without ':' is a key with value ''."""
    codes, uniques = _factorize(values)
    parsed = np.empty(len(uniques), dtype=object)
    reasons = [""] * len(uniques)
    for i, value in enumerate(uniques):
        tags: dict[str, str] = {}
        stripped = value.strip()
        if stripped not in NULL_TOKENS:
            for part in re.split("[;\uff1b]", stripped):
                if not part.strip():
                    continue
                key, _, tag_value = part.partition(":")
                if not key.strip():
                    reasons[i] = f"tag without a key in {value!r} (expected key:value;key:value)"
                    break
                tags[key.strip()] = tag_value.strip()
        parsed[i] = tags
    bad = np.array([bool(r) for r in reasons], dtype=bool)
    return parsed[codes], bad[codes], L._Lookup(reasons, codes)
