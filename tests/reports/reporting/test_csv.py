"""The CSV rendering: one CSV per table in a zip, or one table alone; numbers as plain numbers."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest

from reports.reporting.builder import Column, Table, build_report
from reports.reporting.csv import render_csv, render_table, render_zip
from tests.costing.scenario import DAY
from tests.reports.reporting.helpers import DEPARTMENTS, TWO_DAYS, build_scenario

pytestmark = pytest.mark.django_db
TODAY = date(2025, 6, 15)


def read(content: bytes) -> list[dict]:
    assert content.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads the UTF-8 right
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


@pytest.fixture
def report():
    build_scenario(DAY)
    return build_report("2025-03", today=TODAY)


def test_zip_holds_every_table(report):
    archive = zipfile.ZipFile(io.BytesIO(render_zip(report)))
    assert archive.namelist() == [
        "summary.csv",
        "departments.csv",
        "namespaces.csv",
        "workloads.csv",
        "node_pools.csv",
        "daily.csv",
        "bill_sources.csv",
        "recommendations.csv",
        "opportunities.csv",
        "policy.csv",
    ]
    departments = read(archive.read("departments.csv"))
    assert {r["Department"]: Decimal(r["Total"]) for r in departments[:-1]} == DEPARTMENTS
    assert (
        departments[-1]["Department"] == "Total" and Decimal(departments[-1]["Total"]) == TWO_DAYS["physical"]
    )
    summary = {r["Item"]: r["Value"] for r in read(archive.read("summary.csv"))}
    assert summary["Physical cost"] == "35.32" and summary["First day"] == "2025-03-01"


def test_one_table(report):
    daily = read(render_csv(report, "daily"))
    assert [r["Day"] for r in daily] == ["2025-03-10", "2025-03-11", "Total"]
    assert [r["Physical cost"] for r in daily] == ["32.92", "2.40", "35.32"]
    with pytest.raises(KeyError, match="'pods' is not one of summary, departments"):
        render_csv(report, "pods")


def test_money_and_shares_are_written_exactly():
    table = Table(
        "t",
        "T",
        [Column("cost", "Cost", "money"), Column("share", "Share", "percent"), Column("h", "Hours", "hours")],
        rows=[
            # What a sum of floats gives; the CSV carries the cents the page shows, not the binary expansion.
            {"cost": 497.84001079999996, "share": 0.1234567, "h": 0.30000000000000004},
            {"cost": Decimal("0.005000000000"), "share": 1.0, "h": Decimal("2")},
            {"cost": Decimal("-0.001"), "share": 0.00005, "h": None},
        ],
        total={"cost": Decimal("497.845"), "share": None, "h": 2.3},
    )
    rows = list(csv.reader(io.StringIO(render_table(table))))
    assert rows[1:] == [
        ["497.84", "0.1235", "0.3000"],
        ["0.01", "1.0000", "2.0000"],  # half up, as the pages round
        ["0.00", "0.0001", ""],  # no "-0.00"
        ["497.85", "", "2.3000"],
    ]


def test_zip_members_are_readable_by_the_group(report):
    archive = zipfile.ZipFile(io.BytesIO(render_zip(report)))
    modes = {info.filename: (info.external_attr >> 16) & 0o7777 for info in archive.infolist()}
    assert set(modes.values()) == {0o640}
    assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
    assert archive.testzip() is None
