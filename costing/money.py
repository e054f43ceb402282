"""Money's units and rounding: the one definition of stored units (1e-8), cents and how to move between them.

Amounts are stored as Decimal with PLACES (8) decimals. Code that sums many of them carries them as
int64 counts of UNIT (1e-8 of the currency), so that every sum is exact and stored parts add up to
stored totals by construction. What people see is rounded to the CENT once, at the edge, by largest
remainder (costing/engine/rounding.py) so that rounded rows add up to the rounded whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from costing.engine.rounding import largest_remainder

PLACES = 8  # decimals of every stored amount
UNIT = Decimal(1).scaleb(-PLACES)  # 1e-8 of the currency: what a stored amount counts
UNITS_PER_CURRENCY = 10**PLACES
CENT_PLACES = 2  # decimals of every amount shown, exported or answered by the API
CENT = Decimal(1).scaleb(-CENT_PLACES)


def to_units(value) -> int:
    """A count of UNITs: exact for a Decimal (rounded half even past 8 places), rounded for a float."""
    if isinstance(value, Decimal):
        return int(value.scaleb(PLACES).to_integral_value())
    return round(float(value) * UNITS_PER_CURRENCY)


def to_money(units) -> Decimal:
    """A Decimal of 8 places from a count of UNITs."""
    return Decimal(int(units)).scaleb(-PLACES)


def units_text(units) -> list[str] | str:
    """Counts of UNITs as the decimal text of PLACES places (1234567 -> "0.01234567"): what COPY and
    Decimal() read exactly, with no float in between."""

    def text(u: int) -> str:
        sign = "-" if u < 0 else ""
        whole, frac = divmod(abs(int(u)), UNITS_PER_CURRENCY)
        return f"{sign}{whole}.{frac:0{PLACES}d}"

    if np.isscalar(units):
        return text(units)
    return [text(u) for u in units]


def sum_units(value) -> int:
    """A summed amount read from SQL in UNITs: exact from PostgreSQL's numeric, rounded from SQLite's
    float; 0 for the NULL of an empty sum."""
    return 0 if value is None else to_units(value)


def units_array(values) -> np.ndarray:
    """int64 counts of UNITs: element by element (exact) for Decimals, vectorised for floats."""
    array = np.asarray(values)
    if array.dtype == object:
        return np.fromiter((to_units(v) for v in array), dtype=np.int64, count=len(array))
    return np.rint(array.astype(float) * UNITS_PER_CURRENCY).astype(np.int64)


def round_cents(amount) -> Decimal:
    """One amount rounded half up to the cent (what a page shows of a figure it did not round itself)."""
    if amount is None or amount == "":
        return Decimal(0).quantize(CENT)
    if not isinstance(amount, Decimal):
        amount = Decimal(str(amount))
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def largest_remainder_cents(amounts: Sequence, total: Decimal | None = None) -> list[Decimal]:
    """Amounts rounded to the cent so that they add up to `total` (else their exact sum) rounded half up."""
    return largest_remainder(amounts, places=CENT_PLACES, total=total)
