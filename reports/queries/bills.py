"""The bills page's figures: the latest imports and what the bills charge outside Kubernetes in a month."""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.db.models import Count, Max, Sum

from costing.choices import LineKind
from costing.models import BillImport, BillLine

MAX_IMPORTS_SHOWN = 50
MAX_OUTSIDE_ROWS = 500


def bill_history(month: date | None, *, imports: int = MAX_IMPORTS_SHOWN) -> dict:
    """The Bills page: the latest `imports` imports (newest first, with who uploaded and what replaced
    them) and outside_costs of `month`."""
    latest = list(BillImport.objects.select_related("uploaded_by", "replaced_by")[:imports])
    return {"imports": latest, **outside_costs(month)}


def outside_costs(month: date | None) -> dict:
    """Lines of kind outside charged in `month` (by the start of their charge period; None: the latest month
    with such a line), summed by service, tags and currency, costliest first: `outside`, with their exact
    `outside_total` (None without rows) and the `month` shown."""
    outside = BillLine.objects.filter(kind=LineKind.OUTSIDE)
    if month is None:
        latest = outside.aggregate(latest=Max("charge_period_start"))["latest"]
        month = date(latest.year, latest.month, 1) if latest else None
    if month is None:
        return {"month": None, "outside": [], "outside_total": None}
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    rows = list(
        outside.filter(charge_period_start__gte=start, charge_period_start__lt=end)
        .values("service_name", "tags", "currency")
        .annotate(lines=Count("id"), effective=Sum("effective_cost"), billed=Sum("billed_cost"))
        .order_by("-effective", "service_name")[:MAX_OUTSIDE_ROWS]
    )
    total = sum((row["effective"] for row in rows), start=0) if rows else None
    return {"month": month, "outside": rows, "outside_total": total}
