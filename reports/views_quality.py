"""How far the figures can be trusted: sampling gaps, coverage, estimated days, the worker, days to recompute."""

from __future__ import annotations

from django.utils import timezone

from costing.models import WorkerHeartbeat
from reports import charts, tables
from reports.queries.clusters import cluster_days
from reports.queries.coverage import share_so_far
from reports.queries.quality import dirty_days, gaps
from reports.views_common import base_context, page

# A worker that has not beaten for this long is shown as stale (the heartbeat task runs every minute).
STALE_SECONDS = 300


@page(everything=True)
def data_quality(request, state):
    period = state.period
    by_reason, latest = gaps(period.start, period.end, state.cluster_id)
    days = cluster_days(period.start, period.end, state.cluster_id)
    for day in days:
        # The running day counts the hours so far: its hours to come are in progress, not gaps.
        day["coverage"] = share_so_far(day["day"], day["coverage"], state.now)
    dirty_count, dirty = dirty_days(state.cluster_id)
    now = timezone.now()
    workers = [
        {
            "hostname": w.hostname,
            "seen_at": w.seen_at,
            "age": (now - w.seen_at).total_seconds(),
            "beats": w.beats,
        }
        for w in WorkerHeartbeat.objects.order_by("-seen_at")[:20]
    ]
    for w in workers:
        w["stale"] = w["age"] > STALE_SECONDS
    clusters = sorted({r["cluster__name"] for r in days})
    context = base_context(
        request,
        state,
        page="data_quality",
        gap_reasons=by_reason,
        gaps=latest,
        low_coverage=[r for r in days if r["coverage"] < 0.999],
        estimated_days=[r for r in days if r["estimated_cost"]],
        days=days,
        dirty_count=dirty_count,
        dirty=dirty,
        workers=workers,
        stale_seconds=STALE_SECONDS,
    )
    if days:
        context["heatmap"] = charts.coverage_heatmap(days, list(period.each_day()), clusters)
    for d in context["estimated_days"]:
        d["estimated_share"] = float(d["estimated_cost"] / d["physical_cost"]) if d["physical_cost"] else None
    named = {
        "workers": tables.WorkerTable(workers, stale_seconds=STALE_SECONDS, state=state, caption="Workers"),
        "coverage": tables.CoverageDayTable(
            context["low_coverage"], state=state, caption="Cluster-days not fully sampled"
        ),
        "reasons": tables.GapReasonTable(by_reason, state=state, caption="Gaps and their reasons"),
        "gaps": tables.GapTable(latest, state=state, caption="The latest gaps"),
        "estimated": tables.EstimatedDayTable(
            context["estimated_days"], state=state, caption="Estimated days"
        ),
        "dirty": tables.DirtyDayTable(dirty, state=state, caption="Days waiting for a recompute"),
    }
    return tables.render_page(request, "reports/data_quality.html", context, "data-quality", **named)
