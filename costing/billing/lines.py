"""The canonical bill line every importer produces, and the vectorised readers of its values."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import numpy as np
import pandas as pd

from costing.billing.errors import MAX_ERRORS, BillError, BillErrors

# One row per bill line. Amounts are Decimal objects (exact, negative allowed), times tz-aware UTC.
CANONICAL_COLUMNS: tuple[str, ...] = (
    "billing_account_id",
    "billing_period_start",
    "billing_period_end",
    "charge_period_start",
    "charge_period_end",
    "charge_category",
    "charge_class",
    "charge_frequency",
    "commitment_discount_id",
    "commitment_discount_status",
    "provider",
    "service_name",
    "service_category",
    "sku_id",
    "region",
    "resource_id",
    "resource_name",
    "resource_type",
    "tags",
    "currency",
    "effective_cost",
    "billed_cost",
    "list_cost",
    "pricing_quantity",
    "consumed_quantity",
    "source_row",
)
AMOUNT_COLUMNS = ("effective_cost", "billed_cost", "list_cost")
TIME_COLUMNS = ("billing_period_start", "billing_period_end", "charge_period_start", "charge_period_end")

CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
CHARGE_CLASSES = ("Correction",)
CHARGE_FREQUENCIES = ("One-Time", "Recurring", "Usage-Based")
COMMITMENT_STATUSES = ("Used", "Unused")

# What real exports write for "no value": FOCUS says null, CSV writers say "" or NULL.
NULL_TOKENS = ("", "NULL", "null", "Null")

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_TIMESTAMP = re.compile(
    r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:[T ]+(\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?))?"
    r"\s*(Z|(?:UTC|GMT)?\s*[+-]\d{2}:?\d{2}|UTC|GMT)?"
)


def _factorize(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes and distinct values; the distinct values as a list, which Python iterates much faster."""
    codes, uniques = pd.factorize(values, sort=False)
    return codes, list(np.asarray(uniques, dtype=object))


def empty_lines() -> pd.DataFrame:
    """A canonical frame with no rows (what a file with only a header yields)."""
    return pd.DataFrame({name: pd.Series([], dtype=object) for name in CANONICAL_COLUMNS})


def canonical_frame(columns: dict[str, object]) -> pd.DataFrame:
    """Assemble converted columns; text stays object dtype so that a missing value is None, never NaN."""
    data = {}
    for name in CANONICAL_COLUMNS:
        values = columns[name]
        if isinstance(values, np.ndarray) and values.dtype == object:
            values = pd.Series(values, dtype=object)
        data[name] = values
    return pd.DataFrame(data)


class Faults:
    """Collects the faulty rows of every check over one chunk: up to MAX_ERRORS described, all counted."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str, str]] = []
        self.more = 0

    def add(self, bad: np.ndarray, column: str, reason) -> None:
        """`bad`: boolean mask over the chunk's rows; `reason(i)` describes row i."""
        if not bad.any():
            return
        rows = np.flatnonzero(bad)
        self.found.extend((int(i), column, reason(int(i))) for i in rows[:MAX_ERRORS])
        self.more += max(0, len(rows) - MAX_ERRORS)

    def raise_if_any(self, path, lines: np.ndarray, partial=None) -> None:
        """BillErrors with every fault, by line (`lines`: the chunk's row -> physical line).

        partial: a callable that builds the chunk's canonical frame all the same (faulty values as None), for
        the checks of whole lines (the currency) that the reader still runs on it.
        """
        if not self.found:
            return
        errors = BillErrors(path)
        errors.partial = partial
        errors.extend(
            (
                BillError(path, reason, line=int(lines[row]), column=column)
                for row, column, reason in self.found
            ),
            more=self.more,
        )
        raise errors


def null_mask(values: pd.Series) -> np.ndarray:
    return values.isin(NULL_TOKENS).to_numpy()


def decimals(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact Decimal values of a str column: (values as object array, null mask, not-a-number mask).

    Only the distinct strings are converted: bills repeat amounts a lot, and equal strings then share one
    Decimal object.
    """
    codes, uniques = _factorize(values)
    converted = np.empty(len(uniques), dtype=object)
    is_null = np.zeros(len(uniques), dtype=bool)
    is_bad = np.zeros(len(uniques), dtype=bool)
    for i, text in enumerate(uniques):
        stripped = text.strip()
        if stripped in NULL_TOKENS:
            is_null[i] = True
            converted[i] = None
        elif _NUMBER.fullmatch(stripped):
            converted[i] = Decimal(stripped)
        else:
            is_bad[i] = True
            converted[i] = None
    return converted[codes], is_null[codes], is_bad[codes]


def timestamps(
    values: pd.Series, *, default_zone: str = "+00:00", null_tokens: tuple[str, ...] = NULL_TOKENS
) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """UTC timestamps of a str column: (values, null mask, unreadable mask).

    Accepted: YYYY-MM-DD (or YYYY/M/D), optionally followed by T or a space and H:MM[:SS[.fraction]],
    optionally followed by Z, UTC, GMT or an offset such as +08:00 or GMT+08:00. A time without a zone is
    in `default_zone`.
    """
    codes, uniques = _factorize(values)
    normalised: list[str | None] = []
    is_null = np.zeros(len(uniques), dtype=bool)
    for i, text in enumerate(uniques):
        stripped = text.strip()
        match = _TIMESTAMP.fullmatch(stripped)
        if stripped in null_tokens:
            is_null[i] = True
            normalised.append(None)
        elif match:
            year, _, month, day, time, zone = match.groups()
            zone = (zone or "").replace("GMT", "").replace("UTC", "").replace(" ", "")
            if zone in ("", "Z"):
                zone = "+00:00" if match.group(6) else default_zone
            time = time.zfill(len(time) + 1) if time and time.index(":") == 1 else time
            normalised.append(f"{year}-{month.zfill(2)}-{day.zfill(2)}T{time or '00:00'}{zone}")
        else:
            normalised.append(None)
    parsed = pd.to_datetime(pd.Series(normalised, dtype=object), format="ISO8601", utc=True, errors="coerce")
    parsed_index = pd.DatetimeIndex(parsed).as_unit("us")
    is_bad = np.asarray(parsed_index.isna()) & ~is_null
    return parsed_index.take(codes), is_null[codes], is_bad[codes]


def json_tags(values: pd.Series) -> tuple[np.ndarray, np.ndarray, _Lookup]:
    """FOCUS Tags (a JSON object) as dicts of str to str: (dicts, bad mask, reason per distinct value).

    Null and empty mean no tags. Values that are not strings are written as JSON (true, 3, null -> "").
    Equal strings share one dict: treat the dicts as read-only.
    """
    codes, uniques = _factorize(values)
    parsed = np.empty(len(uniques), dtype=object)
    reasons = [""] * len(uniques)
    for i, text in enumerate(uniques):
        stripped = text.strip()
        if stripped in NULL_TOKENS:
            parsed[i] = {}
            continue
        try:
            obj = json.loads(stripped)
        except ValueError as exc:
            reasons[i] = f"not valid JSON ({exc.msg} at character {exc.pos}): {_short(text)}"
            continue
        if not isinstance(obj, dict):
            reasons[i] = f"not a JSON object: {_short(text)}"
            continue
        parsed[i] = {str(k): _tag_value(v) for k, v in obj.items()}
    bad = np.array([bool(r) for r in reasons], dtype=bool)
    return parsed[codes], bad[codes], _Lookup(reasons, codes)


class _Lookup:
    """Row -> reason, without building a list per row."""

    def __init__(self, reasons: list[str], codes: np.ndarray):
        self.reasons, self.codes = reasons, codes

    def __getitem__(self, row: int) -> str:
        return self.reasons[self.codes[row]]


def _tag_value(value) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def enum(values: pd.Series, choices: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Case-insensitive match of a str column on `choices`: (canonical spelling or None, unknown mask).

    Null is None and not unknown; "Usage-based" and "usage_based" read as "Usage-Based".
    """
    lookup = {_fold(choice): choice for choice in choices}
    codes, uniques = _factorize(values)
    mapped = np.empty(len(uniques), dtype=object)
    unknown = np.zeros(len(uniques), dtype=bool)
    for i, text in enumerate(uniques):
        stripped = text.strip()
        if stripped in NULL_TOKENS:
            mapped[i] = None
        elif _fold(stripped) in lookup:
            mapped[i] = lookup[_fold(stripped)]
        else:
            mapped[i] = stripped
            unknown[i] = True
    return mapped[codes], unknown[codes]


def text(values: pd.Series) -> np.ndarray:
    """A str column with null tokens read as None and surrounding blanks removed."""
    codes, uniques = _factorize(values)
    cleaned = np.array([None if u.strip() in NULL_TOKENS else u.strip() for u in uniques], dtype=object)
    return cleaned[codes] if len(uniques) else np.full(len(values), None, dtype=object)


def _fold(value: str) -> str:
    return value.lower().replace("_", "-").replace(" ", "-")


def _short(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")
