"""The one report builder: a period and a scope in, a Report of plain rows out (renderers only render it).

Every figure comes from reports.queries.costs.cost_rows over the stored results (the rows of the API's
costs/ and of the `costs` command). A closed period shows the figures frozen when it was closed (reports.reporting.closing)
and, when the stored results have moved since, the difference as a restatement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop as N_

from costing.access import report_department
from costing.choices import LineKind
from costing.engine.rightsizing import OVER_REQUESTED
from costing.models import BillLine, Cluster, ClusterDay, DepartmentCostDay, Policy
from costing.money import largest_remainder_cents, to_money, to_units
from costing.policy import dump_policy
from costing.policy.store import spec_from_policy
from reports.periods import (
    Period,
    PeriodError,
    check_in_history,
    compared_label,
    compared_period,
    earliest_start,
    parse_period,
)
from reports.queries.common import QueryError
from reports.queries.costs import cost_rows
from reports.queries.coverage import Coverage, comparable, comparison_note, coverages, moment, pending_note

ZERO = Decimal("0.00")


class ReportError(ValueError):
    """The period or scope of a report cannot be read (names the argument and the reason)."""


@dataclass(frozen=True)
class Column:
    """One column of a table. kind: text, money, percent, hours, number, int, date, datetime."""

    key: str
    title: str
    kind: str = "text"


@dataclass
class Table:
    """One table of a report: rows of plain values keyed by column, and a totals row (or None)."""

    name: str
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    total: dict | None = None

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


@dataclass
class Report:
    """Everything one report shows, as plain data."""

    period: Period
    cluster: str | None
    department: str | None
    currency: str
    generated_at: datetime
    summary: list[tuple[str, object, str]]  # (label, value, kind as in Column)
    tables: list[Table]
    status: str = "open"  # open | closed | restated
    closed_at: datetime | None = None
    closed_by: str = ""

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)

    def summary_value(self, label: str):
        return next((v for k, v, _ in self.summary if k == label), None)

    @property
    def scope_label(self) -> str:
        parts = [
            gettext("cluster %(name)s") % {"name": self.cluster} if self.cluster else "",
            self.department or "",
        ]
        return ", ".join(p for p in parts if p) or gettext("Organisation")

    @property
    def file_stem(self) -> str:
        scope = "-".join(_slug(p) for p in (self.cluster, self.department) if p) or "organisation"
        return f"costs-{_slug(self.period.key)}-{scope}"


Progress = Callable[[float, str], None]

QUANTITY_COLUMNS = [
    Column("cpu_request_core_hours", _("CPU request (core-h)"), "hours"),
    Column("cpu_usage_core_hours", _("CPU usage (core-h)"), "hours"),
    Column("cpu_efficiency", _("CPU efficiency"), "percent"),
    Column("mem_request_gib_hours", _("Memory request (GiB-h)"), "hours"),
    Column("mem_usage_gib_hours", _("Memory usage (GiB-h)"), "hours"),
    Column("mem_efficiency", _("Memory efficiency"), "percent"),
    Column("gpu_request_hours", _("GPU request (GPU-h)"), "hours"),
    Column("gpu_usage_hours", _("GPU usage (GPU-h)"), "hours"),
]
COST_COLUMNS = [
    Column("cpu_cost", _("CPU cost"), "money"),
    Column("mem_cost", _("Memory cost"), "money"),
    Column("gpu_cost", _("GPU cost"), "money"),
    Column("storage_cost", _("Storage cost"), "money"),
    Column("network_cost", _("Network (load balancers)"), "money"),
    Column("cost", _("Cost"), "money"),
    Column("estimated_share", _("Estimated share"), "percent"),
]


def build_report(
    period: Period | str,
    *,
    cluster: str | None = None,
    department: str | None = None,
    user=None,
    progress: Progress | None = None,
    today: date | None = None,
    frozen: bool = True,
) -> Report:
    """The report of `period` for the organisation, a cluster, a department or a department in a cluster.

    `user`: when given, a department viewer may only ask for a department granted to them (with one
    department granted, that one is taken); anything else raises PermissionDenied. `frozen=False`
    builds the current figures even for a closed period (what closing stores).
    """
    today = today or timezone.now().date()
    if isinstance(period, str):
        try:
            period = parse_period(period)
        except PeriodError as exc:
            raise ReportError(f"period: {exc}") from None
    try:
        check_in_history(period, today)
    except PeriodError as exc:
        raise ReportError(f"period: {exc}") from None
    cluster = cluster or None
    department = department or None
    department = report_department(user, department)
    if cluster is not None and not Cluster.objects.filter(name=cluster).exists():
        raise ReportError(f"cluster: no cluster named {cluster!r}")
    progress = progress or (lambda fraction, message: None)

    if frozen:
        from reports.reporting.closing import frozen_report

        report = frozen_report(period, cluster=cluster, department=department, today=today)
        if report is not None:
            progress(1.0, N_("closed period: frozen figures"))
            return report
    report = build_current(period, cluster=cluster, department=department, progress=progress, today=today)
    from reports.reporting.closing import add_restatements

    add_restatements(report)
    progress(1.0, N_("done"))
    return report


def build_current(
    period: Period,
    *,
    cluster: str | None = None,
    department: str | None = None,
    progress: Progress | None = None,
    today: date | None = None,
) -> Report:
    """The report from the stored results as they are now (no frozen figures, no restatements)."""
    progress = progress or (lambda fraction, message: None)
    today = today or timezone.now().date()
    start, end = period.start, period.end
    scope = {"cluster": cluster, "department": department}

    def rows(by: str) -> list[dict]:
        try:
            return cost_rows(start, end, by, **scope)
        except QueryError as exc:
            if department is not None and "no costs were ever booked" in str(exc):
                raise ReportError(f"department: no costs were ever booked to {department!r}") from None
            raise ReportError(str(exc)) from None

    progress(0.05, N_("departments"))
    departments = rows("department")
    previous = None
    # While the period runs, its change column is from the same elapsed span of the previous one.
    before = compared_period(period, today)
    cluster_ids = list(
        (Cluster.objects.filter(name=cluster) if cluster else Cluster.objects.all()).values_list(
            "pk", flat=True
        )
    )
    collection = coverages([period, before], cluster_ids, moment(today, timezone.now()))
    if before.start >= earliest_start(today):
        try:
            previous = cost_rows(before.start, before.end, "department", **scope)
        except QueryError:
            previous = None
        if previous is not None and len(previous) == 1 and not _computed(before, cluster):
            previous = None  # nothing was computed then: no comparison rather than a change from zero
    progress(0.15, N_("namespaces"))
    namespaces = rows("namespace")
    progress(0.3, N_("workloads"))
    workloads = rows("workload")
    progress(0.6, N_("node pools"))
    pools = rows("node_pool")
    progress(0.8, N_("clusters and days"))
    clusters = rows("cluster") if department is None else None

    tables = [
        _departments_table(departments, previous, like_for_like=comparable(*collection)),
        _table(
            "namespaces",
            "Namespaces",
            [
                Column("cluster", _("Cluster")),
                Column("namespace", _("Namespace")),
                Column("department", _("Department")),
            ],
            namespaces,
        ),
        _table(
            "workloads",
            "Workloads",
            [
                Column("cluster", _("Cluster")),
                Column("namespace", _("Namespace")),
                Column("workload_kind", _("Kind")),
                Column("workload", _("Workload")),
            ],
            workloads,
        ),
        _node_pools_table(pools, with_idle=department is None),
        _daily_table(period, cluster, department, departments, clusters),
    ]
    if period.kind in ("quarter", "year"):
        tables += _monthly_tables(period, cluster, department, departments, clusters)
    if department is None:
        tables.append(_bill_sources_table(period, cluster))
    progress(0.85, N_("recommendations"))
    tables.append(_recommendations_table(period, cluster, department, today))
    progress(0.88, N_("opportunities"))
    tables.append(_opportunities_table(period, cluster, department, today))
    progress(0.9, N_("policy"))
    policies = _policies(period)
    tables.append(_policy_table(policies, department))
    summary = _summary(period, cluster, department, departments, clusters, namespaces, policies, collection)
    forecast = _forecast(period, cluster, department, today)
    if forecast is not None:
        summary[-2:-2] = _forecast_items(forecast)
        tables.append(_forecast_table(forecast))
    return Report(
        period=period,
        cluster=cluster,
        department=department,
        currency=_currency(policies),
        generated_at=timezone.now(),
        summary=summary,
        tables=tables,
    )


def _forecast(period: Period, cluster: str | None, department: str | None, today: date) -> dict | None:
    """Where a running period will end, as the pages say it (reports.queries.forecasts): of the department,
    else of the cluster, else of the organisation; none for a department of one cluster, or a period with
    no day left after the last computed day."""
    from costing.choices import SubjectKind
    from reports.queries.forecasts import period_forecast

    if department and cluster:
        return None
    if department:
        found = period_forecast(SubjectKind.DEPARTMENT, department, period, today)
    elif cluster:
        found = period_forecast(SubjectKind.CLUSTER, cluster, period, today)
    else:
        found = period_forecast(SubjectKind.ORGANISATION, "", period, today)
    return found


def _forecast_items(found: dict) -> list:
    return [
        (N_("Forecast"), found["sentence"], "text"),
        (N_("Forecast as of"), found["as_of"], "date"),
        (N_("Forecast total"), _money(found["total"]), "money"),
        (N_("Forecast 80 % low"), _money(found["low"]), "money"),
        (N_("Forecast 80 % high"), _money(found["high"]), "money"),
    ]


def _money(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def _forecast_table(found: dict) -> Table:
    """The line of the pages as rows: per day, the cost accumulated so far, then the forecast and its band."""
    columns = [
        Column("day", _("Day"), "date"),
        Column("actual", _("Cost so far"), "money"),
        Column("forecast", _("Forecast"), "money"),
        Column("low", _("Forecast 80 % low"), "money"),
        Column("high", _("Forecast 80 % high"), "money"),
    ]
    rows = [
        {"day": d["day"], **{k: _money(d[k]) for k in ("actual", "forecast", "low", "high")}}
        for d in found["days"]
    ]
    return Table("forecast", _("Forecast"), columns, rows)


def _recommendations_table(period: Period, cluster: str | None, department: str | None, today: date) -> Table:
    """Right-sizing advice per container for the period's end (today when it has not ended), best saving
    first; the total is the saving of the over-requested containers (docs/rightsizing.md)."""
    from costing.recommendations import as_data, recommendations_at

    columns = [
        Column("cluster", _("Cluster")),
        Column("namespace", _("Namespace")),
        Column("department", _("Department")),
        Column("workload_kind", _("Kind")),
        Column("workload_name", _("Workload")),
        Column("container", _("Container")),
        Column("cpu_request_cores", _("CPU request (cores)"), "number"),
        Column("cpu_recommended_cores", _("CPU advised (cores)"), "number"),
        Column("mem_request_bytes", _("Memory request (bytes)"), "int"),
        Column("mem_recommended_bytes", _("Memory advised (bytes)"), "int"),
        Column("monthly_cost_now", _("Monthly cost now"), "money"),
        Column("monthly_cost_recommended", _("Monthly cost advised"), "money"),
        Column("monthly_saving", _("Monthly saving"), "money"),
        Column("status", _("Status")),
        Column("backtest_cpu_over_share", _("Back-test: CPU above advice"), "percent"),
        Column("backtest_mem_over", _("Back-test: memory above advice")),
        Column("reason", _("Why no advice")),
    ]
    frame = recommendations_at(
        min(period.end, today), cluster=cluster, departments=frozenset([department]) if department else None
    )
    rows = as_data(frame, [c.key for c in columns])
    saving = sum((r["monthly_saving"] for r in rows if r["status"] == OVER_REQUESTED), 0.0)
    total = {"cluster": gettext("Total (over-requested)"), "monthly_saving": round(saving, 2)}
    return Table("recommendations", _("Recommendations"), columns, rows, total)


def _opportunities_table(period: Period, cluster: str | None, department: str | None, today: date) -> Table:
    """The Optimise view's savings list for the period (docs/optimise.md): every lever's monthly saving,
    best first, with what each adds to the total once the levers before it are counted; the totals row is
    that total (each money once). A department's report: its workloads' levers only."""
    from costing.opportunities import as_data, figures_text
    from reports.queries.optimise import period_opportunities

    columns = [
        Column("cluster", _("Cluster")),
        Column("lever", _("Lever")),
        Column("subject", _("Subject")),
        Column("department", _("Department")),
        Column("monthly_saving", _("Monthly saving"), "money"),
        Column("counted_saving", _("Counted in the total"), "money"),
        Column("overlaps", _("Overlaps with")),
        Column("figures", _("Figures")),
    ]
    result = period_opportunities(
        period, today, cluster=cluster, departments=frozenset([department]) if department else None
    )
    rows = as_data(result.savings, [c.key for c in columns])
    for row in rows:
        row["figures"] = figures_text(row["figures"])
    total = {"cluster": gettext("Total (each money once)"), "counted_saving": round(result.total, 2)}
    return Table("opportunities", _("Opportunities"), columns, rows, total)


def _computed(period: Period, cluster: str | None) -> bool:
    qs = ClusterDay.objects.filter(day__gte=period.start, day__lt=period.end, computed_at__isnull=False)
    return (qs.filter(cluster__name=cluster) if cluster else qs).exists()


def _table(name: str, title: str, keys: list[Column], rows: list[dict]) -> Table:
    columns = keys + QUANTITY_COLUMNS + COST_COLUMNS
    body = [r for r in rows if r["row"] != "total"]
    total = next((r for r in rows if r["row"] == "total"), None)
    return Table(
        name, title, columns, [_pick(r, columns) for r in body], _pick(total, columns) if total else None
    )


def _pick(row: dict, columns: list[Column]) -> dict:
    return {c.key: row.get(c.key) for c in columns}


def _departments_table(rows: list[dict], previous: list[dict] | None, *, like_for_like: bool = True) -> Table:
    """Departments and lines with the previous period; no change in % when that period is not like for like."""
    columns = [
        Column("department", _("Department")),
        Column("kind", _("Kind")),
        Column("direct", _("Direct"), "money"),
        Column("shared", _("Shared"), "money"),
        Column("idle", _("Idle"), "money"),
        Column("gpu_idle", _("Idle GPU"), "money"),
        Column("overhead", _("Overhead"), "money"),
        Column("total", _("Total"), "money"),
        Column("share", _("% of total"), "percent"),
        Column("previous_total", _("Previous period"), "money"),
        Column("change", _("Change"), "money"),
        Column("change_pct", _("Change %"), "percent"),
    ]
    total_row = next(r for r in rows if r["row"] == "total")
    grand = total_row["total"]
    before = {r["department"]: r["total"] for r in previous or [] if r["row"] != "total"}
    before_total = next((r["total"] for r in previous or [] if r["row"] == "total"), None)
    out = []
    for r in rows:
        if r["row"] == "total":
            continue
        prev = before.get(r["department"]) if previous is not None else None
        if previous is not None and prev is None:
            prev = ZERO
        out.append(
            {
                "department": r["department"],
                "kind": gettext("Line") if r["row"] == "line" else gettext("Department"),
                **{p: r[p] for p in ("direct", "shared", "idle", "gpu_idle", "overhead", "total")},
                "share": float(r["total"] / grand) if grand else None,
                "previous_total": prev,
                "change": r["total"] - prev if prev is not None else None,
                "change_pct": float((r["total"] - prev) / prev) if prev and like_for_like else None,
            }
        )
    total = {
        "department": gettext("Total"),
        "kind": "",
        **{p: total_row[p] for p in ("direct", "shared", "idle", "gpu_idle", "overhead", "total")},
        "share": 1.0 if grand else None,
        "previous_total": before_total,
        "change": grand - before_total if before_total is not None else None,
        "change_pct": float((grand - before_total) / before_total)
        if before_total and like_for_like
        else None,
    }
    return Table("departments", _("Departments"), columns, out, total)


def _node_pools_table(rows: list[dict], *, with_idle: bool) -> Table:
    columns = [
        Column("cluster", _("Cluster")),
        Column("node_pool", _("Node pool")),
        Column("cpu_billable_core_hours", _("CPU billed to pods (core-h)"), "hours"),
        Column("mem_billable_gib_hours", _("Memory billed to pods (GiB-h)"), "hours"),
        Column("cpu_efficiency", _("CPU efficiency"), "percent"),
        Column("mem_efficiency", _("Memory efficiency"), "percent"),
        Column("cost", _("Pods' cost"), "money"),
    ]
    if with_idle:
        columns += [Column("idle", _("Idle"), "money"), Column("node_cost", _("Node cost"), "money")]
    columns.append(Column("estimated_share", _("Estimated share"), "percent"))
    body, total = [], None
    for r in rows:
        picked = _pick(r, columns)
        if with_idle:
            picked["node_cost"] = r["cost"] + r.get("idle", ZERO)
        if r["row"] == "total":
            total = picked
        else:
            body.append(picked)
    return Table("node_pools", _("Node pools"), columns, body, total)


def _day_frame(period: Period, cluster: str | None, department: str | None) -> dict[date, dict[str, int]]:
    """Per day, the stored amounts (in 1e-8 units) the daily trend divides its period totals by."""
    if department is None:
        qs = ClusterDay.objects.filter(day__gte=period.start, day__lt=period.end)
        if cluster is not None:
            qs = qs.filter(cluster__name=cluster)
        values = qs.values_list("day", "workload_cost", "idle_cost", "overhead_cost", "coverage")
        parts = ("cost", "idle", "overhead")
    else:
        qs = DepartmentCostDay.objects.filter(day__gte=period.start, day__lt=period.end, name=department)
        if cluster is not None:
            qs = qs.filter(cluster__name=cluster)
        values = qs.values_list("day", "direct", "shared", "idle", "gpu_idle", "overhead")
        parts = ("direct", "shared", "idle", "gpu_idle", "overhead")
    days: dict[date, dict[str, int]] = {}
    for row in values:
        day = days.setdefault(row[0], dict.fromkeys(parts, 0) | {"coverage": [], "n": 0})
        for part, value in zip(parts, row[1 : 1 + len(parts)], strict=True):
            day[part] += to_units(value)
        if department is None:
            day["coverage"].append(row[-1])
    return days


def _daily_table(period, cluster, department, departments, clusters) -> Table:
    days = _day_frame(period, cluster, department)
    ordered = sorted(days)
    if department is None:
        total_row = next(r for r in clusters if r["row"] == "total")
        parts = {"cost": total_row["cost"], "idle": total_row["idle"], "overhead": total_row["overhead"]}
        columns = [
            Column("day", _("Day"), "date"),
            Column("cost", _("Workloads"), "money"),
            Column("idle", _("Idle"), "money"),
            Column("overhead", _("Overhead"), "money"),
            Column("total", _("Physical cost"), "money"),
            Column("coverage", _("Coverage"), "percent"),
        ]
    else:
        total_row = next(r for r in departments if r["row"] != "total") if len(departments) > 1 else None
        source = total_row or dict.fromkeys(("direct", "shared", "idle", "gpu_idle", "overhead"), ZERO)
        parts = {p: source[p] for p in ("direct", "shared", "idle", "gpu_idle", "overhead")}
        columns = [
            Column("day", _("Day"), "date"),
            Column("direct", _("Direct"), "money"),
            Column("shared", _("Shared"), "money"),
            Column("idle", _("Idle"), "money"),
            Column("gpu_idle", _("Idle GPU"), "money"),
            Column("overhead", _("Overhead"), "money"),
            Column("total", _("Total"), "money"),
        ]
    rounded = {
        part: largest_remainder_cents([to_money(days[d][part]) for d in ordered], total=total)
        if ordered
        else []
        for part, total in parts.items()
    }
    rows = []
    for i, day in enumerate(ordered):
        row = {"day": day, **{part: rounded[part][i] for part in parts}}
        row["total"] = sum((row[p] for p in parts), ZERO)
        if department is None:
            cover = days[day]["coverage"]
            row["coverage"] = sum(cover) / len(cover) if cover else None
        rows.append(row)
    total = {"day": gettext("Total"), **{p: sum((r[p] for r in rows), ZERO) for p in parts}}
    total["total"] = sum((total[p] for p in parts), ZERO)
    if department is None:
        total["coverage"] = next(r for r in clusters if r["row"] == "total").get("coverage")
    return Table("daily", _("Daily trend"), columns, rows, total)


def _monthly_tables(period, cluster, department, departments, clusters) -> list[Table]:
    """A quarter or a year month by month: a sheet of each department's total per month and one of each
    cluster's (physical cost; a department's report: what it pays in each cluster). Each row's months add
    up to that row's total on the Departments sheet (or the cluster's physical cost), to the cent."""
    from django.db.models import Sum
    from django.db.models.functions import TruncMonth

    months = sorted({d.replace(day=1) for d in period.each_day()})
    columns = [Column(m.strftime("%Y-%m"), m.strftime("%Y-%m"), "money") for m in months]
    scope = {"day__gte": period.start, "day__lt": period.end}
    if cluster is not None:
        scope["cluster__name"] = cluster
    by_department = DepartmentCostDay.objects.filter(**scope)
    if department is not None:
        by_department = by_department.filter(name=department, is_line=False)
    department_months = by_department.annotate(month=TruncMonth("day")).values("name", "month")
    department_totals = {r["department"]: r["total"] for r in departments if r["row"] != "total"}
    if department is None:
        cluster_months = (
            ClusterDay.objects.filter(**scope)
            .annotate(month=TruncMonth("day"))
            .values("cluster__name", "month")
            .annotate(value=Sum("physical_cost"))
        )
        cluster_totals = {
            r["cluster"]: r["cost"] + r["idle"] + r["overhead"] for r in clusters if r["row"] != "total"
        }
        cluster_title = gettext("Clusters by month")
    else:
        cluster_months = department_months.values("cluster__name", "month").annotate(value=Sum("total"))
        cluster_totals = None  # what the department pays per cluster: rounded here, from its exact sums
        cluster_title = gettext("%(department)s by cluster and month") % {"department": department}
    return [
        _by_month(
            "departments_by_month",
            "Departments by month",
            Column("department", _("Department")),
            department_months.annotate(value=Sum("total")),
            "name",
            department_totals,
            columns,
        ),
        _by_month(
            "clusters_by_month",
            cluster_title,
            Column("cluster", _("Cluster")),
            cluster_months,
            "cluster__name",
            cluster_totals,
            columns,
        ),
    ]


def _by_month(name, title, label: Column, values, field_name, totals, columns) -> Table:
    exact: dict[str, dict[str, Decimal]] = {}
    for row in values:
        month = row["month"]
        key = (month.date() if isinstance(month, datetime) else month).strftime("%Y-%m")
        into = exact.setdefault(row[field_name], {})
        into[key] = into.get(key, ZERO) + (row["value"] or ZERO)
    rows = []
    for who in sorted(exact, key=lambda n: (totals is not None and n not in totals, n)):
        cells = exact[who]
        whole = totals.get(who) if totals is not None else None
        if whole is None:
            whole = sum(cells.values(), ZERO)
        keys = [c.key for c in columns]
        rounded = largest_remainder_cents([cells.get(k, ZERO) for k in keys], total=whole)
        rows.append({label.key: who, **dict(zip(keys, rounded, strict=True)), "total": sum(rounded, ZERO)})
    total = {label.key: gettext("Total"), **{c.key: sum((r[c.key] for r in rows), ZERO) for c in columns}}
    total["total"] = sum((r["total"] for r in rows), ZERO)
    return Table(name, title, [label, *columns, Column("total", _("Total"), "money")], rows, total)


def _bill_sources_table(period: Period, cluster: str | None) -> Table:
    """The bill imports whose node and overhead lines fed the period, by kind, with their part in it."""
    start = datetime.combine(period.start, time.min, UTC)
    end = datetime.combine(period.end, time.min, UTC)
    qs = BillLine.objects.filter(
        charge_period_start__lt=end,
        charge_period_end__gt=start,
        kind__in=[LineKind.NODE, LineKind.OVERHEAD],
        cluster__isnull=False,
    )
    if cluster is not None:
        qs = qs.filter(cluster__name=cluster)
    groups: dict[tuple, dict] = {}
    for imp, name, fmt, created, kind, s, e, cost in qs.values_list(
        "bill_import_id",
        "bill_import__file_name",
        "bill_import__format",
        "bill_import__created_at",
        "kind",
        "charge_period_start",
        "charge_period_end",
        "effective_cost",
    ).order_by():
        g = groups.setdefault(
            (imp, kind),
            {"file": name, "format": fmt, "imported_at": created, "lines": 0, "cost": Decimal(0), "part": []},
        )
        g["lines"] += 1
        g["cost"] += cost
        seconds = (e - s).total_seconds()
        inside = (min(e, end) - max(s, start)).total_seconds()
        g["part"].append(cost * Decimal(inside) / Decimal(seconds) if seconds > 0 else cost)
    columns = [
        Column("bill_import", _("Import #"), "int"),
        Column("file", _("File")),
        Column("format", _("Format")),
        Column("imported_at", _("Imported at"), "datetime"),
        Column("kind", _("Kind")),
        Column("lines", _("Lines"), "int"),
        Column("line_cost", _("Lines' cost"), "money"),
        Column("in_period", _("Spread into the period"), "money"),
    ]
    keys = sorted(groups, key=lambda k: (k[0], k[1]))
    in_period = largest_remainder_cents([sum(groups[k]["part"], Decimal(0)) for k in keys]) if keys else []
    line_cost = largest_remainder_cents([groups[k]["cost"] for k in keys]) if keys else []
    kinds = dict(LineKind.choices)
    rows = [
        {
            "bill_import": k[0],
            "file": groups[k]["file"],
            "format": groups[k]["format"],
            "imported_at": groups[k]["imported_at"],
            "kind": str(kinds.get(k[1], k[1])),
            "lines": groups[k]["lines"],
            "line_cost": line_cost[i],
            "in_period": in_period[i],
        }
        for i, k in enumerate(keys)
    ]
    total = {
        "bill_import": None,
        "file": gettext("Total"),
        "lines": sum(r["lines"] for r in rows),
        "line_cost": sum((r["line_cost"] for r in rows), ZERO),
        "in_period": sum((r["in_period"] for r in rows), ZERO),
    }
    return Table("bill_sources", _("Bill sources"), columns, rows, total)


def _policies(period: Period) -> list[Policy]:
    """The policies in force on some day of the period, oldest first."""
    first = Policy.objects.filter(effective_from__lte=period.start).order_by("-effective_from").first()
    later = Policy.objects.filter(effective_from__gt=period.start, effective_from__lt=period.end)
    found = ([first] if first else []) + list(later.order_by("effective_from"))
    return found


def _currency(policies: list[Policy]) -> str:
    return policies[-1].currency if policies else settings.FINOPS_CURRENCY


def _policy_table(policies: list[Policy], department: str | None) -> Table:
    """The policies used: their YAML for organisation and cluster reports; for a department, the
    policy's rules without the other departments' namespaces."""
    lines: list[str] = []
    if not policies:
        lines.append("# No policy was in force: every namespace that is not shared is Unallocated.")
    for policy in policies:
        spec = spec_from_policy(policy)
        if lines:
            lines += ["", "---", ""]
        if department is None:
            lines += dump_policy(spec).rstrip("\n").split("\n")
            continue
        lines += [
            f"# Policy in force from {spec.effective_from} (only {department}'s rule is shown)",
            f"effective_from: {spec.effective_from}",
            f"currency: {spec.currency}",
            f"split: {spec.split.method} (cpu_share {spec.split.cpu_share}, price_ratio {spec.split.price_ratio})",
            f"shared_namespaces: {', '.join(spec.shared_namespaces) or '(none)'}",
        ]
        for name in ("shared", "idle", "gpu_idle", "overhead"):
            pool = spec.pool(name) if name in spec.pools or name != "gpu_idle" else spec.pool("idle")
            lines.append(f"pool {name}: {pool.method} within {pool.scope}")
        for dept in spec.departments:
            if dept.name == department:
                lines.append(f"department {dept.name}: namespaces {', '.join(dept.namespaces) or '(none)'}")
                lines.append(f"  patterns {', '.join(dept.patterns) or '(none)'}; weight {dept.weight}")
    return Table(
        "policy", _("Policy"), [Column("line", _("Policy used"))], [{"line": line} for line in lines]
    )


def _summary(period, cluster, department, departments, clusters, namespaces, policies, collection) -> list:
    items: list[tuple[str, object, str]] = [
        (N_("Report"), gettext("Kubernetes costs"), "text"),
        (N_("Period"), period.label, "text"),
        (N_("Period key"), period.key, "text"),
        (N_("First day"), period.start, "date"),
        (N_("Last day"), period.last_day, "date"),
        (N_("Days"), period.days, "int"),
        (
            N_("Scope"),
            ", ".join(
                p
                for p in (
                    gettext("cluster %(name)s") % {"name": cluster} if cluster else "",
                    department or "",
                )
                if p
            )
            or gettext("Organisation"),
            "text",
        ),
    ]
    if department is None:
        total = next(r for r in clusters if r["row"] == "total")
        dept_total = next(r for r in departments if r["row"] == "total")
        items += [
            (N_("Physical cost"), dept_total.get("physical_cost", total.get("physical_cost")), "money"),
            (N_("Workload cost"), total["cost"], "money"),
            (N_("Idle"), total["idle"], "money"),
            (N_("Overhead"), total["overhead"], "money"),
            (N_("Apportioned to departments and lines"), dept_total["total"], "money"),
            (N_("Estimated share"), total.get("estimated_share"), "percent"),
        ]
    else:
        row = next((r for r in departments if r["row"] != "total"), None)
        ns_total = next(r for r in namespaces if r["row"] == "total")
        for part, label in (
            ("total", N_("Department total")),
            ("direct", N_("Direct")),
            ("shared", N_("Shared")),
            ("idle", N_("Idle")),
            ("gpu_idle", N_("Idle GPU")),
            ("overhead", N_("Overhead")),
        ):
            items.append((label, row[part] if row else ZERO, "money"))
        items.append((N_("Estimated share"), ns_total.get("estimated_share"), "percent"))
    items += _collection_items(*collection)
    items += [
        (
            N_("Policy version(s) in force"),
            ", ".join(gettext("from %(day)s") % {"day": p.effective_from} for p in policies)
            or gettext("none"),
            "text",
        ),
        (N_("Generated at"), timezone.now().astimezone(UTC).replace(microsecond=0), "datetime"),
        (N_("Status"), gettext("Open"), "text"),
    ]
    return items


def _collection_items(current: Coverage, previous: Coverage) -> list[tuple[str, object, str]]:
    """What the pages' period header says: the whole period's coverage, the days collected, today in
    progress, when collection started and whether the previous period compares like for like."""
    items: list[tuple[str, object, str]] = [
        (N_("Coverage"), current.sampled, "percent"),
        (
            N_("Days collected"),
            gettext("%(collected)d of %(days)d")
            % {"collected": current.collected_days, "days": current.period.days},
            "text",
        ),
    ]
    if current.in_progress_hours:
        items.append(
            (
                N_("Today"),
                gettext("in progress (%(hours)s h to come)") % {"hours": current.in_progress_hours},
                "text",
            )
        )
    if current.started is not None:
        items.append((N_("Collection started on"), current.started, "date"))
    for name, day in current.started_by_cluster.items():
        items.append((gettext("Collection of %(name)s started on") % {"name": name}, day, "date"))
    items.append((N_("Compared with"), compared_label(current.period, previous.period), "text"))
    if not comparable(current, previous):
        items.append(
            (
                N_("Previous period"),
                gettext("%(note)s: no change in %%") % {"note": comparison_note(current, previous)},
                "text",
            )
        )
    if current.pending_days:
        items.append((N_("Pending recomputation"), pending_note(current.pending_days), "text"))
    return items


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text).strip("-") or "x"


# --- plain data to JSON and back (what a closed period stores) ------------------------------------


def _encode(value):
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"day": value.isoformat()}
    return value


def _decode(value):
    if isinstance(value, dict):
        if "d" in value:
            return Decimal(value["d"])
        if "t" in value:
            return datetime.fromisoformat(value["t"])
        if "day" in value:
            return date.fromisoformat(value["day"])
    return value


def report_to_data(report: Report) -> dict:
    """The report as JSON-ready data (Decimals kept exact as text)."""
    return {
        "period": report.period.key,
        "cluster": report.cluster,
        "department": report.department,
        "currency": report.currency,
        "generated_at": report.generated_at.isoformat(),
        "summary": [[label, _encode(value), kind] for label, value, kind in report.summary],
        "tables": [
            {
                "name": t.name,
                "title": str(t.title),
                "columns": [[c.key, str(c.title), c.kind] for c in t.columns],
                "rows": [{k: _encode(v) for k, v in r.items()} for r in t.rows],
                "total": {k: _encode(v) for k, v in t.total.items()} if t.total is not None else None,
            }
            for t in report.tables
        ],
    }


def report_from_data(data: dict) -> Report:
    return Report(
        period=parse_period(data["period"]),
        cluster=data["cluster"],
        department=data["department"],
        currency=data["currency"],
        generated_at=datetime.fromisoformat(data["generated_at"]),
        summary=[(label, _decode(value), kind) for label, value, kind in data["summary"]],
        tables=[
            Table(
                t["name"],
                t["title"],
                [Column(*c) for c in t["columns"]],
                [{k: _decode(v) for k, v in r.items()} for r in t["rows"]],
                {k: _decode(v) for k, v in t["total"].items()} if t["total"] is not None else None,
            )
            for t in data["tables"]
        ],
    )
