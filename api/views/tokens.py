"""API: the caller's own API tokens."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from api import serializers as s
from api.models import ApiToken
from api.pagination import Pagination
from api.views.common import ID


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
