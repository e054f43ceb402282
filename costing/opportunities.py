"""Capacity levers from the database: the window's node-hours, pod-hours, prices and right-sizing advice
read, the engine (costing.engine.levers) run, each row given its owner (docs/optimise.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from costing import access
from costing.compute import read_frame
from costing.engine.levers import (
    ADVICE_COLUMNS,
    NODE_COLUMNS,
    POD_COLUMNS,
    CronHPAPolicy,
    Levers,
    PriceSheet,
    optimise,
)
from costing.engine.levers.frames import WORKLOAD_KEY
from costing.engine.rightsizing import OVER_REQUESTED, RightsizingPolicy
from costing.folding import fold_for_read
from costing.models import Cluster, Node, NodeCostHour, NodeHour, Pod, PodHour
from costing.policy.store import spec_for_day
from costing.recommendations import recommendations, with_owners

__all__ = [
    "COLUMNS",
    "Opportunities",
    "advice",
    "as_data",
    "figures_text",
    "node_hours",
    "opportunities",
    "opportunities_between",
    "pod_hours",
    "price_sheet",
]

GIB = 2**30
# The rows of the command, the API and the report sheet.
COLUMNS = ["cluster", "lever", "subject", "monthly_saving", "counted_saving", "overlaps", "figures"]
_POD_FIELDS = [
    "pod_id", "node_id", "hour", "samples", "cpu_request_core_hours", "mem_request_gib_hours",
    "cpu_usage_core_hours", "mem_usage_gib_hours", "cpu_billable_core_hours", "mem_billable_gib_hours",
]  # fmt: skip
_POD_NAMES = {
    "id": "pod_id",
    "cluster__name": "cluster",
    "cluster__sampling_interval": "interval",
    "namespace__name": "namespace",
    "workload__kind": "workload_kind",
    "workload__name": "workload_name",
}


@dataclass
class Opportunities:
    """What the Optimise page, the API, the command and the report sheet show for one window and user."""

    start: datetime
    end: datetime
    levers: Levers
    savings: pd.DataFrame  # levers.savings with department, shared and workload_id, limited to the user's
    cronhpa: pd.DataFrame  # levers.cronhpa, the same way
    pay_per_use: pd.DataFrame  # levers.pay_per_use, the same way
    sheet: PriceSheet | None
    whole: bool  # the user sees the pool-level levers (packing, oversubscription) and their evidence

    @property
    def total(self) -> float:
        return float(self.savings["counted_saving"].sum()) if not self.savings.empty else 0.0

    def totals(self, by: str = "cluster") -> list[dict]:
        """Monthly saving per `by` (cluster or lever): the counted saving (the total's part) and the levers'
        own savings summed (which may count the same money more than once), largest first."""
        if self.savings.empty:
            return []
        sums = self.savings.groupby(by, sort=True).agg(
            counted=("counted_saving", "sum"), own=("monthly_saving", "sum"), rows=("lever", "size")
        )
        sums = sums.sort_values("counted", ascending=False).reset_index()
        return [
            {by: row[by], "counted": round(float(row["counted"]), 2), "own": round(float(row["own"]), 2),
             "rows": int(row["rows"])}
            for row in sums.to_dict("records")
        ]  # fmt: skip


def _scope(start: datetime, end: datetime, cluster: str | None) -> dict:
    scope = {"hour__gte": start, "hour__lt": end}
    if cluster:
        scope["cluster__name"] = cluster
    return scope


def node_hours(start: datetime, end: datetime, cluster: str | None = None) -> pd.DataFrame:
    """NODE_COLUMNS for [start, end): capacity sampled per node-hour, with its pool, cost and unit prices."""
    fold_for_read(cluster, before=end)
    scope = _scope(start, end, cluster)
    hours = read_frame(
        NodeHour.objects.filter(**scope).values_list(
            "node_id", "hour", "cpu_capacity_core_hours", "mem_capacity_gib_hours"
        ),
        ["node_id", "hour", "cpu_cores", "mem_gib"],
    )
    costs = read_frame(
        NodeCostHour.objects.filter(**scope).values_list("node_id", "hour", "cost", "cpu_price", "mem_price"),
        ["node_id", "hour", "cost", "cpu_price", "mem_price"],
    )
    if hours.empty and costs.empty:
        return _empty(NODE_COLUMNS)
    clusters = Cluster.objects.filter(name=cluster) if cluster else Cluster.objects.all()
    names = pd.DataFrame.from_records(
        Node.objects.filter(cluster__in=clusters).values("id", "cluster__name", "name", "node_pool__name"),
        columns=["id", "cluster__name", "name", "node_pool__name"],
    ).rename(columns={"id": "node_id", "cluster__name": "cluster", "name": "node", "node_pool__name": "pool"})
    for frame in (hours, costs):
        frame["hour"] = pd.to_datetime(frame["hour"], utc=True)
    out = hours.merge(costs, on=["node_id", "hour"], how="outer").merge(names, on="node_id", how="left")
    out[["cpu_cores", "mem_gib", "cost"]] = out[["cpu_cores", "mem_gib", "cost"]].astype(float).fillna(0.0)
    return out[NODE_COLUMNS]


def pod_hours(start: datetime, end: datetime, cluster: str | None = None) -> pd.DataFrame:
    """POD_COLUMNS for [start, end). A pod's share of the hour is its samples times its cluster's sampling
    interval (at most the hour): its request while present is its request-hours over that share."""
    fold_for_read(cluster, before=end)
    rows = read_frame(
        PodHour.objects.filter(**_scope(start, end, cluster)).values_list(*_POD_FIELDS), _POD_FIELDS
    )
    if rows.empty:
        return _empty(POD_COLUMNS)
    clusters = Cluster.objects.filter(name=cluster) if cluster else Cluster.objects.all()
    pods = pd.DataFrame.from_records(
        Pod.objects.filter(cluster__in=clusters).values(*_POD_NAMES), columns=list(_POD_NAMES)
    ).rename(columns=_POD_NAMES)
    nodes = pd.DataFrame.from_records(
        Node.objects.filter(cluster__in=clusters).values("id", "name"), columns=["id", "name"]
    ).rename(columns={"id": "node_id", "name": "node"})
    rows["hour"] = pd.to_datetime(rows["hour"], utc=True)
    out = rows.merge(pods, on="pod_id", how="inner").merge(nodes, on="node_id", how="left")
    out["present"] = np.minimum(out["samples"].astype(float) * out["interval"].astype(float) / 3600, 1.0)
    out = out.rename(
        columns={
            "pod_id": "pod",
            "cpu_request_core_hours": "cpu_request",
            "mem_request_gib_hours": "mem_request",
            "cpu_usage_core_hours": "cpu_usage",
            "mem_usage_gib_hours": "mem_usage",
            "cpu_billable_core_hours": "cpu_billable",
            "mem_billable_gib_hours": "mem_billable",
        }
    )
    return out[POD_COLUMNS]


def _empty(columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    if "hour" in frame:
        frame["hour"] = pd.Series(dtype="datetime64[ns, UTC]")
    return frame


def advice(start: datetime, end: datetime, cluster: str | None = None) -> pd.DataFrame:
    """ADVICE_COLUMNS: right-sizing (costing.recommendations) summed per workload: the change of a
    replica's requests over its containers with a recommendation, and the saving of the over-requested.
    The advice for `end` from the window's data, as `recommendations --start --end` gives it (its last 14
    days of look-back): a window shorter than the look-back would otherwise fail the coverage rule."""
    rows = recommendations(start, end, cluster=cluster, policy=RightsizingPolicy())
    if rows.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype=float if c in ADVICE_COLUMNS[4:] else object) for c in ADVICE_COLUMNS}
        )
    advised = rows["cpu_recommended_cores"].notna()
    parts = rows[WORKLOAD_KEY].assign(
        cpu_delta_cores=np.where(advised, rows["cpu_recommended_cores"] - rows["cpu_request_cores"], 0.0),
        mem_delta_gib=np.where(
            advised, (rows["mem_recommended_bytes"] - rows["mem_request_bytes"]) / GIB, 0.0
        ),
        monthly_saving=np.where(rows["status"] == OVER_REQUESTED, rows["monthly_saving"].fillna(0.0), 0.0),
    )
    for column in ("cpu_delta_cores", "mem_delta_gib", "monthly_saving"):
        parts[column] = parts[column].astype(float).fillna(0.0)
    return parts.groupby(WORKLOAD_KEY, sort=True).sum().reset_index()[ADVICE_COLUMNS]


def price_sheet(day: date) -> PriceSheet | None:
    """The pay-per-use sheet of the policy in force on `day`, as the engine reads it (None: none set)."""
    sheet = spec_for_day(day).pay_per_use
    if sheet is None:
        return None
    return PriceSheet(
        name=sheet.name,
        **{name: float(getattr(sheet, name)) for name in (
            "vcpu_second", "gib_second", "min_vcpu", "min_gib", "vcpu_step", "gib_step", "min_seconds", "second_step"
        )},
    )  # fmt: skip


def opportunities_between(
    start: datetime,
    end: datetime,
    *,
    cluster: str | None = None,
    departments=None,
    namespace: str | None = None,
    cronhpa_policy: CronHPAPolicy | None = None,
) -> Opportunities:
    """Every lever from the data of [start, end). The months are the window's hours with data (from the
    first to the last node-hour) scaled to 730 hours. `departments` (None: all) limits the rows to the
    workloads of namespaces those departments owned (costing.access), and then leaves out the pool-level
    levers, which are no department's own."""
    nodes = node_hours(start, end, cluster)
    pods = pod_hours(start, end, cluster)
    hours = (nodes["hour"].max() - nodes["hour"].min()) / timedelta(hours=1) + 1 if not nodes.empty else 0.0
    sheet = price_sheet((end - timedelta(seconds=1)).date())
    levers = optimise(
        nodes,
        pods,
        advice(start, end, cluster),
        window_hours=float(hours),
        sheet=sheet,
        cronhpa_policy=cronhpa_policy,
    )
    owned = [
        _owned(frame, end.date(), departments, namespace)
        for frame in (levers.savings, levers.cronhpa, levers.pay_per_use)
    ]
    return Opportunities(start, end, levers, *owned, sheet, whole=departments is None and not namespace)


def _owned(savings: pd.DataFrame, day: date, departments, namespace: str | None) -> pd.DataFrame:
    frame = (
        with_owners(savings, day)
        if not savings.empty
        else savings.assign(department="", shared=True, workload_id=None)
    )
    keep = access.owned_opportunities(frame, departments)
    if keep is not None:
        frame = frame.loc[keep.to_numpy()]
    if namespace:
        frame = frame.loc[frame["namespace"] == namespace]
    return frame.reset_index(drop=True)


def opportunities(day_start: date, day_end: date, **options) -> Opportunities:
    """opportunities_between for the UTC days [day_start, day_end)."""
    return opportunities_between(_midnight(day_start), _midnight(day_end), **options)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _plain(value):
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else round(float(value), 6)
    return value


def as_data(frame: pd.DataFrame, columns: list[str] = COLUMNS) -> list[dict]:
    """The rows as plain JSON data: money to the cent, figures as a mapping of plain values."""
    out = []
    for record in frame.to_dict("records"):
        row = {}
        for column in columns:
            value = record.get(column)
            if column in ("monthly_saving", "counted_saving"):
                value = round(float(value), 2)
            elif column == "figures":
                value = {k: _plain(v) for k, v in value.items()}
            elif column == "workload_id":
                value = None if value is None or pd.isna(value) else int(value)
            elif column == "shared":
                value = bool(value)
            row[column] = value
        out.append(row)
    return out


def figures_text(figures: dict) -> str:
    """A row's figures on one line (the command's table and CSV): `name=value; ...`."""
    parts = []
    for key, value in figures.items():
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, float):
            value = f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
        parts.append(f"{key}={value}")
    return "; ".join(parts)
