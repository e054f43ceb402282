"""API: clusters, their node pools and nodes."""

from __future__ import annotations

from django.db.models import Count
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api import serializers as s
from api.pagination import Pagination
from api.permissions import HasRole, SeesEverything
from api.views.common import ID
from costing.access import restrict_clusters
from costing.models import Cluster, Node


class ClusterViewSet(viewsets.ReadOnlyModelViewSet):
    """Clusters, their node pools and nodes (never a kubeconfig). Department viewers see the clusters
    their departments have namespaces in, but not their node pools and nodes (403, as on the pages:
    whole clusters are for admins and viewers)."""

    permission_classes = [HasRole]
    pagination_class = Pagination
    lookup_value_regex = ID

    def get_queryset(self):
        return restrict_clusters(Cluster.objects.order_by("name"), self.request.user)

    def get_permissions(self):
        return [SeesEverything()] if self.action in ("node_pools", "nodes") else [HasRole()]

    def get_serializer_class(self):
        return s.ClusterDetailSerializer if self.action == "retrieve" else s.ClusterSerializer

    @extend_schema(responses={200: s.NodePoolSerializer(many=True)})
    @action(detail=True, url_path="node-pools", pagination_class=None)
    def node_pools(self, request, pk=None):
        cluster = self.get_object()
        pools = cluster.node_pools.annotate(node_count=Count("nodes")).order_by("name")
        return Response(s.NodePoolSerializer(pools, many=True).data)

    @extend_schema(responses={200: s.NodeSerializer(many=True)})
    @action(detail=True, serializer_class=s.NodeSerializer)
    def nodes(self, request, pk=None):
        cluster = self.get_object()
        nodes = Node.objects.filter(cluster=cluster).select_related("node_pool").order_by("name")
        page = self.paginate_queryset(nodes)
        return self.get_paginated_response(s.NodeSerializer(page, many=True).data)
