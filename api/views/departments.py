"""API: departments (cost owners), restricted to those the caller may see."""

from __future__ import annotations

from rest_framework import viewsets

from api import serializers as s
from api.pagination import Pagination
from api.permissions import HasRole
from api.views.common import ID
from costing.access import restrict_by_department
from costing.models import Department


class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Departments (cost owners). Department viewers see only theirs."""

    permission_classes = [HasRole]
    serializer_class = s.DepartmentSerializer
    pagination_class = Pagination
    lookup_value_regex = ID

    def get_queryset(self):
        return restrict_by_department(Department.objects.order_by("name"), self.request.user, "name")
