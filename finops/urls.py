"""URL map: auth, health probe, admin, then the apps."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api.urls import root_urlpatterns as opencost_urlpatterns
from costing.access import is_admin

from . import health

# The Django admin is for FinOps admins only (superusers, or members of the "FinOps admin" group).
admin.site.has_permission = lambda request: is_admin(request.user)
admin.site.site_header = "FinOps administration"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    *opencost_urlpatterns,  # OpenCost's /allocation and /allocation/compute, where its tools look
    path("", include("reports.urls")),
]
