"""The workbook, opened again with openpyxl: its numbers are the dashboard's, formatted, filtered, charted."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl.chart import BarChart

from reports.periods import parse_period
from reports.queries.costs import cost_rows
from reports.reporting.builder import build_report
from reports.reporting.excel import money_format, render_xlsx
from tests.costing.scenario import DAY
from tests.reports.reporting.helpers import (
    DEPARTMENTS,
    TWO_DAYS,
    build_scenario,
    cents,
    sheet_rows,
    summary_of,
    workbook,
)

pytestmark = pytest.mark.django_db
TODAY = date(2025, 6, 15)
MARCH = parse_period("2025-03")
SHEETS = [
    "Summary",
    "Departments",
    "Namespaces",
    "Workloads",
    "Node pools",
    "Daily trend",
    "Bill sources",
    "Recommendations",
    "Opportunities",
    "Policy",
]


@pytest.fixture
def book():
    build_scenario(DAY)
    return workbook(render_xlsx(build_report("2025-03", today=TODAY)))


def test_sheets_and_summary(book):
    assert book.sheetnames == SHEETS
    summary = summary_of(book["Summary"])
    assert summary["Period key"] == "2025-03" and summary["Currency"] == "EUR"
    assert cents(summary["Physical cost"]) == TWO_DAYS["physical"]
    assert cents(summary["Idle"]) == TWO_DAYS["idle"]
    assert summary["Status"] == "Open" and summary["Policy version(s) in force"] == "from 2025-01-01"
    assert isinstance(summary["Generated at"], datetime)
    assert summary["First day"].date() == date(2025, 3, 1)
    money_cell = next(
        row[1] for row in book["Summary"].iter_rows(min_row=2) if row[0].value == "Physical cost"
    )
    assert money_cell.number_format == money_format("EUR")


def test_department_numbers_equal_cost_rows_to_the_cent(book):
    rows, total = sheet_rows(book["Departments"])
    assert {r["Department"]: cents(r["Total"]) for r in rows} == DEPARTMENTS
    expected = cost_rows(MARCH.start, MARCH.end, "department")
    for r in rows:
        want = next(e for e in expected if e["department"] == r["Department"])
        for part in ("direct", "shared", "idle", "overhead", "total"):
            assert cents(r[part.capitalize()]) == want[part]
    assert (
        cents(total["Total"])
        == next(e for e in expected if e["row"] == "total")["total"]
        == TWO_DAYS["physical"]
    )
    assert total["Department"] == "Total"


def test_every_table_totals_the_query_it_renders(book):
    for sheet, grouping in (
        ("Namespaces", "namespace"),
        ("Workloads", "workload"),
        ("Node pools", "node_pool"),
    ):
        rows, total = sheet_rows(book[sheet])
        expected = cost_rows(MARCH.start, MARCH.end, grouping)
        want = next(e for e in expected if e["row"] == "total")
        cost_header = "Pods' cost" if sheet == "Node pools" else "Cost"
        assert cents(total[cost_header]) == want["cost"] == TWO_DAYS["workload"]
        assert sum(cents(r[cost_header]) for r in rows) == want["cost"]
        assert len(rows) == len(expected) - 1
    rows, total = sheet_rows(book["Daily trend"])
    assert (
        sum(cents(r["Physical cost"]) for r in rows) == cents(total["Physical cost"]) == TWO_DAYS["physical"]
    )


def test_formats_frozen_headers_filters_widths_and_chart(book):
    money = money_format("EUR")
    for name in SHEETS[1:]:
        ws = book[name]
        assert ws.freeze_panes == "A2", name
        assert ws["A1"].font.bold, name
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), name
        assert all(ws.column_dimensions[c].width >= 8 for c in "AB"), name
    ws = book["Departments"]
    header = [c.value for c in ws[1]]
    total_col = header.index("Total") + 1
    assert ws.cell(row=2, column=total_col).number_format == money
    assert ws.cell(row=2, column=header.index("% of total") + 1).number_format == "0.0%"
    assert isinstance(ws.cell(row=2, column=total_col).value, int | float | Decimal)
    # The filter covers the header and the rows, not the totals row under them.
    assert ws.auto_filter.ref == f"A1:L{ws.max_row - 1}"  # with the Idle GPU column
    ws = book["Daily trend"]
    assert ws.cell(row=2, column=1).number_format == "yyyy-mm-dd"
    assert ws.cell(row=2, column=1).value.date() == DAY
    charts = ws._charts
    assert len(charts) == 1 and isinstance(charts[0], BarChart) and charts[0].grouping == "stacked"
    assert len(charts[0].series) == 3  # workloads, idle, overhead
    assert "Payments" in "\n".join(str(r[0]) for r in book["Policy"].iter_rows(min_row=2, values_only=True))


def test_department_workbook(book):
    report = build_report("2025-03", department="Search", today=TODAY)
    book = workbook(render_xlsx(report))
    assert "Bill sources" not in book.sheetnames
    summary = summary_of(book["Summary"])
    assert cents(summary["Department total"]) == DEPARTMENTS["Search"]
    _rows, total = sheet_rows(book["Daily trend"])
    assert cents(total["Total"]) == DEPARTMENTS["Search"]
    assert len(book["Daily trend"]._charts[0].series) == 5  # direct, shared, idle, idle GPU, overhead
