"""The row-by-row reading of reports.queries before it summed in SQL: the oracle the SQL version is checked against."""

from __future__ import annotations

import numpy as np
import pandas as pd

from costing.models import NamespaceCostDay, PodCostDay, WorkloadCostDay
from costing.money import units_array as _units
from reports.queries.common import COSTS, NO_LABEL, QUANTITIES
from reports.queries.common import for_period as _filter
from reports.queries.costs import KEYS


def reference_groups(by, label, start, end, cluster_id, department, cluster_days) -> pd.DataFrame:
    keys = ["label"] if label is not None else KEYS[by]
    return _group(_pod_rows(by, label, start, end, cluster_id, department), keys, cluster_days)


def _pod_rows(by, label, start, end, cluster_id, department) -> pd.DataFrame:
    """The rows the grouping adds up: namespace days, workload days or pod days, costs in 1e-8 units."""
    if by == "namespace":
        qs = _filter(NamespaceCostDay.objects, start, end, cluster_id)
        fields = {"namespace": "namespace__name", "department": "department", "namespace_id": "namespace_id"}
    elif by == "workload":
        qs = _filter(WorkloadCostDay.objects, start, end, cluster_id)
        fields = {
            "namespace": "namespace__name",
            "workload_kind": "workload__kind",
            "workload": "workload__name",
            "namespace_id": "namespace_id",
        }
    elif by == "cluster" and label is None:
        qs = _filter(NamespaceCostDay.objects, start, end, cluster_id)
        fields = {"namespace_id": "namespace_id"}
    else:
        qs = _filter(PodCostDay.objects, start, end, cluster_id)
        fields = {
            "node_pool": "node__node_pool__name",
            "node": "node__name",
            "namespace_id": "namespace_id",
            "labels": "pod__labels",
        }
    columns = {"cluster_id": "cluster_id", "cluster": "cluster__name", "day": "day", **fields}
    columns.update({q: q for q in QUANTITIES})
    columns.update({c: c for c in COSTS})
    frame = pd.DataFrame.from_records(list(qs.values_list(*columns.values())), columns=list(columns))
    for cost in COSTS:
        frame[cost] = _units(frame[cost]) if len(frame) else np.zeros(0, dtype=np.int64)
    for quantity in QUANTITIES:
        frame[quantity] = frame[quantity].astype(float)
    if label is not None:
        frame["label"] = [
            str((labels or {}).get(label, NO_LABEL)) if (labels or {}).get(label) is not None else NO_LABEL
            for labels in frame["labels"]
        ]
    if department is not None:
        owned = set(
            _filter(NamespaceCostDay.objects, start, end, cluster_id)
            .filter(department=department, shared=False)
            .values_list("namespace_id", "day")
        )
        keep = [(n, d) in owned for n, d in zip(frame["namespace_id"], frame["day"], strict=True)]
        frame = frame.loc[np.array(keep, dtype=bool)] if len(frame) else frame
    return frame


def _group(pods: pd.DataFrame, keys: list[str], cluster_days: pd.DataFrame) -> pd.DataFrame:
    measures = [*QUANTITIES, *COSTS]
    if pods.empty:
        return pd.DataFrame(columns=[*keys, *measures, "coverage"])
    grouped = pods.groupby(keys, sort=True, dropna=False)[measures].sum().reset_index()
    # Coverage of a group: the mean over the cluster-days it has costs in.
    coverage = cluster_days.set_index(["cluster_id", "day"])["coverage"]
    seen = pods[[*keys, "cluster_id", "day"]].drop_duplicates()
    seen["coverage"] = coverage.reindex(pd.MultiIndex.from_frame(seen[["cluster_id", "day"]])).to_numpy()
    grouped = grouped.merge(
        seen.groupby(keys, dropna=False)["coverage"].mean().reset_index(), on=keys, how="left"
    )
    return grouped
