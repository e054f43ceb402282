"""Who pays: each department's direct cost and its shares of shared namespaces, idle and overhead."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.http import Http404

from costing import access
from costing.models import DepartmentCostDay
from reports import charts, tables
from reports.queries.cents import cents, split_cents
from reports.queries.departments import department_days, department_table, department_totals
from reports.queries.explain import explain_department
from reports.views_common import base_context, daily_chart, delta, page

ZERO = Decimal(0)
PARTS = ["direct", "shared", "idle", "overhead"]


@page()
def departments(request, state):
    """Departments (and pool lines kept separate) as a table, stacked bars and a daily trend."""
    period = state.period
    table = department_table(period, state.previous, state.cluster_id, state.departments)
    rows, totals = table["rows"], table["totals"]
    for row in rows:
        row["change"] = delta(row["total"], row["previous"])
    days = department_days(period.start, period.end, state.cluster_id, state.departments)
    context = base_context(
        request,
        state,
        page="departments",
        rows=rows,
        totals=totals,
        grand=table["grand"],
        change=state.change(totals["total"], table["previous_total"]),
    )
    if rows:
        context["chart"] = charts.stacked_parts(rows, label="name", parts=PARTS, currency=context["currency"])
        # One colour per department (and line) on every chart of the page, from the table's rows.
        context["trend"] = daily_chart(
            context, days, key="name", value="total", colours=charts.colour_map(r["name"] for r in rows)
        )
    table = tables.DepartmentTable(
        rows,
        state=state,
        caption="Departments",
        totals=[{"name": "Total", **totals, "change": context["change"]}],
    )
    return tables.render_page(request, "reports/departments.html", context, "departments", departments=table)


@page()
def department(request, state, name: str):
    """A department's total into its namespaces and its share of each pool: method, applied method, basis,
    fraction (reports.queries.explain.explain_department)."""
    if not access.may_see_department(request.user, name):
        raise PermissionDenied(f"You may not see the department {name!r}.")
    if name not in state.department_choices and not DepartmentCostDay.objects.filter(name=name).exists():
        raise Http404(f"No costs were ever booked to a department named {name!r}.")
    period = state.period
    explained = explain_department(name, period.start, period.end, state.cluster)
    parts = split_cents(explained["total"], {p: explained[p] for p in PARTS})
    total = sum(parts.values(), ZERO)
    namespaces = sorted(explained["namespaces"], key=lambda n: (-n["cost"], n["namespace"]))
    cents(namespaces, "cost", parts["direct"])
    pools = explained["pools"]
    for pool in PARTS[1:]:
        cents([p for p in pools if p["pool"] == pool], "amount", parts[pool])
    cents(pools, "pool_amount")  # shown rounded; they are pools of different clusters and days
    previous = department_totals(state.previous.start, state.previous.end, state.cluster_id, [name])
    days = (
        department_days(period.start, period.end, state.cluster_id, [name])
        if not explained["is_line"]
        else []
    )
    context = base_context(
        request,
        state,
        page="departments",
        name=name,
        explained=explained,
        parts=parts,
        total=total,
        namespaces=namespaces,
        pools=sorted(pools, key=lambda p: (p["pool"], p["cluster"], -p["amount"])),
        pool_total=parts["shared"] + parts["idle"] + parts["overhead"],
        change=state.change(total, sum((r["total"] for r in previous), ZERO)),
    )
    if days:
        context["trend"] = daily_chart(
            context,
            [
                {"day": d["day"], "part": charts.PART_NAMES[part], "value": d[part]}
                for d in days
                for part in PARTS
            ],
            key="part",
            value="value",
            colours={charts.PART_NAMES[p]: charts.PART_COLOURS[p] for p in PARTS},
        )
    named = {
        "namespaces": tables.DepartmentNamespaceTable(
            namespaces,
            state=state,
            caption="Its namespaces",
            totals=[{"namespace": "Direct", "cost": parts["direct"]}],
        ),
        "pools": tables.DepartmentPoolTable(
            context["pools"],
            state=state,
            caption="Shares of the common pools",
            totals=[{"pool": "Shared + idle + overhead", "amount": context["pool_total"]}],
        ),
    }
    return tables.render_page(request, "reports/department.html", context, name, **named)
