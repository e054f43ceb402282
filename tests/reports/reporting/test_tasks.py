"""Scheduled exports in process: the beat entry, the files and mails of a run, retries of transient mail errors."""

from __future__ import annotations

import json
import smtplib
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from costing.choices import RunStatus
from costing.models import UserLanguage
from finops.celery import app
from reports.models import ExportRun, ScheduledExport
from reports.tasks import MAX_RETRIES, build_export, retry_countdown, run_schedule
from tests.reports.reporting.helpers import (
    DEPARTMENTS,
    build_scenario,
    cents,
    recent_day,
    sheet_rows,
    summary_of,
    workbook,
)

pytestmark = pytest.mark.django_db


class FlakyBackend(BaseEmailBackend):
    """Fails the first `failures` sends with `error`, then delivers into `sent`."""

    failures = 0
    error: Exception = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    sent: list = []

    def send_messages(self, messages):
        if FlakyBackend.failures > 0:
            FlakyBackend.failures -= 1
            raise FlakyBackend.error
        FlakyBackend.sent.extend(messages)
        return len(messages)


@pytest.fixture
def eager():
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def folders(settings, tmp_path):
    settings.FINOPS_EXPORT_DIR = tmp_path / "exports"
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path


@pytest.fixture
def day():
    day = recent_day()
    build_scenario(day)
    return day


def run_day(day):
    """The 2nd of the month after `day`: its previous month is the scenario's."""
    return (day.replace(day=28) + timedelta(days=5)).replace(day=2)


def test_schedule_is_a_beat_entry_with_its_crontab():
    schedule = ScheduledExport.objects.create(
        name="Monthly by department", scope="each_department", recipients="finance@example.com"
    )
    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    assert task.task == "reports.run_schedule" and json.loads(task.args) == [schedule.pk]
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
        "0",
        "6",
        "2",
        "*",
        "*",
    )
    assert str(cron.timezone) == "UTC" and task.enabled
    schedule.enabled = False
    schedule.hour = "7"
    schedule.save()
    task.refresh_from_db()
    assert not task.enabled and task.crontab.hour == "7"
    schedule.delete()
    assert not PeriodicTask.objects.filter(pk=task.pk).exists()


def test_a_scheduled_run_writes_one_file_per_department_and_mails_them(
    day, folders, eager, mailoutbox, django_capture_on_commit_callbacks
):
    schedule = ScheduledExport.objects.create(
        name="Monthly",
        scope="each_department",
        recipients="finance@example.com, cfo@example.com",
        write_to_directory=True,
        subdirectory="monthly",
    )
    with django_capture_on_commit_callbacks(execute=True):
        ids = run_schedule.apply((schedule.pk,), {"today": run_day(day).isoformat()}).get()
    runs = list(ExportRun.objects.filter(pk__in=ids).order_by("department"))
    assert [(r.department, r.period_key, r.status, r.attempts) for r in runs] == [
        ("Payments", f"{day:%Y-%m}", RunStatus.SUCCEEDED, 1),
        ("Search", f"{day:%Y-%m}", RunStatus.SUCCEEDED, 1),
    ]
    for run in runs:
        written = folders / "exports" / "monthly" / run.file_name
        assert str(written) in run.delivered_to and "finance@example.com" in run.delivered_to
        rows, _ = sheet_rows(workbook(written.read_bytes())["Departments"])
        assert [(r["Department"], cents(r["Total"])) for r in rows] == [
            (run.department, DEPARTMENTS[run.department])
        ]
        assert run.started_at <= run.finished_at
    assert len(mailoutbox) == 2
    assert mailoutbox[0].to == ["finance@example.com", "cfo@example.com"]
    assert {m.attachments[0][0] for m in mailoutbox} == {r.file_name for r in runs}


def test_a_transient_smtp_failure_is_retried_then_recorded(day, folders, eager, settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.sent = []
    FlakyBackend.error = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    schedule = ScheduledExport.objects.create(name="M", recipients="finance@example.com")
    run = ExportRun.objects.create(schedule=schedule, period_key=f"{day:%Y-%m}", format="csv")
    FlakyBackend.failures = 2
    build_export.apply((run.pk,))
    run.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.SUCCEEDED, 3)
    assert "attempt 2 failed (SMTPServerDisconnected: Connection unexpectedly closed)" in run.error
    assert run.error.endswith("then succeeded on attempt 3")
    assert len(FlakyBackend.sent) == 1 and FlakyBackend.sent[0].attachments[0][0].endswith("-csv.zip")


def test_retries_are_bounded_and_permanent_errors_are_not_retried(day, folders, eager, settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    schedule = ScheduledExport.objects.create(name="M", recipients="finance@example.com")
    FlakyBackend.error = smtplib.SMTPConnectError(421, "try later")
    FlakyBackend.failures = 100
    run = ExportRun.objects.create(schedule=schedule, period_key=f"{day:%Y-%m}")
    build_export.apply((run.pk,))
    run.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.FAILED, MAX_RETRIES + 1)
    assert run.error.startswith(f"gave up after {MAX_RETRIES + 1} attempts: SMTPConnectError")
    assert FlakyBackend.failures == 100 - (MAX_RETRIES + 1)

    FlakyBackend.error = smtplib.SMTPRecipientsRefused({"finance@example.com": (550, b"no such user")})
    FlakyBackend.failures = 100
    run = ExportRun.objects.create(schedule=schedule, period_key=f"{day:%Y-%m}")
    build_export.apply((run.pk,))
    run.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.FAILED, 1)
    assert "SMTPRecipientsRefused" in run.error
    # Running a finished run again does nothing (a redelivered message after a worker crash).
    build_export.apply((run.pk,))
    run.refresh_from_db()
    assert run.attempts == 1


def test_backoff_doubles_and_is_capped(settings):
    settings.FINOPS_EXPORT_RETRY_SECONDS = 30
    assert [retry_countdown(n) for n in range(4)] == [30, 60, 120, 240]
    assert retry_countdown(20) == 3600


def test_a_run_with_nothing_to_export_is_recorded_as_failed(folders, eager):
    schedule = ScheduledExport.objects.create(name="M", scope="each_department", write_to_directory=True)
    (run_id,) = run_schedule.apply((schedule.pk,), {"today": timezone.now().date().isoformat()}).get()
    run = ExportRun.objects.get(pk=run_id)
    assert run.status == RunStatus.FAILED and "nothing to export" in run.error
    assert run.finished_at is not None


def test_each_recipient_gets_the_export_mail_and_file_in_their_language(
    day, folders, eager, mailoutbox, settings, django_user_model
):
    """One recipient chose Chinese, one English, one is no user: two mails, each with its file's headers in
    its language and the same figures; the kept file is the one in FINOPS_LANGUAGE."""
    settings.FINOPS_LANGUAGE = "en"
    li = django_user_model.objects.create_user("li", email="li@example.com")
    UserLanguage.objects.create(user=li, language="zh-hans")
    ann = django_user_model.objects.create_user("ann", email="ann@example.com")
    UserLanguage.objects.create(user=ann, language="en")
    schedule = ScheduledExport.objects.create(
        name="Monthly", recipients="ann@example.com, LI@example.com, cfo@example.com"
    )
    run = ExportRun.objects.create(schedule=schedule, period_key=f"{day:%Y-%m}", department="Payments")
    build_export.apply((run.pk,))
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert run.delivered_to.split("\n") == ["ann@example.com", "LI@example.com", "cfo@example.com"]
    by_to = {tuple(m.to): m for m in mailoutbox}
    assert set(by_to) == {("ann@example.com", "cfo@example.com"), ("LI@example.com",)}
    english, chinese = by_to[("ann@example.com", "cfo@example.com")], by_to[("LI@example.com",)]
    assert english.subject == f"Kubernetes costs {day:%Y-%m} — Payments"
    assert chinese.subject == f"Kubernetes 成本 {day:%Y-%m} — Payments"
    assert english.body.startswith("The scheduled export 'Monthly'")
    assert chinese.body.startswith("定时导出")
    [(en_name, en_file, _)] = english.attachments
    [(zh_name, zh_file, _)] = chinese.attachments
    assert en_name == zh_name == run.file_name
    assert en_file == Path(run.file_path).read_bytes()
    rows, _ = sheet_rows(workbook(en_file)["Departments"])
    assert [(r["Department"], cents(r["Total"])) for r in rows] == [("Payments", DEPARTMENTS["Payments"])]
    zh_book = workbook(zh_file)
    assert "Departments" not in zh_book.sheetnames
    # The summary's labels (N_ in the builder) are in the catalogue and written in Chinese.
    assert {"周期键", "生成时间"} <= set(summary_of(zh_book["摘要"]))
    assert {"Period key", "Generated at"} <= set(summary_of(workbook(en_file)["Summary"]))
    rows, _ = sheet_rows(zh_book["部门"])
    assert [(r["部门"], cents(r["合计"])) for r in rows] == [("Payments", DEPARTMENTS["Payments"])]
