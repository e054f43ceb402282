"""The export_report command: month, quarter, year and custom range, xlsx or CSV, clear errors."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from tests.reports.reporting.helpers import (
    DEPARTMENTS,
    TWO_DAYS,
    build_scenario,
    cents,
    recent_day,
    sheet_rows,
    summary_of,
    workbook,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def day():
    day = recent_day()
    build_scenario(day)
    return day


def run(*args) -> str:
    out = io.StringIO()
    call_command("export_report", *args, stdout=out)
    return out.getvalue()


def test_month_quarter_year_and_custom_range(day, tmp_path):
    quarter = f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    custom = f"{day.isoformat()}..{(day + timedelta(days=2)).isoformat()}"
    for period in (f"{day:%Y-%m}", quarter, str(day.year), custom):
        target = tmp_path / "report.xlsx"
        printed = run("--period", period, "--format", "xlsx", "--output", str(target))
        assert f"total {TWO_DAYS['physical']} EUR" in printed, period
        summary = summary_of(workbook(target.read_bytes())["Summary"])
        assert summary["Period key"] == period and cents(summary["Physical cost"]) == TWO_DAYS["physical"]


def test_department_and_cluster_scopes(day, tmp_path):
    target = tmp_path / "payments.xlsx"
    run("--period", f"{day:%Y-%m}", "--cluster", "prod", "--department", "Payments", "--output", str(target))
    book = workbook(target.read_bytes())
    rows, _ = sheet_rows(book["Departments"])
    assert [(r["Department"], cents(r["Total"])) for r in rows] == [("Payments", DEPARTMENTS["Payments"])]
    assert summary_of(book["Summary"])["Scope"] == "cluster prod, Payments"


def test_csv_zip_and_one_table(day, tmp_path):
    target = tmp_path / "all.zip"
    run("--period", f"{day:%Y-%m}", "--format", "csv", "--output", str(target))
    assert "departments.csv" in zipfile.ZipFile(target).namelist()
    one = tmp_path / "departments.csv"
    run("--period", f"{day:%Y-%m}", "--format", "csv", "--table", "departments", "--output", str(one))
    rows = list(csv.DictReader(io.StringIO(one.read_text("utf-8-sig"))))
    assert {r["Department"]: Decimal(r["Total"]) for r in rows[:-1]} == DEPARTMENTS


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2026-13"], "--period: '2026-13' is not a valid month"),
        (["--period", "last month"], "--period: 'last month' is not a period"),
        (["--period", "2001-01"], "--period: 2001-01 starts before"),
        (["--period", "2999-01"], "--period: 2999-01 lies in the future"),
        (["--cluster", "nope"], "--cluster: no cluster named 'nope'"),
        (["--department", "Nobody"], "--department: no costs were ever booked to 'Nobody'"),
        (["--format", "pdf"], "--format: 'pdf' is not one of xlsx, csv"),
        (["--table", "departments"], "--table: one table is written as CSV"),
        (["--format", "csv", "--table", "pods"], "--table: 'pods' is not one of summary, departments"),
    ],
)
def test_bad_arguments(day, tmp_path, args, message):
    base = {"--period": f"{day:%Y-%m}"}
    argv = [
        *(x for k, v in base.items() if k not in args for x in (k, v)),
        *args,
        "--output",
        str(tmp_path / "x"),
    ]
    with pytest.raises(CommandError) as error:
        run(*argv)
    assert message in str(error.value)
    assert not (tmp_path / "x").exists()


def test_output_folder_must_exist(day, tmp_path):
    with pytest.raises(CommandError, match=r"--output: folder .* does not exist"):
        run("--period", f"{day:%Y-%m}", "--output", str(tmp_path / "missing" / "x.xlsx"))
    with pytest.raises(CommandError, match="is a folder"):
        run("--period", f"{day:%Y-%m}", "--output", str(tmp_path))
