"""API: OpenCost-compatible allocation (/api/v1/allocation and /allocation at the root)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from api import opencost
from api import serializers as s
from api.permissions import HasRole
from api.views.common import query_params
from costing.access import granted_departments, owned_rows
from reports.periods import check_in_history, custom_period
from reports.queries.frames import load_balancer_frame, node_idle_frame, pod_cost_groups


def no_idle() -> pd.DataFrame:
    """node_idle_frame's columns without a row: for an answer that neither shows nor divides idle."""
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in ("day", "cluster", "node")})
    return frame.assign(**{c: pd.Series(dtype=np.int64) for c in ("cpu_idle", "mem_idle", "gpu_idle")})


class Rendered(str):
    """An answer already written as JSON text (opencost.sets_json)."""


class AllocationJSONRenderer(JSONRenderer):
    """DRF's JSON renderer, writing a Rendered answer as it is (allocations written column by column
    rather than one dict each: a day of a large fleet is tens of thousands of allocations)."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, Rendered):
            return data.encode()
        return super().render(data, accepted_media_type, renderer_context)


class AllocationView(APIView):
    """OpenCost-compatible allocation: {"code": 200, "data": [{name: allocation}, ...]}, one set per step.

    Windows are widened to whole UTC days (our finest grain). Department viewers get their departments'
    namespaces only and no __idle__ (they see idle only as their share, with shareIdle=true).
    See docs/api.md for what differs from OpenCost.
    """

    permission_classes = [HasRole]
    renderer_classes = [AllocationJSONRenderer, BrowsableAPIRenderer]

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        errors = response.data.get("errors") if isinstance(response.data, dict) else None
        response.data = {"code": response.status_code, "message": str(detail), "data": None}
        if errors:
            response.data["errors"] = errors
            response.data["message"] = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in errors.items())
        return response

    @extend_schema(parameters=[s.AllocationQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = query_params(s.AllocationQuery, request)
        now = timezone.now()
        try:
            opencost.check_parameters(dict(request.query_params.lists()))
            pod_filter = opencost.parse_filter(query.get("filter"))
            window = opencost.parse_window(query["window"], now)
            aggregate = opencost.parse_aggregate(query.get("aggregate"))
            accumulate = opencost.parse_bool(query.get("accumulate"), "accumulate", False)
            step = opencost.parse_step(query.get("step"))
            share_idle = opencost.parse_bool(query.get("shareIdle"), "shareIdle", False)
            include_idle = opencost.parse_bool(query.get("includeIdle"), "includeIdle", False)
            check_in_history(custom_period(window.start, window.end), now.date())
        except opencost.ParameterError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from None
        except ValueError as exc:  # PeriodError
            raise ValidationError({"window": [str(exc)]}) from None
        granted = granted_departments(request.user)
        visible = None
        if granted is not None:

            def visible(pods):
                return owned_rows(pods, granted)

        load_balancers = load_balancer_frame(window.start, window.end)
        # Summed in the database to the rows the answer needs, not read pod day by pod day.
        pods = pod_cost_groups(
            window.start,
            window.end,
            opencost.grouping(aggregate, pod_filter),
            by_day=opencost.by_day(accumulate, share_idle, pod_filter, not load_balancers.empty),
        )
        # Idle is read only when the answer shows or divides it.
        idle = (
            node_idle_frame(window.start, window.end)
            if include_idle or share_idle or pod_filter is not None
            else no_idle()
        )
        windows = opencost.set_windows(window.start, window.end, step, accumulate)
        as_json = isinstance(getattr(request, "accepted_renderer", None), AllocationJSONRenderer)
        sets = opencost.allocation_sets(
            pods,
            idle,
            windows,
            aggregate,
            include_idle=include_idle,
            share_idle=share_idle,
            visible=visible,
            pod_filter=pod_filter,
            load_balancers=load_balancers,
            as_json=as_json,
        )
        if as_json:
            return Response(Rendered(opencost.sets_json(sets)))
        return Response({"code": 200, "data": sets})


@extend_schema(exclude=True)  # the same operation as /api/v1/allocation, documented once
class OpenCostRootAllocationView(AllocationView):
    """/allocation and /allocation/compute at the root, where OpenCost serves them."""
