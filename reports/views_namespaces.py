"""Namespaces -> workloads -> pods -> node-hours: what the workload cost is made of."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.http import Http404

from costing import access
from costing.models import Namespace, Pod, Workload
from reports import charts, tables
from reports.queries.cents import cents
from reports.queries.common import COSTS, QUANTITIES, with_efficiency
from reports.queries.explain import explain_namespace, explain_workload
from reports.queries.namespaces import namespace_totals, usage_totals
from reports.queries.workloads import pod_days, workload_days, workload_pods
from reports.views_common import HOURLY_DETAIL_MAX_DAYS, base_context, daily_chart, delta, page

ZERO = Decimal(0)
CHART_ROWS = 15


def check_namespace_visible(request, state, namespace_id: int) -> None:
    """A department viewer sees a namespace's figures for a period only if it was theirs on every stored day
    of it (not shared): 404 when it never was (its existence is not theirs to learn), 403 when partly."""
    seen = access.namespace_visibility(request.user, namespace_id, state.period.start, state.period.end)
    if seen == access.NOTHING:
        raise Http404("There is nothing of your departments at this address for this period.")
    if seen == access.PARTLY:
        raise PermissionDenied(
            "This namespace belonged to another department on some days of the period; "
            "choose a period in which it was yours."
        )


@page()
def namespaces(request, state):
    """Every visible namespace's cost with its owner, efficiency and change from the previous period."""
    period, previous = state.period, state.previous
    rows = namespace_totals(period.start, period.end, state.cluster_id, state.departments)
    before = {
        (r["namespace_id"], r["department"]): r["cost"]
        for r in namespace_totals(previous.start, previous.end, state.cluster_id, state.departments)
    }
    for row in rows:
        row["estimated_share"] = float(row["estimated_cost"] / row["cost"]) if row["cost"] else 0.0
    total = cents(rows, "cost")
    for row in rows:
        row["change"] = delta(row["cost"], before.get((row["namespace_id"], row["department"])))
    context = base_context(
        request,
        state,
        page="namespaces",
        rows=rows,
        total=total,
        change=state.change(total, sum(before.values(), ZERO)),
        usage=usage_totals(period.start, period.end, state.cluster_id, state.departments),
    )
    if rows:
        top = rows[:CHART_ROWS]
        context["chart"] = charts.bars(
            [f"{r['cluster__name']}/{r['namespace__name']}" for r in top],
            [r["cost"] for r in top],
            currency=context["currency"],
        )
    table = tables.NamespaceTable(
        rows,
        state=state,
        caption="Namespaces",
        totals=[{"namespace__name": "Total", "cost": total, "change": context["change"]}],
    )
    return tables.render_page(request, "reports/namespaces.html", context, "namespaces", namespaces=table)


@page()
def namespace(request, state, cluster: str, name: str):
    """A namespace into its workloads (reports.queries.explain.explain_namespace): they add up to its cost."""
    period = state.period
    ns = Namespace.objects.filter(cluster__name=cluster, name=name).first()
    if ns is None:
        raise Http404(f"There is no namespace {name!r} in cluster {cluster!r}.")
    check_namespace_visible(request, state, ns.pk)
    explained = explain_namespace(cluster, name, period.start, period.end)
    workloads = sorted(explained["workloads"], key=lambda w: (-w["cost"], w["name"]))
    total = cents(workloads, "cost", explained["cost"])
    for w in workloads:
        with_efficiency(w)
    context = base_context(
        request,
        state,
        page="namespaces",
        ns=ns,
        explained=explained,
        workloads=workloads,
        total=total,
        visible_departments=[
            d for d in explained["departments"] if access.may_see_department(request.user, d)
        ],
    )
    if workloads:
        top = workloads[:CHART_ROWS]
        context["chart"] = charts.bars(
            [f"{w['kind']}/{w['name']}" for w in top], [w["cost"] for w in top], currency=context["currency"]
        )
    table = tables.WorkloadTable(
        workloads, state=state, caption="Workloads", totals=[{"name": "Namespace total", "cost": total}]
    )
    return tables.render_page(
        request, "reports/namespace.html", context, f"{cluster}-{name}", workloads=table
    )


@page()
def workload(request, state, pk: int):
    """A workload into its pods, with quantities, efficiency and cost per day."""
    period = state.period
    wl = Workload.objects.filter(pk=pk).select_related("namespace", "cluster").first()
    if wl is None:
        raise Http404(f"There is no workload {pk}.")
    check_namespace_visible(request, state, wl.namespace_id)
    pods = workload_pods(pk, period.start, period.end, state.granted)
    days = workload_days(pk, period.start, period.end, state.granted)
    exact = sum((d["cost"] for d in days), ZERO)
    total = cents(pods, "cost", exact)
    totals = {q: sum((d[q] for d in days), 0.0) for q in QUANTITIES}
    totals.update({c: sum((d[c] for d in days), ZERO) for c in COSTS})
    with_efficiency(totals)
    context = base_context(
        request, state, page="namespaces", wl=wl, pods=pods, total=total, totals=totals, days=days
    )
    if days:
        context["chart"] = daily_chart(
            context,
            [{"day": d["day"], "series": "cost", "cost": d["cost"]} for d in days],
            key="series",
            value="cost",
        )
    table = tables.PodTable(
        pods, state=state, caption="Pods", totals=[{"pod__name": "Workload total", "cost": total}]
    )
    return tables.render_page(request, "reports/workload.html", context, f"{wl.kind}-{wl.name}", pods=table)


@page()
def pod(request, state, pk: int):
    """A pod's days and, for periods up to a month, its node-hours: billable quantity times unit price = cost,
    each unit price opening the bill lines (or the price-sheet row) it came from."""
    period = state.period
    found = Pod.objects.filter(pk=pk).select_related("namespace", "workload", "cluster").first()
    if found is None:
        raise Http404(f"There is no pod {pk}.")
    check_namespace_visible(request, state, found.namespace_id)
    days = pod_days(pk, period.start, period.end)
    total = cents(days, "cost")
    hours_by_day: dict = defaultdict(list)
    explained = None
    if period.days <= HOURLY_DETAIL_MAX_DAYS and days:
        explained = explain_workload(found.workload_id, period.start, period.end)
        mine = next((p for p in explained["pods"] if p["pod_id"] == pk), None)
        for hour in mine["hours"] if mine else []:
            hours_by_day[hour["hour"].date()].append(hour)
    for day in days:
        day["hours"] = hours_by_day.get(day["day"], [])
    context = base_context(
        request,
        state,
        page="namespaces",
        pod_obj=found,
        days=days,
        total=total,
        explained=explained,
        hourly_limit=HOURLY_DETAIL_MAX_DAYS,
        last_month=state.query(period=period.last_day.strftime("%Y-%m")),
    )
    named = {
        "days": tables.PodDayTable(
            days, state=state, caption="Days", totals=[{"day": "Pod total", "cost": total}]
        )
    }
    if explained:
        hours = [h for day in days for h in day["hours"]]
        named["hours"] = tables.PodHourTable(
            hours, cluster=found.cluster.name, state=state, caption="Node-hours"
        )
    return tables.render_page(request, "reports/pod.html", context, f"pod-{found.name}", **named)
