"""Clusters -> node pools -> nodes -> a node's days and hours: where the physical cost sits."""

from __future__ import annotations

from datetime import date

from django.http import Http404
from django.utils.translation import gettext

from reports import charts, tables
from reports.queries.clusters import cluster_pools, cluster_table
from reports.queries.departments import share_by_cluster
from reports.queries.nodes import node_breakdown, pool_nodes
from reports.views_common import BadRequest, base_context, delta, page


@page()
def clusters(request, state):
    """Every cluster's physical cost (admins, viewers) or the visible departments' share of each (others)."""
    context = base_context(request, state, page="clusters")
    if state.departments is not None:
        return _department_share(request, state, context)
    table = cluster_table(state.period, state.previous, state.cluster_id)
    rows, total = table["rows"], table["total"]
    for row in rows:
        row["change"] = delta(row["physical_cost"], row["previous"])
        row["coverage"] = state.coverage.per_cluster.get(row["cluster_id"])  # of the whole period
    context.update(
        rows=rows,
        total=total,
        totals=table["totals"],
        change=state.change(total, table["previous_total"]),
        chart=charts.stacked_parts(
            rows, label="cluster__name", parts=["workload", "idle", "overhead"], currency=context["currency"]
        )
        if rows
        else None,
    )
    shown = tables.ClusterTable(
        rows,
        state=state,
        caption=gettext("Physical cost by cluster"),
        totals=[
            {
                "cluster__name": gettext("Total"),
                **table["totals"],
                "physical_cost": total,
                "change": context["change"],
            }
        ],
    )
    return tables.render_page(request, "reports/clusters.html", context, "clusters", clusters=shown)


def _department_share(request, state, context):
    share = share_by_cluster(state.period, state.previous, state.cluster_id, state.departments)
    rows, totals = share["rows"], share["totals"]
    for row in rows:
        row["change"] = delta(row["total"], row["previous"])
    context.update(
        share_view=True,
        share_rows=rows,
        totals=totals,
        change=state.change(totals["total"], share["previous_total"]),
        chart=charts.stacked_parts(
            rows,
            label="cluster__name",
            parts=["direct", "shared", "idle", "overhead"],
            currency=context["currency"],
        )
        if rows
        else None,
    )
    table = tables.ClusterShareTable(
        rows,
        state=state,
        caption=gettext("Your share of each cluster"),
        totals=[{"cluster__name": gettext("Total"), **totals, "change": context["change"]}],
    )
    return tables.render_page(request, "reports/clusters.html", context, "clusters", shares=table)


def _cluster(state, name: str) -> int:
    cluster_id = next((pk for pk, cluster in state.clusters if cluster == name), None)
    if cluster_id is None:
        raise Http404(gettext("There is no cluster named %(name)r.") % {"name": name})
    return cluster_id


@page(everything=True)
def cluster(request, state, name: str):
    """A cluster's node pools (what the nodes cost, what pods paid, idle) and its overhead: the physical cost."""
    figures = cluster_pools(state.period, _cluster(state, name))
    pools, overhead, total = figures["pools"], figures["overhead"], figures["total"]
    context = base_context(request, state, page="clusters", cluster_name=name, **figures)
    if pools:
        context["chart"] = charts.stacked_parts(
            [{"name": p["node_pool__name"], "pods": p["pods"], "idle_part": p["idle_part"]} for p in pools],
            label="name",
            parts=["pods", "idle_part"],
            currency=context["currency"],
        )
    table = tables.NodePoolTable(
        pools,
        cluster_name=name,
        state=state,
        caption=gettext("Node pools"),
        totals=[
            *(
                [{"node_pool__name": gettext("Persistent volumes"), "cost": figures["volumes"]}]
                if figures["volumes"]
                else []
            ),
            {"node_pool__name": "Overhead", "cost": overhead},
            {"node_pool__name": gettext("Physical cost"), "cost": total},
        ],
    )
    return tables.render_page(request, "reports/cluster.html", context, f"cluster-{name}", pools=table)


@page(everything=True)
def node_pool(request, state, name: str, pool: str):
    """The nodes of one pool: cost, what pods paid, idle, estimated part and billed/estimated/unsampled hours."""
    from costing.models import NodePool

    cluster_id = _cluster(state, name)
    pool_id = NodePool.objects.filter(cluster_id=cluster_id, name=pool).values_list("pk", flat=True).first()
    if pool_id is None:
        raise Http404(
            gettext("There is no node pool %(pool)r in cluster %(name)r.") % {"pool": pool, "name": name}
        )
    figures = pool_nodes(state.period, cluster_id, pool_id)
    nodes, total = figures["nodes"], figures["total"]
    context = base_context(request, state, page="clusters", cluster_name=name, pool_name=pool, **figures)
    table = tables.NodeTable(
        nodes,
        cluster_name=name,
        state=state,
        caption=gettext("Nodes"),
        totals=[{"node__name": gettext("Total"), "cost": total}],
    )
    return tables.render_page(request, "reports/node_pool.html", context, f"pool-{pool}", nodes=table)


@page(everything=True)
def node(request, state, name: str, node: str):
    """A node's days, and with ?day= its hours: the unit prices its pods paid, each opening its bill lines."""
    from costing.models import Node

    cluster_id = _cluster(state, name)
    found = Node.objects.filter(cluster_id=cluster_id, name=node).select_related("node_pool").first()
    if found is None:
        raise Http404(
            gettext("There is no node %(node)r in cluster %(name)r.") % {"node": node, "name": name}
        )
    chosen = None
    text = request.GET.get("day", "").strip()
    if text:
        try:
            chosen = date.fromisoformat(text)
        except ValueError:
            raise BadRequest(gettext("day: %(text)r is not a date (YYYY-MM-DD)") % {"text": text}) from None
    figures = node_breakdown(found.pk, state.period, chosen)
    days, total, hours, cutoff = figures["days"], figures["total"], figures["hours"], figures["cutoff"]
    context = base_context(
        request,
        state,
        page="clusters",
        cluster_name=name,
        node_obj=found,
        chosen=chosen,
        keep_params=[("day", text)] if text else [],
        **figures,
    )
    named = {
        "days": tables.NodeDayTable(
            days,
            cluster_name=name,
            node_name=node,
            cutoff=cutoff,
            state=state,
            caption=gettext("Days"),
            totals=[{"day": gettext("Total"), "cost": total}],
        )
    }
    if chosen:
        named["hours"] = tables.NodeHourTable(
            hours, cluster_name=name, node_name=node, state=state, caption=gettext("Hours")
        )
    return tables.render_page(request, "reports/node.html", context, f"node-{node}", **named)
