"""The Reports page: ask for an export (built by Celery), follow its progress, download it; close periods."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from costing.access import (
    admin_required,
    granted_departments,
    is_admin,
    report_department,
    restrict_by_department,
    restrict_exports,
    sees_everything,
    viewer_required,
)
from costing.choices import RunStatus
from costing.models import Cluster, Department
from reports import tables
from reports.models import ClosedPeriod, ClosingJob, ExportFormat, ExportRun, PeriodLog
from reports.periods import PeriodError, check_in_history, current_period, parse_period
from reports.reporting.closing import ClosingError, reopen_period, start_closing

RECENT = 15


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _departments(user) -> list[str]:
    return list(
        restrict_by_department(Department.objects.order_by("name"), user, "name").values_list(
            "name", flat=True
        )
    )


@require_GET
@viewer_required
def reports_page(request):
    """The form, the user's recent exports, failed scheduled runs and (admins) closing of periods."""
    user = request.user
    today = timezone.now().date()
    admin = is_admin(user)
    exports = restrict_exports(ExportRun.objects.filter(schedule__isnull=True), user)
    context = {
        "default_period": current_period("month", today).previous().key,
        "clusters": list(Cluster.objects.order_by("name").values_list("name", flat=True)),
        "departments": _departments(user),
        "restricted": granted_departments(user) is not None,
        "formats": ExportFormat.choices,
        "exports": list(exports.select_related("requested_by")[:RECENT]),
        "is_admin": admin,
    }
    if sees_everything(user):
        context["scheduled_runs"] = list(
            ExportRun.objects.filter(schedule__isnull=False).select_related("schedule")[:RECENT]
        )
    if admin:
        context["closed"] = list(
            ClosedPeriod.objects.filter(reopened_at__isnull=True).select_related("closed_by")[:24]
        )
        context["period_log"] = list(PeriodLog.objects.select_related("user")[:RECENT])
        context["closing_jobs"] = list(ClosingJob.objects.select_related("requested_by")[:RECENT])
    named = {
        "exports": tables.ExportRunTable(
            context["exports"], caption=gettext("Exports"), exclude=() if admin else ("requested_by",)
        )
    }
    if "scheduled_runs" in context:
        named["scheduled"] = tables.ScheduledRunTable(
            context["scheduled_runs"], caption=gettext("Scheduled runs")
        )
    if admin:
        named["closings"] = tables.ClosingJobTable(context["closing_jobs"], caption=gettext("Closings"))
        named["closed"] = tables.ClosedPeriodTable(context["closed"], caption=gettext("Closed periods"))
        named["log"] = tables.PeriodLogTable(
            context["period_log"], caption=gettext("Log of closings and reopenings")
        )
    return tables.render_page(request, "reports/reports.html", context, "reports", **named)


def _bad(request, text: str, status: int = 400):
    if _wants_json(request):
        return JsonResponse({"error": text}, status=status)
    messages.error(request, text)
    return redirect("reports")


@require_POST
@viewer_required
def export_start(request):
    """Record an export and queue its build after commit; answer with where to follow it."""
    user = request.user
    period_text = request.POST.get("period", "").strip()
    cluster = request.POST.get("cluster", "").strip()
    department = request.POST.get("department", "").strip()
    fmt = request.POST.get("format", ExportFormat.XLSX)
    try:
        period = check_in_history(parse_period(period_text), timezone.now().date())
    except PeriodError as exc:
        return _bad(request, gettext("Period: %(exc)s") % {"exc": exc})
    if fmt not in ExportFormat.values:
        return _bad(
            request,
            gettext("Format: %(fmt)r is not one of %(formats)s")
            % {"fmt": fmt, "formats": ", ".join(ExportFormat.values)},
        )
    if cluster and not Cluster.objects.filter(name=cluster).exists():
        return _bad(request, gettext("Cluster: no cluster named %(cluster)r") % {"cluster": cluster})
    # Another department's figures, or the whole organisation: not for a department viewer (403).
    department = report_department(user, department) or ""
    from reports.tasks import build_export

    with transaction.atomic():
        run = ExportRun.objects.create(
            requested_by=user, period_key=period.key, cluster=cluster, department=department, format=fmt
        )
        transaction.on_commit(lambda: build_export.delay(run.pk))
    if _wants_json(request):
        return JsonResponse(_status(run), status=202)
    messages.info(
        request,
        gettext("Export of %(key)s queued; it is listed below until it is ready.") % {"key": period.key},
    )
    return redirect(f"{reverse('reports')}?export={run.pk}")


def _own_run(request, pk: int) -> ExportRun:
    return get_object_or_404(restrict_exports(ExportRun.objects.all(), request.user), pk=pk)


def _status(run: ExportRun) -> dict:
    ready = run.status == RunStatus.SUCCEEDED and bool(run.file_path)
    return {
        "id": run.pk,
        "period": run.period_key,
        "scope": run.scope_label,
        "format": run.format,
        "status": run.status,
        "progress": round(run.progress, 3),
        # A worker's progress, in English (gettext_noop where written): shown in the page's language.
        "message": gettext(run.message) if run.message else "",
        "error": run.error if run.status == RunStatus.FAILED else "",
        "status_url": reverse("report-export-status", args=[run.pk]),
        "download_url": reverse("report-export-download", args=[run.pk]) if ready else None,
    }


@require_GET
def export_status(request, pk: int):
    return JsonResponse(_status(_own_run(request, pk)))


@require_GET
def export_download(request, pk: int):
    run = _own_run(request, pk)
    if run.status != RunStatus.SUCCEEDED or not run.file_path:
        raise Http404(gettext("The export is not ready."))
    try:
        handle = open(run.file_path, "rb")  # noqa: SIM115 - FileResponse closes it
    except FileNotFoundError:
        raise Http404(gettext("The export's file is gone; ask for it again.")) from None
    return FileResponse(handle, as_attachment=True, filename=run.file_name)


@require_POST
@admin_required
def close_view(request):
    """Queue the closing of a period (a Celery job: ~30 s for a year); the Reports page follows it."""
    try:
        job = start_closing(
            request.POST.get("period", "").strip(), request.user, request.POST.get("comment", "").strip()
        )
    except ClosingError as exc:
        if _wants_json(request):
            return JsonResponse({"error": str(exc)}, status=409 if "already" in str(exc) else 400)
        messages.error(request, str(exc))
        return redirect("reports")
    if _wants_json(request):
        return JsonResponse(_closing_status(job), status=202)
    messages.info(
        request,
        gettext("Closing of %(key)s queued; its progress is shown under Closed periods.") % {"key": job.key},
    )
    return redirect(f"{reverse('reports')}#closing")


def _closing_status(job: ClosingJob) -> dict:
    return {
        "id": job.pk,
        "period": job.key,
        "status": job.status,
        "progress": round(job.progress, 3),
        "message": gettext(job.message) if job.message else "",
        "error": job.error if job.status == RunStatus.FAILED else "",
        "closed": job.status == RunStatus.SUCCEEDED,
        "status_url": reverse("report-close-status", args=[job.pk]),
    }


@require_GET
@admin_required
def close_status(request, pk: int):
    return JsonResponse(_closing_status(get_object_or_404(ClosingJob, pk=pk)))


@require_POST
@admin_required
def reopen_view(request):
    try:
        closing = reopen_period(
            request.POST.get("period", "").strip(), request.user, request.POST.get("reason", "")
        )
    except ClosingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, gettext("%(key)s is reopened; the reason is logged.") % {"key": closing.key}
        )
    return redirect("reports")
