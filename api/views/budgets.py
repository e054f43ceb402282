"""API: budgets with their actual and forecast cost, forecasts of any subject, alerts and their deliveries."""

from __future__ import annotations

from datetime import date

from django.utils.translation import get_language, gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import parsers, renderers, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import Pagination
from api.permissions import HasRole
from api.views.common import ID
from api.views.policy import YAMLRenderer, YAMLTextParser
from costing import access
from costing.budgets.evaluate import subject_forecast
from costing.budgets.status import as_of_day, parse_as_of, status_row, visible_alerts, visible_statuses
from costing.budgets.store import plan_on, save_plan, spec_from_plan
from costing.budgets.yamlfile import BUDGET_SUBJECTS, BudgetFileError, dump_budgets, read_budgets
from costing.choices import BudgetPeriod, SubjectKind
from costing.models import Alert, AlertDelivery, BudgetPlan, Cluster, Department
from reports.periods import current_period

DATE = OpenApiParameter(
    "date", OpenApiTypes.DATE, description="as of this day (default: the last computed day)"
)


def _date(request) -> date | None:
    try:
        return parse_as_of(request.query_params.get("date"))
    except ValueError as exc:
        raise ValidationError({"date": [str(exc)]}) from None


class BudgetsView(APIView):
    """Budgets in force on `date` with the period's actual cost, forecast (80 % interval) and status;
    department viewers see their departments' budgets only. PUT or POST: a budget file (YAML body, or
    JSON {"yaml": ...}, docs/budgets.md), checked as a whole like `load_budgets`; admins."""

    permission_classes = [HasRole]
    renderer_classes = [renderers.JSONRenderer, renderers.BrowsableAPIRenderer, YAMLRenderer]
    parser_classes = [parsers.JSONParser, YAMLTextParser]

    @extend_schema(parameters=[DATE], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        as_of = as_of_day(_date(request))
        plan = plan_on(as_of)
        if getattr(request.accepted_renderer, "format", None) == "yaml":
            if not access.sees_everything(request.user):
                raise PermissionDenied(
                    gettext("The budget file holds every budget: admins and viewers only.")
                )
            return Response(dump_budgets(spec_from_plan(plan)) if plan else "")
        return Response(
            {
                "date": as_of.isoformat(),
                "effective_from": plan.effective_from.isoformat() if plan else None,
                "budgets": [status_row(s) for s in visible_statuses(request.user, as_of)],
            }
        )

    @extend_schema(request={"application/yaml": OpenApiTypes.STR}, responses={200: OpenApiTypes.OBJECT})
    def put(self, request):
        return self._store(request)

    @extend_schema(request={"application/yaml": OpenApiTypes.STR}, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        return self._store(request)

    def _store(self, request):
        if not access.is_admin(request.user):
            raise PermissionDenied(gettext("Only FinOps admins may set budgets."))
        text = request.data.get("yaml") if isinstance(request.data, dict) else request.data
        if not isinstance(text, str):
            raise ValidationError(
                {"yaml": [gettext('send the budget file as YAML text, or JSON {"yaml": "..."}')]}
            )
        try:
            spec = read_budgets(
                text,
                source="budgets",
                departments=Department.objects.values_list("name", flat=True),
                clusters=Cluster.objects.values_list("name", flat=True),
            )
        except BudgetFileError as exc:
            return Response(
                {
                    "detail": "the budgets were refused; nothing was stored",
                    "lines": [{"line": e.line, "field": e.field, "message": e.message} for e in exc.errors],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        existed = BudgetPlan.objects.filter(effective_from=spec.effective_from).exists()
        plan = save_plan(spec, user=request.user)
        return Response(
            {
                "effective_from": plan.effective_from.isoformat(),
                "budgets": len(spec.budgets),
                "replaced": existed,
            },
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )


class ForecastsView(APIView):
    """Where a period will end: without `subject_kind`, for each visible budget; with it (and `subject`
    unless organisation), for that subject and `period` (month, quarter, year). Department viewers may
    ask for their departments only."""

    permission_classes = [HasRole]

    @extend_schema(
        parameters=[
            DATE,
            OpenApiParameter("subject_kind", OpenApiTypes.STR, enum=[str(k) for k in BUDGET_SUBJECTS]),
            OpenApiParameter("subject", OpenApiTypes.STR),
            OpenApiParameter("period", OpenApiTypes.STR, enum=BudgetPeriod.values),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        as_of = as_of_day(_date(request))
        kind = request.query_params.get("subject_kind")
        if not kind:
            rows = [status_row(s) for s in visible_statuses(request.user, as_of)]
            keep = ("subject_kind", "subject", "period", "period_start", "period_end", "actual", "forecast")
            keep += ("forecast_low", "forecast_high", "method")
            return Response({"date": as_of.isoformat(), "forecasts": [{k: r[k] for k in keep} for r in rows]})
        subject = request.query_params.get("subject", "")
        period_kind = request.query_params.get("period", BudgetPeriod.MONTH)
        if kind not in BUDGET_SUBJECTS:
            raise ValidationError(
                {"subject_kind": [gettext("one of %(choices)s") % {"choices": ", ".join(BUDGET_SUBJECTS)}]}
            )
        if period_kind not in BudgetPeriod.values:
            raise ValidationError(
                {"period": [gettext("one of %(choices)s") % {"choices": ", ".join(BudgetPeriod.values)}]}
            )
        if kind != SubjectKind.ORGANISATION and not subject:
            raise ValidationError({"subject": [gettext("required for this subject_kind")]})
        allowed = (
            access.may_see_department(request.user, subject)
            if kind == SubjectKind.DEPARTMENT
            else access.sees_everything(request.user)
        )
        if not allowed:
            raise PermissionDenied(gettext("You may ask for the forecasts of your departments only."))
        period = current_period(period_kind, as_of)
        forecast = subject_forecast(kind, subject, period.start, period.end, as_of)
        body = {
            "date": as_of.isoformat(),
            "subject_kind": kind,
            "subject": subject,
            "period": period_kind,
            "period_start": period.start.isoformat(),
            "period_end": period.end.isoformat(),
            "actual": None,
            "forecast": None,
            "forecast_low": None,
            "forecast_high": None,
            "method": "",
        }
        if forecast is not None:
            body.update(
                actual=round(forecast.actual, 2),
                forecast=round(forecast.total, 2),
                forecast_low=round(forecast.low, 2),
                forecast_high=round(forecast.high, 2),
                method=forecast.method,
            )
        return Response(body)


class AlertDeliverySerializer(serializers.ModelSerializer):
    # Plain text in the schema: an enum named "status" would collide with the bill imports' status enum.
    status = serializers.CharField(read_only=True, help_text="pending, sent or failed")

    class Meta:
        model = AlertDelivery
        fields = ["recipient", "kind", "status", "attempts", "last_error", "sent_at"]


class AlertSerializer(serializers.ModelSerializer):
    deliveries = AlertDeliverySerializer(many=True, read_only=True)
    message = serializers.SerializerMethodField(
        help_text="In the request's language (Accept-Language), when the alert was written in it"
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "kind",
            "subject_kind",
            "subject",
            "department",
            "period_start",
            "period_end",
            "threshold",
            "as_of",
            "actual",
            "forecast",
            "forecast_low",
            "forecast_high",
            "budget",
            "expected",
            "message",
            "created_at",
            "deliveries",
        ]

    def get_message(self, alert) -> str:
        return alert.message_in(get_language())


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Alerts raised, newest first, with their delivery log; department viewers see their departments' only."""

    permission_classes = [HasRole]
    serializer_class = AlertSerializer
    pagination_class = Pagination
    lookup_value_regex = ID

    def get_queryset(self):
        return visible_alerts(self.request.user).order_by("-created_at", "-pk")
