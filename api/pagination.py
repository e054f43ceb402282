"""Pagination and error shape of the API (kept apart from the views: DRF imports them from settings)."""

from __future__ import annotations

import re

from django.utils.translation import gettext
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import exception_handler as drf_exception_handler

from costing.billing.errors import BillError


class Pagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def paginate_queryset(self, queryset, request, view=None):
        page = request.query_params.get(self.page_query_param)
        if page is not None and page != "last" and not re.fullmatch(r"[1-9][0-9]{0,8}", page):
            raise ValidationError({"page": ["a page number from 1, or last"]})
        size = request.query_params.get(self.page_size_query_param)
        if size is not None and not re.fullmatch(r"[1-9][0-9]{0,8}", size):
            raise ValidationError({"page_size": [f"a number of rows from 1 to {self.max_page_size}"]})
        return super().paginate_queryset(queryset, request, view)


def exception_handler(exc, context):
    """DRF's handler, with validation errors as {"detail": ..., "errors": {field: [messages]}}.

    A BillError (a bill upload refused at once, its header checked by costing.billing.uploads) is one too.
    """
    if isinstance(exc, BillError):
        exc = ValidationError({"file": [str(exc)]})
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"detail": gettext("The request has invalid parameters."), "errors": errors}
    return response
