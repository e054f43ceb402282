"""Cost by the value of any pod label key seen in the period (team=..., app=...)."""

from __future__ import annotations

from django.utils.translation import gettext

from reports import charts, tables
from reports.queries.labels import label_table
from reports.views_common import BadRequest, base_context, page

MAX_KEY = 317  # a Kubernetes label key: 253-character prefix, "/", 63-character name
CHART_ROWS = 15


@page()
def labels(request, state):
    """Group the period's pod costs by one label key; department viewers see only their own pods."""
    key = request.GET.get("key", "").strip() or None
    if key is not None and len(key) > MAX_KEY:
        raise BadRequest(gettext("key: a label key has at most %(max)s characters") % {"max": MAX_KEY})
    figures = label_table(
        key, state.period, state.cluster_id, state.departments, cluster_ids=[pk for pk, _ in state.clusters]
    )
    rows, key, total = figures["rows"], figures["key"], figures["total"]
    context = base_context(
        request, state, page="labels", keep_params=[("key", key)] if key else [], **figures
    )
    if rows:
        top = rows[:CHART_ROWS]
        context["chart"] = charts.bars(
            [r["label"] for r in top], [r["cost"] for r in top], currency=context["currency"]
        )
    table = tables.LabelTable(
        rows,
        key=key,
        state=state,
        caption=gettext("Cost by label value"),
        totals=[{"label": gettext("Total"), "cost": total}],
    )
    return tables.render_page(request, "reports/labels.html", context, f"labels-{key or ''}", labels=table)
