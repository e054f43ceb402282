"""Reports' tables: exports and their runs, scheduled exports, closed periods and their frozen figures."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from costing.choices import RunStatus

EXPORT_TASK = "reports.build_export"
SCHEDULE_TASK = "reports.run_schedule"
CLOSE_TASK = "reports.close_period"

# A running closing job that has written no progress for this long lost its worker (killed, out of memory):
# the task's redelivery takes it over, and a new closing of the period marks it failed (ClosingJob.is_stale).
CLOSING_STALE = timedelta(minutes=15)


class ExportFormat(models.TextChoices):
    XLSX = "xlsx", _("Excel workbook (.xlsx)")
    CSV = "csv", _("CSV files (.zip)")


class RelativePeriod(models.TextChoices):
    PREVIOUS_MONTH = "previous_month", _("Previous month")
    PREVIOUS_QUARTER = "previous_quarter", _("Previous quarter")
    PREVIOUS_YEAR = "previous_year", _("Previous year")


class ScheduleScope(models.TextChoices):
    ORGANISATION = "organisation", _("One report (organisation, or the cluster / department below)")
    EACH_DEPARTMENT = "each_department", _("One report per department")
    EACH_CLUSTER = "each_cluster", _("One report per cluster")


class PeriodAction(models.TextChoices):
    CLOSE = "close", _("Closed")
    REOPEN = "reopen", _("Reopened")


class ClosedPeriod(models.Model):
    """One closing of a reporting period: who closed it, when, and (once reopened) who reopened it and why.

    While `reopened_at` is empty the period is closed and reports of it show its snapshots' figures.
    """

    key = models.CharField(
        max_length=40, help_text=_("period key, e.g. 2026-10 (reports/periods.py)"), verbose_name=_("key")
    )
    start = models.DateField(verbose_name=_("start"))
    end = models.DateField(help_text=_("exclusive"), verbose_name=_("end"))
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("closed by"),
    )
    closed_at = models.DateTimeField(verbose_name=_("closed at"))
    comment = models.TextField(blank=True, default="", verbose_name=_("comment"))
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reopened by"),
    )
    reopened_at = models.DateTimeField(null=True, blank=True, verbose_name=_("reopened at"))
    reopen_reason = models.TextField(blank=True, default="", verbose_name=_("reopen reason"))

    class Meta:
        verbose_name = _("closed period")
        verbose_name_plural = _("closed periods")
        ordering = ["-start", "-closed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(reopened_at__isnull=True), name="closedperiod_one_closing"
            )
        ]

    def __str__(self) -> str:
        state = "reopened" if self.reopened_at else "closed"
        return f"{self.key} ({state})"

    @property
    def is_closed(self) -> bool:
        return self.reopened_at is None


class ClosingJob(models.Model):
    """One request to close a period, run by the `reports.close_period` task: its status, progress and error.

    The period counts as closed only once the job succeeded: the ClosedPeriod and its snapshots are written
    by the task in one transaction. While a job of a period is pending or running, a second one is refused
    by the partial unique constraint. A running job beats (`heartbeat_at`) with each progress step; one
    whose beat is older than CLOSING_STALE is stale: its worker is gone.
    """

    key = models.CharField(
        max_length=40, help_text=_("period key, e.g. 2026-10 (reports/periods.py)"), verbose_name=_("key")
    )
    comment = models.TextField(blank=True, default="", verbose_name=_("comment"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    status = models.CharField(
        max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING, verbose_name=_("status")
    )
    progress = models.FloatField(default=0, help_text=_("0..1"), verbose_name=_("progress"))
    message = models.CharField(max_length=300, blank=True, default="", verbose_name=_("message"))
    error = models.TextField(blank=True, default="", verbose_name=_("error"))
    closed_period = models.ForeignKey(
        ClosedPeriod,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        verbose_name=_("closed period"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text=_("last progress of a running job"), verbose_name=_("heartbeat at")
    )
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        verbose_name = _("closing job")
        verbose_name_plural = _("closing jobs")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=Q(status__in=[RunStatus.PENDING, RunStatus.RUNNING]),
                name="closingjob_one_in_progress",
            )
        ]

    def __str__(self) -> str:
        return f"close {self.key} ({self.get_status_display()})"

    @property
    def in_progress(self) -> bool:
        return self.status in (RunStatus.PENDING, RunStatus.RUNNING)

    def is_stale(self, now: datetime) -> bool:
        """Running, with no progress written for CLOSING_STALE: the worker that ran it is gone."""
        beat = self.heartbeat_at or self.started_at
        return self.status == RunStatus.RUNNING and beat is not None and now - beat > CLOSING_STALE


class ClosedSnapshot(models.Model):
    """The figures one scope's report showed when its period was closed (the report's tables as JSON).

    Scope: the whole organisation (both empty), one cluster, one department, or a department in a cluster.
    """

    closed_period = models.ForeignKey(
        ClosedPeriod, on_delete=models.CASCADE, related_name="snapshots", verbose_name=_("closed period")
    )
    cluster = models.CharField(max_length=100, blank=True, default="", verbose_name=_("cluster"))
    department = models.CharField(max_length=200, blank=True, default="", verbose_name=_("department"))
    data = models.JSONField(verbose_name=_("data"))

    class Meta:
        verbose_name = _("closed snapshot")
        verbose_name_plural = _("closed snapshots")
        ordering = ["closed_period", "cluster", "department"]
        constraints = [
            models.UniqueConstraint(
                fields=["closed_period", "cluster", "department"], name="closedsnapshot_unique_scope"
            )
        ]

    def __str__(self) -> str:
        return f"{self.closed_period.key} {self.cluster or '*'}/{self.department or '*'}"


class PeriodLog(models.Model):
    """One close or reopen of a period: who, when, why. Never edited."""

    key = models.CharField(max_length=40, verbose_name=_("key"))
    action = models.CharField(max_length=10, choices=PeriodAction.choices, verbose_name=_("action"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("user"),
    )
    at = models.DateTimeField(verbose_name=_("at"))
    reason = models.TextField(blank=True, default="", verbose_name=_("reason"))

    class Meta:
        verbose_name = _("period log")
        verbose_name_plural = _("period logs")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.key} {self.action} at {self.at:%Y-%m-%d %H:%M}"


class ScheduledExport(models.Model):
    """A report sent on a crontab (UTC): which period relative to the run, which scope, where it goes."""

    name = models.CharField(max_length=200, unique=True, verbose_name=_("name"))
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    minute = models.CharField(max_length=60, default="0", verbose_name=_("minute"))
    hour = models.CharField(max_length=60, default="6", verbose_name=_("hour"))
    day_of_month = models.CharField(max_length=60, default="2", verbose_name=_("day of month"))
    month_of_year = models.CharField(max_length=60, default="*", verbose_name=_("month of year"))
    day_of_week = models.CharField(max_length=60, default="*", verbose_name=_("day of week"))
    period = models.CharField(
        max_length=20,
        choices=RelativePeriod.choices,
        default=RelativePeriod.PREVIOUS_MONTH,
        verbose_name=_("period"),
    )
    scope = models.CharField(
        max_length=20,
        choices=ScheduleScope.choices,
        default=ScheduleScope.ORGANISATION,
        verbose_name=_("scope"),
    )
    cluster = models.CharField(
        max_length=100, blank=True, default="", help_text=_("only this cluster"), verbose_name=_("cluster")
    )
    department = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text=_("only this department"),
        verbose_name=_("department"),
    )
    format = models.CharField(
        max_length=10, choices=ExportFormat.choices, default=ExportFormat.XLSX, verbose_name=_("format")
    )
    recipients = models.TextField(
        blank=True,
        default="",
        help_text=_("e-mail addresses, one per line or comma"),
        verbose_name=_("recipients"),
    )
    write_to_directory = models.BooleanField(
        default=False,
        help_text=_("also write the files under FINOPS_EXPORT_DIR"),
        verbose_name=_("write to directory"),
    )
    subdirectory = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text=_("folder under FINOPS_EXPORT_DIR (optional)"),
        verbose_name=_("subdirectory"),
    )
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("periodic task"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("scheduled export")
        verbose_name_plural = _("scheduled exports")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        self.sync_schedule()

    def delete(self, *args, **kwargs):
        task = self.periodic_task
        result = super().delete(*args, **kwargs)
        if task is not None:
            task.delete()
        return result

    @property
    @admin.display(description=_("crontab"))
    def crontab_text(self) -> str:
        return f"{self.minute} {self.hour} {self.day_of_month} {self.month_of_year} {self.day_of_week}"

    def recipient_list(self) -> list[str]:
        return [a.strip() for a in self.recipients.replace("\n", ",").split(",") if a.strip()]

    def clean(self):
        from django.core.validators import validate_email

        errors = {}
        for address in self.recipient_list():
            try:
                validate_email(address)
            except ValidationError:
                errors["recipients"] = gettext("%(address)r is not an e-mail address") % {"address": address}
        if not self.recipient_list() and not self.write_to_directory:
            errors["recipients"] = gettext("give recipients, or write the files to the export directory")
        sub = self.subdirectory.strip()
        if sub and (sub.startswith(("/", "\\")) or ".." in sub.replace("\\", "/").split("/")):
            errors["subdirectory"] = gettext("a relative folder inside FINOPS_EXPORT_DIR, without '..'")
        try:
            from celery.schedules import crontab

            crontab(self.minute, self.hour, self.day_of_week, self.day_of_month, self.month_of_year)
        except (ValueError, TypeError) as exc:
            errors["minute"] = f"crontab {self.crontab_text!r}: {exc}"
        if errors:
            raise ValidationError(errors)

    def sync_schedule(self):
        """Create or update the beat entry (django-celery-beat) that fires this export."""
        from django_celery_beat.models import CrontabSchedule, PeriodicTask

        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=self.minute,
            hour=self.hour,
            day_of_month=self.day_of_month,
            month_of_year=self.month_of_year,
            day_of_week=self.day_of_week,
            timezone="UTC",
        )
        task, _ = PeriodicTask.objects.update_or_create(
            name=f"Scheduled export #{self.pk}",
            defaults={
                "task": SCHEDULE_TASK,
                "crontab": crontab,
                "interval": None,
                "args": json.dumps([self.pk]),
                "kwargs": "{}",
                "enabled": self.enabled,
                "description": f"Scheduled export {self.name!r}",
            },
        )
        if self.periodic_task_id != task.pk:
            type(self).objects.filter(pk=self.pk).update(periodic_task=task)
            self.periodic_task = task
        return task


class ExportRun(models.Model):
    """One export file being built and delivered: asked for in the browser, or one file of a scheduled run."""

    schedule = models.ForeignKey(
        ScheduledExport,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
        verbose_name=_("schedule"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    period_key = models.CharField(max_length=40, verbose_name=_("period key"))
    cluster = models.CharField(max_length=100, blank=True, default="", verbose_name=_("cluster"))
    department = models.CharField(max_length=200, blank=True, default="", verbose_name=_("department"))
    format = models.CharField(
        max_length=10, choices=ExportFormat.choices, default=ExportFormat.XLSX, verbose_name=_("format")
    )
    status = models.CharField(
        max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING, verbose_name=_("status")
    )
    progress = models.FloatField(default=0, help_text=_("0..1"), verbose_name=_("progress"))
    message = models.CharField(max_length=300, blank=True, default="", verbose_name=_("message"))
    file_path = models.CharField(max_length=1000, blank=True, default="", verbose_name=_("file path"))
    file_name = models.CharField(max_length=300, blank=True, default="", verbose_name=_("file name"))
    delivered_to = models.TextField(blank=True, default="", verbose_name=_("delivered to"))
    error = models.TextField(blank=True, default="", verbose_name=_("error"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        verbose_name = _("export run")
        verbose_name_plural = _("export runs")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="exportrun_status_created")]

    def __str__(self) -> str:
        scope = self.department or self.cluster or "organisation"
        return f"{self.period_key} {scope} {self.format} ({self.get_status_display()})"

    @property
    def scope_label(self) -> str:
        parts = [
            gettext("cluster %(name)s") % {"name": self.cluster} if self.cluster else "",
            self.department,
        ]
        return ", ".join(p for p in parts if p) or gettext("Organisation")
