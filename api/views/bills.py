"""API: bill imports (history, status) and uploads."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api import serializers as s
from api.pagination import Pagination
from api.permissions import IsFinOpsAdmin, SeesEverything
from api.views.common import ID
from costing.billing.uploads import store_upload
from costing.models import BillImport


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
