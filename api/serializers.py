"""Serializers of the API: query parameters (validated, with field messages) and the rows it returns."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from costing.choices import RunStatus
from costing.models import BillImport, Cluster, Department, Node, NodePool
from reports.models import ExportFormat, ExportRun
from reports.periods import PeriodError, check_in_history, current_period, custom_period, parse_period
from reports.queries.costs import GROUPINGS

from .models import ApiToken

BIGINT = 2**63 - 1


def plain(value):
    """JSON-ready copy: Decimal as text (exact cents), dates and times in ISO 8601, tuples as lists."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return value.item()
    return value


def spec_as_dict(spec) -> dict:
    return plain(asdict(spec))


class PeriodQuerySerializer(serializers.Serializer):
    """The dashboard's period rules: `period` (2026-10, 2026-Q4, 2026, 2026-W44, 2026-10-05,
    2026-10-01..2026-11-01) or `start` and `end` (end exclusive); default the current month."""

    period = serializers.CharField(required=False, max_length=40, help_text="e.g. 2026-10, 2026-Q4, 2026-W44")
    start = serializers.DateField(required=False, help_text="first day (UTC), with end")
    end = serializers.DateField(required=False, help_text="day after the last (exclusive), with start")

    def validate(self, attrs):
        today = timezone.now().date()
        text, start, end = attrs.get("period"), attrs.get("start"), attrs.get("end")
        try:
            if text:
                if start or end:
                    raise serializers.ValidationError(
                        {"period": ["give either period or start and end, not both"]}
                    )
                period = parse_period(text)
            elif start or end:
                if not (start and end):
                    missing = "end" if start else "start"
                    raise serializers.ValidationError({missing: ["start and end go together"]})
                period = custom_period(start, end)
            else:
                period = current_period("month", today)
            attrs["period_obj"] = check_in_history(period, today)
        except PeriodError as exc:
            field = "period" if text or not (start or end) else "end"
            raise serializers.ValidationError({field: [str(exc)]}) from None
        return attrs


class CostQuerySerializer(PeriodQuerySerializer):
    by = serializers.CharField(
        max_length=200, help_text=f"grouping: one of {', '.join(GROUPINGS)} (label:KEY, e.g. label:team)"
    )
    cluster = serializers.CharField(required=False, max_length=100, help_text="only this cluster")
    department = serializers.CharField(
        required=False, max_length=200, help_text="only this department's namespaces (or its row)"
    )


class ExplainDepartmentQuery(PeriodQuerySerializer):
    name = serializers.CharField(
        max_length=200, help_text="department, or a pool line (Idle, Shared, Overhead)"
    )
    cluster = serializers.CharField(required=False, max_length=100)


class ExplainNamespaceQuery(PeriodQuerySerializer):
    cluster = serializers.CharField(max_length=100)
    namespace = serializers.CharField(max_length=253)


class ExplainWorkloadQuery(PeriodQuerySerializer):
    workload = serializers.IntegerField(min_value=1, max_value=BIGINT, help_text="workload id")


class ExplainNodeHourQuery(serializers.Serializer):
    node = serializers.IntegerField(min_value=1, max_value=BIGINT, help_text="node id")
    hour = serializers.DateTimeField(
        help_text="the hour, ISO 8601 (UTC if no offset), e.g. 2026-10-05T13:00:00Z"
    )


class PolicyQuery(serializers.Serializer):
    date = serializers.DateField(required=False, help_text="the policy in force on this day (default today)")


class AllocationQuery(serializers.Serializer):
    """OpenCost's /allocation parameters that apply here (the view parses them with api.opencost)."""

    window = serializers.CharField(
        max_length=100,
        help_text="today, yesterday, week, month, lastweek, lastmonth, 24h, 7d, 2w, RFC3339 start,end "
        "or unix start,end; widened to whole UTC days",
    )
    aggregate = serializers.CharField(
        required=False,
        max_length=500,
        help_text="cluster, node, namespace, controllerKind, controller, pod, department or label:KEY; "
        "comma-separated for several",
    )
    accumulate = serializers.CharField(
        required=False, max_length=10, help_text="true: one set for the window"
    )
    step = serializers.CharField(
        required=False, max_length=20, help_text="length of a set, whole days (default 1d)"
    )
    shareIdle = serializers.CharField(
        required=False, max_length=10, help_text="share idle by CPU and RAM cost"
    )
    includeIdle = serializers.CharField(required=False, max_length=10, help_text="add __idle__ allocations")
    filter = serializers.CharField(
        required=False,
        max_length=2000,
        allow_blank=True,
        help_text="OpenCost's filter language on cluster, node, namespace, controllerKind, controllerName, pod, "
        'department and label[KEY], e.g. namespace:"a","b"+label[app]:"web" (docs/api.md)',
    )


class ClusterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Cluster
        # Never the kubeconfig: it is a credential.
        fields = ["id", "name", "connection_type", "sampling_interval", "enabled", "created_at"]


class NodePoolSerializer(serializers.ModelSerializer):
    nodes = serializers.IntegerField(source="node_count", read_only=True)

    class Meta:
        model = NodePool
        fields = ["id", "name", "nodes"]


class ClusterDetailSerializer(ClusterSerializer):
    node_pools = serializers.SerializerMethodField()

    class Meta(ClusterSerializer.Meta):
        fields = [*ClusterSerializer.Meta.fields, "node_pools"]

    def get_node_pools(self, cluster) -> list[dict]:
        from django.db.models import Count

        pools = cluster.node_pools.annotate(node_count=Count("nodes")).order_by("name")
        return NodePoolSerializer(pools, many=True).data


class NodeSerializer(serializers.ModelSerializer):
    node_pool = serializers.CharField(source="node_pool.name", read_only=True)

    class Meta:
        model = Node
        fields = [
            "id",
            "name",
            "node_pool",
            "instance_type",
            "instance_id",
            "cpu_capacity_cores",
            "memory_capacity_bytes",
            "labels",
            "first_seen",
            "last_seen",
        ]


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "name"]


class BillImportSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.CharField(source="uploaded_by.get_username", read_only=True, default=None)
    done = serializers.SerializerMethodField()

    class Meta:
        model = BillImport
        fields = [
            "id",
            "file_name",
            "format",
            "status",
            "done",
            "error",
            "progress",
            "rows",
            "currency",
            "billing_account_ids",
            "period_start",
            "period_end",
            "effective_total",
            "billed_total",
            "list_total",
            "uploaded_by",
            "created_at",
            "finished_at",
        ]

    def get_done(self, record) -> bool:
        return record.status in ("succeeded", "failed")


class BillUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="FOCUS 1.x CSV/Parquet or Huawei CBC resource bill")
    format = serializers.ChoiceField(choices=BillImport._meta.get_field("format").choices)
    account = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="CBC only: the billing account of a file without one",
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "hint", "active", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["hint", "created_at", "last_used_at", "revoked_at"]


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="shown this once; only its hash is kept")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class ReportQuery(serializers.Serializer):
    cluster = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="only this cluster"
    )
    department = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="only this department (a department viewer's own one by default)",
    )


@extend_schema_field(
    {"type": "string", "pattern": f"^({'|'.join(ExportFormat.values)})$", "default": ExportFormat.XLSX}
)
class ExportFormatField(serializers.ChoiceField):
    """A pattern, not an enum, in the schema: drf-spectacular would name an enum after the field and
    collide with the bill upload's `format`."""


class ExportRequestSerializer(ReportQuery):
    period = serializers.CharField(
        max_length=40, help_text="e.g. 2026-10, 2026-Q4, 2026-W44, 2026-10-01..2026-11-01"
    )
    format = ExportFormatField(
        choices=ExportFormat.choices,
        default=ExportFormat.XLSX,
        help_text="xlsx: one workbook; csv: a zip of CSVs",
    )

    def validate_period(self, text):
        try:
            return check_in_history(parse_period(text), timezone.now().date())
        except PeriodError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_cluster(self, name):
        if name and not Cluster.objects.filter(name=name).exists():
            raise serializers.ValidationError(f"no cluster named {name!r}")
        return name


class ExportRunSerializer(serializers.ModelSerializer):
    """An export: its scope, its state and (once built) where to download it."""

    period = serializers.CharField(source="period_key", read_only=True)
    scope = serializers.CharField(source="scope_label", read_only=True)
    format = serializers.CharField(read_only=True, help_text="xlsx (a workbook) or csv (a zip of CSV files)")
    requested_by = serializers.CharField(source="requested_by.get_username", read_only=True, default=None)
    schedule = serializers.CharField(source="schedule.name", read_only=True, default=None)
    error = serializers.SerializerMethodField()
    ready = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportRun
        fields = [
            "id",
            "period",
            "cluster",
            "department",
            "scope",
            "format",
            "status",
            "ready",
            "progress",
            "message",
            "error",
            "file_name",
            "requested_by",
            "schedule",
            "created_at",
            "started_at",
            "finished_at",
            "url",
            "download_url",
        ]
        read_only_fields = fields

    def get_error(self, run) -> str:
        return run.error if run.status == RunStatus.FAILED else ""

    def get_ready(self, run) -> bool:
        return export_ready(run)

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_url(self, run) -> str:
        return self._absolute(reverse("api:report-export-detail", args=[run.pk]))

    def get_download_url(self, run) -> str | None:
        if not export_ready(run):
            return None
        return self._absolute(reverse("api:report-export-download", args=[run.pk]))


def export_ready(run: ExportRun) -> bool:
    return run.status == RunStatus.SUCCEEDED and bool(run.file_path)
