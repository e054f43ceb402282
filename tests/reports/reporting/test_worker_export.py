"""A scheduled export fired as beat fires it, run by a real Celery worker: files in the folder, mail sent."""

from __future__ import annotations

import json
import time

import pytest
from django_celery_beat.models import PeriodicTask

from costing.choices import RunStatus
from finops.celery import app
from reports.models import ExportRun, ScheduledExport
from tests.reports.reporting.helpers import (
    DEPARTMENTS,
    build_scenario,
    cents,
    recent_day,
    sheet_rows,
    workbook,
)
from tests.workers import running_worker


@pytest.fixture
def worker(tmp_path):
    """A real worker mailing into files and exporting under tmp_path."""
    # django-environ drops the path's first slash: four of them make an absolute folder.
    mail = {"EMAIL_URL": f"filemail:///{tmp_path / 'mail'}", "FINOPS_EXPORT_DIR": str(tmp_path / "exports")}
    with running_worker(**mail) as queue:
        yield queue


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_scheduled_export_fires_in_a_real_worker(worker, tmp_path):
    day = recent_day()
    build_scenario(day)
    schedule = ScheduledExport.objects.create(
        name="Monthly by department",
        scope="each_department",
        format="xlsx",
        recipients="finance@example.com",
        write_to_directory=True,
    )
    entry = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    # What beat sends when the crontab is due: the entry's task with the entry's arguments.
    app.send_task(entry.task, args=json.loads(entry.args), kwargs=json.loads(entry.kwargs), queue=worker)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        runs = list(ExportRun.objects.filter(schedule=schedule).order_by("department"))
        if len(runs) == 2 and all(r.status in (RunStatus.SUCCEEDED, RunStatus.FAILED) for r in runs):
            break
        time.sleep(0.25)
    assert [(r.department, r.period_key, r.status, r.error) for r in runs] == [
        ("Payments", f"{day:%Y-%m}", RunStatus.SUCCEEDED, ""),
        ("Search", f"{day:%Y-%m}", RunStatus.SUCCEEDED, ""),
    ]
    for run in runs:
        written = tmp_path / "exports" / run.file_name
        rows, _ = sheet_rows(workbook(written.read_bytes())["Departments"])
        assert [(r["Department"], cents(r["Total"])) for r in rows] == [
            (run.department, DEPARTMENTS[run.department])
        ]
    mails = [p.read_text(errors="replace") for p in (tmp_path / "mail").iterdir()]
    text = "\n".join(mails)
    assert text.count("To: finance@example.com") == 2
    assert all(run.file_name in text for run in runs)
