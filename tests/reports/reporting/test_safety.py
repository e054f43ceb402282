"""User text (namespace, workload, label names) never becomes a formula in Excel or in a spreadsheet reading CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from costing.models import Namespace, Workload
from reports.periods import parse_period
from reports.reporting.builder import Column, Report, Table, build_report
from reports.reporting.csv import render_csv
from reports.reporting.excel import render_xlsx
from reports.reporting.safety import FORMULA_STARTS, safe_text
from tests.costing.scenario import DAY
from tests.reports.reporting.helpers import build_scenario, workbook

NASTY = ["=cmd|' /C calc'!A0", "+1", "-2+3", "@SUM(A1:A2)", "\tTAB", "\rCR", "-1+2"]
SAFE = ["payments", "a=b", "1+1", " =space first", ""]


def _report(texts, numbers) -> Report:
    table = Table(
        "namespaces",
        "Namespaces",
        [Column("namespace", "Namespace"), Column("cost", "Cost", "money")],
        [{"namespace": t, "cost": n} for t, n in zip(texts, numbers, strict=True)],
    )
    return Report(
        parse_period("2025-03"), None, None, "EUR", None, [("Scope", '=HYPERLINK("x")', "text")], [table]
    )


def test_safe_text():
    for text in NASTY:
        assert safe_text(text) == "'" + text
    for text in SAFE:
        assert safe_text(text) == text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_no_text_starts_a_formula_after_quoting(text):
    quoted = safe_text(text)
    assert not quoted.startswith(FORMULA_STARTS)
    assert quoted.removeprefix("'") == text if text.startswith(FORMULA_STARTS) else quoted == text


def test_workbook_cells_are_text_and_negative_numbers_stay_numbers():
    numbers = [
        Decimal("-1.50"),
        Decimal("2.00"),
        Decimal("-3"),
        Decimal("4"),
        Decimal("5"),
        Decimal("6"),
        Decimal("-7.25"),
    ]
    report = _report(NASTY, numbers)
    report.generated_at = timezone.now()
    ws = workbook(render_xlsx(report))["Namespaces"]
    for i, text in enumerate(NASTY, start=2):
        cell = ws.cell(row=i, column=1)
        # XML reads a carriage return back as a line feed; what matters is the quote in front.
        assert cell.data_type == "s" and cell.value == "'" + text.replace("\r", "\n")
        number = ws.cell(row=i, column=2)
        assert number.data_type == "n" and Decimal(str(number.value)) == numbers[i - 2]
    summary = workbook(render_xlsx(report))["Summary"]
    assert all(c.data_type != "f" for row in summary.iter_rows() for c in row)


def test_csv_cells_are_quoted_and_negative_numbers_stay_plain():
    numbers = [Decimal("-1.50")] * len(NASTY)
    rows = list(
        csv.reader(io.StringIO(render_csv(_report(NASTY, numbers), "namespaces").decode("utf-8-sig")))
    )
    assert [r[0] for r in rows[1:]] == ["'" + t for t in NASTY]
    assert {r[1] for r in rows[1:]} == {"-1.50"}
    summary = dict(
        csv.reader(io.StringIO(render_csv(_report(NASTY, numbers), "summary").decode("utf-8-sig")))
    )
    assert summary["Scope"] == '\'=HYPERLINK("x")'


@pytest.mark.django_db
def test_names_from_the_cluster_are_quoted_end_to_end():
    build_scenario(DAY)
    Namespace.objects.filter(name="search").update(name="=cmd|' /C calc'!A0")
    Workload.objects.filter(name="search-api").update(name="@SUM(1+1)")
    report = build_report("2025-03", today=date(2025, 6, 15))
    book = workbook(render_xlsx(report))
    names = [c.value for (c,) in book["Namespaces"].iter_rows(min_row=2, min_col=2, max_col=2)]
    assert "'=cmd|' /C calc'!A0" in names
    assert all(c.data_type != "f" for ws in book.worksheets for row in ws.iter_rows() for c in row)
    workloads = list(csv.DictReader(io.StringIO(render_csv(report, "workloads").decode("utf-8-sig"))))
    assert "'@SUM(1+1)" in {r["Workload"] for r in workloads}


def test_titles_and_summary_labels_are_quoted_in_both_renderings():
    table = Table("namespaces", "Namespaces", [Column("namespace", "=Namespace")], [{"namespace": "a"}])
    report = Report(parse_period("2025-03"), None, None, "@EUR", None, [("-Scope", "x", "text")], [table])
    report.generated_at = timezone.now()
    book = workbook(render_xlsx(report))
    assert book["Namespaces"].cell(row=1, column=1).value == "'=Namespace"
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True)}
    assert summary["'-Scope"] == "x" and summary["Currency"] == "'@EUR"
    header = next(csv.reader(io.StringIO(render_csv(report, "namespaces").decode("utf-8-sig"))))
    assert header == ["'=Namespace"]
    rows = dict(csv.reader(io.StringIO(render_csv(report, "summary").decode("utf-8-sig"))))
    assert rows["'-Scope"] == "x" and rows["Currency"] == "'@EUR"
