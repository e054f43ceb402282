"""API: explanations of a department's, namespace's, workload's and node-hour's cost."""

from __future__ import annotations

from datetime import UTC

from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api import serializers as s
from api.permissions import HasRole, SeesEverything
from api.views.common import period_json, query_params
from costing.access import WHOLE, may_see_department, namespace_visibility, sees_everything
from costing.models import Namespace, Workload
from reports.queries.explain import NotFound as ExplainNotFound
from reports.queries.explain import explain_department, explain_namespace, explain_node_hour, explain_workload


def _namespace_visible(user, namespace_id: int, period) -> bool:
    # No period picker to offer here: a namespace that was theirs only partly is as unseen as another's.
    return namespace_visibility(user, namespace_id, period.start, period.end) == WHOLE


class ExplainDepartmentView(APIView):
    """A department's (or pool line's) total: its namespaces and its share of each pool, with method and basis."""

    permission_classes = [HasRole]

    @extend_schema(parameters=[s.ExplainDepartmentQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = query_params(s.ExplainDepartmentQuery, request)
        if not may_see_department(request.user, query["name"]):
            raise PermissionDenied(
                gettext("%(name)r is not one of your departments") % {"name": query["name"]}
            )
        period = query["period_obj"]
        try:
            data = explain_department(query["name"], period.start, period.end, query.get("cluster"))
        except ExplainNotFound as exc:
            raise NotFound(str(exc)) from None
        return Response(s.plain({"period": period_json(period), **data}))


class ExplainNamespaceView(APIView):
    """A namespace's cost and the workloads it is made of."""

    permission_classes = [HasRole]

    @extend_schema(parameters=[s.ExplainNamespaceQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = query_params(s.ExplainNamespaceQuery, request)
        period = query["period_obj"]
        if not sees_everything(request.user):
            ns_id = (
                Namespace.objects.filter(cluster__name=query["cluster"], name=query["namespace"])
                .values_list("pk", flat=True)
                .first()
            )
            if ns_id is None or not _namespace_visible(request.user, ns_id, period):
                raise NotFound(gettext("no such namespace among your departments' in this period"))
        try:
            data = explain_namespace(query["cluster"], query["namespace"], period.start, period.end)
        except ExplainNotFound as exc:
            raise NotFound(str(exc)) from None
        return Response(s.plain({"period": period_json(period), **data}))


class ExplainWorkloadView(APIView):
    """A workload's pods, their days and (within hourly retention) node-hours with unit prices."""

    permission_classes = [HasRole]

    @extend_schema(parameters=[s.ExplainWorkloadQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = query_params(s.ExplainWorkloadQuery, request)
        period = query["period_obj"]
        namespace_id = (
            Workload.objects.filter(pk=query["workload"]).values_list("namespace_id", flat=True).first()
        )
        if namespace_id is None or not _namespace_visible(request.user, namespace_id, period):
            raise NotFound(
                gettext("no workload with id %(workload)s among what you may see")
                % {"workload": query["workload"]}
            )
        try:
            data = explain_workload(query["workload"], period.start, period.end)
        except ExplainNotFound as exc:
            raise NotFound(str(exc)) from None
        return Response(s.plain({"period": period_json(period), **data}))


class ExplainNodeHourView(APIView):
    """What one node-hour cost and the bill lines (or price-sheet row) it came from. Admins and viewers."""

    permission_classes = [SeesEverything]

    @extend_schema(parameters=[s.ExplainNodeHourQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = query_params(s.ExplainNodeHourQuery, request)
        hour = query["hour"].astimezone(UTC)
        if hour.minute or hour.second or hour.microsecond:
            raise ValidationError({"hour": [gettext("give the start of an hour, e.g. 2026-10-05T13:00:00Z")]})
        try:
            data = explain_node_hour(query["node"], hour)
        except ExplainNotFound as exc:
            raise NotFound(str(exc)) from None
        return Response(s.plain(data))
