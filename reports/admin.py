"""Admin for scheduled exports, their runs, and closed periods (closing and reopening go through the log)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from reports.models import ClosedPeriod, ClosedSnapshot, ExportRun, PeriodLog, ScheduledExport
from reports.periods import PeriodError, check_in_history, parse_period
from reports.reporting.closing import (
    CLOSABLE_KINDS,
    ClosingError,
    active_closing,
    reopen_period,
    start_closing,
)


class ExportRunInline(admin.TabularInline):
    model = ExportRun
    fields = [
        "created_at",
        "period_key",
        "cluster",
        "department",
        "status",
        "attempts",
        "error",
        "delivered_to",
    ]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at"]
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_at")


@admin.register(ScheduledExport)
class ScheduledExportAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "crontab_text", "period", "scope", "format", "last_run_status"]
    list_filter = ["enabled", "period", "scope", "format"]
    fieldsets = [
        (None, {"fields": ["name", "enabled"]}),
        (
            "When (crontab, UTC)",
            {
                "fields": [("minute", "hour", "day_of_month", "month_of_year", "day_of_week")],
                "description": "For example minute 0, hour 6, day of month 2: at 06:00 UTC on the 2nd of each month.",
            },
        ),
        ("What", {"fields": ["period", "scope", "cluster", "department", "format"]}),
        ("Where to", {"fields": ["recipients", "write_to_directory", "subdirectory"]}),
    ]
    inlines = [ExportRunInline]
    actions = ["run_now"]

    @admin.display(description=gettext_lazy("last run"))
    def last_run_status(self, obj):
        run = obj.runs.order_by("-created_at").first()
        if run is None:
            return "—"
        return f"{run.get_status_display()} {run.created_at:%Y-%m-%d %H:%M}" + (
            " (error)" if run.error else ""
        )

    @admin.action(description=gettext_lazy("Run the selected schedules now"))
    def run_now(self, request, queryset):
        from reports.tasks import run_schedule

        for schedule in queryset:
            transaction.on_commit(lambda pk=schedule.pk: run_schedule.delay(pk))
        self.message_user(
            request, gettext("%(count)d schedule(s) queued.") % {"count": queryset.count()}, messages.SUCCESS
        )


@admin.register(ExportRun)
class ExportRunAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "schedule",
        "requested_by",
        "period_key",
        "scope",
        "format",
        "status",
        "attempts",
        "short_error",
    ]
    list_filter = ["status", "format", "schedule"]
    search_fields = ["period_key", "cluster", "department", "error"]
    readonly_fields = [f.name for f in ExportRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("scope"))
    def scope(self, obj):
        return obj.scope_label

    @admin.display(description=gettext_lazy("error"))
    def short_error(self, obj):
        return (obj.error[:120] + "…") if len(obj.error) > 120 else obj.error


class ClosePeriodForm(forms.ModelForm):
    """Closing from the admin: a period key and a comment; the figures are frozen on save."""

    class Meta:
        model = ClosedPeriod
        fields = ["key", "comment"]

    def clean_key(self):
        text = self.cleaned_data["key"].strip()
        try:
            period = check_in_history(parse_period(text), timezone.now().date())
        except PeriodError as exc:
            raise forms.ValidationError(str(exc)) from None
        if period.kind not in CLOSABLE_KINDS:
            raise forms.ValidationError(
                gettext("%(period)s is a %(kind)s; close a month, a quarter or a year")
                % {"period": period.key, "kind": period.kind}
            )
        if period.end > timezone.now().date():
            raise forms.ValidationError(gettext("%(period)s has not ended yet") % {"period": period.key})
        if active_closing(period.key) is not None:
            raise forms.ValidationError(gettext("%(period)s is already closed") % {"period": period.key})
        return period.key


class ClosedSnapshotInline(admin.TabularInline):
    model = ClosedSnapshot
    fields = ["cluster", "department"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(ClosedPeriod)
class ClosedPeriodAdmin(admin.ModelAdmin):
    list_display = [
        "key",
        "start",
        "end",
        "closed_at",
        "closed_by",
        "reopened_at",
        "reopened_by",
        "reopen_reason",
    ]
    list_filter = ["reopened_at"]
    actions = ["reopen"]
    inlines = [ClosedSnapshotInline]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ClosePeriodForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["key", "comment"]
        return [
            "key",
            "start",
            "end",
            "closed_by",
            "closed_at",
            "comment",
            "reopened_by",
            "reopened_at",
            "reopen_reason",
        ]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def has_delete_permission(self, request, obj=None):
        return False  # reopening, with a reason, is how a closing ends

    def save_model(self, request, obj, form, change):
        # Closing runs as a Celery job (reports.close_period): nothing is saved here; the job writes the
        # ClosedPeriod once the figures are frozen, and the Reports page follows its progress.
        if change:
            return
        try:
            request._closing_job = start_closing(obj.key, request.user, obj.comment)
        except ClosingError as exc:  # a race with another admin: the form checked moments ago
            request._closing_job = None
            self.message_user(request, str(exc), messages.ERROR)

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)

    def log_addition(self, request, obj, message):
        return None  # the closing is logged (PeriodLog) by the job once it succeeded

    def response_add(self, request, obj, post_url_continue=None):
        job = getattr(request, "_closing_job", None)
        if job is not None:
            self.message_user(
                request,
                gettext("Closing of %(key)s queued; the Reports page shows its progress.") % {"key": job.key},
                messages.INFO,
            )
        return redirect(f"{reverse('reports')}#closing")

    @admin.action(description=gettext_lazy("Reopen the selected periods (asks why)"))
    def reopen(self, request, queryset):
        reason = request.POST.get("reason", "").strip()
        if "apply" in request.POST and reason:
            done = []
            for closing in queryset.filter(reopened_at__isnull=True):
                try:
                    done.append(reopen_period(closing.key, request.user, reason).key)
                except ClosingError as exc:
                    self.message_user(request, str(exc), messages.ERROR)
            if done:
                self.message_user(
                    request,
                    gettext("Reopened %(keys)s; logged.") % {"keys": ", ".join(done)},
                    messages.SUCCESS,
                )
            return None
        return render(
            request,
            "reports/reports_reopen_admin.html",
            {
                **self.admin_site.each_context(request),
                "title": "Reopen closed periods",
                "periods": queryset,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "missing_reason": "apply" in request.POST,
                "opts": self.model._meta,
            },
        )


@admin.register(PeriodLog)
class PeriodLogAdmin(admin.ModelAdmin):
    list_display = ["at", "key", "action", "user", "reason"]
    list_filter = ["action"]
    search_fields = ["key", "reason"]
    readonly_fields = ["at", "key", "action", "user", "reason"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
