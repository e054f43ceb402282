"""Rounding money so that the rounded parts add up to the rounded whole (largest remainder first)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

import pandas as pd

from costing.engine._validate import EngineInputError


def to_decimal(amount: Decimal | float | int) -> Decimal:
    """An exact Decimal for a Decimal or int; for a float, the shortest decimal that reads back as it.

    str() rather than Decimal(float): 2.675 is stored as 2.67499999... in binary, and an analyst who
    sees 2.675 expects 2.68.
    """
    if isinstance(amount, Decimal):
        value = amount
    elif isinstance(amount, int):
        value = Decimal(amount)
    else:
        value = Decimal(str(float(amount)))
    if not value.is_finite():
        raise EngineInputError(f"amount {amount!r} is not a finite number")
    return value


def largest_remainder(
    amounts: Sequence[Decimal | float],
    *,
    places: int = 2,
    total: Decimal | None = None,
) -> list[Decimal]:
    """Round each amount to `places` decimals so that the parts add up to the rounded whole.

    The whole is `total` rounded half-up if given, else the exact sum of the amounts rounded half-up.
    Each amount is first rounded down; the units still missing go one each to the amounts with the
    largest remainders (ties: the earlier position first). Negative amounts work the same way, since
    rounding down and remainders are taken towards minus infinity. When `total` is far from the sum,
    the difference is spread the same way, several units per amount if need be (taking units back
    from the smallest remainders first when the total is lower than the floors).
    """
    if places < 0:
        raise EngineInputError(f"places: {places!r} is negative")
    values = [to_decimal(a) for a in amounts]
    unit = Decimal(1).scaleb(-places)
    whole = to_decimal(total) if total is not None else sum(values, Decimal(0))
    target = whole.quantize(unit, rounding=ROUND_HALF_UP)
    if not values:
        if target != 0:
            raise EngineInputError(f"total: {total!r} cannot be divided among no amounts")
        return []

    floors = [v.quantize(unit, rounding=ROUND_FLOOR) for v in values]
    remainders = [v - f for v, f in zip(values, floors, strict=True)]
    missing = int((target - sum(floors, Decimal(0))) / unit)
    # sorted() is stable, so among equal remainders the earlier position comes first.
    if missing >= 0:
        order = sorted(range(len(values)), key=lambda i: -remainders[i])
    else:
        order = sorted(range(len(values)), key=lambda i: remainders[i])
    every, extra = divmod(abs(missing), len(values))
    steps = [every] * len(values)
    for i in order[:extra]:
        steps[i] += 1
    sign = 1 if missing >= 0 else -1
    return [(f + sign * s * unit).quantize(unit) for f, s in zip(floors, steps, strict=True)]


def round_lines(
    lines: pd.DataFrame,
    *,
    parts: Sequence[str] = ("direct", "shared", "idle", "overhead"),
    total: str = "total",
    places: int = 2,
    grand_total: Decimal | None = None,
) -> pd.DataFrame:
    """A copy of apportionment lines in Decimal currency units that add up both ways that matter.

    The `total` column is rounded first, against `grand_total` (the rounded physical cost, when the
    caller has it) so that departments and lines match the bill to the cent; then each row's parts
    are rounded against that row's rounded total. A column of parts may therefore differ from its
    own rounded sum by a cent or so: the total is the figure that has to reconcile.
    """
    out = lines.copy()
    totals = largest_remainder(list(lines[total]), places=places, total=grand_total)
    rows = lines[list(parts)].to_numpy(dtype=float)
    rounded = [
        largest_remainder(list(row), places=places, total=row_total)
        for row, row_total in zip(rows, totals, strict=True)
    ]
    for i, column in enumerate(parts):
        out[column] = pd.Series([r[i] for r in rounded], index=out.index, dtype=object)
    out[total] = pd.Series(totals, index=out.index, dtype=object)
    return out
