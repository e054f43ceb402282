"""Celery tasks of the reports: build an export, run a scheduled export, close a period (autodiscovered)."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from costing.choices import RunStatus
from costing.languages import default_language
from reports.models import CLOSE_TASK, EXPORT_TASK, SCHEDULE_TASK, ClosingJob, ExportRun, ScheduledExport
from reports.reporting.closing import close_period as close_now
from reports.reporting.delivery import build_file, deliver, is_transient, relative_period, schedule_scopes

log = logging.getLogger(__name__)

MAX_RETRIES = 4


def retry_countdown(retries: int) -> int:
    """Seconds before the next try: doubling from FINOPS_EXPORT_RETRY_SECONDS (default 30), at most an hour."""
    base = settings.FINOPS_EXPORT_RETRY_SECONDS
    return int(min(3600, base * 2**retries))


def _progress(run: ExportRun):
    last = [-1.0]

    def report(fraction: float, message: str) -> None:
        # A handful of writes per export: enough for the page's progress bar.
        if fraction - last[0] >= 0.05 or fraction >= 1.0:
            last[0] = fraction
            ExportRun.objects.filter(pk=run.pk).update(progress=min(fraction, 0.95), message=message[:300])

    return report


def _fail(run: ExportRun, error: str) -> None:
    run.status = RunStatus.FAILED
    run.error = error[:5000]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])


@shared_task(bind=True, name=EXPORT_TASK, ignore_result=True, acks_late=True, max_retries=MAX_RETRIES)
def build_export(self, export_id: int) -> str:
    """Build one export run's file and deliver it (scheduled runs). Safe to run twice: a finished run is
    left alone and a built file is not built again. Transient mail or network errors are retried with
    backoff up to MAX_RETRIES times; every other error fails the run at once, with the error recorded."""
    run = ExportRun.objects.select_related("schedule", "requested_by").filter(pk=export_id).first()
    if run is None or run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
        return run.status if run else "missing"
    run.status = RunStatus.RUNNING
    run.attempts += 1
    run.started_at = run.started_at or timezone.now()
    run.save(update_fields=["status", "attempts", "started_at"])
    try:
        # No browser to ask: the kept file is written in FINOPS_LANGUAGE, each e-mail (and its file) in its
        # recipients' language (reports/reporting/delivery.py, docs/i18n.md).
        with translation.override(default_language()):
            if not (run.file_path and Path(run.file_path).exists()):
                build_file(run, progress=_progress(run))
            where = deliver(run)
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        if is_transient(exc) and self.request.retries < self.max_retries:
            countdown = retry_countdown(self.request.retries)
            run.error = f"attempt {run.attempts} failed ({text}); retrying in {countdown} s"
            run.save(update_fields=["error"])
            log.warning("export run %s: %s", run.pk, run.error)
            raise self.retry(exc=exc, countdown=countdown) from None
        if is_transient(exc):
            text = f"gave up after {run.attempts} attempts: {text}"
        log.exception("export run %s failed", run.pk)
        _fail(run, text)
        return RunStatus.FAILED
    run.status = RunStatus.SUCCEEDED
    run.progress = 1.0
    run.message = gettext_noop("ready")
    run.delivered_to = "\n".join(where)
    run.error = "" if run.attempts == 1 else f"{run.error} — then succeeded on attempt {run.attempts}"
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "progress", "message", "delivered_to", "error", "finished_at"])
    return RunStatus.SUCCEEDED


@shared_task(bind=True, name=SCHEDULE_TASK, ignore_result=True, acks_late=True)
def run_schedule(self, schedule_id: int, today: str | None = None) -> list[int]:
    """Beat fires this per ScheduledExport: one ExportRun per file, each built by build_export on the
    queue this task came from. Returns the runs' ids."""
    schedule = ScheduledExport.objects.filter(pk=schedule_id).first()
    if schedule is None or not schedule.enabled:
        return []
    day = date.fromisoformat(today) if today else timezone.now().date()
    period = relative_period(schedule.period, day)
    scopes = schedule_scopes(schedule, period)
    with transaction.atomic():
        if not scopes:
            run = ExportRun.objects.create(
                schedule=schedule, period_key=period.key, format=schedule.format, started_at=timezone.now()
            )
            _fail(run, f"no department or cluster had costs in {period.key}: nothing to export")
            return [run.pk]
        runs = [
            ExportRun.objects.create(
                schedule=schedule,
                period_key=period.key,
                cluster=cluster or "",
                department=department or "",
                format=schedule.format,
            )
            for cluster, department in scopes
        ]
        info = self.request.delivery_info or {}
        queue = None if info.get("is_eager") else info.get("routing_key")
        for run in runs:
            transaction.on_commit(lambda pk=run.pk: build_export.apply_async((pk,), queue=queue))
    return [run.pk for run in runs]


def _closing_progress(job: ClosingJob):
    last = [-1.0]

    def report(fraction: float, message: str) -> None:
        if fraction - last[0] >= 0.02 or fraction >= 1.0:
            last[0] = fraction
            ClosingJob.objects.filter(pk=job.pk).update(
                progress=min(fraction, 0.99), message=message[:300], heartbeat_at=timezone.now()
            )

    return report


@shared_task(name=CLOSE_TASK, ignore_result=True, acks_late=True)
def close_period(job_id: int) -> str:
    """Run one closing job: freeze the period's figures (reports.reporting.closing.close_period) and record
    the outcome on the job. A finished job is left alone, as is a running one whose worker still beats; a
    stale one (ClosingJob.is_stale: its worker died) is taken over by the redelivered task. Any error fails
    the job with the error recorded and the period stays open (the closed figures are written in one
    transaction, at the end)."""
    with transaction.atomic():
        job = (
            ClosingJob.objects.select_for_update(of=("self",))
            .select_related("requested_by")
            .filter(pk=job_id)
            .first()
        )
        now = timezone.now()
        if job is None or not (job.status == RunStatus.PENDING or job.is_stale(now)):
            # Missing, finished, or running in another worker that still beats (acks_late redelivery).
            return job.status if job else "missing"
        # A stale running job is taken over: its worker died, and nothing of the closing was written (the
        # closed figures are written in one transaction at the end).
        job.message = (
            gettext_noop("taken over from a lost worker")
            if job.status == RunStatus.RUNNING
            else gettext_noop("starting")
        )
        job.status = RunStatus.RUNNING
        job.started_at = job.heartbeat_at = now
        job.save(update_fields=["status", "started_at", "heartbeat_at", "message"])
    try:
        closing = close_now(job.key, job.requested_by, job.comment, progress=_closing_progress(job))
    except Exception as exc:
        log.exception("closing job %s (%s) failed", job.pk, job.key)
        job.status = RunStatus.FAILED
        job.error = f"{type(exc).__name__}: {exc}"[:5000]
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
        return RunStatus.FAILED
    job.status = RunStatus.SUCCEEDED
    job.progress = 1.0
    job.message = gettext_noop("closed")
    job.closed_period = closing
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "progress", "message", "closed_period", "finished_at"])
    return RunStatus.SUCCEEDED
