"""API: costs of a period grouped as asked (reports.queries.costs.cost_rows)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from api import serializers as s
from api.pagination import Pagination
from api.permissions import HasRole
from api.views.common import period_json, query_error, query_params
from costing.access import DepartmentChoice, cost_scope, sees_everything
from reports.queries.common import QueryError
from reports.queries.costs import cost_rows


class CostsView(APIView):
    """Costs of a period grouped `by` cluster, node_pool, node, namespace, workload, department or label:KEY.

    The same rows as the `costs` command and the reports (reports.queries.costs.cost_rows): money in currency
    units as exact decimal text, rounded to the cent so that the rows add up to `total`; quantities in
    resource-hours. Department viewers get their department's namespaces only (`department` defaults to
    theirs; with several departments, name one), and by=department only their departments' rows.
    """

    permission_classes = [HasRole]
    pagination_class = Pagination

    @extend_schema(parameters=[s.CostQuerySerializer], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = query_params(s.CostQuerySerializer, request)
        period = query["period_obj"]
        by, cluster, department = query["by"], query.get("cluster"), query.get("department")
        restricted = not sees_everything(request.user)
        try:
            # only: the department rows a department viewer may read of by=department (None: all).
            department, only = cost_scope(request.user, by, department)
        except DepartmentChoice as exc:
            raise query_error(exc) from None
        try:
            rows = cost_rows(period.start, period.end, by, cluster=cluster, department=department)
        except QueryError as exc:
            if restricted and str(exc).startswith("department:"):
                rows = [{"row": "total"}]  # one of theirs, with nothing booked yet
            else:
                raise query_error(exc) from None
        groups = [r for r in rows if r["row"] != "total"]
        total = next((r for r in rows if r["row"] == "total"), None)
        if only is not None:
            groups = [r for r in groups if r.get("department") in only]
            parts = ("direct", "shared", "idle", "gpu_idle", "overhead", "total")
            total = {"row": "total", "department": "Total"}
            total.update(
                {p: sum((r[p] for r in groups), start=type(groups[0][p])(0)) for p in parts} if groups else {}
            )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(groups, request, view=self)
        response = paginator.get_paginated_response(s.plain(page))
        response.data = {
            "period": period_json(period),
            "by": by,
            "cluster": cluster,
            "department": department,
            "currency": settings.FINOPS_CURRENCY,
            **response.data,
            "total": s.plain(total),
        }
        return response
