"""The canonical bill line every importer produces, and the vectorised readers of its values."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from costing.billing.errors import MAX_ERRORS, BillError, BillErrors

# One row per bill line. Amounts are Decimal objects (exact, negative allowed; or, for the importer, their
# exact text with coefficient and places: see Numbers), times tz-aware UTC.
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
NUMBER_COLUMNS = (*AMOUNT_COLUMNS, "pricing_quantity", "consumed_quantity")
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
    """Assemble converted columns; text stays object dtype so that a missing value is None, never NaN.

    A number column (NUMBER_COLUMNS, given as Numbers) is its exact text, with its coefficient and places
    beside it (COEF, PLACES); BillReader turns them into Decimal objects unless asked for this form.
    """
    data = {}
    for name in CANONICAL_COLUMNS:
        values = columns[name]
        if isinstance(values, Numbers):
            data[name] = pd.Series(values.text, dtype=object)
            data[name + COEF] = values.coef
            data[name + PLACES] = values.places
            continue
        if isinstance(values, np.ndarray) and values.dtype == object:
            values = pd.Series(values, dtype=object)
        data[name] = values
    return pd.DataFrame(data)


def with_decimals(lines: pd.DataFrame) -> pd.DataFrame:
    """Canonical lines with their numbers as Decimal objects (None for null), the exact columns dropped."""
    if AMOUNT_COLUMNS[0] + COEF not in lines.columns:
        return lines
    lines = lines.drop(columns=[name + suffix for name in NUMBER_COLUMNS for suffix in (COEF, PLACES)])
    for name in NUMBER_COLUMNS:
        lines[name] = pd.Series(decimal_objects(lines[name].to_numpy()), index=lines.index, dtype=object)
    return lines


def no_numbers(n: int) -> Numbers:
    """A number column of n nulls (an optional column the file does not have)."""
    return Numbers(
        np.full(n, None, dtype=object),
        np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=np.int32),
        np.ones(n, dtype=bool),
        np.zeros(n, dtype=bool),
    )


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


# The exact columns beside an amount column in the importer's form (BillReader(decimals=False)): the value
# is coefficient x 10**-places, exactly; the amount column itself holds the exact text (None for null).
COEF, PLACES = ":coef", ":places"
_MAX_DIGITS = 18  # significant digits an int64 coefficient always holds


@dataclass(slots=True)
class Numbers:
    """A column of exact decimal numbers read from text: `text` (the number as written, stripped; None for
    null), and value = coef x 10**-places (int64 coefficients; Python ints, as objects, if any needs more
    than 18 digits); `null` and `bad` (not a number) masks. Null and bad values are 0."""

    text: np.ndarray
    coef: np.ndarray
    places: np.ndarray
    null: np.ndarray
    bad: np.ndarray

    def decimals(self) -> np.ndarray:
        """The values as Decimal objects (None for null), one object per distinct text."""
        return decimal_objects(self.text)


def numbers(values: pd.Series, null_tokens: tuple[str, ...] = NULL_TOKENS) -> Numbers:
    """Exact numbers of a str column ([+-]digits[.digits][e[+-]digits]), converted column-wise.

    Only the distinct strings are converted: bills repeat amounts a lot.
    """
    codes, uniques = _factorize(values)
    joined = "".join(uniques)
    stripped = _stripped(uniques, joined)
    null = np.isin(stripped, null_tokens) if len(stripped) else np.zeros(0, dtype=bool)
    coef, places, bad = parse_numbers(np.where(null, "0", stripped))
    text = np.where(null | bad, None, stripped)
    if not joined.isascii():
        for i in np.flatnonzero(~(null | bad)):
            if stripped[i].isascii():
                continue  # digits of other scripts: written as Decimal writes them
            text[i] = str(Decimal(stripped[i]))
    return Numbers(text[codes], coef[codes], places[codes], null[codes], bad[codes])


def _stripped(uniques: list[str], joined: str | None = None) -> np.ndarray:
    """The strings without surrounding blanks, as an object array; no loop when none has any."""
    joined = "".join(uniques) if joined is None else joined
    if joined.isascii() and not any(blank in joined for blank in " \t\r\n\v\f"):
        return np.array(uniques, dtype=object)  # the usual case
    return np.array([u.strip() for u in uniques], dtype=object)


def parse_numbers(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(coefficient, places, bad mask) of stripped number texts, on a matrix of their bytes."""
    n = len(texts)
    coef, places = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int32)
    if not n:
        return coef, places, np.zeros(0, dtype=bool)
    try:
        raw = np.array(texts.tolist(), dtype="S")
    except UnicodeEncodeError:  # not ASCII: not a number, or one to look at closely
        return _parse_slowly(texts, np.ones(n, dtype=bool), coef, places, np.zeros(n, dtype=bool))
    width = raw.dtype.itemsize
    if width > 64:
        return _parse_slowly(texts, np.ones(n, dtype=bool), coef, places, np.zeros(n, dtype=bool))
    matrix = raw.view(np.uint8).reshape(n, width)
    digit = (matrix >= 48) & (matrix <= 57)
    dot = matrix == 46
    pad = matrix == 0
    sign = np.zeros_like(digit)
    sign[:, 0] = (matrix[:, 0] == 43) | (matrix[:, 0] == 45)
    exponent = ((matrix == 101) | (matrix == 69)).any(axis=1)
    after_pad = np.logical_or.accumulate(pad, axis=1) & ~pad  # a character after the end: an inner NUL
    allowed = (digit | dot | sign | pad).all(axis=1) & ~after_pad.any(axis=1)
    digits = digit.sum(axis=1)
    bad = ~allowed | (dot.sum(axis=1) > 1) | (digits == 0)
    places[:] = (np.logical_or.accumulate(dot, axis=1) & digit).sum(axis=1)
    started = np.logical_or.accumulate(digit & (matrix != 48), axis=1)
    significant = digits - (~started & digit).sum(axis=1)
    slow = exponent | (significant > _MAX_DIGITS)
    for j in range(width):
        column = digit[:, j]
        coef = np.where(column, coef * 10 + (matrix[:, j].astype(np.int64) - 48), coef)
    coef = np.where(matrix[:, 0] == 45, -coef, coef)
    bad &= ~exponent  # "1e5": the careful path says
    coef[bad | slow] = 0
    places[bad | slow] = 0
    if slow.any():
        return _parse_slowly(texts, slow & ~bad, coef, places, bad)
    return coef, places, bad


def _parse_slowly(texts, which, coef, places, bad):
    """One by one with Decimal: exponents, more than 18 significant digits, odd characters."""
    wide = []
    for i in np.flatnonzero(which):
        text = texts[i]
        if not _NUMBER.fullmatch(text):
            bad[i] = True
            continue
        sign, digits, exponent = Decimal(text).as_tuple()
        value = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
        places[i] = -exponent
        if abs(value) > _INT64_MAX:
            wide.append((i, value))
        else:
            coef[i] = value
    if wide:
        coef = coef.astype(object)
        for i, value in wide:
            coef[i] = value
    return coef, places, bad


_INT64_MAX = 2**63 - 1


def decimal_objects(text: np.ndarray) -> np.ndarray:
    """Exact number texts (None for null) as Decimal objects, one per distinct text."""
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    objects = np.array([*map(Decimal, uniques), None], dtype=object)
    return objects[codes]


def exact_sum(coef: np.ndarray, places: np.ndarray) -> Decimal:
    """The exact sum of coef x 10**-places as a Decimal, with the exponent a Decimal sum starting from
    Decimal(0) has (the finest of the values' and 0)."""
    if not len(coef):
        return Decimal(0)
    scale = max(0, int(places.max()))
    if coef.dtype == object or scale - int(places.min()) > _MAX_DIGITS:
        total = sum(int(c) * 10 ** (scale - int(p)) for c, p in zip(coef, places, strict=True) if c)
        return Decimal(f"{total}E{-scale}")
    factor = 10 ** (scale - places).astype(np.int64)
    # Products that may not fit in int64 are summed as Python ints; the others in two int64 halves
    # (high and low 32 bits), each of which cannot overflow for fewer than 2**31 values.
    risky = np.abs(coef.astype(np.float64)) * factor.astype(np.float64) >= 2.0**62
    total = 0
    if risky.any():
        total = sum(int(c) * int(f) for c, f in zip(coef[risky], factor[risky], strict=True))
        coef, factor = coef[~risky], factor[~risky]
    scaled = coef * factor
    total += (int((scaled >> 32).sum()) << 32) + int((scaled & 0xFFFFFFFF).sum())
    return Decimal(f"{total}E{-scale}")


def too_large(coef: np.ndarray, places: np.ndarray, limit: Decimal) -> np.ndarray:
    """Mask of the values coef x 10**-places whose magnitude is `limit` or more."""
    rough = np.abs(coef.astype(np.float64)) * np.power(10.0, -places.astype(np.float64))
    large = rough >= float(limit) * (1 - 1e-9)
    for i in np.flatnonzero(large):  # near the limit, or over it: exactly
        large[i] = Decimal(f"{int(coef[i])}E{-int(places[i])}").copy_abs() >= limit  # exact, unlike abs()
    return large


def decimals(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact Decimal values of a str column: (values as object array, null mask, not-a-number mask)."""
    parsed = numbers(values)
    return parsed.decimals(), parsed.null, parsed.bad


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
    cleaned = _stripped(uniques)
    if len(cleaned):
        cleaned[np.isin(cleaned, NULL_TOKENS)] = None
    return cleaned[codes] if len(uniques) else np.full(len(values), None, dtype=object)


def _fold(value: str) -> str:
    return value.lower().replace("_", "-").replace(" ", "-")


def _short(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")
