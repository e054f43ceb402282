"""Rounding to the cent, in one place: rows that add up to their rounded total (largest remainder)."""

from __future__ import annotations

from decimal import Decimal

from costing.money import CENT, largest_remainder_cents
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


def split_rows_to(rows: list[dict], whole: str, parts: list[str], part_totals: dict[str, Decimal]) -> dict:
    """Like split_rows, but each part's column also adds up to `part_totals` (already rounded: what
    another page shows for the same figure), so that a table by cluster and a table by department of the
    same costs show the same idle.

    Each row's whole is rounded against the sum of `part_totals` and its parts against it (split_rows);
    then, while a column is short of its total and another over it, a cent moves between them within the
    row where the move brings both cells closest to their exact amounts (the earlier row on a tie). Rows
    keep adding up; a cell may end a cent further from its exact amount than alone. Returns the totals.
    """
    exact = [{p: row[p] for p in parts} for row in rows]
    totals = split_rows(rows, whole, {p: p for p in parts}, sum(part_totals.values(), ZERO))
    short = {p: int((part_totals[p] - totals[p]) / CENT) for p in parts}
    while rows and any(short.values()):
        to = max(parts, key=lambda p: short[p])
        off = min(parts, key=lambda p: short[p])
        # The gain of moving a cent from `off` to `to` in a row: how far under its exact amount the `to`
        # cell is, plus how far over the `off` cell is.
        best = max(
            range(len(rows)),
            key=lambda i: (exact[i][to] - rows[i][to]) + (rows[i][off] - exact[i][off]),
        )
        rows[best][to] += CENT
        rows[best][off] -= CENT
        short[to] -= 1
        short[off] += 1
    return {whole: totals[whole], **{p: sum((r[p] for r in rows), Decimal("0.00")) for p in parts}}
