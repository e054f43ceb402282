"""Data quality: sampling gaps, coverage and estimated cluster-days, the workers, days waiting for a recompute."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone

from costing.models import ClusterDay, WorkerHeartbeat
from reports.periods import Period
from reports.queries.clusters import cluster_days
from reports.queries.coverage import share_so_far

# A worker that has not beaten for this long is shown as stale (the heartbeat task runs every minute).
STALE_SECONDS = 300


def gaps(
    start: date, end: date, cluster_id: int | None = None, limit: int = 50
) -> tuple[list[dict], list[dict]]:
    """Sampling gaps in the period: counted per cluster and reason, and the latest `limit` of them."""
    from datetime import UTC, datetime, time

    from django.db.models import Count, Max, Sum

    from costing.choices import SampleStatus
    from costing.models import SampleSlot

    qs = SampleSlot.objects.filter(
        status=SampleStatus.GAP,
        slot__gte=datetime.combine(start, time(), tzinfo=UTC),
        slot__lt=datetime.combine(end, time(), tzinfo=UTC),
    )
    if cluster_id is not None:
        qs = qs.filter(cluster_id=cluster_id)
    by_reason = list(
        qs.values("cluster__name", "reason")
        .annotate(count=Count("id"), seconds=Sum("interval"), last=Max("slot"))
        .order_by("cluster__name", "-count")
    )
    latest = list(
        qs.order_by("-slot").values("cluster__name", "slot", "interval", "reason", "source")[:limit]
    )
    return by_reason, latest


def dirty_days(cluster_id: int | None = None, limit: int = 50) -> tuple[int, list[dict]]:
    """Cluster-days waiting for a recompute: how many, and the oldest `limit` of them."""
    qs = ClusterDay.objects.filter(dirty=True)
    if cluster_id is not None:
        qs = qs.filter(cluster_id=cluster_id)
    return qs.count(), list(
        qs.order_by("day", "cluster__name").values("cluster__name", "day", "computed_at")[:limit]
    )


def workers(limit: int = 20) -> list[dict]:
    """The `limit` workers seen last: host, last beat, its age in seconds, beats, stale."""
    # The clock, not the page's moment (a period's day pinned to its end): a heartbeat is live.
    now = timezone.now()
    rows = [
        {
            "hostname": w.hostname,
            "seen_at": w.seen_at,
            "age": (now - w.seen_at).total_seconds(),
            "beats": w.beats,
        }
        for w in WorkerHeartbeat.objects.order_by("-seen_at")[:limit]
    ]
    for row in rows:
        row["stale"] = row["age"] > STALE_SECONDS
    return rows


def data_quality(period: Period, cluster_id: int | None, now: datetime) -> dict:
    """The Data quality page: the period's gaps (`gap_reasons`, the latest `gaps`), its cluster-`days` with
    their coverage as of `now` (the running day counts its hours so far: the rest are in progress, not
    gaps), of which the `low_coverage` and `estimated_days` (with their `estimated_share`); the
    `dirty_count` and oldest `dirty` days, and the `workers`."""
    by_reason, latest = gaps(period.start, period.end, cluster_id)
    days = cluster_days(period.start, period.end, cluster_id)
    for day in days:
        day["coverage"] = share_so_far(day["day"], day["coverage"], now)
    estimated = [r for r in days if r["estimated_cost"]]
    for day in estimated:
        day["estimated_share"] = (
            float(day["estimated_cost"] / day["physical_cost"]) if day["physical_cost"] else None
        )
    dirty_count, dirty = dirty_days(cluster_id)
    return {
        "gap_reasons": by_reason,
        "gaps": latest,
        "days": days,
        "low_coverage": [r for r in days if r["coverage"] < 0.999],
        "estimated_days": estimated,
        "dirty_count": dirty_count,
        "dirty": dirty,
        "workers": workers(),
    }
