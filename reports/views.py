"""The overview page: what the clusters cost over the period, where it went, and how sure we are."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext, ngettext

from costing.choices import SubjectKind
from costing.models import BillImport
from reports import charts, tables, views_common
from reports.queries.forecasts import period_forecast
from reports.queries.overview import overview
from reports.views_common import base_context, daily_chart, forecast_context, page

TOP_WORKLOADS = 10


@page()
def dashboard(request, state):
    """Overview. Whole clusters for admins and viewers; a department's share for department viewers."""
    period = state.period
    context = base_context(request, state, page="overview", has_clusters=bool(state.clusters))
    if not state.clusters:
        return render(request, "reports/dashboard.html", context)
    figures = overview(period, state.previous, state.cluster_id, state.departments, top=TOP_WORKLOADS)
    totals, previous, trend_rows = figures.pop("totals"), figures.pop("previous"), figures.pop("trend_rows")
    context.update(
        figures,
        has_bill=BillImport.objects.exists(),
        totals=totals,
        change=state.change(totals["total"], previous),
        idle_share=(totals["idle"] / totals["total"]) if totals["total"] else None,
        # Every cluster keeps its colour, whichever of them the period shows.
        trend=daily_chart(
            context,
            trend_rows,
            key="cluster__name",
            value="total",
            colours=charts.colour_map(name for _, name in state.clusters),
        ),
        recompute_hint=f"python manage.py recompute --start {period.start} --end {period.end}",
    )
    context.update(forecast_context(context, _forecast(state)))
    others = (context.get("others") or {}).get("cost")
    count = context.get("other_count")
    others_row = {
        "workload__name": ngettext("%(count)s other workload", "%(count)s other workloads", count or 0)
        % {"count": count},
        "cost": others,
    }
    table = tables.TopWorkloadTable(
        context.get("workloads", []),
        state=state,
        caption=gettext("Top workloads by cost"),
        totals=[
            *([others_row] if others is not None else []),
            {"workload__name": gettext("All workloads"), "cost": context.get("workload_total")},
        ],
    )
    return tables.render_page(request, "reports/dashboard.html", context, "overview", workloads=table)


def _forecast(state):
    """The Overview's forecast: of the chosen cluster, else of the organisation; of a department viewer's
    department when they have one (docs/budgets.md)."""
    if state.departments is None:
        if state.cluster:
            return period_forecast(SubjectKind.CLUSTER, state.cluster, state.period, views_common.today())
        return period_forecast(SubjectKind.ORGANISATION, "", state.period, views_common.today())
    if len(state.departments) == 1 and not state.cluster:
        return period_forecast(
            SubjectKind.DEPARTMENT, next(iter(state.departments)), state.period, views_common.today()
        )
    return None
