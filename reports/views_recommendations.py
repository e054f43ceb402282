"""Right-sizing recommendations: savings and risks ranked by money, with their back-test (docs/rightsizing.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext

from costing import access, histograms
from costing.engine.rightsizing import OVER_REQUESTED, UNDER_REQUESTED
from costing.folding import fold_for_read
from costing.models import ContainerHour, Workload
from costing.recommendations import kubectl_patch, recommendations_at, rightsizing_settings, savings_sums
from reports import charts, tables, views_common
from reports.views_common import BadRequest, base_context, page

MIB = 2**20


def recommendation_day(state):
    """The day the recommendations are for: the period's end, or today when the period has not ended."""
    return min(state.period.end, views_common.today())  # read at call time: tests fix the day


class RecommendationTable(tables.Table):
    per_page = 50
    workload_name = tables.Column("Workload")
    container = tables.Column("Container")
    namespace = tables.Column("Namespace")
    department = tables.Column("Department")
    cpu_request_cores = tables.QuantityColumn("CPU request (cores)", places=3)
    cpu_recommended_cores = tables.QuantityColumn("CPU advised (cores)", places=3)
    mem_request_mib = tables.QuantityColumn("Memory request (MiB)", places=0)
    mem_recommended_mib = tables.QuantityColumn("Memory advised (MiB)", places=0)
    monthly_cost_now = tables.MoneyColumn("Monthly now ({currency})")
    monthly_cost_recommended = tables.MoneyColumn("Monthly advised ({currency})")
    monthly_saving = tables.MoneyColumn("Monthly saving ({currency})", strong=True)
    backtest_cpu_over_share = tables.ShareColumn("Back-test: CPU above advice")
    backtest_mem_over = tables.Column("Back-test: memory above advice", empty_values=())

    def render_workload_name(self, value, record):
        url = self.link("recommendation", record["workload_id"]) if record.get("workload_id") else None
        return tables.row_heading(f"{record['workload_kind']}/{value}", url, record["cluster"])

    def value_workload_name(self, value, record):
        return f"{record['workload_kind']}/{value}"

    def render_backtest_mem_over(self, value):
        return {True: "yes", False: "no"}.get(value, "–")

    def value_backtest_mem_over(self, value):
        return {True: "yes", False: "no"}.get(value, "")


class NoRecommendationTable(tables.Table):
    per_page = 50
    workload_name = tables.Column("Workload")
    container = tables.Column("Container")
    namespace = tables.Column("Namespace")
    status = tables.Column("Status")
    reason = tables.Column("Why no advice", empty_values=())

    render_workload_name = RecommendationTable.render_workload_name
    value_workload_name = RecommendationTable.value_workload_name


class SumTable(tables.Table):
    key = tables.Column("Name")
    over = tables.CountColumn("Over-requested")
    saving = tables.MoneyColumn("Monthly saving ({currency})", strong=True)
    under = tables.CountColumn("Under-requested")
    risk_cost = tables.MoneyColumn("Monthly cost of fixing ({currency})")


def _records(frame) -> list[dict]:
    rows = []
    for record in frame.to_dict("records"):
        row = {k: (None if _missing(v) else v) for k, v in record.items()}
        for key in ("mem_request", "mem_recommended"):
            value = row.get(f"{key}_bytes")
            row[f"{key}_mib"] = None if value is None else value / MIB
        if row.get("backtest_mem_over") is not None:
            row["backtest_mem_over"] = bool(row["backtest_mem_over"])
        if row.get("workload_id") is not None:
            row["workload_id"] = int(row["workload_id"])
        rows.append(row)
    return rows


def _missing(value) -> bool:
    return value is None or (not isinstance(value, str | dict | list) and bool(pd.isna(value)))


def _namespace(request) -> str | None:
    namespace = request.GET.get("namespace", "").strip() or None
    if namespace is not None and len(namespace) > 253:
        raise BadRequest(gettext("namespace: a namespace name has at most 253 characters"))
    return namespace


@page()
def recommendations(request, state):
    """Every container's advice for the period's end: savings and risks apart, and sums by owner."""
    day = recommendation_day(state)
    namespace = _namespace(request)
    settings = rightsizing_settings(day)
    frame = recommendations_at(
        day, cluster=state.cluster, departments=state.departments, namespace=namespace, settings=settings
    )
    rows = _records(frame)
    savings = [r for r in rows if r["status"] == OVER_REQUESTED]
    risks = sorted((r for r in rows if r["status"] == UNDER_REQUESTED), key=lambda r: r["monthly_saving"])
    others = [r for r in rows if r["status"] not in (OVER_REQUESTED, UNDER_REQUESTED)]
    total = round(sum(r["monthly_saving"] for r in savings), 2)
    policy = settings.default if namespace is None else settings.for_namespace(namespace)
    context = base_context(
        request,
        state,
        page="recommendations",
        day=day,
        namespace=namespace,
        rows=rows,
        total=total,
        policy=policy,
        # The namespaces (names or patterns) the policy file gives settings of their own.
        own_settings=[ns for o in settings.spec.overrides for ns in o.namespaces]
        if namespace is None
        else [],
    )
    named = {
        "savings": RecommendationTable(
            savings,
            state=state,
            caption=gettext("Over-requested: savings"),
            totals=[{"workload_name": gettext("Total"), "monthly_saving": total}],
        ),
        "risks": RecommendationTable(risks, state=state, caption=gettext("Under-requested: risks")),
        "others": NoRecommendationTable(
            others, state=state, caption=gettext("Right-sized or without advice")
        ),
    }
    for by in ("department", "namespace", "cluster"):
        sums = savings_sums(frame, by)
        for row in sums:
            row["key"] = f"{row['cluster']}/{row['namespace']}" if by == "namespace" else row[by] or "–"
        named[f"by_{by}"] = SumTable(sums, state=state, caption=gettext("By %(by)s") % {"by": by})
    return tables.render_page(request, "reports/recommendations.html", context, "recommendations", **named)


@page()
def recommendation(request, state, pk: int):
    """One workload's advice per container: the usage distributions, the back-test and the patch."""
    workload = get_object_or_404(Workload.objects.select_related("cluster", "namespace"), pk=pk)
    day = recommendation_day(state)
    if not access.may_see_namespace_on(request.user, workload.namespace_id, day):
        raise Http404(
            "There is no workload of yours at this address."
        )  # its existence is not theirs to learn
    settings = rightsizing_settings(day)
    frame = recommendations_at(
        day,
        cluster=workload.cluster.name,
        departments=state.granted,
        namespace=workload.namespace.name,
        settings=settings,
    )
    frame = frame.loc[(frame["workload_kind"] == workload.kind) & (frame["workload_name"] == workload.name)]
    rows = _records(frame)
    policy = settings.for_namespace(workload.namespace.name)
    end = _midnight(day)
    fold_for_read(workload.cluster_id, before=end)
    window = ContainerHour.objects.filter(
        pod__workload=workload, init=False, hour__gte=end - timedelta(days=policy.lookback_days), hour__lt=end
    )
    cpu, mem = {}, {}
    for name, cpu_h, mem_h in window.values_list("container", "cpu_histogram", "mem_histogram").iterator():
        cpu[name] = histograms.merged([cpu.get(name, {}), cpu_h])
        mem[name] = histograms.merged([mem.get(name, {}), mem_h])
    for row in rows:
        name = row["container"]
        row["cpu_chart"] = charts.usage_histogram(
            cpu.get(name, {}),
            histograms.CPU.starts,
            scale=1,
            unit="cores",
            marks={"request": row["cpu_request_cores"], "advice": row["cpu_recommended_cores"]},
        )
        row["mem_chart"] = charts.usage_histogram(
            mem.get(name, {}),
            histograms.MEMORY.starts,
            scale=1 / MIB,
            unit="MiB",
            marks={"request": row["mem_request_mib"], "advice": row["mem_recommended_mib"]},
        )
    advised = [r for r in rows if r["cpu_recommended_cores"] is not None]
    snippet = kubectl_patch(
        workload.namespace.name,
        workload.kind,
        workload.name,
        [(r["container"], r["cpu_recommended_cores"], r["mem_recommended_bytes"]) for r in advised],
    )
    context = base_context(
        request, state, page="recommendations", workload=workload, day=day, rows=rows, snippet=snippet
    )
    table = RecommendationTable(rows, state=state, caption=gettext("Containers"))
    return tables.render_page(
        request, "reports/recommendation.html", context, workload.name, containers=table
    )


def _midnight(day):
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
