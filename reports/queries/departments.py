"""What departments (and pool lines) pay: per day, per day and cluster, over a period; a department into
its namespaces and pool shares."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from costing.models import DepartmentCostDay
from reports.periods import Period
from reports.queries.cents import cents, round_department_rows, split_cents, split_rows_to
from reports.queries.clusters import cluster_totals
from reports.queries.common import DEPARTMENT_PARTS, ZERO, for_period, sums, zero_none
from reports.queries.explain import explain_department

POOLS = ["shared", "idle", "gpu_idle", "overhead"]


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
    """Per day, cluster and department: what the given departments pay, for their trend and their share
    of each cluster."""
    qs = for_period(DepartmentCostDay.objects, start, end, cluster_id)
    if departments is not None:
        qs = qs.filter(name__in=list(departments), is_line=False)
    rows = (
        qs.values("day", "cluster_id", "cluster__name", "name")
        .annotate(**sums(DEPARTMENT_PARTS))
        .order_by("day", "cluster__name", "name")
    )
    return list(rows)


def department_totals(start: date, end: date, cluster_id: int | None = None, departments=None) -> list[dict]:
    """Per department (and pool line) over the period, departments first then lines, by name."""
    qs = for_period(DepartmentCostDay.objects, start, end, cluster_id)
    if departments is not None:
        qs = qs.filter(name__in=list(departments), is_line=False)
    rows = qs.values("name", "is_line").annotate(**sums(DEPARTMENT_PARTS)).order_by("is_line", "name")
    return [zero_none(r, DEPARTMENT_PARTS) for r in rows]


def department_cents(start: date, end: date, cluster_id: int | None = None) -> list[dict]:
    """Every department and pool line over the period to the cent, as the organisation sees them: each row's
    total against their sum (round_department_rows; the engine makes that sum the clusters' physical cost,
    to the unit), then its parts against its total.

    The one rounding of what a department pays: a department viewer sees its own rows of this, so that an
    admin and a viewer never read two amounts a cent apart for the same department (rounding only the
    visible rows would move the largest-remainder cents)."""
    rows = department_totals(start, end, cluster_id)
    round_department_rows(rows)
    return rows


def _visible(rows: list[dict], departments) -> list[dict]:
    """The rows a viewer of `departments` sees (None: every row)."""
    if departments is None:
        return rows
    names = set(departments)
    return [r for r in rows if r["name"] in names and not r["is_line"]]


def _column_totals(rows: list[dict]) -> dict:
    return {p: sum((r[p] for r in rows), Decimal("0.00")) for p in DEPARTMENT_PARTS}


def department_table(period, previous, cluster_id: int | None = None, departments=None) -> dict:
    """The Departments page's table: per department (and pool line) direct + shared + idle + overhead =
    total to the cent (department_cents) with `previous`, the exact total of the period `previous` it
    is compared with (reports.periods.compared_period); the
    `totals`, the `previous_total`, and `grand`: the clusters' physical cost the rows add up to when every
    department is shown (None for a department viewer, whose rows are only part of it), and the exact
    `days` of department_days for the trend."""
    rows = _visible(department_cents(period.start, period.end, cluster_id), departments)
    grand = None
    if departments is None:
        grand = sum((r["physical_cost"] for r in cluster_totals(period.start, period.end, cluster_id)), ZERO)
    before = {
        r["name"]: r["total"]
        for r in department_totals(previous.start, previous.end, cluster_id, departments)
    }
    for row in rows:
        row["previous"] = before.get(row["name"])
    return {
        "rows": rows,
        "totals": _column_totals(rows),
        "grand": grand,
        "previous_total": sum(before.values(), ZERO),
        "days": department_days(period.start, period.end, cluster_id, departments),
    }


def department_breakdown(
    name: str, period: Period, previous: Period, cluster: str | None = None, cluster_id=None
) -> dict:
    """The Department page: explain_department (as `explained`) to the cent. Its `parts` (direct, shared,
    idle, overhead) add up to `total`; its `namespaces` (costliest first) to the direct part and its
    `pools` (by pool, cluster, largest share) of each pool to that part, summed in `pool_total`; each
    pool's whole (`pool_amount`) is rounded alone, as they are pools of different clusters and days.
    `previous_total`: the exact total of the period `previous` it is compared with; `days`: department_days for the trend
    (none for a pool line). `cluster` and `cluster_id` name the same cluster (or both None)."""
    explained = explain_department(name, period.start, period.end, cluster)
    parts = split_cents(explained["total"], {p: explained[p] for p in ["direct", *POOLS]})
    namespaces = sorted(explained["namespaces"], key=lambda n: (-n["cost"], n["namespace"]))
    cents(namespaces, "cost", parts["direct"])
    pools = explained["pools"]
    for pool in POOLS:
        cents([p for p in pools if p["pool"] == pool], "amount", parts[pool])
    cents(pools, "pool_amount")
    before = department_totals(previous.start, previous.end, cluster_id, [name])
    days = [] if explained["is_line"] else department_days(period.start, period.end, cluster_id, [name])
    return {
        "explained": explained,
        "parts": parts,
        "total": sum(parts.values(), ZERO),
        "namespaces": namespaces,
        "pools": sorted(pools, key=lambda p: (p["pool"], p["cluster"], -p["amount"])),
        "pool_total": sum((parts[p] for p in POOLS), ZERO),
        "previous_total": sum((r["total"] for r in before), ZERO),
        "days": days,
    }


def share_by_cluster(period, previous, cluster_id: int | None, departments) -> dict:
    """What `departments` pay in each cluster (direct + their shares of the pools = total, to the cent),
    with `previous`, the exact total per cluster of the period `previous` it is compared with; the
    `totals` and `previous_total`.

    The parts' totals are those of the Departments page and the overview (department_figures), and each
    cluster's parts still add up to its total (cents.split_rows_to)."""
    days = department_cluster_days(period.start, period.end, cluster_id, departments)
    per_cluster = _summed(days, "cluster__name")
    before: dict[str, Decimal] = {}
    for row in department_cluster_days(previous.start, previous.end, cluster_id, departments):
        before[row["cluster__name"]] = before.get(row["cluster__name"], ZERO) + (row["total"] or ZERO)
    rows = [per_cluster[name] for name in sorted(per_cluster)]
    headline = department_figures(period, cluster_id, departments)
    parts = [p for p in DEPARTMENT_PARTS if p != "total"]
    totals = split_rows_to(rows, "total", parts, {p: headline[p] for p in parts})
    for row in rows:
        row["previous"] = before.get(row["cluster__name"])
    return {"rows": rows, "totals": totals, "previous_total": sum(before.values(), ZERO)}


def department_figures(period, cluster_id: int | None, departments) -> dict:
    """The totals of what some departments pay over the period, to the cent: their rows of
    department_cents (the Departments page's rounding, the organisation's), summed."""
    return _column_totals(_visible(department_cents(period.start, period.end, cluster_id), departments))


def _summed(days: list[dict], key: str) -> dict[str, dict]:
    """The exact parts of department_cluster_days rows summed per `key` (cluster__name or name), by key."""
    out: dict[str, dict] = {}
    for row in days:
        into = out.setdefault(row[key], {key: row[key], **dict.fromkeys(DEPARTMENT_PARTS, ZERO)})
        for part in DEPARTMENT_PARTS:
            into[part] += row[part] or ZERO
    return out
