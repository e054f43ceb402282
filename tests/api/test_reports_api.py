"""Reports and exports by the API: create, status, download (built by the real task, eagerly), access, errors."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from costing.choices import Role, RunStatus
from costing.models import DepartmentCostDay
from finops.celery import app
from reports.models import ExportRun
from reports.periods import parse_period
from reports.queries.costs import cost_rows
from reports.reporting.closing import close_period
from reports.reporting.delivery import XLSX_TYPE
from tests.api.conftest import DAY, NEXT
from tests.reports.reporting.helpers import (
    DEPARTMENTS,
    TWO_DAYS,
    cents,
    make_user,
    sheet_rows,
    summary_of,
    workbook,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod(prod_of_module, db):
    """The scenario built once for this module's tests, which only read it (tests/api/conftest.py)."""
    return prod_of_module


EXPORTS = "/api/v1/reports/exports/"
MONTH = f"{DAY:%Y-%m}"  # the scenario's two days lie in it


@pytest.fixture
def eager(settings, tmp_path):
    """Exports built in process by the real task, their files in the test's folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True  # Celery read its settings once, at start
    yield
    app.conf.task_always_eager = before


def create(client, capture, execute=True, **fields):
    with capture(execute=execute) as callbacks:
        answer = client.post(EXPORTS, {"period": MONTH, **fields}, format="json")
    return answer, callbacks


def download_bytes(response) -> bytes:
    return b"".join(response.streaming_content)


def department_totals() -> dict[str, Decimal]:
    """The Departments figures of the month as reports.queries.cost_rows gives them (stored results)."""
    month = parse_period(MONTH)
    rows = cost_rows(month.start, month.end, "department")
    return {r["department"]: r["total"] for r in rows if r["row"] != "total"}


def test_create_status_download(prod, client_as, users, eager, django_capture_on_commit_callbacks):
    client = client_as("admin")
    created, callbacks = create(client, django_capture_on_commit_callbacks)
    assert created.status_code == 201, created.content
    assert len(callbacks) == 1  # enqueued after commit, once
    body = created.json()
    run = ExportRun.objects.get(pk=body["id"])
    assert (run.period_key, run.format, run.requested_by, run.schedule) == (
        MONTH,
        "xlsx",
        users["admin"],
        None,
    )
    assert created["Location"] == body["url"] and body["url"].endswith(f"/api/v1/reports/exports/{run.pk}/")

    status = client.get(body["url"]).json()
    assert status["status"] == RunStatus.SUCCEEDED and status["ready"] is True and status["progress"] == 1.0
    assert status["finished_at"] and status["created_at"] and status["error"] == ""
    assert status["download_url"].endswith(f"/api/v1/reports/exports/{run.pk}/download")

    download = client.get(status["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == XLSX_TYPE
    assert download["Content-Disposition"].startswith("attachment")
    assert f"costs-{MONTH}-organisation.xlsx" in download["Content-Disposition"]
    book = workbook(download_bytes(download))
    rows, total = sheet_rows(book["Departments"])
    from_workbook = {r["Department"]: cents(r["Total"]) for r in rows}
    assert from_workbook == department_totals() == DEPARTMENTS  # the hand-computed figures
    assert cents(total["Total"]) == TWO_DAYS["physical"]
    assert cents(summary_of(book["Summary"])["Physical cost"]) == TWO_DAYS["physical"]


def test_csv_export_is_a_zip(prod, client_as, eager, django_capture_on_commit_callbacks):
    client = client_as("viewer")
    created, _ = create(client, django_capture_on_commit_callbacks, format="csv", cluster="prod")
    assert created.status_code == 201 and created.json()["scope"] == "cluster prod"
    download = client.get(f"{EXPORTS}{created.json()['id']}/download")
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(download_bytes(download))).namelist()
    assert any(name.endswith("departments.csv") for name in names), names


def test_not_ready_is_409(prod, client_as, django_capture_on_commit_callbacks):
    client = client_as("admin")
    created, callbacks = create(client, django_capture_on_commit_callbacks, execute=False)
    assert created.status_code == 201 and len(callbacks) == 1  # queued, not run
    body = created.json()
    assert (body["status"], body["ready"], body["download_url"]) == (RunStatus.PENDING, False, None)
    early = client.get(f"{EXPORTS}{body['id']}/download")
    assert early.status_code == 409 and early.json()["status"] == RunStatus.PENDING
    ExportRun.objects.filter(pk=body["id"]).update(status=RunStatus.FAILED, error="ReportError: boom")
    failed = client.get(f"{EXPORTS}{body['id']}/download")
    assert failed.status_code == 409 and "boom" in failed.json()["detail"]
    assert client.get(body["url"]).json()["error"] == "ReportError: boom"


def test_a_built_file_that_is_gone_is_410(prod, client_as, eager, django_capture_on_commit_callbacks):
    client = client_as("admin")
    created, _ = create(client, django_capture_on_commit_callbacks)
    run = ExportRun.objects.get(pk=created.json()["id"])
    Path(run.file_path).unlink()
    assert client.get(f"{EXPORTS}{run.pk}/download").status_code == 410


def test_others_exports_are_404_unless_admin(
    prod, client_as, django_user_model, eager, django_capture_on_commit_callbacks
):
    created, _ = create(client_as("viewer"), django_capture_on_commit_callbacks)
    pk = created.json()["id"]
    other = make_user(django_user_model, "val", Role.VIEWER)
    stranger = APIClient()
    stranger.force_login(other)
    assert stranger.get(f"{EXPORTS}{pk}/").status_code == 404
    assert stranger.get(f"{EXPORTS}{pk}/download").status_code == 404
    assert stranger.get(EXPORTS).json()["count"] == 0
    assert client_as("dept").get(f"{EXPORTS}{pk}/download").status_code == 404
    assert client_as("viewer").get(EXPORTS).json()["results"][0]["id"] == pk
    admin = client_as("admin")
    assert admin.get(f"{EXPORTS}{pk}/").json()["requested_by"] == "vic"
    assert admin.get(f"{EXPORTS}{pk}/download").status_code == 200
    assert admin.get(EXPORTS).json()["count"] == 1
    assert admin.get(f"{EXPORTS}424242/download").status_code == 404


def test_department_viewers_export_only_their_departments(
    prod, client_as, users, django_user_model, eager, django_capture_on_commit_callbacks
):
    dept = client_as("dept")  # Payments
    other, _ = create(dept, django_capture_on_commit_callbacks, department="Search")
    assert other.status_code == 403
    organisation_of_two = make_user(
        django_user_model, "two", Role.DEPARTMENT_VIEWER, departments=["Search", "Payments"]
    )
    two = APIClient()
    two.force_login(organisation_of_two)
    assert create(two, django_capture_on_commit_callbacks)[0].status_code == 403
    assert not ExportRun.objects.exists()

    mine, _ = create(dept, django_capture_on_commit_callbacks)  # defaults to their one department
    assert mine.status_code == 201 and mine.json()["department"] == "Payments"
    book = workbook(download_bytes(dept.get(f"{EXPORTS}{mine.json()['id']}/download")))
    assert cents(summary_of(book["Summary"])["Department total"]) == DEPARTMENTS["Payments"]
    named, _ = create(two, django_capture_on_commit_callbacks, department="Search", format="csv")
    assert named.status_code == 201 and named.json()["scope"] == "Search"


def test_no_role_and_anonymous(prod, client_as, django_capture_on_commit_callbacks):
    for who, code in (("nobody", 403), ("anonymous", 401)):
        client = client_as(who)
        assert create(client, django_capture_on_commit_callbacks)[0].status_code == code
        assert client.get(EXPORTS).status_code == code
        assert client.get(f"/api/v1/reports/{MONTH}/").status_code == code
    assert not ExportRun.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"period": "2025-13"}, "period", "not a valid month"),
        ({"period": "2001-01"}, "period", "starts before"),
        ({"period": "2025-04"}, "period", "lies in the future"),
        ({"period": ""}, "period", "blank"),
        ({"cluster": "nope"}, "cluster", "no cluster named 'nope'"),
        ({"department": "Nobody"}, "department", "no costs were ever booked to 'Nobody'"),
        ({"format": "pdf"}, "format", "not a valid choice"),
    ],
)
def test_bad_requests_are_400_with_the_field(
    prod, client_as, fields, field, message, django_capture_on_commit_callbacks
):
    answer, callbacks = create(client_as("admin"), django_capture_on_commit_callbacks, **fields)
    assert answer.status_code == 400, answer.content
    errors = answer.json()["errors"]
    assert message in " ".join(errors[field]), errors
    assert not ExportRun.objects.exists() and not callbacks


# ----------------------------------------------------------------------------------- report as data


def test_report_as_json(prod, client_as):
    body = client_as("viewer").get(f"/api/v1/reports/{MONTH}/").json()
    assert body["period"]["key"] == MONTH and body["scope"] == "Organisation" and body["status"] == "open"
    summary = {item["label"]: item["value"] for item in body["summary"]}
    assert summary["Physical cost"] == str(TWO_DAYS["physical"])
    departments = next(t for t in body["tables"] if t["name"] == "departments")
    assert {r["department"]: r["total"] for r in departments["rows"]} == {
        name: str(total) for name, total in department_totals().items()
    }
    assert departments["total"]["total"] == "35.32"
    assert {c["key"] for c in departments["columns"]} >= {"department", "direct", "total"}
    assert {t["name"] for t in body["tables"]} >= {"namespaces", "workloads", "node_pools", "daily", "policy"}
    by_cluster = client_as("admin").get(f"/api/v1/reports/{DAY}..{NEXT}/?cluster=prod").json()
    assert by_cluster["cluster"] == "prod" and by_cluster["period"]["kind"] == "custom"
    daily = next(t for t in by_cluster["tables"] if t["name"] == "daily")
    assert [r["day"] for r in daily["rows"]] == [DAY.isoformat()]


def test_report_access_and_errors(prod, client_as):
    dept = client_as("dept")
    mine = dept.get(f"/api/v1/reports/{MONTH}/").json()
    assert mine["department"] == "Payments"
    assert {i["label"]: i["value"] for i in mine["summary"]}["Department total"] == str(
        DEPARTMENTS["Payments"]
    )
    assert dept.get(f"/api/v1/reports/{MONTH}/?department=Search").status_code == 403
    viewer = client_as("viewer")
    for path, field in (
        ("2025-13/", "period"),
        ("2001/", "period"),
        (f"{MONTH}/?cluster=nope", "cluster"),
        (f"{MONTH}/?department=Nobody", "department"),
    ):
        answer = viewer.get(f"/api/v1/reports/{path}")
        assert answer.status_code == 400 and field in answer.json()["errors"], (path, answer.content)


def test_a_closed_period_shows_its_frozen_figures(prod, client_as, users, monkeypatch):
    later = datetime(2025, 4, 15, 12, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: later)
    close_period(MONTH, users["admin"], "month end")
    # The stored results move after the closing (a late correction of 1.00 to Search).
    row = DepartmentCostDay.objects.get(day=DAY, name="Search")
    DepartmentCostDay.objects.filter(pk=row.pk).update(direct=row.direct + 1, total=row.total + 1)

    body = client_as("viewer").get(f"/api/v1/reports/{MONTH}/").json()
    assert body["status"] == "restated" and body["closed_by"] == "ada"
    departments = next(t for t in body["tables"] if t["name"] == "departments")
    assert {r["department"]: r["total"] for r in departments["rows"]} == {
        name: str(total) for name, total in DEPARTMENTS.items()
    }
    # The restatement: closed figure beside the current one (cost_rows over the moved results).
    now = department_totals()["Search"]
    assert now != DEPARTMENTS["Search"]
    restatement = next(t for t in body["tables"] if t["name"] == "restatement")
    search = next(r for r in restatement["rows"] if r["department"] == "Search")
    assert (search["closed_total"], search["current_total"], search["adjustment"]) == (
        "5.72",
        str(now),
        str(now - DEPARTMENTS["Search"]),
    )
