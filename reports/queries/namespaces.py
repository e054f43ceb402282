"""Namespaces' cost and usage over a period, per owner."""

from __future__ import annotations

from datetime import date

from costing.models import NamespaceCostDay
from reports.queries.common import COSTS, QUANTITIES, for_period, sums, with_efficiency, zero_none


def namespace_totals(start: date, end: date, cluster_id: int | None = None, departments=None) -> list[dict]:
    """Per namespace and owner over the period (a namespace that moved department shows once per owner)."""
    qs = for_period(NamespaceCostDay.objects, start, end, cluster_id)
    if departments is not None:
        qs = qs.filter(department__in=list(departments), shared=False)
    from django.db.models import Count

    rows = (
        qs.values("namespace_id", "namespace__name", "cluster__name", "department", "shared")
        .annotate(**sums([*QUANTITIES, *COSTS]), days=Count("id"))
        .order_by("-cost", "cluster__name", "namespace__name")
    )
    return [with_efficiency(zero_none(r, [*QUANTITIES, *COSTS])) for r in rows]


def usage_totals(start: date, end: date, cluster_id: int | None = None, departments=None) -> dict:
    """Requested, used and billable resource-hours with their efficiency, over the visible namespaces."""
    qs = for_period(NamespaceCostDay.objects, start, end, cluster_id)
    if departments is not None:
        qs = qs.filter(department__in=list(departments), shared=False)
    return with_efficiency(zero_none(qs.aggregate(**sums([*QUANTITIES, *COSTS])), [*QUANTITIES, *COSTS]))
