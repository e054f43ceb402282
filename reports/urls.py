"""Pages of the product."""

from django.urls import path

from . import (
    views,
    views_clusters,
    views_departments,
    views_explain,
    views_labels,
    views_namespaces,
    views_quality,
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
    path("data-quality/", views_quality.data_quality, name="data_quality"),
    path(
        "explain/node-hour/<slug:cluster>/<str:node>/<str:hour>/", views_explain.node_hour, name="node_hour"
    ),
]
