"""URLs of the API: /api/v1/..., the schema and docs, the tokens page; and OpenCost's /allocation at the root."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import SimpleRouter

from . import pages, policy_preview, views

app_name = "api"

router = SimpleRouter()
router.register("departments", views.DepartmentViewSet, basename="department")
router.register("clusters", views.ClusterViewSet, basename="cluster")
router.register("bills", views.BillImportViewSet, basename="bill")
router.register("tokens", views.ApiTokenViewSet, basename="token")
router.register("reports/exports", views.ExportRunViewSet, basename="report-export")

allocation = views.AllocationView.as_view()

v1 = [
    path("costs/", views.CostsView.as_view(), name="costs"),
    path("explain/department/", views.ExplainDepartmentView.as_view(), name="explain-department"),
    path("explain/namespace/", views.ExplainNamespaceView.as_view(), name="explain-namespace"),
    path("explain/workload/", views.ExplainWorkloadView.as_view(), name="explain-workload"),
    path("explain/node-hour/", views.ExplainNodeHourView.as_view(), name="explain-node-hour"),
    path("policy/", views.PolicyView.as_view(), name="policy"),
    path("policy/preview/", policy_preview.PolicyPreviewView.as_view(), name="policy-preview"),
    re_path(
        rf"^reports/exports/(?P<pk>{views.ID})/download$",
        views.ExportDownloadView.as_view(),
        name="report-export-download",
    ),
    path("allocation", allocation, name="allocation"),
    path("allocation/compute", allocation, name="allocation-compute"),
    *router.urls,
    path("reports/<str:period>/", views.ReportView.as_view(), name="report"),  # after reports/exports/
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="schema"),
    path("docs/", pages.docs, name="docs"),
    path("tokens/", pages.tokens, name="tokens-page"),
]

# OpenCost serves these at the root of its API; tools built for it call them there (finops/urls.py).
root_allocation = views.OpenCostRootAllocationView.as_view()
root_urlpatterns = [
    path("allocation", root_allocation, name="opencost-allocation"),
    path("allocation/compute", root_allocation, name="opencost-allocation-compute"),
]

for pattern in [*v1, *root_urlpatterns, urlpatterns[0]]:
    # The API authenticates itself (session or token) and answers 401/403 in JSON, so the login
    # middleware must not redirect it to the login page.
    pattern.callback.login_required = False

urlpatterns = [*urlpatterns, path("v1/", include(v1))]
