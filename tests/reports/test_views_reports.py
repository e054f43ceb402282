"""The Reports page: an export built by the task and downloaded by its owner; access rules; closing periods."""

from __future__ import annotations

import pytest
from django.urls import reverse

from costing.choices import Role, RunStatus
from finops.celery import app
from reports.models import ClosedPeriod, ClosingJob, ExportRun, PeriodLog, ScheduledExport
from reports.periods import parse_period
from reports.queries.costs import cost_rows
from reports.reporting.builder import report_from_data
from reports.reporting.closing import scopes_of
from tests.reports.reporting.helpers import (
    DEPARTMENTS,
    TWO_DAYS,
    build_scenario,
    cents,
    department_viewer,
    make_user,
    recent_day,
    sheet_rows,
    summary_of,
    workbook,
)

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def eager(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def day():
    day = recent_day()
    build_scenario(day)
    return day


def export(client, capture, **fields):
    with capture(execute=True):
        return client.post(reverse("report-export"), {"format": "xlsx", **fields}, **JSON)


def test_the_page_offers_the_form(client, admin_user, day):
    client.force_login(admin_user)
    page = client.get(reverse("reports"))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'name="period"' in text and f'value="{day:%Y-%m}"' in text and "Closed periods" in text


def test_export_flow_through_the_task(client, admin_user, day, eager, django_capture_on_commit_callbacks):
    client.force_login(admin_user)
    started = export(client, django_capture_on_commit_callbacks, period=f"{day:%Y-%m}")
    assert started.status_code == 202
    status = client.get(started.json()["status_url"]).json()
    assert status["status"] == RunStatus.SUCCEEDED and status["progress"] == 1.0
    # The worker's progress message, in the page's language.
    assert status["message"] == "ready"
    assert (
        client.get(started.json()["status_url"], HTTP_ACCEPT_LANGUAGE="zh-CN").json()["message"] == "已就绪"
    )
    download = client.get(status["download_url"])
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    book = workbook(b"".join(download.streaming_content))
    assert cents(summary_of(book["Summary"])["Physical cost"]) == TWO_DAYS["physical"]
    rows, _ = sheet_rows(book["Departments"])
    assert {r["Department"]: cents(r["Total"]) for r in rows} == DEPARTMENTS
    # The plain form post lands back on the page, which lists the export with its link.
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(reverse("report-export"), {"period": f"{day:%Y-%m}", "format": "csv"})
    assert posted.status_code == 302
    page = client.get(posted["Location"])
    assert page.status_code == 200 and "-csv.zip" in page.content.decode()


def test_bad_requests_are_named(client, admin_user, day):
    client.force_login(admin_user)
    for fields, message in (
        ({"period": "2026-13"}, "Period: '2026-13' is not a valid month"),
        ({"period": "2001-01"}, "starts before"),
        ({"period": f"{day:%Y-%m}", "cluster": "nope"}, "Cluster: no cluster named 'nope'"),
        ({"period": f"{day:%Y-%m}", "format": "pdf"}, "Format: 'pdf' is not one of"),
    ):
        answer = client.post(reverse("report-export"), {"format": "xlsx", **fields}, **JSON)
        assert answer.status_code == 400 and message in answer.json()["error"]
    assert not ExportRun.objects.exists()


def test_department_viewers_export_only_their_departments(
    client, django_user_model, day, eager, django_capture_on_commit_callbacks
):
    dee = department_viewer(django_user_model, "dee", ["Search"])
    client.force_login(dee)
    page = client.get(reverse("reports")).content.decode()
    assert '<option value="Search">' in page and "Payments" not in page and "Closed periods" not in page
    assert (
        export(
            client, django_capture_on_commit_callbacks, period=f"{day:%Y-%m}", department="Payments"
        ).status_code
        == 403
    )
    # Not the whole organisation either, when more than one department is theirs.
    two = department_viewer(django_user_model, "two", ["Search", "Payments"])
    client.force_login(two)
    assert export(client, django_capture_on_commit_callbacks, period=f"{day:%Y-%m}").status_code == 403
    assert not ExportRun.objects.exists()

    client.force_login(dee)
    mine = export(client, django_capture_on_commit_callbacks, period=f"{day:%Y-%m}").json()
    assert mine["scope"] == "Search"
    book = workbook(
        b"".join(client.get(client.get(mine["status_url"]).json()["download_url"]).streaming_content)
    )
    assert cents(summary_of(book["Summary"])["Department total"]) == DEPARTMENTS["Search"]
    # Someone else's export: neither its status nor its file.
    client.force_login(two)
    assert client.get(mine["status_url"]).status_code == 404
    assert client.get(reverse("report-export-download", args=[mine["id"]])).status_code == 404


def test_admins_see_failed_scheduled_runs(client, admin_user, django_user_model, day):
    schedule = ScheduledExport.objects.create(name="Monthly to finance", recipients="finance@example.com")
    ExportRun.objects.create(
        schedule=schedule,
        period_key=f"{day:%Y-%m}",
        status=RunStatus.FAILED,
        error="gave up after 5 attempts: SMTPConnectError",
    )
    client.force_login(admin_user)
    text = client.get(reverse("reports")).content.decode()
    assert "Monthly to finance" in text and "gave up after 5 attempts: SMTPConnectError" in text
    client.force_login(department_viewer(django_user_model))
    assert "SMTPConnectError" not in client.get(reverse("reports")).content.decode()
    admin_page = client.get(reverse("admin:reports_exportrun_changelist"))
    assert admin_page.status_code in (302, 403)  # the Django admin is for FinOps admins only
    client.force_login(admin_user)
    assert "SMTPConnectError" in client.get(reverse("admin:reports_exportrun_changelist")).content.decode()


def test_closing_and_reopening_from_the_page(
    client, admin_user, django_user_model, day, eager, django_capture_on_commit_callbacks
):
    key = f"{day:%Y-%m}"
    viewer = make_user(django_user_model, "vic", Role.VIEWER)
    client.force_login(viewer)
    assert client.post(reverse("report-close"), {"period": key}).status_code == 403
    assert not ClosingJob.objects.exists()
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("report-close"), {"period": key, "comment": "books closed"})
    assert answer.status_code == 302 and answer.url.startswith(reverse("reports"))
    assert ClosedPeriod.objects.get(key=key).closed_by == admin_user
    page = client.get(reverse("reports")).content.decode()
    assert "books closed" in page
    answer = client.post(reverse("report-reopen"), {"period": key, "reason": ""}, follow=True)
    assert "say why the period is reopened" in answer.content.decode()
    client.post(reverse("report-reopen"), {"period": key, "reason": "late bill"})
    assert ClosedPeriod.objects.get(key=key).reopen_reason == "late bill"
    assert list(PeriodLog.objects.order_by("at", "pk").values_list("action", "reason")) == [
        ("close", "books closed"),
        ("reopen", "late bill"),
    ]


def test_closing_and_reopening_in_the_admin(
    client, admin_user, day, eager, django_capture_on_commit_callbacks
):
    key = f"{day:%Y-%m}"
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        add = client.post(reverse("admin:reports_closedperiod_add"), {"key": key, "comment": "via admin"})
    assert add.status_code == 302 and add.url.startswith(reverse("reports"))
    assert ClosingJob.objects.get(key=key).status == RunStatus.SUCCEEDED
    closing = ClosedPeriod.objects.get(key=key)
    assert closing.snapshots.filter(cluster="", department="").exists()
    again = client.post(reverse("admin:reports_closedperiod_add"), {"key": key})
    assert "already closed" in again.content.decode()
    changelist = reverse("admin:reports_closedperiod_changelist")
    ask = client.post(changelist, {"action": "reopen", "_selected_action": [closing.pk]})
    assert "Reason" in ask.content.decode()
    client.post(
        changelist,
        {"action": "reopen", "_selected_action": [closing.pk], "apply": "1", "reason": "wrong rate"},
    )
    closing.refresh_from_db()
    assert closing.reopened_by == admin_user and closing.reopen_reason == "wrong rate"
    assert PeriodLog.objects.filter(action="reopen", reason="wrong rate").exists()


def close(client, capture, execute=True, **fields):
    with capture(execute=execute) as callbacks:
        answer = client.post(reverse("report-close"), fields, **JSON)
    return answer, callbacks


def test_closing_runs_as_a_job_with_its_status(
    client, admin_user, day, eager, django_capture_on_commit_callbacks
):
    key = f"{day:%Y-%m}"
    client.force_login(admin_user)
    answer, callbacks = close(client, django_capture_on_commit_callbacks, period=key, comment="month end")
    assert answer.status_code == 202 and len(callbacks) == 1
    job = ClosingJob.objects.get(key=key)
    assert answer.json()["status_url"] == reverse("report-close-status", args=[job.pk])
    status = client.get(answer.json()["status_url"]).json()
    assert status["status"] == "succeeded" and status["progress"] == 1.0 and status["closed"] is True
    assert status["message"] == "closed"
    assert client.get(answer.json()["status_url"], HTTP_ACCEPT_LANGUAGE="zh-CN").json()["message"] == "已关闭"
    closing = ClosedPeriod.objects.get(key=key)
    assert job.closed_period_id == closing.pk and closing.comment == "month end"
    # One snapshot per scope; the organisation's holds the stored departments' totals, cent for cent.
    period = parse_period(key)
    assert closing.snapshots.count() == len(scopes_of(period))
    snapshot = closing.snapshots.get(cluster="", department="")
    frozen = report_from_data(snapshot.data).table("departments")
    stored = cost_rows(period.start, period.end, "department")
    expected = {r["department"]: r["total"] for r in stored if r["department"] not in (None, "Total")}
    assert len(expected) >= 2
    assert {r["department"]: r["total"] for r in frozen.rows if r["department"] != "Total"} == expected
    page = client.get(reverse("reports")).content.decode()
    assert "Closed</td>" in page and key in page


def test_a_failing_closing_ends_failed_and_the_period_stays_open(
    client, admin_user, day, eager, django_capture_on_commit_callbacks, monkeypatch
):
    import reports.tasks

    def broken(*args, progress=None, **kwargs):
        progress(0.5, "halfway")
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(reports.tasks, "close_now", broken)
    key = f"{day:%Y-%m}"
    client.force_login(admin_user)
    answer, _ = close(client, django_capture_on_commit_callbacks, period=key)
    status = client.get(answer.json()["status_url"]).json()
    assert status["status"] == "failed" and status["error"] == "RuntimeError: the disk is full"
    assert status["closed"] is False
    assert not ClosedPeriod.objects.filter(key=key).exists() and not PeriodLog.objects.exists()
    assert "Failed: RuntimeError: the disk is full" in client.get(reverse("reports")).content.decode()
    # A failed job does not block the next try.
    monkeypatch.undo()
    answer, _ = close(client, django_capture_on_commit_callbacks, period=key)
    assert client.get(answer.json()["status_url"]).json()["status"] == "succeeded"
    assert ClosedPeriod.objects.filter(key=key, reopened_at__isnull=True).count() == 1


def test_a_job_whose_period_got_closed_meanwhile_fails_with_the_error(client, admin_user, day, eager):
    from reports.reporting.closing import close_period, start_closing
    from reports.tasks import close_period as close_task

    key = f"{day:%Y-%m}"
    job = start_closing(key, admin_user)  # queued; on_commit never fires inside the test's transaction
    first = close_period(key, admin_user, "closed by the command meanwhile")
    assert close_task(job.pk) == RunStatus.FAILED
    job.refresh_from_db()
    assert job.status == RunStatus.FAILED and job.error == f"ClosingError: period: {key} is already closed"
    assert list(ClosedPeriod.objects.filter(key=key).values_list("pk", flat=True)) == [first.pk]
    assert close_task(job.pk) == RunStatus.FAILED  # a finished job is left alone


def test_a_second_closing_while_one_is_pending_is_refused(
    client, admin_user, day, django_capture_on_commit_callbacks
):
    key = f"{day:%Y-%m}"
    client.force_login(admin_user)
    first, callbacks = close(client, django_capture_on_commit_callbacks, execute=False, period=key)
    assert first.status_code == 202 and len(callbacks) == 1  # queued, not run: the job stays pending
    second, callbacks = close(client, django_capture_on_commit_callbacks, execute=False, period=key)
    assert second.status_code == 409 and "already being closed" in second.json()["error"]
    assert callbacks == []
    assert list(ClosingJob.objects.values_list("status", flat=True)) == ["pending"]
    assert client.get(first.json()["status_url"]).json()["status"] == "pending"
    assert not ClosedPeriod.objects.filter(key=key).exists()  # pending is not closed
    page = client.post(reverse("report-close"), {"period": key}, follow=True).content.decode()
    assert "already being closed" in page


def test_a_closing_whose_worker_died_is_failed_by_the_next_try_and_taken_over_by_redelivery(
    client, admin_user, day, eager, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from reports.tasks import close_period as close_task

    key = f"{day:%Y-%m}"
    now = timezone.now()
    # A worker took the job 20 minutes ago and last beat 16 minutes ago, then died (killed, out of memory).
    dead = ClosingJob.objects.create(
        key=key,
        status=RunStatus.RUNNING,
        started_at=now - timedelta(minutes=20),
        heartbeat_at=now - timedelta(minutes=16),
    )
    # One that still beats is neither failed by a new try nor taken over by a redelivered task.
    alive = ClosingJob.objects.create(
        key="2020-01", status=RunStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    assert close_task(alive.pk) == RunStatus.RUNNING
    alive.refresh_from_db()
    assert alive.status == RunStatus.RUNNING and alive.message == ""
    # The redelivered task takes the stale job over and closes the period.
    assert dead.is_stale(now) and not alive.is_stale(now)
    assert close_task(dead.pk) == RunStatus.SUCCEEDED
    dead.refresh_from_db()
    assert dead.status == RunStatus.SUCCEEDED and ClosedPeriod.objects.filter(key=key).count() == 1

    # Without a redelivery, the next try marks the stale job failed instead of refusing "already being closed".
    other = f"{day.replace(day=1) - timedelta(days=1):%Y-%m}"
    lost = ClosingJob.objects.create(
        key=other, status=RunStatus.RUNNING, started_at=now - timedelta(minutes=30)
    )
    client.force_login(admin_user)
    answer, _ = close(client, django_capture_on_commit_callbacks, period=other)
    assert answer.status_code == 202
    lost.refresh_from_db()
    assert lost.status == RunStatus.FAILED
    assert (
        lost.error
        == f"worker lost: no progress since {lost.started_at:%Y-%m-%d %H:%M} UTC; the period stays open"
    )
    assert client.get(answer.json()["status_url"]).json()["status"] == "succeeded"


def test_the_database_refuses_two_closings_in_progress(admin_user, day):
    from django.db import IntegrityError, transaction

    key = f"{day:%Y-%m}"
    ClosingJob.objects.create(key=key, status=RunStatus.RUNNING)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClosingJob.objects.create(key=key)
    ClosingJob.objects.create(key=key, status=RunStatus.FAILED)  # finished jobs do not count


def test_closing_and_its_status_are_for_admins(client, admin_user, django_user_model, day):
    job = ClosingJob.objects.create(key=f"{day:%Y-%m}", requested_by=admin_user)
    url = reverse("report-close-status", args=[job.pk])
    client.force_login(make_user(django_user_model, "vera", Role.VIEWER))
    assert client.get(url).status_code == 403
    assert client.post(reverse("report-close"), {"period": job.key}, **JSON).status_code == 403
    client.force_login(admin_user)
    assert client.get(url).json()["status"] == "pending"
    assert client.get(reverse("report-close-status", args=[job.pk + 1])).status_code == 404
