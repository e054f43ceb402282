"""API: a period's report as plain data, and report exports (ask, follow, download)."""

from __future__ import annotations

import math

from django.db import transaction
from django.http import FileResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api import serializers as s
from api.pagination import Pagination
from api.permissions import HasRole
from api.views.common import ID, period_json, query_error, query_params
from costing.access import report_department, restrict_exports, sees_everything
from costing.choices import RunStatus
from reports.models import ExportRun
from reports.queries.common import known_department
from reports.reporting.builder import ReportError, build_report
from reports.reporting.delivery import XLSX_TYPE


def _report_scope(user, cluster: str, department: str) -> tuple[str, str]:
    """The pages' access rule (costing.access.report_department); an unknown department is a bad
    parameter, not an empty report."""
    department = report_department(user, department) or ""
    if department and not known_department(department):
        raise ValidationError(
            {
                "department": [
                    gettext("no costs were ever booked to %(department)r") % {"department": department}
                ]
            }
        )
    return cluster, department


def _export_runs(user):
    return restrict_exports(ExportRun.objects.select_related("requested_by", "schedule"), user)


@extend_schema_view(
    list=extend_schema(summary="Your exports (admins: all, scheduled runs included), newest first"),
    retrieve=extend_schema(
        summary="One export: status, progress, error, times and the download URL once it is ready"
    ),
    create=extend_schema(
        summary="Ask for an export; built by a worker (reports.build_export) after commit",
        request=s.ExportRequestSerializer,
        responses={
            201: s.ExportRunSerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT, description="bad period, cluster, department or format"
            ),
            403: OpenApiResponse(OpenApiTypes.OBJECT, description="not one of your departments"),
        },
    ),
)
class ExportRunViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Report exports (issue 8): ask for one, follow its status, download its file.

    The same ExportRun and Celery task as the Reports page (reports/views_reports.py), with the same
    rules: department viewers export only their departments; another user's export is a 404."""

    permission_classes = [HasRole]
    serializer_class = s.ExportRunSerializer
    pagination_class = Pagination
    parser_classes = [parsers.JSONParser, parsers.FormParser, parsers.MultiPartParser]
    lookup_value_regex = ID

    def get_queryset(self):
        return _export_runs(self.request.user)

    def create(self, request, *args, **kwargs):
        from reports.tasks import build_export

        body = s.ExportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        cluster, department = _report_scope(
            request.user, data.get("cluster", "").strip(), data.get("department", "").strip()
        )
        with transaction.atomic():
            run = ExportRun.objects.create(
                requested_by=request.user,
                period_key=data["period"].key,
                cluster=cluster,
                department=department,
                format=data["format"],
            )
            build_export.delay_on_commit(run.pk)
        answer = s.ExportRunSerializer(run, context={"request": request}).data
        return Response(answer, status=status.HTTP_201_CREATED, headers={"Location": answer["url"]})


class ExportDownloadView(APIView):
    """The export's file: an .xlsx workbook or a .zip of CSVs, as an attachment. 409 until it is built."""

    permission_classes = [HasRole]

    def perform_content_negotiation(self, request, force=False):
        # The answer is the file whatever the client accepts; errors fall back to JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        responses={
            (200, XLSX_TYPE): OpenApiTypes.BINARY,
            (200, "application/zip"): OpenApiTypes.BINARY,
            404: OpenApiResponse(OpenApiTypes.OBJECT, description="no such export among yours"),
            409: OpenApiResponse(OpenApiTypes.OBJECT, description="not built yet, or it failed"),
            410: OpenApiResponse(OpenApiTypes.OBJECT, description="the file is gone; ask again"),
        },
    )
    def get(self, request, pk):
        run = _export_runs(request.user).filter(pk=pk).first()
        if run is None:
            raise NotFound(gettext("no such export among yours"))
        if not s.export_ready(run):
            why = f"the export failed: {run.error}" if run.status == RunStatus.FAILED else "not ready yet"
            return Response(
                {"detail": why, "status": run.status, "progress": round(run.progress, 3)},
                status=status.HTTP_409_CONFLICT,
            )
        try:
            handle = open(run.file_path, "rb")  # noqa: SIM115 - FileResponse closes it
        except FileNotFoundError:
            return Response(
                {"detail": "the export's file is gone; ask for it again"}, status=status.HTTP_410_GONE
            )
        return FileResponse(
            handle,
            as_attachment=True,
            filename=run.file_name,
            content_type=XLSX_TYPE if run.file_name.endswith(".xlsx") else "application/zip",
        )


def _plain_value(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN
    return s.plain(value)


def _table_json(table) -> dict:
    return {
        "name": table.name,
        "title": str(table.title),
        "columns": [{"key": c.key, "title": str(c.title), "kind": c.kind} for c in table.columns],
        "rows": [{k: _plain_value(v) for k, v in row.items()} for row in table.rows],
        "total": {k: _plain_value(v) for k, v in table.total.items()} if table.total is not None else None,
    }


class ReportView(APIView):
    """A period's report as plain data (reports.reporting.builder.build_report), built synchronously.

    What the export files hold: a summary (label, value, kind) and tables (departments, namespaces,
    workloads, node pools, daily trend, bill sources, policy) as rows keyed by column, money as exact
    decimal text. A closed period shows the figures frozen when it was closed, with restatements."""

    permission_classes = [HasRole]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "period",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="2026-10, 2026-Q4, 2026, 2026-W44, 2026-10-05 or 2026-10-01..2026-11-01",
            ),
            s.ReportQuery,
        ],
        responses={
            200: OpenApiTypes.OBJECT,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="bad period, cluster or department"),
            403: OpenApiResponse(OpenApiTypes.OBJECT, description="not one of your departments"),
        },
    )
    def get(self, request, period):
        query = query_params(s.ReportQuery, request)
        cluster = query.get("cluster", "").strip() or None
        department = query.get("department", "").strip() or None
        if not sees_everything(request.user):
            _report_scope(request.user, cluster or "", department or "")
        try:
            report = build_report(period, cluster=cluster, department=department, user=request.user)
        except ReportError as exc:
            raise query_error(exc) from None
        return Response(
            {
                "period": period_json(report.period),
                "cluster": report.cluster,
                "department": report.department,
                "scope": report.scope_label,
                "currency": report.currency,
                "status": report.status,
                "closed_at": s.plain(report.closed_at),
                "closed_by": report.closed_by,
                "generated_at": s.plain(report.generated_at),
                "summary": [
                    {"label": label, "value": _plain_value(value), "kind": kind}
                    for label, value, kind in report.summary
                ],
                "tables": [_table_json(t) for t in report.tables],
            }
        )
