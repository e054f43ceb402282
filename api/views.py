"""API views: parse the query, check the role (costing/access.py), call one query or service, render JSON."""

from __future__ import annotations

import math
import re
from datetime import UTC

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, parsers, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from costing.access import (
    WHOLE,
    DepartmentChoice,
    cost_scope,
    granted_departments,
    may_see_department,
    namespace_visibility,
    owned_rows,
    report_department,
    restrict_by_department,
    restrict_clusters,
    restrict_exports,
    sees_everything,
)
from costing.billing.uploads import store_upload
from costing.choices import RunStatus
from costing.explain import (
    NotFound as ExplainNotFound,
)
from costing.explain import (
    explain_department,
    explain_namespace,
    explain_node_hour,
    explain_workload,
)
from costing.models import BillImport, Cluster, Department, Namespace, Node, Workload
from costing.policy import PolicyFileError, dump_policy, read_policy
from costing.policy.store import InvalidPolicy, policy_for_day, save_spec, spec_for_day
from reports.models import ExportRun
from reports.periods import check_in_history, custom_period
from reports.queries.common import QueryError, known_department
from reports.queries.costs import cost_rows
from reports.queries.frames import node_idle_frame, pod_cost_frame
from reports.reporting.builder import ReportError, build_report
from reports.reporting.delivery import XLSX_TYPE

from . import opencost
from . import serializers as s
from .models import ApiToken
from .pagination import Pagination
from .permissions import HasRole, IsFinOpsAdmin, ReadEverythingWriteAdmin, SeesEverything

ID = r"[0-9]{1,18}"  # ids in URLs: anything longer is no row of ours (and would overflow SQLite)


def _query_error(exc: QueryError) -> ValidationError:
    """QueryError messages start with the parameter they are about ("by: ...", "cluster: ...")."""
    field, sep, message = str(exc).partition(": ")
    if not sep or not re.fullmatch(r"[a-z_]+", field):
        field, message = "non_field_errors", str(exc)
    return ValidationError({field: [message]})


def _query(serializer_class, request):
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


def _period_json(period) -> dict:
    return {
        "key": period.key,
        "kind": period.kind,
        "label": period.label,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
    }


# ---------------------------------------------------------------------------------------------- costs


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
        query = _query(s.CostQuerySerializer, request)
        period = query["period_obj"]
        by, cluster, department = query["by"], query.get("cluster"), query.get("department")
        restricted = not sees_everything(request.user)
        try:
            # only: the department rows a department viewer may read of by=department (None: all).
            department, only = cost_scope(request.user, by, department)
        except DepartmentChoice as exc:
            raise _query_error(exc) from None
        try:
            rows = cost_rows(period.start, period.end, by, cluster=cluster, department=department)
        except QueryError as exc:
            if restricted and str(exc).startswith("department:"):
                rows = [{"row": "total"}]  # one of theirs, with nothing booked yet
            else:
                raise _query_error(exc) from None
        groups = [r for r in rows if r["row"] != "total"]
        total = next((r for r in rows if r["row"] == "total"), None)
        if only is not None:
            groups = [r for r in groups if r.get("department") in only]
            parts = ("direct", "shared", "idle", "overhead", "total")
            total = {"row": "total", "department": "Total"}
            total.update(
                {p: sum((r[p] for r in groups), start=type(groups[0][p])(0)) for p in parts} if groups else {}
            )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(groups, request, view=self)
        response = paginator.get_paginated_response(s.plain(page))
        response.data = {
            "period": _period_json(period),
            "by": by,
            "cluster": cluster,
            "department": department,
            "currency": settings.FINOPS_CURRENCY,
            **response.data,
            "total": s.plain(total),
        }
        return response


# ------------------------------------------------------------------------------------ departments


class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Departments (cost owners). Department viewers see only theirs."""

    permission_classes = [HasRole]
    serializer_class = s.DepartmentSerializer
    pagination_class = Pagination
    lookup_value_regex = ID

    def get_queryset(self):
        return restrict_by_department(Department.objects.order_by("name"), self.request.user, "name")


# ------------------------------------------------------------------------------------------ clusters


class ClusterViewSet(viewsets.ReadOnlyModelViewSet):
    """Clusters, their node pools and nodes (never a kubeconfig). Department viewers see the clusters
    their departments have namespaces in, but not their node pools and nodes (403, as on the pages:
    whole clusters are for admins and viewers)."""

    permission_classes = [HasRole]
    pagination_class = Pagination
    lookup_value_regex = ID

    def get_queryset(self):
        return restrict_clusters(Cluster.objects.order_by("name"), self.request.user)

    def get_permissions(self):
        return [SeesEverything()] if self.action in ("node_pools", "nodes") else [HasRole()]

    def get_serializer_class(self):
        return s.ClusterDetailSerializer if self.action == "retrieve" else s.ClusterSerializer

    @extend_schema(responses={200: s.NodePoolSerializer(many=True)})
    @action(detail=True, url_path="node-pools", pagination_class=None)
    def node_pools(self, request, pk=None):
        cluster = self.get_object()
        pools = cluster.node_pools.annotate(node_count=Count("nodes")).order_by("name")
        return Response(s.NodePoolSerializer(pools, many=True).data)

    @extend_schema(responses={200: s.NodeSerializer(many=True)})
    @action(detail=True, serializer_class=s.NodeSerializer)
    def nodes(self, request, pk=None):
        cluster = self.get_object()
        nodes = Node.objects.filter(cluster=cluster).select_related("node_pool").order_by("name")
        page = self.paginate_queryset(nodes)
        return self.get_paginated_response(s.NodeSerializer(page, many=True).data)


# -------------------------------------------------------------------------------------- explanations


def _namespace_visible(user, namespace_id: int, period) -> bool:
    # No period picker to offer here: a namespace that was theirs only partly is as unseen as another's.
    return namespace_visibility(user, namespace_id, period.start, period.end) == WHOLE


class ExplainDepartmentView(APIView):
    """A department's (or pool line's) total: its namespaces and its share of each pool, with method and basis."""

    permission_classes = [HasRole]

    @extend_schema(parameters=[s.ExplainDepartmentQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = _query(s.ExplainDepartmentQuery, request)
        if not may_see_department(request.user, query["name"]):
            raise PermissionDenied(f"{query['name']!r} is not one of your departments")
        period = query["period_obj"]
        try:
            data = explain_department(query["name"], period.start, period.end, query.get("cluster"))
        except ExplainNotFound as exc:
            raise NotFound(str(exc)) from None
        return Response(s.plain({"period": _period_json(period), **data}))


class ExplainNamespaceView(APIView):
    """A namespace's cost and the workloads it is made of."""

    permission_classes = [HasRole]

    @extend_schema(parameters=[s.ExplainNamespaceQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = _query(s.ExplainNamespaceQuery, request)
        period = query["period_obj"]
        if not sees_everything(request.user):
            ns_id = (
                Namespace.objects.filter(cluster__name=query["cluster"], name=query["namespace"])
                .values_list("pk", flat=True)
                .first()
            )
            if ns_id is None or not _namespace_visible(request.user, ns_id, period):
                raise NotFound("no such namespace among your departments' in this period")
        try:
            data = explain_namespace(query["cluster"], query["namespace"], period.start, period.end)
        except ExplainNotFound as exc:
            raise NotFound(str(exc)) from None
        return Response(s.plain({"period": _period_json(period), **data}))


class ExplainWorkloadView(APIView):
    """A workload's pods, their days and (within hourly retention) node-hours with unit prices."""

    permission_classes = [HasRole]

    @extend_schema(parameters=[s.ExplainWorkloadQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = _query(s.ExplainWorkloadQuery, request)
        period = query["period_obj"]
        namespace_id = (
            Workload.objects.filter(pk=query["workload"]).values_list("namespace_id", flat=True).first()
        )
        if namespace_id is None or not _namespace_visible(request.user, namespace_id, period):
            raise NotFound(f"no workload with id {query['workload']} among what you may see")
        try:
            data = explain_workload(query["workload"], period.start, period.end)
        except ExplainNotFound as exc:
            raise NotFound(str(exc)) from None
        return Response(s.plain({"period": _period_json(period), **data}))


class ExplainNodeHourView(APIView):
    """What one node-hour cost and the bill lines (or price-sheet row) it came from. Admins and viewers."""

    permission_classes = [SeesEverything]

    @extend_schema(parameters=[s.ExplainNodeHourQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = _query(s.ExplainNodeHourQuery, request)
        hour = query["hour"].astimezone(UTC)
        if hour.minute or hour.second or hour.microsecond:
            raise ValidationError({"hour": ["give the start of an hour, e.g. 2026-10-05T13:00:00Z"]})
        try:
            data = explain_node_hour(query["node"], hour)
        except ExplainNotFound as exc:
            raise NotFound(str(exc)) from None
        return Response(s.plain(data))


# --------------------------------------------------------------------------------------------- bills


@extend_schema_view(
    create=extend_schema(request=s.BillUploadSerializer, responses={202: s.BillImportSerializer}),
)
class BillImportViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Bill imports: history and status (admins and viewers); upload (FinOps admins), imported by a worker."""

    queryset = BillImport.objects.select_related("uploaded_by").order_by("-created_at", "-pk")
    serializer_class = s.BillImportSerializer
    pagination_class = Pagination
    parser_classes = [parsers.MultiPartParser, parsers.FormParser]
    lookup_value_regex = ID

    def get_permissions(self):
        return [IsFinOpsAdmin()] if self.action == "create" else [SeesEverything()]

    def create(self, request, *args, **kwargs):
        upload = s.BillUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        if data["file"].size > settings.FINOPS_BILL_UPLOAD_MAX_BYTES:
            raise ValidationError(
                {
                    "file": [
                        f"larger than the limit of {settings.FINOPS_BILL_UPLOAD_MAX_BYTES} bytes; "
                        "import it with `manage.py import_bill` instead"
                    ]
                }
            )
        record = store_upload(
            data["file"], data["format"], user=request.user, account=data.get("account", "")
        )
        return Response(s.BillImportSerializer(record).data, status=status.HTTP_202_ACCEPTED)


# -------------------------------------------------------------------------------------------- policy


class YAMLRenderer(renderers.BaseRenderer):
    media_type = "application/yaml"
    format = "yaml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):
            return data.encode("utf-8")
        import json

        import yaml
        from rest_framework.utils.encoders import JSONEncoder

        # Errors and other answers hold DRF types (ErrorDetail, Decimal): plain JSON values first.
        plain_data = json.loads(json.dumps(data, cls=JSONEncoder))
        return yaml.safe_dump(plain_data, sort_keys=False, allow_unicode=True).encode("utf-8")


class YAMLTextParser(parsers.BaseParser):
    """The policy file as the request body (application/yaml, text/yaml, text/plain)."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError({"yaml": ["the policy file must be UTF-8 text"]}) from None


class PolicyTextSerializer(serializers.Serializer):
    yaml = serializers.CharField(help_text="the policy file (docs/policy.md); or send the YAML as the body")


class PolicyView(APIView):
    """The apportionment policy. GET: the one in force on `date` (default today), as JSON and YAML
    (`?format=yaml` for the file alone); admins and viewers. PUT or POST: a policy file (YAML body, or
    JSON {"yaml": ...}), checked as a whole like `load_policy`; stored entirely or not at all. Admins."""

    permission_classes = [ReadEverythingWriteAdmin]
    renderer_classes = [renderers.JSONRenderer, renderers.BrowsableAPIRenderer, YAMLRenderer]
    parser_classes = [parsers.JSONParser, YAMLTextParser]

    @extend_schema(parameters=[s.PolicyQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = _query(s.PolicyQuery, request)
        day = query.get("date") or timezone.now().date()
        policy = policy_for_day(day)
        spec = spec_for_day(day)
        text = dump_policy(spec)
        if getattr(request.accepted_renderer, "format", None) == "yaml":
            return Response(text)
        return Response(
            {
                "date": day.isoformat(),
                "stored": policy is not None,
                "effective_from": spec.effective_from.isoformat(),
                "spec": s.spec_as_dict(spec),
                "yaml": text,
            }
        )

    @extend_schema(
        request={"application/yaml": OpenApiTypes.STR, "application/json": PolicyTextSerializer},
        responses={
            200: OpenApiTypes.OBJECT,
            201: OpenApiTypes.OBJECT,
            400: OpenApiResponse(OpenApiTypes.OBJECT),
        },
    )
    def put(self, request):
        return self._store(request)

    @extend_schema(
        request={"application/yaml": OpenApiTypes.STR, "application/json": PolicyTextSerializer},
        responses={
            200: OpenApiTypes.OBJECT,
            201: OpenApiTypes.OBJECT,
            400: OpenApiResponse(OpenApiTypes.OBJECT),
        },
    )
    def post(self, request):
        return self._store(request)

    def _store(self, request):
        from costing.models import Policy

        text = request.data
        if isinstance(text, dict):
            body = PolicyTextSerializer(data=text)
            body.is_valid(raise_exception=True)
            text = body.validated_data["yaml"]
        if not isinstance(text, str):
            raise ValidationError({"yaml": ['send the policy file as YAML text, or JSON {"yaml": "..."}']})
        known = set(Namespace.objects.values_list("name", flat=True))
        try:
            read = read_policy(text, source="policy", known_namespaces=known or None)
        except PolicyFileError as exc:
            return _policy_refused([(e.line, e.field, e.message) for e in exc.errors])
        existed = Policy.objects.filter(effective_from=read.spec.effective_from).exists()
        try:
            policy = save_spec(read.spec, user=request.user)
        except InvalidPolicy as exc:
            return _policy_refused([(None, i.field, i.message) for i in exc.issues])
        return Response(
            {
                "effective_from": policy.effective_from.isoformat(),
                "replaced": existed,
                "warnings": [{"line": w.line, "field": w.field, "message": w.message} for w in read.warnings],
                "detail": "stored; the days it governs will be recomputed",
            },
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )


def _policy_refused(errors) -> Response:
    by_field: dict[str, list[str]] = {}
    for line, field, message in errors:
        by_field.setdefault(field or "yaml", []).append(f"line {line}: {message}" if line else message)
    return Response(
        {
            "detail": "the policy was refused; nothing was stored",
            "errors": by_field,
            "lines": [{"line": line, "field": field, "message": message} for line, field, message in errors],
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


# -------------------------------------------------------------------------------------------- tokens


@extend_schema_view(create=extend_schema(responses={201: s.ApiTokenCreatedSerializer}))
class ApiTokenViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Your own API tokens: list, create (the token is in the answer, this once), revoke (DELETE)."""

    permission_classes = [IsAuthenticated]
    serializer_class = s.ApiTokenSerializer
    pagination_class = Pagination
    lookup_value_regex = ID

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user)

    def create(self, request, *args, **kwargs):
        body = s.ApiTokenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row, token = ApiToken.issue(request.user, body.validated_data["name"])
        row.token = token
        return Response(s.ApiTokenCreatedSerializer(row).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        instance.revoke()


# ------------------------------------------------------------------------------------------ OpenCost


class AllocationView(APIView):
    """OpenCost-compatible allocation: {"code": 200, "data": [{name: allocation}, ...]}, one set per step.

    Windows are widened to whole UTC days (our finest grain). Department viewers get their departments'
    namespaces only and no __idle__ (they see idle only as their share, with shareIdle=true).
    See docs/api.md for what differs from OpenCost.
    """

    permission_classes = [HasRole]

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        errors = response.data.get("errors") if isinstance(response.data, dict) else None
        response.data = {"code": response.status_code, "message": str(detail), "data": None}
        if errors:
            response.data["errors"] = errors
            response.data["message"] = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in errors.items())
        return response

    @extend_schema(parameters=[s.AllocationQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = _query(s.AllocationQuery, request)
        now = timezone.now()
        try:
            window = opencost.parse_window(query["window"], now)
            aggregate = opencost.parse_aggregate(query.get("aggregate"))
            accumulate = opencost.parse_bool(query.get("accumulate"), "accumulate", False)
            step = opencost.parse_step(query.get("step"))
            share_idle = opencost.parse_bool(query.get("shareIdle"), "shareIdle", False)
            include_idle = opencost.parse_bool(query.get("includeIdle"), "includeIdle", False)
            check_in_history(custom_period(window.start, window.end), now.date())
        except opencost.ParameterError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from None
        except ValueError as exc:  # PeriodError
            raise ValidationError({"window": [str(exc)]}) from None
        granted = granted_departments(request.user)
        visible = None
        if granted is not None:

            def visible(pods):
                return owned_rows(pods, granted)

        pods = pod_cost_frame(window.start, window.end)
        idle = node_idle_frame(window.start, window.end)
        windows = opencost.set_windows(window.start, window.end, step, accumulate)
        sets = opencost.allocation_sets(
            pods, idle, windows, aggregate, include_idle=include_idle, share_idle=share_idle, visible=visible
        )
        return Response({"code": 200, "data": sets})


@extend_schema(exclude=True)  # the same operation as /api/v1/allocation, documented once
class OpenCostRootAllocationView(AllocationView):
    """/allocation and /allocation/compute at the root, where OpenCost serves them."""


# ------------------------------------------------------------------------------------------- reports


def _report_scope(user, cluster: str, department: str) -> tuple[str, str]:
    """The pages' access rule (costing.access.report_department); an unknown department is a bad
    parameter, not an empty report."""
    department = report_department(user, department) or ""
    if department and not known_department(department):
        raise ValidationError({"department": [f"no costs were ever booked to {department!r}"]})
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
            raise NotFound("no such export among yours")
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
        "title": table.title,
        "columns": [{"key": c.key, "title": c.title, "kind": c.kind} for c in table.columns],
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
        query = _query(s.ReportQuery, request)
        cluster = query.get("cluster", "").strip() or None
        department = query.get("department", "").strip() or None
        if not sees_everything(request.user):
            _report_scope(request.user, cluster or "", department or "")
        try:
            report = build_report(period, cluster=cluster, department=department, user=request.user)
        except ReportError as exc:
            raise _query_error(exc) from None
        return Response(
            {
                "period": _period_json(report.period),
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
