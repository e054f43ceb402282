"""URLs of the API: /api/v1/..., the schema and docs, the tokens page; and OpenCost's /allocation at the root."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import SimpleRouter

from . import pages, policy_preview, rates
from .views import (
    allocation,
    bills,
    budgets,
    clusters,
    costs,
    departments,
    explain,
    opportunities,
    policy,
    recommendations,
    reports,
    tokens,
)
from .views.common import ID

app_name = "api"

router = SimpleRouter()
router.register("departments", departments.DepartmentViewSet, basename="department")
router.register("clusters", clusters.ClusterViewSet, basename="cluster")
router.register("bills", bills.BillImportViewSet, basename="bill")
router.register("exchange-rates", rates.ExchangeRateViewSet, basename="exchange-rate")
router.register("alerts", budgets.AlertViewSet, basename="alert")
router.register("tokens", tokens.ApiTokenViewSet, basename="token")
router.register("reports/exports", reports.ExportRunViewSet, basename="report-export")

allocation_view = allocation.AllocationView.as_view()

v1 = [
    path("costs/", costs.CostsView.as_view(), name="costs"),
    path("explain/department/", explain.ExplainDepartmentView.as_view(), name="explain-department"),
    path("explain/namespace/", explain.ExplainNamespaceView.as_view(), name="explain-namespace"),
    path("explain/workload/", explain.ExplainWorkloadView.as_view(), name="explain-workload"),
    path("explain/node-hour/", explain.ExplainNodeHourView.as_view(), name="explain-node-hour"),
    path("recommendations/", recommendations.RecommendationsView.as_view(), name="recommendations"),
    path("opportunities/", opportunities.OpportunitiesView.as_view(), name="opportunities"),
    path("policy/", policy.PolicyView.as_view(), name="policy"),
    path("policy/preview/", policy_preview.PolicyPreviewView.as_view(), name="policy-preview"),
    path("budgets/", budgets.BudgetsView.as_view(), name="budgets"),
    path("forecasts/", budgets.ForecastsView.as_view(), name="forecasts"),
    re_path(
        rf"^reports/exports/(?P<pk>{ID})/download$",
        reports.ExportDownloadView.as_view(),
        name="report-export-download",
    ),
    path("allocation", allocation_view, name="allocation"),
    path("allocation/compute", allocation_view, name="allocation-compute"),
    *router.urls,
    path("reports/<str:period>/", reports.ReportView.as_view(), name="report"),  # after reports/exports/
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="schema"),
    path("docs/", pages.docs, name="docs"),
    path("tokens/", pages.tokens, name="tokens-page"),
]

# OpenCost serves these at the root of its API; tools built for it call them there (finops/urls.py).
root_allocation = allocation.OpenCostRootAllocationView.as_view()
root_urlpatterns = [
    path("allocation", root_allocation, name="opencost-allocation"),
    path("allocation/compute", root_allocation, name="opencost-allocation-compute"),
]

for pattern in [*v1, *root_urlpatterns, urlpatterns[0]]:
    # The API authenticates itself (session or token) and answers 401/403 in JSON, so the login
    # middleware must not redirect it to the login page.
    pattern.callback.login_required = False

urlpatterns = [*urlpatterns, path("v1/", include(v1))]
