"""The Budgets page (budget, actual, forecast and status per subject) and the Alerts page (history, deliveries)."""

from __future__ import annotations

from datetime import date

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import get_language, gettext

from costing.budgets.status import as_of_day, parse_as_of, status_row, visible_alerts, visible_statuses
from reports.views_common import BadRequest, base_context, page


def _as_of(request) -> date:
    try:
        return as_of_day(parse_as_of(request.GET.get("date")))
    except ValueError as exc:
        raise BadRequest(gettext("date: %(exc)s") % {"exc": exc}) from None


@page()
def budgets(request, state):
    as_of = _as_of(request)
    rows = [status_row(s) for s in visible_statuses(request.user, as_of)]
    return render(
        request, "reports/budgets.html", base_context(request, state, page="budgets", as_of=as_of, rows=rows)
    )


@page()
def alerts(request, state):
    alerts = Paginator(visible_alerts(request.user).order_by("-created_at", "-pk"), 50).get_page(
        request.GET.get("page")
    )
    language = get_language()
    for alert in alerts:
        alert.text = alert.message_in(language)  # the page's language (the alert is written in each)
    return render(request, "reports/alerts.html", base_context(request, state, page="budgets", alerts=alerts))
