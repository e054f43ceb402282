"""Rounding to the cent, in one place: rows that add up to their rounded total (largest remainder)."""

from __future__ import annotations

from decimal import Decimal

from costing.money import largest_remainder_cents
from reports.queries.common import DEPARTMENT_PARTS, ZERO


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


def split_rows(rows: list[dict], whole: str, parts: dict[str, str], total: Decimal | None = None) -> dict:
    """The one rounding of a table whose rows split into parts (clusters into workload, idle and overhead;
    departments into direct, shared, idle and overhead), as cost_rows rounds its rows.

    Each row's `whole` is rounded so that the rows add up to `total` (the exact whole when the rows are
    only part of it) rounded; then each row's parts (`parts`: the field to write -> the exact field it is
    read from) against its rounded whole. Returns the totals: `whole` and each part summed over the
    rounded rows. A page that shows the figure of a whole period (the overview) shows these totals, so
    two pages never differ by a cent on the same figure.
    """
    rounded_whole = cents(rows, whole, total)
    for row in rows:
        row.update(split_cents(row[whole], {out: row[field] for out, field in parts.items()}))
    return {whole: rounded_whole, **{out: sum((r[out] for r in rows), Decimal("0.00")) for out in parts}}


def round_department_rows(rows: list[dict], grand_total: Decimal | None = None) -> dict:
    """Departments' (or lines') totals to the cent against the (exact) grand total, then each row's parts
    against its rounded total (split_rows); returns the totals row."""
    parts = [p for p in DEPARTMENT_PARTS if p != "total"]
    return split_rows(rows, "total", {p: p for p in parts}, grand_total)
