"""What departments (and pool lines) pay: per day, per day and cluster, over a period."""

from __future__ import annotations

from datetime import date

from costing.models import DepartmentCostDay
from reports.queries.common import DEPARTMENT_PARTS, for_period, sums, zero_none


def department_days(start: date, end: date, cluster_id: int | None = None, departments=None) -> list[dict]:
    """Per day and department (or pool line): direct + shared + idle + overhead = total, summed over clusters."""
    qs = for_period(DepartmentCostDay.objects, start, end, cluster_id)
    if departments is not None:
        qs = qs.filter(name__in=list(departments), is_line=False)
    rows = qs.values("day", "name", "is_line").annotate(**sums(DEPARTMENT_PARTS)).order_by("day", "name")
    return list(rows)


def department_cluster_days(
    start: date, end: date, cluster_id: int | None = None, departments=None
) -> list[dict]:
    """Per day and cluster: what the given departments pay (their totals), for a department's trend."""
    qs = for_period(DepartmentCostDay.objects, start, end, cluster_id)
    if departments is not None:
        qs = qs.filter(name__in=list(departments), is_line=False)
    rows = (
        qs.values("day", "cluster_id", "cluster__name")
        .annotate(**sums(DEPARTMENT_PARTS))
        .order_by("day", "cluster__name")
    )
    return list(rows)


def department_totals(start: date, end: date, cluster_id: int | None = None, departments=None) -> list[dict]:
    """Per department (and pool line) over the period, departments first then lines, by name."""
    qs = for_period(DepartmentCostDay.objects, start, end, cluster_id)
    if departments is not None:
        qs = qs.filter(name__in=list(departments), is_line=False)
    rows = qs.values("name", "is_line").annotate(**sums(DEPARTMENT_PARTS)).order_by("is_line", "name")
    return [zero_none(r, DEPARTMENT_PARTS) for r in rows]
