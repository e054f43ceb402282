"""API: the apportionment policy, read as JSON or YAML and stored from a policy file."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import parsers, renderers, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api import serializers as s
from api.permissions import ReadEverythingWriteAdmin
from api.views.common import query_params
from costing.models import Namespace
from costing.policy import PolicyFileError, dump_policy, read_policy, read_policy_bytes
from costing.policy.store import InvalidPolicy, policy_for_day, save_spec, spec_for_day


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
        if stream is None:
            return ""
        try:
            return read_policy_bytes(stream, source="policy")
        except PolicyFileError as exc:
            raise ValidationError({"yaml": [f"line {e.line}: {e.message}" for e in exc.errors]}) from None


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
        query = query_params(s.PolicyQuery, request)
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

        text = policy_text(request)
        known = set(Namespace.objects.values_list("name", flat=True))
        try:
            read = read_policy(text, source="policy", known_namespaces=known or None)
        except PolicyFileError as exc:
            return policy_refused([(e.line, e.field, e.message) for e in exc.errors])
        existed = Policy.objects.filter(effective_from=read.spec.effective_from).exists()
        try:
            policy = save_spec(read.spec, user=request.user)
        except InvalidPolicy as exc:
            return policy_refused([(None, i.field, i.message) for i in exc.issues])
        return Response(
            {
                "effective_from": policy.effective_from.isoformat(),
                "replaced": existed,
                "warnings": [{"line": w.line, "field": w.field, "message": w.message} for w in read.warnings],
                "detail": "stored; the days it governs will be recomputed",
            },
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )


def policy_text(request) -> str:
    """The policy file of a request: the YAML body (YAMLTextParser, size-checked) or JSON {"yaml": ...}."""
    text = request.data
    if isinstance(text, dict):
        body = PolicyTextSerializer(data=text)
        body.is_valid(raise_exception=True)
        text = body.validated_data["yaml"]
    if not isinstance(text, str):
        raise ValidationError({"yaml": ['send the policy file as YAML text, or JSON {"yaml": "..."}']})
    return text


def policy_refused(errors, detail: str = "the policy was refused; nothing was stored") -> Response:
    """400 with the errors of a policy file by field and by line: (line, field, message) each."""
    by_field: dict[str, list[str]] = {}
    for line, field, message in errors:
        by_field.setdefault(field or "yaml", []).append(f"line {line}: {message}" if line else message)
    return Response(
        {
            "detail": detail,
            "errors": by_field,
            "lines": [{"line": line, "field": field, "message": message} for line, field, message in errors],
        },
        status=status.HTTP_400_BAD_REQUEST,
    )
