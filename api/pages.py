"""HTML pages of the API: a signed-in user's tokens, and the API docs (Swagger UI when self-hosted, else a plain list)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from .models import ApiToken

TOKEN_NAME_MAX = ApiToken._meta.get_field("name").max_length


def sidecar_installed() -> bool:
    """drf-spectacular-sidecar ships Swagger UI and Redoc as static files: no CDN."""
    try:
        import drf_spectacular_sidecar  # noqa: F401
    except ImportError:
        return False
    return True


@require_http_methods(["GET", "POST"])
def tokens(request):
    """List, create and revoke your API tokens. A new token is shown on this answer only."""
    created = None
    error = ""
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            row = get_object_or_404(ApiToken, pk=_int(request.POST.get("id")), user=request.user)
            row.revoke()
            messages.success(request, f"Token {row.name} ({row.hint}…) revoked.")
            return redirect("api:tokens-page")
        name = (request.POST.get("name") or "").strip()
        if not name or len(name) > TOKEN_NAME_MAX or "\x00" in name:
            error = f"Give the token a name of 1 to {TOKEN_NAME_MAX} characters (what it is for)."
        else:
            row, created = ApiToken.issue(request.user, name)
    rows = ApiToken.objects.filter(user=request.user)
    return render(
        request,
        "api/tokens.html",
        {"tokens": rows, "created": created, "error": error, "max_name": TOKEN_NAME_MAX},
        status=400 if error else 200,
    )


def docs(request):
    """Swagger UI from drf-spectacular-sidecar when installed; else the schema as a plain page."""
    if sidecar_installed():
        from drf_spectacular.views import SpectacularSwaggerView

        return SpectacularSwaggerView.as_view(url_name="api:schema")(request)
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            if method.startswith("x-") or not isinstance(operation, dict):
                continue
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": (operation.get("description") or "").strip().split("\n\n")[0],
                    "parameters": [
                        {
                            "name": p.get("name"),
                            "where": p.get("in"),
                            "required": p.get("required", False),
                            "description": p.get("description", ""),
                        }
                        for p in operation.get("parameters", [])
                    ],
                }
            )
    return render(
        request,
        "api/docs.html",
        {"info": schema.get("info", {}), "operations": operations, "schema_url": reverse("api:schema")},
    )


def _int(text) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        return 0
    return value if 0 < value < 2**63 else 0
