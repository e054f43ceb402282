"""Export files: render a report to bytes, keep the file of a run, deliver scheduled runs by mail and folder."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone, translation
from django.utils.translation import gettext

from costing.languages import by_language, default_language
from costing.models import DepartmentCostDay
from reports.models import ExportFormat, ExportRun, RelativePeriod, ScheduledExport, ScheduleScope
from reports.periods import Period, current_period
from reports.reporting.builder import Report, build_report
from reports.reporting.csv import render_csv, render_zip
from reports.reporting.excel import render_xlsx

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Rendered:
    content: bytes
    file_name: str
    content_type: str


def render(report: Report, fmt: str, table: str | None = None) -> Rendered:
    """The report as an .xlsx workbook, a zip of CSVs, or (with `table`) one CSV."""
    if fmt == ExportFormat.XLSX:
        if table:
            raise ValueError("table: one table is for --format csv; a workbook holds them all")
        return Rendered(render_xlsx(report), f"{report.file_stem}.xlsx", XLSX_TYPE)
    if fmt == ExportFormat.CSV:
        if table:
            return Rendered(render_csv(report, table), f"{report.file_stem}-{table}.csv", "text/csv")
        return Rendered(render_zip(report), f"{report.file_stem}-csv.zip", "application/zip")
    raise ValueError(f"format: {fmt!r} is not one of {', '.join(ExportFormat.values)}")


def runs_dir() -> Path:
    """Where the files of export runs are kept for download (not served by the web server itself)."""
    return Path(settings.MEDIA_ROOT) / "exports"


def relative_period(kind: str, today: date) -> Period:
    """The period a schedule reports on, relative to the day it runs (previous month, quarter or year)."""
    unit = {
        RelativePeriod.PREVIOUS_MONTH: "month",
        RelativePeriod.PREVIOUS_QUARTER: "quarter",
        RelativePeriod.PREVIOUS_YEAR: "year",
    }.get(kind)
    if unit is None:
        raise ValueError(f"period: {kind!r} is not one of {', '.join(RelativePeriod.values)}")
    return current_period(unit, today).previous()


def schedule_scopes(schedule: ScheduledExport, period: Period) -> list[tuple[str, str]]:
    """The (cluster, department) of each file one run of the schedule makes."""
    cluster, department = schedule.cluster, schedule.department
    if schedule.scope == ScheduleScope.EACH_DEPARTMENT:
        qs = DepartmentCostDay.objects.filter(day__gte=period.start, day__lt=period.end, is_line=False)
        if cluster:
            qs = qs.filter(cluster__name=cluster)
        names = sorted(set(qs.values_list("name", flat=True)))
        return [(cluster, name) for name in names]
    if schedule.scope == ScheduleScope.EACH_CLUSTER:
        from costing.models import ClusterDay

        qs = ClusterDay.objects.filter(day__gte=period.start, day__lt=period.end)
        return [(name, department) for name in sorted(set(qs.values_list("cluster__name", flat=True)))]
    return [(cluster, department)]


def build_file(run: ExportRun, progress=None) -> Path:
    """Build the run's report and keep its file; the requester's access rules apply to what is built."""
    report = build_report(
        run.period_key,
        cluster=run.cluster or None,
        department=run.department or None,
        user=run.requested_by,
        progress=progress,
    )
    rendered = render(report, run.format)
    folder = runs_dir() / str(run.pk)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / rendered.file_name
    partial = path.with_suffix(path.suffix + ".part")
    partial.write_bytes(rendered.content)
    partial.replace(path)  # a download never sees half a file
    run.file_path = str(path)
    run.file_name = rendered.file_name
    run.save(update_fields=["file_path", "file_name"])
    return path


def deliver(run: ExportRun) -> list[str]:
    """Write a scheduled run's file to the export folder and mail it; returns where it went.

    Safe to repeat after a failed attempt: the folder copy is replaced, the mail is sent once it goes through
    (with recipients in two languages, a failure after the first e-mail sends that one again on the retry).
    """
    schedule = run.schedule
    if schedule is None:
        return []
    path = Path(run.file_path)
    content = path.read_bytes()
    where = []
    if schedule.write_to_directory:
        folder = Path(settings.FINOPS_EXPORT_DIR) / schedule.subdirectory.strip().strip("/")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / run.file_name
        partial = target.with_suffix(target.suffix + ".part")
        partial.write_bytes(content)
        partial.replace(target)
        where.append(str(target))
    recipients = schedule.recipient_list()
    if recipients:
        # One e-mail per language among the recipients (costing/languages.py), its file built in that
        # language (headers, sheet names); the kept file is the one in the default language.
        messages = [
            _message(run, language, group, content if language == default_language() else None)
            for language, group in by_language(recipients).items()
        ]
        with get_connection(fail_silently=False) as connection:
            connection.send_messages(messages)
        where += recipients
    return where


def _message(run: ExportRun, language: str, to: list[str], content: bytes | None) -> EmailMessage:
    """The e-mail of a scheduled run to readers of `language`, with the file (built again in that language
    when `content` is None)."""
    schedule = run.schedule
    with translation.override(language):
        if content is None:
            report = build_report(
                run.period_key,
                cluster=run.cluster or None,
                department=run.department or None,
                user=run.requested_by,
            )
            content = render(report, run.format).content
        scope = run.scope_label
        message = EmailMessage(
            subject=gettext("Kubernetes costs %(period)s — %(scope)s")
            % {"period": run.period_key, "scope": scope},
            body=gettext(
                "The scheduled export %(name)r: Kubernetes costs for %(period)s, %(scope)s.\n"
                "Generated %(when)s UTC. The file is attached.\n"
            )
            % {
                "name": schedule.name,
                "period": run.period_key,
                "scope": scope,
                "when": f"{timezone.now():%Y-%m-%d %H:%M}",
            },
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=to,
        )
    message.attach(run.file_name, content, _content_type(run.file_name))
    return message


def _content_type(name: str) -> str:
    if name.endswith(".xlsx"):
        return XLSX_TYPE
    return "application/zip" if name.endswith(".zip") else "text/csv"


def is_transient(exc: BaseException) -> bool:
    """Errors worth another try later: the mail server or the network, not a bad address or a bad report."""
    if isinstance(exc, smtplib.SMTPResponseException):
        # 4xx replies are temporary by the SMTP standard; 5xx (bad recipient, auth refused) are final.
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    return isinstance(
        exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError | ConnectionError | TimeoutError
    )
