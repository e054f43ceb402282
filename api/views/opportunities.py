"""API: the capacity levers' savings list (costing.opportunities; the `opportunities` command's rows)."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from api import serializers as s
from api.pagination import Pagination
from api.permissions import HasRole
from api.views.common import period_json, query_params
from costing import access
from costing.engine.levers import LEVERS, OVERLAPS
from costing.opportunities import COLUMNS, as_data
from reports.queries.optimise import period_opportunities

FIELDS = [*COLUMNS, "namespace", "workload_kind", "workload_name", "pool", "department", "workload_id"]


class OpportunityQuerySerializer(s.PeriodQuerySerializer):
    cluster = serializers.CharField(required=False, max_length=253, help_text="only this cluster")
    namespace = serializers.CharField(required=False, max_length=253, help_text="only this namespace")
    department = serializers.CharField(required=False, max_length=200, help_text="only this department")


class OpportunitiesView(APIView):
    """Every capacity lever of the period (right-size, packing, oversubscription, CronHPA, pay-per-use),
    ranked by monthly saving.

    Each row has the lever's own `monthly_saving` and its `counted_saving`: what it adds to `total` once
    the levers before it in `order` are counted (`overlaps` names them), so the total counts no money twice.
    Department viewers get their departments' workloads only (no node pool levers).
    """

    permission_classes = [HasRole]
    pagination_class = Pagination

    @extend_schema(parameters=[OpportunityQuerySerializer], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = query_params(OpportunityQuerySerializer, request)
        period = query["period_obj"]
        departments = access.listed_departments(request.user, query.get("department"))
        result = period_opportunities(
            period,
            timezone.now().date(),
            cluster=query.get("cluster"),
            departments=departments,
            namespace=query.get("namespace"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(as_data(result.savings, FIELDS), request, view=self)
        response = paginator.get_paginated_response(page)
        response.data = {
            "period": period_json(period),
            "window": {"start": result.start.isoformat(), "end": result.end.isoformat()},
            "currency": settings.FINOPS_CURRENCY,
            "price_sheet": result.sheet.name if result.sheet else None,
            "total": round(result.total, 2),
            "order": list(LEVERS),
            "overlaps": {lever: OVERLAPS[lever] for lever in LEVERS},
            "by_cluster": result.totals("cluster"),
            "by_lever": result.totals("lever"),
            **response.data,
        }
        return response
