"""Who pays: each department's direct cost and its shares of shared namespaces, idle and overhead."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext

from costing import access
from costing.choices import SubjectKind
from costing.models import DepartmentCostDay
from reports import charts, tables, views_common
from reports.queries.departments import department_breakdown, department_table
from reports.queries.forecasts import period_forecast
from reports.views_common import base_context, daily_chart, delta, forecast_context, page

PARTS = ["direct", "shared", "idle", "gpu_idle", "overhead"]


@page()
def departments(request, state):
    """Departments (and pool lines kept separate) as a table, stacked bars and a daily trend."""
    table = department_table(state.period, state.previous, state.cluster_id, state.departments)
    rows, totals, days = table["rows"], table["totals"], table["days"]
    for row in rows:
        row["change"] = delta(row["total"], row["previous"])
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
        caption=gettext("Departments"),
        totals=[{"name": gettext("Total"), **totals, "change": context["change"]}],
    )
    return tables.render_page(request, "reports/departments.html", context, "departments", departments=table)


@page()
def department(request, state, name: str):
    """A department's total into its namespaces and its share of each pool: method, applied method, basis,
    fraction (reports.queries.departments.department_breakdown)."""
    if not access.may_see_department(request.user, name):
        raise PermissionDenied(gettext("You may not see the department %(name)r.") % {"name": name})
    if name not in state.department_choices and not DepartmentCostDay.objects.filter(name=name).exists():
        raise Http404(gettext("No costs were ever booked to a department named %(name)r.") % {"name": name})
    figures = department_breakdown(name, state.period, state.previous, state.cluster, state.cluster_id)
    days, previous_total = figures.pop("days"), figures.pop("previous_total")
    parts = figures["parts"]
    context = base_context(
        request,
        state,
        page="departments",
        name=name,
        change=state.change(figures["total"], previous_total),
        **figures,
    )
    if days:
        context["trend"] = daily_chart(
            context,
            [
                {"day": d["day"], "part": str(charts.PART_NAMES[part]), "value": d[part]}
                for d in days
                for part in PARTS
            ],
            key="part",
            value="value",
            colours={str(charts.PART_NAMES[p]): charts.PART_COLOURS[p] for p in PARTS},
        )
    # The forecast is of the department's whole cost: not shown for one cluster's part of it.
    if not state.cluster:
        context.update(
            forecast_context(
                context, period_forecast(SubjectKind.DEPARTMENT, name, state.period, views_common.today())
            )
        )
    named = {
        "namespaces": tables.DepartmentNamespaceTable(
            figures["namespaces"],
            state=state,
            caption=gettext("Its namespaces"),
            totals=[{"namespace": "Direct", "cost": parts["direct"]}],
        ),
        "pools": tables.DepartmentPoolTable(
            context["pools"],
            state=state,
            caption=gettext("Shares of the common pools"),
            totals=[{"pool": "Shared + idle + idle GPU + overhead", "amount": context["pool_total"]}],
        ),
    }
    return tables.render_page(request, "reports/department.html", context, name, **named)
