"""The CSV rendering of a Report: one CSV per table (and the summary), alone or together in a zip."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext

from reports.reporting.builder import Report, Table
from reports.reporting.safety import safe_text

ENCODING = "utf-8-sig"  # with a BOM, so that Excel reads UTF-8 names right
# Decimal places per column kind: money to the cent as the pages show it, shares (fractions) to a hundredth
# of a percent. Written from the exact decimal, never from a float's binary expansion (497.84001079999996).
PLACES = {"money": 2, "percent": 4, "hours": 4}
# Members readable by their owner and group once extracted (unzip applies the mode of external_attr).
MEMBER_MODE = 0o640


def writer(out):
    """The CSV writer of every export: CRLF records (RFC 4180), so a field holding a lone CR is quoted too."""
    return csv.writer(out, lineterminator="\r\n")


def table_names(report: Report) -> list[str]:
    return ["summary", *(t.name for t in report.tables)]


def _text(value, kind: str) -> str:
    """A plain cell: numbers in a dot-decimal form any spreadsheet reads as a number, text made safe."""
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (Decimal, float, int)):
        return _number(value, PLACES.get(kind))
    if isinstance(value, datetime):
        value = value.astimezone(UTC) if value.tzinfo else value
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _number(value: Decimal | float | int, places: int | None) -> str:
    """A fixed number of places, rounded half up like the pages; a float is read from its shortest repr."""
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not exact.is_finite():
        return ""
    if places is not None:
        exact = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return format(exact + 0, "f")  # + 0 turns -0.00 into 0.00


def _zip_time(report: Report) -> tuple[int, int, int, int, int, int]:
    moment = report.generated_at.astimezone(UTC) if report.generated_at.tzinfo else report.generated_at
    return moment.timetuple()[:6]


def render_table(table: Table) -> str:
    out = io.StringIO()
    rows = writer(out)
    rows.writerow([safe_text(str(c.title)) for c in table.columns])
    for row in table.rows:
        rows.writerow([_text(row.get(c.key), c.kind) for c in table.columns])
    if table.total is not None:
        rows.writerow([_text(table.total.get(c.key), c.kind) for c in table.columns])
    return out.getvalue()


def render_summary(report: Report) -> str:
    out = io.StringIO()
    rows = writer(out)
    rows.writerow([gettext("Item"), gettext("Value")])
    rows.writerow([gettext("Currency"), safe_text(report.currency)])
    for label, value, kind in report.summary:
        rows.writerow([safe_text(gettext(label)), _text(value, kind)])
    return out.getvalue()


def render_csv(report: Report, table: str) -> bytes:
    """One table (or `summary`) as CSV bytes."""
    if table == "summary":
        return render_summary(report).encode(ENCODING)
    found = report.table(table)
    if found is None:
        raise KeyError(f"table: {table!r} is not one of {', '.join(table_names(report))}")
    return render_table(found).encode(ENCODING)


def render_zip(report: Report) -> bytes:
    """Every table as its own CSV in one zip: summary.csv, departments.csv, ..."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in table_names(report):
            member = zipfile.ZipInfo(f"{name}.csv", date_time=_zip_time(report))
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = (0o100000 | MEMBER_MODE) << 16  # a regular file, rw-r-----
            archive.writestr(member, render_csv(report, name))
    return buffer.getvalue()
