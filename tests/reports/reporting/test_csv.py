"""The CSV rendering: one CSV per table in a zip, or one table alone; numbers as plain numbers."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest

from reports.reporting.builder import build_report
from reports.reporting.csv import render_csv, render_zip
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
