"""Pages of the product."""

from django.urls import path

from . import (
    views,
    views_bills,
    views_budgets,
    views_clusters,
    views_departments,
    views_explain,
    views_labels,
    views_namespaces,
    views_optimise,
    views_quality,
    views_recommendations,
    views_reports,
)

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("clusters/", views_clusters.clusters, name="clusters"),
    path("clusters/<slug:name>/", views_clusters.cluster, name="cluster"),
    path("clusters/<slug:name>/pools/<str:pool>/", views_clusters.node_pool, name="node_pool"),
    path("clusters/<slug:name>/nodes/<str:node>/", views_clusters.node, name="node"),
    path("namespaces/", views_namespaces.namespaces, name="namespaces"),
    path("namespaces/<slug:cluster>/<str:name>/", views_namespaces.namespace, name="namespace"),
    path("workloads/<int:pk>/", views_namespaces.workload, name="workload"),
    path("pods/<int:pk>/", views_namespaces.pod, name="pod"),
    path("labels/", views_labels.labels, name="labels"),
    path("departments/", views_departments.departments, name="departments"),
    path("departments/<path:name>/", views_departments.department, name="department"),
    path("recommendations/", views_recommendations.recommendations, name="recommendations"),
    path("optimise/", views_optimise.optimise, name="optimise"),
    path("recommendations/<int:pk>/", views_recommendations.recommendation, name="recommendation"),
    path("data-quality/", views_quality.data_quality, name="data_quality"),
    path("budgets/", views_budgets.budgets, name="budgets"),
    path("alerts/", views_budgets.alerts, name="alerts"),
    path("bills/", views_bills.bills, name="bills"),
    path("bills/<int:pk>/status", views_bills.bill_status, name="bill_status"),
    path("reports/", views_reports.reports_page, name="reports"),
    path("reports/export/", views_reports.export_start, name="report-export"),
    path("reports/exports/<int:pk>/status", views_reports.export_status, name="report-export-status"),
    path("reports/exports/<int:pk>/download", views_reports.export_download, name="report-export-download"),
    path("reports/close/", views_reports.close_view, name="report-close"),
    path("reports/closings/<int:pk>/status", views_reports.close_status, name="report-close-status"),
    path("reports/reopen/", views_reports.reopen_view, name="report-reopen"),
    path(
        "explain/node-hour/<slug:cluster>/<str:node>/<str:hour>/", views_explain.node_hour, name="node_hour"
    ),
]
