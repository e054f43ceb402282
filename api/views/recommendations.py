"""API: right-sizing recommendations per container (costing.recommendations; the `recommendations` command's rows)."""

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
from costing.recommendations import COLUMNS, SUMS, as_data, recommendations_at, savings_sums

FIELDS = [*COLUMNS, "department", "workload_id"]


class RecommendationQuerySerializer(s.PeriodQuerySerializer):
    cluster = serializers.CharField(required=False, max_length=253, help_text="only this cluster")
    namespace = serializers.CharField(required=False, max_length=253, help_text="only this namespace")
    department = serializers.CharField(required=False, max_length=200, help_text="only this department")


class RecommendationsView(APIView):
    """Right-sizing advice per container for the period's end (today when it has not ended), best saving first.

    The rows of the `recommendations` command, with the namespace's department and the workload's id, and the
    monthly savings summed by namespace, department and cluster (over-requested containers only; the extra
    cost of under-requested ones apart, as `risk_cost`). Department viewers get their departments' only.
    """

    permission_classes = [HasRole]
    pagination_class = Pagination

    @extend_schema(parameters=[RecommendationQuerySerializer], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = query_params(RecommendationQuerySerializer, request)
        period = query["period_obj"]
        departments = access.listed_departments(request.user, query.get("department"))
        day = min(period.end, timezone.now().date())
        frame = recommendations_at(
            day, cluster=query.get("cluster"), departments=departments, namespace=query.get("namespace")
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(as_data(frame, FIELDS), request, view=self)
        response = paginator.get_paginated_response(page)
        response.data = {
            "period": period_json(period),
            "day": day.isoformat(),
            "currency": settings.FINOPS_CURRENCY,
            **response.data,
            "sums": {by: savings_sums(frame, by) for by in SUMS},
        }
        return response
