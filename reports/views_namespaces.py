"""Namespaces -> workloads -> pods -> node-hours: what the workload cost is made of."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext

from costing import access
from costing.models import Namespace, Pod, Workload
from reports import charts, tables
from reports.queries.namespaces import namespace_table, namespace_workloads
from reports.queries.workloads import pod_breakdown, workload_breakdown
from reports.views_common import HOURLY_DETAIL_MAX_DAYS, base_context, daily_chart, delta, page

CHART_ROWS = 15


def check_namespace_visible(request, state, namespace_id: int) -> None:
    """A department viewer sees a namespace's figures for a period only if it was theirs on every stored day
    of it (not shared): 404 when it never was (its existence is not theirs to learn), 403 when partly."""
    seen = access.namespace_visibility(request.user, namespace_id, state.period.start, state.period.end)
    if seen == access.NOTHING:
        raise Http404(gettext("There is nothing of your departments at this address for this period."))
    if seen == access.PARTLY:
        raise PermissionDenied(
            "This namespace belonged to another department on some days of the period; "
            "choose a period in which it was yours."
        )


@page()
def namespaces(request, state):
    """Every visible namespace's cost with its owner, efficiency and change from the previous period."""
    figures = namespace_table(state.period, state.previous, state.cluster_id, state.departments)
    rows, total = figures["rows"], figures["total"]
    for row in rows:
        row["change"] = delta(row["cost"], row["previous"])
    context = base_context(
        request,
        state,
        page="namespaces",
        rows=rows,
        total=total,
        change=state.change(total, figures["previous_total"]),
        usage=figures["usage"],
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
        caption=gettext("Namespaces"),
        totals=[{"namespace__name": gettext("Total"), "cost": total, "change": context["change"]}],
    )
    return tables.render_page(request, "reports/namespaces.html", context, "namespaces", namespaces=table)


@page()
def namespace(request, state, cluster: str, name: str):
    """A namespace into its workloads (reports.queries.namespaces.namespace_workloads): they add up to its cost."""
    ns = Namespace.objects.filter(cluster__name=cluster, name=name).first()
    if ns is None:
        raise Http404(
            gettext("There is no namespace %(name)r in cluster %(cluster)r.")
            % {"name": name, "cluster": cluster}
        )
    check_namespace_visible(request, state, ns.pk)
    figures = namespace_workloads(cluster, name, state.period)
    workloads, total = figures["workloads"], figures["total"]
    context = base_context(
        request,
        state,
        page="namespaces",
        ns=ns,
        visible_departments=[
            d for d in figures["explained"]["departments"] if access.may_see_department(request.user, d)
        ],
        **figures,
    )
    if workloads:
        top = workloads[:CHART_ROWS]
        context["chart"] = charts.bars(
            [f"{w['kind']}/{w['name']}" for w in top], [w["cost"] for w in top], currency=context["currency"]
        )
    table = tables.WorkloadTable(
        workloads,
        state=state,
        caption=gettext("Workloads"),
        totals=[{"name": gettext("Namespace total"), "cost": total}],
    )
    named = {
        "workloads": table,
        "volumes": tables.VolumeTable(
            figures["explained"]["volumes"], state=state, caption=gettext("Volumes")
        ),
    }
    if figures["load_balancers"]:
        named["load_balancers"] = tables.LoadBalancerTable(
            figures["load_balancers"],
            state=state,
            caption=gettext("Load balancers"),
            totals=[{"service": gettext("Network"), "cost": figures["network_cost"]}],
        )
    return tables.render_page(request, "reports/namespace.html", context, f"{cluster}-{name}", **named)


@page()
def workload(request, state, pk: int):
    """A workload into its pods, with quantities, efficiency and cost per day."""
    wl = Workload.objects.filter(pk=pk).select_related("namespace", "cluster").first()
    if wl is None:
        raise Http404(gettext("There is no workload %(pk)s.") % {"pk": pk})
    check_namespace_visible(request, state, wl.namespace_id)
    figures = workload_breakdown(pk, state.period, state.granted)
    pods, days, total = figures["pods"], figures["days"], figures["total"]
    context = base_context(request, state, page="namespaces", wl=wl, **figures)
    if days:
        context["chart"] = daily_chart(
            context,
            [{"day": d["day"], "series": "cost", "cost": d["cost"]} for d in days],
            key="series",
            value="cost",
        )
    table = tables.PodTable(
        pods,
        state=state,
        caption=gettext("Pods"),
        totals=[{"pod__name": gettext("Workload total"), "cost": total}],
    )
    volumes = tables.VolumeTable(figures["volumes"], state=state, caption=gettext("Volumes"))
    return tables.render_page(
        request, "reports/workload.html", context, f"{wl.kind}-{wl.name}", pods=table, volumes=volumes
    )


@page()
def pod(request, state, pk: int):
    """A pod's days and, for periods up to a month, its node-hours: billable quantity times unit price = cost,
    each unit price opening the bill lines (or the price-sheet row) it came from."""
    period = state.period
    found = Pod.objects.filter(pk=pk).select_related("namespace", "workload", "cluster").first()
    if found is None:
        raise Http404(gettext("There is no pod %(pk)s.") % {"pk": pk})
    check_namespace_visible(request, state, found.namespace_id)
    figures = pod_breakdown(pk, found.workload_id, period, with_hours=period.days <= HOURLY_DETAIL_MAX_DAYS)
    days, total, explained = figures["days"], figures["total"], figures["explained"]
    context = base_context(
        request,
        state,
        page="namespaces",
        pod_obj=found,
        **figures,
        hourly_limit=HOURLY_DETAIL_MAX_DAYS,
        last_month=state.query(period=period.last_day.strftime("%Y-%m")),
    )
    named = {
        "days": tables.PodDayTable(
            days, state=state, caption=gettext("Days"), totals=[{"day": gettext("Pod total"), "cost": total}]
        )
    }
    if explained:
        hours = [h for day in days for h in day["hours"]]
        named["hours"] = tables.PodHourTable(
            hours, cluster=found.cluster.name, state=state, caption=gettext("Node-hours")
        )
    return tables.render_page(request, "reports/pod.html", context, f"pod-{found.name}", **named)
