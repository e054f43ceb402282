"""POST /api/v1/policy/preview/: what storing a policy file would do, before it is stored (nothing is)."""

from __future__ import annotations

from datetime import date

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import parsers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from costing.models import Namespace, Policy
from costing.policy import PolicyFileError, read_policy
from costing.policy.preview import preview_change
from costing.policy.store import InvalidPolicy

from .permissions import IsFinOpsAdmin
from .views.policy import PolicyTextSerializer, YAMLTextParser, policy_refused, policy_text


def _refused(errors) -> Response:
    return policy_refused(errors, "the policy was refused; nothing was previewed or stored")


class PolicyPreviewView(APIView):
    """Preview a policy file as PUT /api/v1/policy/ would store it: the department totals of the computed
    days it governs, as stored now ("before") and as the engine computes them under it ("after"), and the
    diff of the policy file. A file whose effective_from is a stored policy's date edits that policy;
    another date adds a new policy (the documented way). `?edit=DATE` previews editing the policy of
    DATE into the file's date instead. Admins. Nothing is stored."""

    permission_classes = [IsFinOpsAdmin]
    parser_classes = [parsers.JSONParser, YAMLTextParser]

    @extend_schema(
        request={"application/yaml": OpenApiTypes.STR, "application/json": PolicyTextSerializer},
        parameters=[OpenApiParameter("edit", OpenApiTypes.DATE, description="date of the policy to edit")],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiResponse(OpenApiTypes.OBJECT)},
    )
    def post(self, request):
        text = policy_text(request)
        edited = None
        if "edit" in request.query_params:
            try:
                edit_day = date.fromisoformat(request.query_params["edit"])
            except ValueError:
                raise ValidationError({"edit": ["a date YYYY-MM-DD"]}) from None
            edited = Policy.objects.filter(effective_from=edit_day).first()
            if edited is None:
                raise ValidationError({"edit": [f"no policy starts on {edit_day}"]})
        known = set(Namespace.objects.values_list("name", flat=True))
        try:
            read = read_policy(text, source="policy", known_namespaces=known or None)
        except PolicyFileError as exc:
            return _refused([(e.line, e.field, e.message) for e in exc.errors])
        try:
            preview = preview_change(read.spec, policy=edited)
        except InvalidPolicy as exc:
            return _refused([(None, i.field, i.message) for i in exc.issues])
        return Response(
            {
                "mode": preview.mode,
                "effective_from": preview.effective_from.isoformat(),
                "replaces": preview.replaces.isoformat() if preview.replaces else None,
                "days": {
                    "first": preview.first_day.isoformat() if preview.first_day else None,
                    "last": preview.last_day.isoformat() if preview.last_day else None,
                    "affected": preview.affected_days,
                    "previewed": preview.previewed_days,
                },
                "departments": [
                    {
                        "row": r.row,
                        "department": r.department,
                        "before": str(r.before),
                        "after": str(r.after),
                        "change": str(r.change),
                    }
                    for r in preview.rows
                ],
                "diff": preview.diff,
                "warnings": [{"line": w.line, "field": w.field, "message": w.message} for w in read.warnings],
                "detail": "preview only: nothing was stored",
            }
        )
