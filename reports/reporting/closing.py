"""Closing a period freezes the figures its reports show; later changes appear as restatements, never silently.

Closing stores, per scope (the organisation, each cluster, each department and each department in each
cluster that had costs), the report as it was. A report of a closed period shows those figures; when
the stored results have moved since (a late bill, a policy change, late samples), it adds a Restatement
table: per department, the closed total, the current total and the adjustment. A report of another
period that overlaps closed ones (a quarter holding a closed month) shows current figures and lists the
closed periods' adjustments the same way. Reopening is logged with who, when and why.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as N_

from costing.choices import RunStatus
from costing.models import ClusterDay, DepartmentCostDay
from reports.models import ClosedPeriod, ClosedSnapshot, ClosingJob, PeriodAction, PeriodLog
from reports.periods import Period, PeriodError, check_in_history, parse_period
from reports.queries.common import QueryError
from reports.queries.costs import cost_rows
from reports.reporting.builder import (
    ZERO,
    Column,
    Report,
    ReportError,
    Table,
    build_current,
    report_from_data,
    report_to_data,
)

CLOSABLE_KINDS = ("month", "quarter", "year")


class ClosingError(ValueError):
    """A period that cannot be closed or reopened now (names the period and the reason)."""


def _period(period: Period | str) -> Period:
    if isinstance(period, Period):
        return period
    try:
        return parse_period(period)
    except PeriodError as exc:
        raise ClosingError(f"period: {exc}") from None


def active_closing(key: str) -> ClosedPeriod | None:
    return ClosedPeriod.objects.filter(key=key, reopened_at__isnull=True).first()


def scopes_of(period: Period) -> list[tuple[str | None, str | None]]:
    """Every scope whose report a closing freezes: organisation, clusters, departments, department x cluster."""
    days = ClusterDay.objects.filter(day__gte=period.start, day__lt=period.end)
    clusters = sorted(set(days.values_list("cluster__name", flat=True)))
    pairs = set(
        DepartmentCostDay.objects.filter(day__gte=period.start, day__lt=period.end, is_line=False)
        .values_list("cluster__name", "name")
        .distinct()
    )
    departments = sorted({name for _, name in pairs})
    scopes: list[tuple[str | None, str | None]] = [(None, None)]
    scopes += [(c, None) for c in clusters]
    scopes += [(None, d) for d in departments]
    scopes += sorted(pairs)
    return scopes


def check_closable(period: Period | str, today: date | None = None) -> Period:
    """The period, if it can be closed now (an ended month, quarter or year, in history, not closed)."""
    today = today or timezone.now().date()
    period = _period(period)
    if period.kind not in CLOSABLE_KINDS:
        raise ClosingError(f"period: {period.key} is a {period.kind}; close a month, a quarter or a year")
    try:
        check_in_history(period, today)
    except PeriodError as exc:
        raise ClosingError(f"period: {exc}") from None
    if period.end > today:
        raise ClosingError(f"period: {period.key} has not ended yet (it ends on {period.last_day})")
    if active_closing(period.key) is not None:
        raise ClosingError(f"period: {period.key} is already closed")
    return period


def fail_stale_closings(key: str) -> int:
    """Mark failed the running closings of a period whose worker is gone (ClosingJob.is_stale), so that the
    period can be closed again without an admin editing the job by hand. Returns how many."""
    now = timezone.now()
    failed = 0
    for job in ClosingJob.objects.filter(key=key, status=RunStatus.RUNNING):
        if job.is_stale(now):
            beat = job.heartbeat_at or job.started_at
            failed += ClosingJob.objects.filter(pk=job.pk, status=RunStatus.RUNNING).update(
                status=RunStatus.FAILED,
                error=f"worker lost: no progress since {beat:%Y-%m-%d %H:%M} UTC; the period stays open",
                finished_at=now,
            )
    return failed


def start_closing(period: Period | str, user=None, comment: str = "") -> ClosingJob:
    """Record a closing job and queue the `reports.close_period` task after commit. Refused (ClosingError)
    when the period cannot be closed or a closing of it is already pending or running (a stale running one
    is marked failed first: fail_stale_closings)."""
    from reports.tasks import close_period as close_task

    period = check_closable(period)
    fail_stale_closings(period.key)
    try:
        with transaction.atomic():
            job = ClosingJob.objects.create(key=period.key, comment=comment, requested_by=user)
            transaction.on_commit(lambda: close_task.delay(job.pk))
    except IntegrityError:
        # The partial unique constraint: one pending or running closing per period.
        raise ClosingError(f"period: {period.key} is already being closed") from None
    return job


def close_period(
    period: Period | str,
    user=None,
    comment: str = "",
    today: date | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> ClosedPeriod:
    """Close a month, quarter or year that has ended: freeze every scope's figures and log who closed it.

    `progress(fraction, message)` is called before each scope's report is built (the closing job's bar).
    """
    today = today or timezone.now().date()
    period = check_closable(period, today)
    # The reports are built first, outside the transaction, so the progress written by the callback is seen
    # by other connections (the status page) while the job runs; the rows are written in one short transaction.
    scopes = scopes_of(period)
    frozen = []
    for done, (cluster, department) in enumerate(scopes):
        if progress is not None:
            progress(done / len(scopes), f"freezing {_scope_label(cluster, department)}")
        report = build_current(period, cluster=cluster, department=department, today=today)
        frozen.append((cluster, department, report_to_data(report)))
    if progress is not None:
        progress(1.0, N_("saving the closed figures"))
    now = timezone.now()
    try:
        with transaction.atomic():
            closing = ClosedPeriod.objects.create(
                key=period.key,
                start=period.start,
                end=period.end,
                closed_by=user,
                closed_at=now,
                comment=comment,
            )
            ClosedSnapshot.objects.bulk_create(
                ClosedSnapshot(
                    closed_period=closing, cluster=cluster or "", department=department or "", data=data
                )
                for cluster, department, data in frozen
            )
            PeriodLog.objects.create(
                key=period.key, action=PeriodAction.CLOSE, user=user, at=now, reason=comment
            )
    except IntegrityError:
        # Two admins closing at once: the partial unique constraint lets one through.
        raise ClosingError(f"period: {period.key} is already closed") from None
    return closing


def _scope_label(cluster: str | None, department: str | None) -> str:
    parts = [f"cluster {cluster}" if cluster else "", department or ""]
    return ", ".join(p for p in parts if p) or "the organisation"


def reopen_period(period: Period | str, user=None, reason: str = "") -> ClosedPeriod:
    """Reopen a closed period (its reports show current figures again); the reason is required and logged."""
    period = _period(period)
    reason = (reason or "").strip()
    if not reason:
        raise ClosingError("reason: say why the period is reopened (it is kept in the log)")
    now = timezone.now()
    with transaction.atomic():
        closing = (
            ClosedPeriod.objects.select_for_update().filter(key=period.key, reopened_at__isnull=True).first()
        )
        if closing is None:
            raise ClosingError(f"period: {period.key} is not closed")
        closing.reopened_at = now
        closing.reopened_by = user
        closing.reopen_reason = reason
        closing.save(update_fields=["reopened_at", "reopened_by", "reopen_reason"])
        PeriodLog.objects.create(key=period.key, action=PeriodAction.REOPEN, user=user, at=now, reason=reason)
    return closing


def _snapshot(closing: ClosedPeriod, cluster: str | None, department: str | None) -> ClosedSnapshot | None:
    return closing.snapshots.filter(cluster=cluster or "", department=department or "").first()


def frozen_report(period: Period, *, cluster=None, department=None, today=None) -> Report | None:
    """The closed figures of `period` for the scope, with restatements; None when the period is open."""
    closing = active_closing(period.key)
    if closing is None:
        return None
    snapshot = _snapshot(closing, cluster, department)
    if snapshot is not None:
        report = report_from_data(snapshot.data)
    else:
        # The scope had no costs when the period was closed: its closed figures are empty.
        try:
            report = _emptied(build_current(period, cluster=cluster, department=department, today=today))
        except ReportError:
            return None
    report.generated_at = timezone.now()
    report.status = "closed"
    report.closed_at = closing.closed_at
    report.closed_by = closing.closed_by.get_username() if closing.closed_by else ""
    add_restatements(report)
    return report


def _emptied(report: Report) -> Report:
    for table in report.tables:
        if table.name == "policy":
            continue
        table.rows = []
        if table.total is not None:
            table.total = {k: (ZERO if isinstance(v, Decimal) else None) for k, v in table.total.items()}
    report.summary = [(k, ZERO if kind == "money" else v, kind) for k, v, kind in report.summary]
    return report


def _totals(rows: list[dict]) -> dict[str, Decimal]:
    total = (None, "Total", gettext("Total"))  # the totals row, in whichever language it was written
    return {r["department"]: r["total"] for r in rows if r.get("department") not in total}


def add_restatements(report: Report) -> Report:
    """Add the Restatement table (closed periods overlapping the report whose figures moved) and the status."""
    closings = ClosedPeriod.objects.filter(
        reopened_at__isnull=True, start__lt=report.period.end, end__gt=report.period.start
    ).order_by("start")
    rows = []
    for closing in closings:
        snapshot = _snapshot(closing, report.cluster, report.department)
        closed = {}
        if snapshot is not None:
            frozen = report_from_data(snapshot.data).table("departments")
            closed = _totals(frozen.rows) if frozen else {}
        try:
            current = _totals(
                cost_rows(
                    closing.start,
                    closing.end,
                    "department",
                    cluster=report.cluster,
                    department=report.department,
                )
            )
        except QueryError:
            current = {}
        for name in sorted(set(closed) | set(current)):
            before, now = closed.get(name, ZERO), current.get(name, ZERO)
            if before != now:
                rows.append(
                    {
                        "period": closing.key,
                        "department": name,
                        "closed_total": before,
                        "current_total": now,
                        "adjustment": now - before,
                    }
                )
    exact = report.status == "closed"
    if rows:
        columns = [
            Column("period", "Closed period"),
            Column("department", "Department"),
            Column("closed_total", "Closed total", "money"),
            Column("current_total", "Current total", "money"),
            Column("adjustment", "Adjustment", "money"),
        ]
        total = {
            "period": "Total",
            "department": "",
            **{k: sum((r[k] for r in rows), ZERO) for k in ("closed_total", "current_total", "adjustment")},
        }
        report.tables = [t for t in report.tables if t.name != "restatement"]
        report.tables.insert(0, Table("restatement", "Restatement", columns, rows, total))
        if exact:
            report.status = "restated"
    adjustment = sum((r["adjustment"] for r in rows), ZERO)
    if exact:
        status = f"Closed {report.closed_at:%Y-%m-%d %H:%M} UTC by {report.closed_by or 'unknown'}"
        status += (
            f"; restated: the current figures differ by {adjustment} (see Restatement)"
            if rows
            else "; figures unchanged since"
        )
    elif rows:
        keys = ", ".join(sorted({r["period"] for r in rows}))
        status = gettext(
            "Open; contains closed period(s) %(keys)s restated by %(adjustment)s (see Restatement)"
        ) % {
            "keys": keys,
            "adjustment": adjustment,
        }
    elif closings:
        status = gettext("Open; contains closed period(s) %(keys)s, unchanged") % {
            "keys": ", ".join(c.key for c in closings)
        }
    else:
        status = gettext("Open")
    report.summary = [
        (k, v, kind)
        for k, v, kind in report.summary
        if k not in ("Status", "Restatement adjustment", "Generated at")
    ]
    report.summary.append((N_("Generated at"), report.generated_at.replace(microsecond=0), "datetime"))
    report.summary.append((N_("Status"), status, "text"))
    if rows:
        report.summary.append((N_("Restatement adjustment"), adjustment, "money"))
    return report


def period_state(period: Period) -> dict:
    """What the reports page shows of a period: closed or not, by whom, and its log."""
    closing = active_closing(period.key)
    return {
        "closing": closing,
        "log": list(PeriodLog.objects.filter(key=period.key).select_related("user")[:20]),
    }
