"""Views: parse the request, call one query function, render."""

from __future__ import annotations

from django.shortcuts import render

from costing.models import Cluster


def dashboard(request):
    """The overview page. Until clusters and bills are in, it says what to do next."""
    clusters = Cluster.objects.order_by("name")
    return render(request, "reports/dashboard.html", {"clusters": clusters})
