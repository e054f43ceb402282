"""Right-sizing recommendations from the database: container-hours and prices read, the engine run."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from django.db.models import TextField, Value
from django.db.models.functions import Cast, Concat

from costing.compute import read_frame
from costing.engine.rightsizing import COVERAGE_COLUMNS, HOUR_COLUMNS, RightsizingPolicy, recommend
from costing.models import Cluster, ContainerHour, CoverageHour, NodeCostHour, Pod

__all__ = ["container_hours", "coverage_hours", "recommendations"]

_HOUR_FIELDS = [
    "pod_id", "node_id", "hour", "container", "init", "seconds",
    "cpu_request_core_hours", "cpu_usage_core_hours", "cpu_billable_core_hours", "cpu_usage_max_cores",
    "cpu_histogram", "mem_request_gib_hours", "mem_limit_gib_hours", "mem_usage_gib_hours",
    "mem_billable_gib_hours", "mem_usage_max_bytes",
]  # fmt: skip
_POD_NAMES = {
    "id": "pod_id",
    "cluster__name": "cluster",
    "namespace__name": "namespace",
    "workload__kind": "workload_kind",
    "workload__name": "workload_name",
}


def container_hours(start: datetime, end: datetime, cluster: str | None = None) -> pd.DataFrame:
    """The container-hours of [start, end) (HOUR_COLUMNS) with the unit prices of their node-hour.

    A node-hour not yet priced (costs not computed) has NaN prices: it costs nothing in either figure.
    The rows are read without joins and their histograms as text, by COPY on PostgreSQL (millions of
    rows: the ORM's per-row work would be most of the time); names come from the pods, read once each.
    """
    scope = {"hour__gte": start, "hour__lt": end}
    if cluster:
        scope["cluster__name"] = cluster
    # The histogram as its JSON text (the engine parses it); the container's name behind a mark, so that
    # CSV cannot read a name such as 0123 as a number. read_frame uses COPY on PostgreSQL.
    fields = {"cpu_histogram": "cpu_histogram_text", "container": "container_text"}
    queryset = (
        ContainerHour.objects.filter(**scope)
        .annotate(
            cpu_histogram_text=Cast("cpu_histogram", TextField()),
            container_text=Concat(Value("~"), "container", output_field=TextField()),
        )
        .values_list(*(fields.get(f, f) for f in _HOUR_FIELDS))
    )
    rows = read_frame(queryset, _HOUR_FIELDS)
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in HOUR_COLUMNS})
    rows["container"] = rows["container"].astype(str).str[1:]
    rows["init"] = rows["init"].astype(str).str.lower().isin(["t", "true", "1"])
    pods = pd.DataFrame.from_records(
        Pod.objects.filter(id__in=rows["pod_id"].unique().tolist()).values(*_POD_NAMES)
        if len(rows) < 30_000
        else Pod.objects.filter(cluster__in=_clusters(cluster)).values(*_POD_NAMES),
        columns=list(_POD_NAMES),
    ).rename(columns=_POD_NAMES)
    rows = rows.merge(pods, on="pod_id", how="left")
    prices = pd.DataFrame.from_records(
        NodeCostHour.objects.filter(**scope).values("node_id", "hour", "cpu_price", "mem_price"),
        columns=["node_id", "hour", "cpu_price", "mem_price"],
    )
    for frame in (rows, prices):
        frame["hour"] = pd.to_datetime(frame["hour"], utc=True)
    merged = rows.merge(prices, on=["node_id", "hour"], how="left")
    return merged[HOUR_COLUMNS]


def _clusters(name: str | None):
    return Cluster.objects.filter(name=name) if name else Cluster.objects.all()


def coverage_hours(start: datetime, end: datetime, cluster: str | None = None) -> pd.DataFrame:
    """Sampled seconds per cluster-hour of [start, end) (COVERAGE_COLUMNS)."""
    scope = {"hour__gte": start, "hour__lt": end}
    if cluster:
        scope["cluster__name"] = cluster
    frame = pd.DataFrame.from_records(
        CoverageHour.objects.filter(**scope).values("cluster__name", "hour", "sampled_seconds"),
        columns=["cluster__name", "hour", "sampled_seconds"],
    ).rename(columns={"cluster__name": "cluster"})
    frame["hour"] = pd.to_datetime(frame["hour"], utc=True)
    return frame[COVERAGE_COLUMNS]


def recommendations(
    start: datetime, end: datetime, *, cluster: str | None = None, policy: RightsizingPolicy | None = None
) -> pd.DataFrame:
    """One row per container (costing.engine.rightsizing.RESULT_COLUMNS) from the data of [start, end)."""
    policy = policy or RightsizingPolicy()
    # Only the hours the look-back and the back-test windows can use are read.
    first = max(start, end - timedelta(days=policy.backtest_days + policy.lookback_days))
    return recommend(
        container_hours(first, end, cluster),
        coverage_hours(first, end, cluster),
        start=start,
        end=end,
        policy=policy,
    )
