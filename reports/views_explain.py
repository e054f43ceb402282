"""The bottom of every explanation: a node-hour's unit prices and the bill lines (or price-sheet row) behind them."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext

from costing import access
from costing.models import Node
from reports import tables
from reports.queries.explain import explain_node_hour
from reports.views_common import BadRequest, base_context, page


def parse_hour(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H").replace(tzinfo=UTC)
    except ValueError:
        raise BadRequest(
            gettext("hour: %(text)r is not an hour like 2026-10-05T14 (UTC)") % {"text": text}
        ) from None


@page()
def node_hour(request, state, cluster: str, node: str, hour: str):
    """What a node-hour cost, its CPU and memory unit prices, and where the cost came from.

    A department viewer may open it only for an hour in which a pod of theirs ran on the node (they
    reach it from their pod's page); the bill lines are the node's, which their pods paid part of.
    """
    at = parse_hour(hour)
    found = Node.objects.filter(cluster__name=cluster, name=node).first()
    if found is None:
        raise Http404(
            gettext("There is no node %(node)r in cluster %(cluster)r.") % {"node": node, "cluster": cluster}
        )
    if not access.may_see_node_hour(request.user, found.pk, at):
        raise PermissionDenied(gettext("None of your departments' pods ran on this node in this hour."))
    explained = explain_node_hour(found.pk, at)
    parts = sum((line["part"] for line in explained["bill_lines"]), 0)
    context = base_context(
        request,
        state,
        page="clusters",
        cluster_name=cluster,
        node_obj=found,
        at=at,
        x=explained,
        lines_total=parts,
    )
    lines = tables.BillLineTable(
        explained["bill_lines"],
        state=state,
        caption=gettext("Bill lines"),
        totals=[{"source_row": "The hour's cost", "part": parts}],
    )
    return tables.render_page(request, "reports/node_hour.html", context, f"{node}-{hour}", lines=lines)
