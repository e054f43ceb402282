"""A refusal is a page: PermissionDenied from any page view becomes the styled "Not yours to see" page.

Django's own handling logs a refusal as an error with its traceback and answers with a bare 403; a
refusal is an expected answer, so it is logged as one warning line (django.request's "Forbidden").
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


class RefusalMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, PermissionDenied):
            from reports.views_common import refusal  # the views' module reads models: not at settings time

            return refusal(request, str(exception))
        return None
