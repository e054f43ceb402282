"""HTML pages of the API: a signed-in user's tokens, and the API docs (Swagger UI, self-hosted)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from reports import tables

from .models import ApiToken

TOKEN_NAME_MAX = ApiToken._meta.get_field("name").max_length


@require_http_methods(["GET", "POST"])
def tokens(request):
    """List, create and revoke your API tokens. A new token is shown on this answer only."""
    created = None
    error = ""
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            row = get_object_or_404(ApiToken, pk=_int(request.POST.get("id")), user=request.user)
            row.revoke()
            messages.success(
                request, gettext("Token %(name)s (%(hint)s…) revoked.") % {"name": row.name, "hint": row.hint}
            )
            return redirect("api:tokens-page")
        name = (request.POST.get("name") or "").strip()
        if not name or len(name) > TOKEN_NAME_MAX or "\x00" in name:
            error = gettext("Give the token a name of 1 to %(max)s characters (what it is for).") % {
                "max": TOKEN_NAME_MAX
            }
        else:
            row, created = ApiToken.issue(request.user, name)
    rows = list(ApiToken.objects.filter(user=request.user))
    return tables.render_page(
        request,
        "api/tokens.html",
        {"tokens": rows, "created": created, "error": error, "max_name": TOKEN_NAME_MAX},
        "api-tokens",
        status=400 if error else 200,
        tokens=tables.ApiTokenTable(rows, caption=gettext("Your tokens")),
    )


def docs(request):
    """Swagger UI, served from drf-spectacular-sidecar's static files (never a CDN)."""
    from drf_spectacular.views import SpectacularSwaggerView

    return SpectacularSwaggerView.as_view(url_name="api:schema")(request)


def _int(text) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        return 0
    return value if 0 < value < 2**63 else 0
