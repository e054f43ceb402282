"""How far the figures can be trusted: sampling gaps, coverage, estimated days, the worker, days to recompute."""

from __future__ import annotations

from django.utils.translation import gettext

from reports import charts, tables
from reports.queries import quality
from reports.views_common import base_context, page


@page(everything=True)
def data_quality(request, state):
    period = state.period
    figures = quality.data_quality(period, state.cluster_id, state.now)
    days = figures["days"]
    context = base_context(
        request, state, page="data_quality", stale_seconds=quality.STALE_SECONDS, **figures
    )
    if days:
        clusters = sorted({r["cluster__name"] for r in days})
        context["heatmap"] = charts.coverage_heatmap(days, list(period.each_day()), clusters)
    named = {
        "workers": tables.WorkerTable(
            figures["workers"], stale_seconds=quality.STALE_SECONDS, state=state, caption=gettext("Workers")
        ),
        "coverage": tables.CoverageDayTable(
            figures["low_coverage"], state=state, caption=gettext("Cluster-days not fully sampled")
        ),
        "reasons": tables.GapReasonTable(
            figures["gap_reasons"], state=state, caption=gettext("Gaps and their reasons")
        ),
        "gaps": tables.GapTable(figures["gaps"], state=state, caption=gettext("The latest gaps")),
        "estimated": tables.EstimatedDayTable(
            figures["estimated_days"], state=state, caption=gettext("Estimated days")
        ),
        "dirty": tables.DirtyDayTable(
            figures["dirty"], state=state, caption=gettext("Days waiting for a recompute")
        ),
    }
    return tables.render_page(request, "reports/data_quality.html", context, "data-quality", **named)
