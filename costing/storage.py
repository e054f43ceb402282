"""Persistent volumes in a cluster-day's computation: their disks' bill lines divided by the recorded volume-hours.

costing/compute.py calls read_storage_day() for the inputs and add_storage() on the day's roll-up; the rule
itself is costing/engine/volumes.py. A volume's bill line (kind volume, costing/billing/attribution_db.py)
is spread over its hours; each hour goes to the pods that mounted the volume (their pod rows' storage_cost),
to the claim's namespace as unmounted storage, or to storage idle (released or unbound volumes, hours no
sample saw). Money is in exact 1e-8 units: a volume's day is its lines' day rounded once, its hours the
differences of the rounded running sums, so the parts add up to it to the unit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db.models import Q

from costing.billing.spreading import spread_hourly
from costing.bulk_write import insert_columns
from costing.choices import LineKind
from costing.engine.rollup import POD_MONEY, DayRollup
from costing.engine.volumes import POD, UNMOUNTED, RecordedHour, split_recorded_hour
from costing.models import BillLine, Pod, VolumeCostDay, VolumeHour, VolumeMountHour
from costing.money import to_money, to_units

POD_STORAGE_MONEY = ("storage_cost",)
NAMESPACE_STORAGE_MONEY = ("storage_cost", "unmounted_storage_cost")
VOLUME_DAY_MONEY = ("cost", "pods_cost", "unmounted_cost", "idle_cost")


@dataclass
class StorageDay:
    """A cluster-day's volume costs in units: per pod, per namespace (unmounted claims), idle, per volume."""

    pods: dict[int, int] = field(default_factory=dict)
    unmounted: dict[int, int] = field(default_factory=dict)
    idle: int = 0
    # Volume lines whose volume is gone (deleted since): the cluster's overhead, as any unmatched disk.
    orphan_overhead: int = 0
    volumes: list[dict] = field(default_factory=list)

    @property
    def charged(self) -> int:
        return sum(self.pods.values()) + sum(self.unmounted.values())

    @property
    def total(self) -> int:
        return self.charged + self.idle


def _volume_hour_costs(cluster_id: int, start, end) -> tuple[dict[int, dict[pd.Timestamp, int]], int]:
    """{volume: {hour: units}} of the cluster's volume lines in [start, end), and the units of volume lines
    without a volume."""
    lines = BillLine.objects.filter(
        Q(charge_period_end__gt=start) | Q(charge_period_start__gte=start),
        cluster_id=cluster_id,
        kind=LineKind.VOLUME,
        charge_period_start__lt=end,
    ).values("charge_period_start", "charge_period_end", "effective_cost", "cluster_id", "volume_id", "kind")
    frame = pd.DataFrame.from_records(list(lines))
    if frame.empty:
        return {}, 0
    # spread_hourly keys on (cluster, node, kind): the volume stands in the node column.
    frame = frame.rename(columns={"cluster_id": "cluster", "volume_id": "node"})
    frame["node"] = frame["node"].astype(object).where(frame["node"].notna(), None)
    for column in ("charge_period_start", "charge_period_end"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    spread = spread_hourly(frame)
    spread = spread.loc[(spread["hour"] >= pd.Timestamp(start)) & (spread["hour"] < pd.Timestamp(end))]
    exact: dict[object, dict[pd.Timestamp, Decimal]] = defaultdict(dict)
    for volume, hour, cost in zip(spread["node"], spread["hour"], spread["effective_cost"], strict=True):
        hours = exact[volume if volume is not None and volume == volume else None]
        hours[hour] = hours.get(hour, Decimal(0)) + cost
    orphan = to_units(sum(exact.pop(None, {}).values(), Decimal(0)))
    out: dict[int, dict[pd.Timestamp, int]] = {}
    for volume, hours in exact.items():
        running, done, parts = Decimal(0), 0, {}
        for hour in sorted(hours):
            running += hours[hour]
            now = to_units(running)
            parts[hour], done = now - done, now
        out[int(volume)] = parts
    return out, orphan


def read_storage_day(cluster_id: int, start, end) -> StorageDay:
    """The day [start, end) of the cluster's billed volumes, divided hour by hour (costing/engine/volumes.py)."""
    costs, orphan = _volume_hour_costs(cluster_id, start, end)
    storage = StorageDay(orphan_overhead=orphan)
    if not costs:
        return storage
    scope = {"cluster_id": cluster_id, "hour__gte": start, "hour__lt": end, "volume_id__in": sorted(costs)}
    recorded: dict[tuple[int, pd.Timestamp], RecordedHour] = {}
    for volume, hour, namespace, seconds, bound, unmounted in VolumeHour.objects.filter(**scope).values_list(
        "volume_id", "hour", "namespace_id", "seconds", "bound_seconds", "unmounted_seconds"
    ):
        recorded[(volume, pd.Timestamp(hour))] = RecordedHour(seconds, bound, unmounted, namespace, {})
    for volume, hour, pod, share in VolumeMountHour.objects.filter(**scope).values_list(
        "volume_id", "hour", "pod_id", "share_seconds"
    ):
        seen = recorded.get((volume, pd.Timestamp(hour)))
        if seen is not None:
            seen.pod_shares[pod] = seen.pod_shares.get(pod, 0.0) + share
    pods: dict[int, int] = defaultdict(int)
    unmounted: dict[int, int] = defaultdict(int)
    for volume in sorted(costs):
        row = {
            "volume_id": volume,
            "namespace_id": None,
            "hours_seen": 0,
            **dict.fromkeys(VOLUME_DAY_MONEY, 0),
        }
        for hour, units in sorted(costs[volume].items()):
            seen = recorded.get((volume, hour))
            if seen is not None and seen.seconds > 0:
                row["hours_seen"] += 1
                if seen.claim_namespace is not None:
                    row["namespace_id"] = seen.claim_namespace
            for (kind, key), part in split_recorded_hour(units, seen).items():
                if kind == POD:
                    pods[key] += part
                    row["pods_cost"] += part
                elif kind == UNMOUNTED and key is not None:
                    unmounted[key] += part
                    row["unmounted_cost"] += part
                else:  # idle, or an unmounted hour of an unknown namespace
                    storage.idle += part
                    row["idle_cost"] += part
            row["cost"] += units
        storage.volumes.append(row)
    storage.pods, storage.unmounted = dict(pods), dict(unmounted)
    return storage


def _pod_namespaces(pod_ids: list[int]) -> dict[int, tuple[int, int]]:
    return {
        pk: (ns, wl)
        for pk, ns, wl in Pod.objects.filter(pk__in=pod_ids).values_list("pk", "namespace_id", "workload_id")
    }


def add_storage(day: DayRollup, storage: StorageDay) -> DayRollup:
    """The day's roll-up with storage: storage_cost on pods, workloads and namespaces (and the namespaces'
    unmounted_storage_cost, with a row for a namespace that has only unmounted claims), added to their cost;
    totals: physical and workload (charged storage) and idle (storage idle) grown by the volumes' cost."""
    pods = day.pods.copy()
    pod_ids = pods["pod"].to_numpy()
    unmounted = dict(storage.unmounted)
    # A pod that mounted a volume but has no pod row that day (it cannot, its samples are the same ones):
    # its part stays with its namespace as unmounted storage rather than be lost.
    lost = [p for p in storage.pods if p not in set(pod_ids.tolist())]
    if lost:
        for pod, (namespace, _) in _pod_namespaces(lost).items():
            unmounted[namespace] = unmounted.get(namespace, 0) + storage.pods[pod]
    pod_storage = np.array([storage.pods.get(int(p), 0) for p in pod_ids], dtype=np.int64)
    pods["storage_cost"] = pod_storage
    pods["cost"] = pods["cost"].to_numpy(np.int64) + pod_storage

    workloads = day.workloads.copy()
    by_workload = pd.Series(pod_storage, index=pods["workload"].to_numpy()).groupby(level=0).sum()
    workload_storage = by_workload.reindex(workloads["workload"].to_numpy()).fillna(0).to_numpy(np.int64)
    workloads["storage_cost"] = workload_storage
    workloads["cost"] = workloads["cost"].to_numpy(np.int64) + workload_storage

    namespaces = day.namespaces.copy()
    missing = sorted(set(unmounted) - set(namespaces["namespace"].tolist()))
    if missing:
        # A namespace with only unmounted claims: a row without quantities.
        extra = pd.DataFrame({c: np.zeros(len(missing)) for c in namespaces.columns})
        extra["namespace"] = np.array(missing, dtype=np.int64)
        namespaces = pd.concat([namespaces, extra], ignore_index=True) if len(namespaces) else extra
        namespaces["namespace"] = namespaces["namespace"].astype(np.int64)
        namespaces = namespaces.astype(dict.fromkeys(POD_MONEY, np.int64))
    by_namespace = pd.Series(pod_storage, index=pods["namespace"].to_numpy()).groupby(level=0).sum()
    ns_ids = namespaces["namespace"].to_numpy()
    mounted = by_namespace.reindex(ns_ids).fillna(0).to_numpy(np.int64)
    not_mounted = np.array([unmounted.get(int(n), 0) for n in ns_ids], dtype=np.int64)
    namespaces["unmounted_storage_cost"] = not_mounted
    namespaces["storage_cost"] = mounted + not_mounted
    namespaces["cost"] = namespaces["cost"].to_numpy(np.int64) + mounted + not_mounted

    charged = int(pod_storage.sum()) + int(not_mounted.sum())
    idle = storage.total - charged
    totals = replace(
        day.totals,
        physical=day.totals.physical + storage.total,
        workload=day.totals.workload + charged,
        idle=day.totals.idle + idle,
    )
    return replace(day, pods=pods, workloads=workloads, namespaces=namespaces, totals=totals)


def store_volume_days(cluster_id: int, day: date, storage: StorageDay) -> dict[str, Decimal]:
    """Replace the cluster-day's VolumeCostDay rows; the ClusterDay storage totals as Decimals."""
    VolumeCostDay.objects.filter(cluster_id=cluster_id, day=day).delete()
    rows = storage.volumes
    if rows:
        insert_columns(
            VolumeCostDay,
            {
                "cluster_id": cluster_id,
                "day": day,
                **{name: [row[name] for row in rows] for name in ("volume_id", "namespace_id", "hours_seen")},
                **{name: np.array([row[name] for row in rows], dtype=np.int64) for name in VOLUME_DAY_MONEY},
            },
            VOLUME_DAY_MONEY,
        )
    charged = sum(row["pods_cost"] + row["unmounted_cost"] for row in rows)
    return {
        "storage_cost": to_money(charged),
        "storage_idle_cost": to_money(sum(row["idle_cost"] for row in rows)),
    }
