"""URL map: auth, health probe, admin, then the apps."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from api.urls import root_urlpatterns as opencost_urlpatterns
from costing import sso
from costing.access import is_admin
from costing.languages import set_language

from . import health

# The Django admin is for FinOps admins only (superusers, or members of the "FinOps admin" group).
admin.site.has_permission = lambda request: is_admin(request.user)
admin.site.site_header = _("FinOps administration")

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("accounts/login/", sso.LoginView.as_view(), name="login"),
    # OpenID Connect sign-in (404 while it is not configured): to the provider, and back.
    path(
        "oidc/authenticate/",
        login_not_required(sso.AuthenticationRequestView.as_view()),
        name="oidc_authentication_init",
    ),
    path(
        "oidc/callback/",
        login_not_required(sso.AuthenticationCallbackView.as_view()),
        name="oidc_authentication_callback",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The nav's language switch (Django's set_language: a POST sets the language cookie, then back to `next`).
    # Public, like the login page that shows it: it reads nothing and a visitor chooses before signing in.
    # A signed-in user's choice is also kept as the language of their e-mails (costing/languages.py).
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    *opencost_urlpatterns,  # OpenCost's /allocation and /allocation/compute, where its tools look
    path("", include("reports.urls")),
]
