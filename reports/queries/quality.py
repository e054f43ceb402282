"""Data quality: sampling gaps and cluster-days waiting for a recompute."""

from __future__ import annotations

from datetime import date

from costing.models import ClusterDay


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
