"""The Excel rendering of a Report: one sheet per table, numbers as numbers, a native chart of the days."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

from django.utils.translation import gettext
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from reports.reporting.builder import Report, Table
from reports.reporting.safety import safe_text

HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
BOLD = Font(bold=True)
FORMATS = {
    "percent": "0.0%",
    "hours": "#,##0.00",
    "number": "#,##0.00",
    "int": "0",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}
WIDTH_SAMPLE = 300  # rows looked at to size a column: enough to see its typical width, cheap on big sheets
MAX_WIDTH = {"text": 60, "policy": 120}


def money_format(currency: str) -> str:
    """Two decimals, thousands separated, the currency code after; negatives in red."""
    code = "".join(ch for ch in currency if ch.isalnum()) or "EUR"
    return f'#,##0.00 "{code}";[Red]-#,##0.00 "{code}"'


def _cell_value(value, kind: str):
    if value is None:
        return None
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, datetime):
        # Excel has no time zones: the workbook says UTC in its headers, the values are UTC.
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def _format(kind: str, currency: str) -> str | None:
    return money_format(currency) if kind == "money" else FORMATS.get(kind)


def _display_width(value, kind: str) -> int:
    if value is None:
        return 0
    if kind == "money":
        return len(f"{value:,.2f}") + 5
    if kind == "percent":
        return 7
    if kind in ("date",):
        return 10
    if kind == "datetime":
        return 16
    if isinstance(value, float):
        return len(f"{value:,.2f}")
    return len(str(value))


def render_xlsx(report: Report) -> bytes:
    """The workbook's bytes: Summary, then each table (Restatement early when present), Policy last."""
    wb = Workbook()
    summary = wb.active
    summary.title = gettext("Summary")
    _summary_sheet(summary, report)
    for table in report.tables:
        ws = wb.create_sheet(str(table.title)[:31])
        _table_sheet(ws, table, report.currency)
        if table.name == "daily" and table.rows:
            _daily_chart(ws, table)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _summary_sheet(ws, report: Report) -> None:
    ws.append([gettext("Item"), gettext("Value")])
    for cell in ws[1]:
        cell.font = BOLD
        cell.fill = HEADER_FILL
    ws.append([gettext("Currency"), safe_text(report.currency)])
    for label, value, kind in report.summary:
        # Labels are English keys in the report (closing.py looks them up); written in the language of the file.
        ws.append([safe_text(gettext(label)), _cell_value(value, kind)])
        cell = ws.cell(row=ws.max_row, column=2)
        fmt = _format(kind, report.currency)
        if fmt and value is not None and not isinstance(value, str):
            cell.number_format = fmt
        cell.alignment = Alignment(horizontal="left")
    ws.freeze_panes = "A2"
    ws.column_dimensions["A"].width = 38
    ws.column_dimensions["B"].width = 70


def _table_sheet(ws, table: Table, currency: str) -> None:
    columns = table.columns
    ws.append([safe_text(str(c.title)) for c in columns])
    for cell in ws[1]:
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    formats = [_format(c.kind, currency) for c in columns]
    for row in table.rows:
        ws.append([_cell_value(row.get(c.key), c.kind) for c in columns])
    last_data_row = ws.max_row
    if table.total is not None:
        ws.append([_cell_value(table.total.get(c.key), c.kind) for c in columns])
        for cell in ws[ws.max_row]:
            cell.font = BOLD
    # Number formats by column, on the data and totals rows.
    for index, fmt in enumerate(formats, start=1):
        if fmt is None:
            continue
        for (cell,) in ws.iter_rows(min_row=2, max_row=ws.max_row, min_col=index, max_col=index):
            if cell.value is not None and not isinstance(cell.value, str):
                cell.number_format = fmt
    ws.freeze_panes = "A2"
    last = get_column_letter(len(columns))
    # The filter covers the header and the rows, not the totals row, so sorting never moves the totals.
    ws.auto_filter.ref = f"A1:{last}{max(last_data_row, 1)}"
    sample = table.rows[:WIDTH_SAMPLE] + ([table.total] if table.total else [])
    cap = MAX_WIDTH["policy"] if table.name == "policy" else MAX_WIDTH["text"]
    for index, column in enumerate(columns, start=1):
        widest = max([_display_width(r.get(column.key), column.kind) for r in sample] + [0])
        header = min(len(str(column.title)), 24)
        ws.column_dimensions[get_column_letter(index)].width = max(8, min(cap, max(widest, header) + 2))


def _daily_chart(ws, table: Table) -> None:
    """A stacked column chart of the day's parts (workloads, idle, overhead or a department's parts)."""
    keys = [c.key for c in table.columns]
    parts = [k for k in keys if k not in ("day", "total", "coverage")]
    n = len(table.rows)
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.title = gettext("Cost per day")
    chart.y_axis.title = gettext("Cost")
    chart.x_axis.title = gettext("Day")
    chart.x_axis.number_format = "yyyy-mm-dd"
    chart.height = 9
    chart.width = 24
    first, last = keys.index(parts[0]) + 1, keys.index(parts[-1]) + 1
    data = Reference(ws, min_col=first, max_col=last, min_row=1, max_row=n + 1)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=n + 1))
    ws.add_chart(chart, f"{get_column_letter(len(keys) + 2)}2")


def as_date(value) -> date | None:
    """A cell's date read back by openpyxl (a datetime at midnight) as a date."""
    return value.date() if isinstance(value, datetime) else value
