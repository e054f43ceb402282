"""Bills: the import history, the cost outside Kubernetes, and the upload of a bill file by a FinOps admin."""

from __future__ import annotations

import re
from datetime import date

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from costing import access
from costing.billing.errors import BillError
from costing.billing.uploads import store_upload
from costing.choices import BillFormat, RunStatus
from costing.models import BillImport
from reports import tables
from reports.queries.bills import bill_history


def is_finops_admin(user) -> bool:
    return access.is_admin(user)


def can_see_bills(user) -> bool:
    """Bills are organisation-wide figures: FinOps admins and viewers, not department viewers."""
    return access.sees_everything(user)


class UploadForm(forms.Form):
    format = forms.ChoiceField(choices=BillFormat.choices)
    account = forms.CharField(
        required=False,
        max_length=200,
        help_text=gettext_lazy("CBC only: the billing account of a file without one."),
    )
    file = forms.FileField()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.FINOPS_BILL_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(_too_large_message())
        return upload


class BillSizeLimit(FileUploadHandler):
    """Stops reading an uploaded file past FINOPS_BILL_UPLOAD_MAX_BYTES (the fields before it are kept)."""

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.FINOPS_BILL_UPLOAD_MAX_BYTES:
            self.request.bill_too_large = True
            raise StopUpload(connection_reset=False)  # the rest of the body is read and thrown away
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handlers keep the file


@csrf_exempt  # checked by _bills, once the size limit is in place: the check reads the body
@require_http_methods(["GET", "POST"])
def bills(request):
    """GET: imports and cost outside Kubernetes for ?month=YYYY-MM. POST: upload (FinOps admins only)."""
    if not can_see_bills(request.user):
        raise PermissionDenied(
            gettext(
                "Bills are the organisation's figures: FinOps admins and viewers see them. What your departments "
                "pay is on the Overview and Departments pages."
            )
        )
    if request.method == "POST":
        if not is_finops_admin(request.user):
            raise PermissionDenied(gettext("Only FinOps admins upload bills."))
        request.upload_handlers.insert(0, BillSizeLimit(request))
    return _bills(request)


@csrf_protect
def _bills(request):
    admin = is_finops_admin(request.user)
    form = UploadForm()
    refused = []
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if getattr(request, "bill_too_large", False):
            form = UploadForm(
                initial={"format": request.POST.get("format"), "account": request.POST.get("account")}
            )
            refused.append(_too_large_message())
        elif form.is_valid():
            try:
                record = store_upload(
                    form.cleaned_data["file"],
                    form.cleaned_data["format"],
                    user=request.user,
                    account=form.cleaned_data["account"],
                )
            except BillError as exc:
                refused.append(str(exc))
            else:
                messages.success(
                    request,
                    gettext("%(name)s: import #%(pk)s queued.") % {"name": record.file_name, "pk": record.pk},
                )
                return redirect("bills")
    context = {
        **bill_history(_month(request.GET.get("month", ""))),
        "form": form,
        "upload_errors": [*refused, *form.non_field_errors(), *form.errors.get("file", [])],
        "is_admin": admin,
        "max_bytes": settings.FINOPS_BILL_UPLOAD_MAX_BYTES,
        "currency": settings.FINOPS_CURRENCY,
    }
    named = {
        "imports": tables.BillImportTable(context["imports"], caption=gettext("Imports")),
        "outside": tables.OutsideCostTable(
            context["outside"],
            caption=gettext("Cost outside Kubernetes"),
            totals=[{"service_name": gettext("Total"), "effective": context["outside_total"]}],
        ),
    }
    status = 400 if form.errors or refused else 200
    return tables.render_page(request, "reports/bills.html", context, "bills", status=status, **named)


@require_GET
def bill_status(request, pk: int):
    """The state of one import, polled by the bills page while it runs."""
    if not can_see_bills(request.user):
        raise PermissionDenied
    record = get_object_or_404(BillImport, pk=pk)
    return JsonResponse(
        {
            "id": record.pk,
            "status": record.status,
            "progress": record.progress,
            "rows": record.rows,
            "error": record.error,
            "done": record.status in (RunStatus.SUCCEEDED, RunStatus.FAILED),
        }
    )


def _too_large_message() -> str:
    limit = settings.FINOPS_BILL_UPLOAD_MAX_BYTES
    return gettext(
        "The upload is larger than the limit of %(limit)s (FINOPS_BILL_UPLOAD_MAX_BYTES). "
        "Import it with `manage.py import_bill` instead."
    ) % {"limit": filesizeformat(limit)}


def _month(text: str) -> date | None:
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    return date(int(match.group(1)), int(match.group(2)), 1)
