"""Right-sizing recommendations from the database: container-hours and prices read, the engine run."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from costing.engine.rightsizing import COVERAGE_COLUMNS, HOUR_COLUMNS, RightsizingPolicy, recommend
from costing.models import ContainerHour, CoverageHour, NodeCostHour

__all__ = ["container_hours", "coverage_hours", "recommendations"]

_HOUR_FIELDS = [
    "cluster_id", "node_id", "hour", "container", "init", "seconds",
    "cpu_request_core_hours", "cpu_usage_core_hours", "cpu_billable_core_hours", "cpu_usage_max_cores",
    "cpu_histogram", "mem_request_gib_hours", "mem_limit_gib_hours", "mem_usage_gib_hours",
    "mem_billable_gib_hours", "mem_usage_max_bytes",
]  # fmt: skip
_NAMES = {
    "cluster__name": "cluster",
    "pod__namespace__name": "namespace",
    "pod__workload__kind": "workload_kind",
    "pod__workload__name": "workload_name",
}


def container_hours(start: datetime, end: datetime, cluster: str | None = None) -> pd.DataFrame:
    """The container-hours of [start, end) (HOUR_COLUMNS) with the unit prices of their node-hour.

    A node-hour not yet priced (costs not computed) has NaN prices: it costs nothing in either figure.
    """
    scope = {"hour__gte": start, "hour__lt": end}
    if cluster:
        scope["cluster__name"] = cluster
    rows = pd.DataFrame.from_records(
        ContainerHour.objects.filter(**scope).values(*_HOUR_FIELDS, *_NAMES).iterator(chunk_size=20_000),
        columns=[*_HOUR_FIELDS, *_NAMES],
    ).rename(columns=_NAMES)
    prices = pd.DataFrame.from_records(
        NodeCostHour.objects.filter(**scope).values("node_id", "hour", "cpu_price", "mem_price"),
        columns=["node_id", "hour", "cpu_price", "mem_price"],
    )
    for frame in (rows, prices):
        frame["hour"] = pd.to_datetime(frame["hour"], utc=True)
    merged = rows.merge(prices, on=["node_id", "hour"], how="left")
    return merged[HOUR_COLUMNS]


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
