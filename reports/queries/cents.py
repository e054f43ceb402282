"""Rounding to the cent, in one place: rows that add up to their rounded total (largest remainder)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from costing.engine.rounding import round_lines
from costing.money import largest_remainder_cents
from reports.queries.common import (
    DEPARTMENT_PARTS,
    ZERO,
)


def cents(rows: list[dict], field: str, total: Decimal | None = None) -> Decimal:
    """Round `field` of every row to the cent so that the rows add up to the rounded total (largest
    remainder); returns that rounded total. `total` is the exact whole when the rows are only part of it."""
    values = [r[field] for r in rows]
    exact = total if total is not None else sum(values, ZERO)
    if not rows:
        return largest_remainder_cents([exact])[0]
    rounded = largest_remainder_cents(values, total=exact)
    for row, value in zip(rows, rounded, strict=True):
        row[field] = value
    return sum(rounded, Decimal("0.00"))


def split_cents(whole: Decimal, parts: dict[str, Decimal]) -> dict[str, Decimal]:
    """Parts of one figure rounded to the cent so that they add up to the rounded whole."""
    rounded = largest_remainder_cents(list(parts.values()), total=whole)
    return dict(zip(parts, rounded, strict=True))


def round_department_rows(rows: list[dict], grand_total: Decimal | None = None) -> dict:
    """Departments' totals to the cent against the (exact) grand total, then each row's parts against its
    rounded total (as cost_rows does); returns the totals row."""
    if not rows:
        return {p: Decimal("0.00") for p in DEPARTMENT_PARTS}
    lines = pd.DataFrame([{p: float(r[p]) for p in DEPARTMENT_PARTS} for r in rows])
    totals = largest_remainder_cents([r["total"] for r in rows], total=grand_total)
    lines["total"] = [float(t) for t in totals]
    rounded = round_lines(lines, grand_total=sum(totals, ZERO))
    for i, row in enumerate(rows):
        for p in DEPARTMENT_PARTS:
            row[p] = rounded[p].iat[i]
    return {p: sum((r[p] for r in rows), Decimal("0.00")) for p in DEPARTMENT_PARTS}
