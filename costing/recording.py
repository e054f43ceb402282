"""The one way samples become stored quantities: inventory, pod-, node- and coverage-hours, sample slots.

The live task, the simulator backfill and `import_samples` all call `record_samples` (or its wrappers
`record_snapshot`, `record_gap` and `record_gaps`). Rules 1-2 of docs/cost-model.md and its decisions on
samples and hours:

- A sample at t stands for [t, t + interval). Its quantities go to the hours that interval overlaps,
  in proportion to the overlap (a 60 s slot at 10:59:30 puts 30 s in hour 10 and 30 s in hour 11).
- Per pod sample and resource: billable = max(usage, request). A pod without metrics is charged its
  request (usage 0, billable = request) and counted in `samples_without_metrics`.
- Quantities are resource-hours: value x seconds / 3600; memory in GiB (2^30 bytes).
- One SampleSlot per (cluster, slot start), inserted in the same transaction as the additions with
  INSERT ... ON CONFLICT DO NOTHING RETURNING: only the slots that this transaction created add
  anything, so a slot recorded twice (late, retried, concurrent) counts once.
- Hourly rows grow by `INSERT ... ON CONFLICT DO UPDATE SET x = table.x + excluded.x`: no
  read-then-write. Rows are sorted by key so that concurrent writers lock in the same order.
- The live minute (`staged=True`) appends its pod-, container- and node-hour shares to the minute tables
  instead (PodMinute, ContainerMinute, NodeMinute: COPY, no per-row foreign-key check) and writes only new
  or changed pods; costing/folding.py adds them to the hours with the same additions, exactly once.
- Every hour touched marks its day dirty (costing.dirty) in the same transaction.
- Containers (CONTAINER_COLUMNS) become container-hours in the same transaction and under the same
  slot claim as their pods: resource-hours, the hour's peak usage and usage histograms
  (costing.histograms) merged into the stored ones key-wise, for right-sizing. A pod given without
  containers is one container named "main" with the pod's requests and usage.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, Sum
from django.utils import timezone

from costing import bulk_write as bulk
from costing import histograms
from costing.choices import GIB, SECONDS_PER_HOUR, SampleSource, SampleStatus
from costing.collectors.snapshot import (
    CONTAINER_COLUMNS,
    NAMESPACE_COLUMNS,
    NODE_COLUMNS,
    NODE_GPU_COLUMNS,
    POD_CLAIMS_COLUMN,
    POD_COLUMNS,
    POD_GPU_COLUMNS,
    VOLUME_COLUMNS,
    Snapshot,
)
from costing.dirty import mark_days_dirty
from costing.hotpath import gc_paused
from costing.k8snames import first_problem, owner_problem
from costing.models import (
    ClusterDay,
    ContainerDay,
    ContainerHour,
    ContainerMinute,
    CoverageHour,
    LoadBalancerHour,
    Namespace,
    Node,
    NodeHour,
    NodeInstance,
    NodeMinute,
    NodePool,
    Pod,
    PodHour,
    PodMinute,
    SampleSlot,
    Volume,
    VolumeHour,
    VolumeMountHour,
    Workload,
)
from costing.partitions import drop_partitions_before
from costing.recording_network import (
    clear_load_balancer_hours,
    prepare_load_balancers,
    record_load_balancers,
    snapshot_load_balancer_frame,
)

__all__ = [
    "CONTAINER_COLUMNS",
    "MAIN_CONTAINER",
    "NAMESPACE_COLUMNS",
    "NODE_COLUMNS",
    "POD_COLUMNS",
    "VOLUME_COLUMNS",
    "RecordResult",
    "coverage",
    "coverage_hours",
    "floor_slot",
    "prune_usage",
    "record_gap",
    "record_gaps",
    "record_samples",
    "record_snapshot",
    "replace_hours",
    "snapshot_container_frame",
    "snapshot_frames",
    "snapshot_volume_frame",
    "split_container_rows",
]

logger = logging.getLogger(__name__)

DEFAULT_POOL = "default"
MAIN_CONTAINER = "main"  # the one container of a pod given without containers
_NODE_FIELDS = [
    "cluster_id", "name", "node_pool_id", "provider_id", "instance_id", "instance_type",
    "cpu_capacity_cores", "memory_capacity_bytes", "labels", "first_seen", "last_seen",
    "gpu_capacity_devices",
]  # fmt: skip
_EMPTY_JSON = "{}"
_POD_FIELDS = [
    "cluster_id", "namespace_id", "workload_id", "node_id", "name", "uid", "labels", "first_seen", "last_seen",
]  # fmt: skip


@dataclass
class RecordResult:
    """What one call stored: slots created, slots already there (added nothing), hourly rows touched."""

    slots: int = 0
    gaps: int = 0
    duplicate_slots: int = 0
    pod_samples: int = 0
    pod_hours: int = 0
    node_hours: int = 0
    container_hours: int = 0
    volume_hours: int = 0
    load_balancer_hours: int = 0
    days: set[date] = field(default_factory=set)

    def __iadd__(self, other: RecordResult) -> RecordResult:
        self.slots += other.slots
        self.gaps += other.gaps
        self.duplicate_slots += other.duplicate_slots
        self.pod_samples += other.pod_samples
        self.pod_hours += other.pod_hours
        self.node_hours += other.node_hours
        self.container_hours += other.container_hours
        self.volume_hours += other.volume_hours
        self.load_balancer_hours += other.load_balancer_hours
        self.days |= other.days
        return self


class RecordingError(ValueError):
    """Samples that cannot be recorded as given (the importer validates before it gets here)."""


# --- public interface ---------------------------------------------------------------------------------


def floor_slot(t: datetime, interval: int) -> datetime:
    """The start of the slot of `interval` seconds (aligned on the Unix epoch) that contains `t`."""
    if t.tzinfo is None:
        raise ValueError("floor_slot: t must be timezone-aware")
    epoch = int(t.timestamp() // 1)
    return datetime.fromtimestamp(epoch - epoch % interval, tz=UTC)


def record_samples(
    cluster,
    nodes: pd.DataFrame,
    pods: pd.DataFrame,
    namespaces: pd.DataFrame | None = None,
    *,
    interval: int,
    source: str,
    replace: bool = False,
    strict: bool = True,
    containers: pd.DataFrame | None = None,
    queue: bool = True,
    volumes: pd.DataFrame | None = None,
    load_balancers: pd.DataFrame | None = None,
    staged: bool = False,
) -> RecordResult:
    """Store samples (NODE_COLUMNS, POD_COLUMNS, NAMESPACE_COLUMNS frames) of one cluster, in one transaction.

    Every distinct timestamp of `nodes` and `pods` is a slot [timestamp, timestamp + interval).
    Slots already recorded for the cluster add nothing. With `replace`, every cluster-hour these
    slots touch is emptied first (its pod-, node-, coverage-hours and slots), so that the samples
    given become the whole truth of those hours: what a re-import does.
    With `strict`, a pod on a node that has no node row at the same timestamp is an error; without,
    the pod is recorded on that node (found or created by name) and the node-hour is simply not
    sampled, as when a node disappears between two list calls of a live sample.
    `queue`: whether the days marked dirty queue their recompute at once (costing.dirty.mark_days_dirty);
    the minute's live sample passes False and leaves the running day to the 5-minute sweep.
    Optional columns: pods' `pod_uid` (default namespace/pod), `labels` ({}), `has_metrics` (True),
    nodes' `instance_type` (""), `provider_id` (""), `labels` ({}).
    `containers` (CONTAINER_COLUMNS) are the pods' containers; each row's pod must be in `pods` at the
    same timestamp. Without it, a `pods` frame with a `container` column is taken as container rows
    (see split_container_rows); any other pod is recorded as one container "main".
    `volumes` (VOLUME_COLUMNS) are the PersistentVolumes seen at each timestamp, and the pods' optional
    `claims` column the claims each pod mounts: they become volume-hours (seconds seen, bound, bound but
    unmounted) and mount-hours (seconds each pod mounted each volume). Without `volumes` nothing is
    recorded of volumes (a source that cannot list them).
    `load_balancers` (LOAD_BALANCER_COLUMNS): the Services of type LoadBalancer seen in these slots
    (costing/recording_network.py); a row at a timestamp with no node or pod row adds no slot.
    `staged`: the pod-, container- and node-hours go to the minute tables (appended by COPY), folded into
    the hours later (costing/folding.py), and only the pods that are new or changed are written (their
    `last_seen` follows at the fold): the live path's way, which rewrites no hour row every minute.
    """
    if not 1 <= int(interval) <= SECONDS_PER_HOUR:
        raise ValueError(f"interval must be 1..3600 seconds, not {interval}")
    if source not in SampleSource.values:
        raise ValueError(f"unknown sample source {source!r}")
    interval = int(interval)
    cluster_id = getattr(cluster, "pk", cluster)
    if containers is None and pods is not None and "container" in pods.columns:
        pods, containers = split_container_rows(pods)
    nodes = _prepare_nodes(nodes)
    pods = _prepare_pods(pods)
    containers = _prepare_containers(containers, pods)
    namespaces = _prepare_namespaces(namespaces)
    volumes = _prepare_volumes(volumes)
    load_balancers = prepare_load_balancers(load_balancers)
    if strict:
        _check_pods_on_sampled_nodes(nodes, pods)
    slot_ts = np.union1d(np.union1d(nodes["ts"].to_numpy(), pods["ts"].to_numpy()), volumes["ts"].to_numpy())
    result = RecordResult()
    if len(slot_ts) == 0:
        return result
    with gc_paused(), transaction.atomic():
        writer = _Writer(cluster_id, staged=staged)
        touched_hours: set[int] = set()
        if replace:
            touched_hours |= writer.clear_hours(_hours_of(slot_ts, interval))
        new_ts = writer.claim_slots(slot_ts, interval, source, nodes, pods)
        result.duplicate_slots = len(slot_ts) - len(new_ts)
        result.slots = len(new_ts)
        if len(new_ts):
            if len(new_ts) < len(slot_ts):
                nodes = nodes[np.isin(nodes["ts"].to_numpy(), new_ts)]
                pods = pods[np.isin(pods["ts"].to_numpy(), new_ts)]
                containers = containers[np.isin(containers["ts"].to_numpy(), new_ts)]
                volumes = volumes[np.isin(volumes["ts"].to_numpy(), new_ts)]
            result.pod_samples = len(pods)
            node_ids = writer.upsert_nodes(nodes, pods)
            namespace_ids = writer.upsert_namespaces(namespaces, pods, new_ts)
            pod_ids = writer.upsert_pods(pods, node_ids, namespace_ids)
            result.pod_hours = writer.add_pod_hours(pods, pod_ids, node_ids, interval)
            result.container_hours = writer.add_container_hours(containers, node_ids, interval)
            result.node_hours = writer.add_node_hours(nodes, node_ids, interval)
            result.volume_hours = writer.add_volume_hours(volumes, pods, namespace_ids, interval)
            sampled = _split_seconds(new_ts, interval)
            writer.add_coverage(sampled, "sampled_seconds")
            touched_hours |= set(sampled[0].tolist())
            if load_balancers is not None:
                claimed = load_balancers[np.isin(load_balancers["ts"].to_numpy(), new_ts)]
                result.load_balancer_hours = record_load_balancers(
                    cluster_id, claimed, interval, _split_seconds
                )
        result.days = _days_of(touched_hours)
        if result.days:
            mark_days_dirty([cluster_id], result.days, queue=queue)
    return result


def replace_hours(cluster, timestamps, interval: int) -> set[date]:
    """Empty every cluster-hour that the slots [t, t + interval) touch, before recording them anew.

    Deletes those hours' pod-, node- and coverage-hours and the slots that start in them; a deleted
    slot that spills into a neighbouring hour takes that hour too (so no half-slot is left behind).
    Marks the days dirty and returns them. What `import_samples` does before recording.
    """
    ts = np.asarray(timestamps, dtype=np.int64)
    if len(ts) == 0:
        return set()
    cluster_id = getattr(cluster, "pk", cluster)
    with transaction.atomic():
        days = _days_of(_Writer(cluster_id).clear_hours(_hours_of(ts, interval)))
        mark_days_dirty([cluster_id], days)
    return days


def record_snapshot(
    cluster,
    snapshot: Snapshot,
    *,
    slot: datetime,
    interval: int,
    source: str,
    queue: bool = True,
    staged: bool = False,
) -> RecordResult:
    """Record one snapshot as the sample of `slot` (not of the instant it was taken): the live path.

    `staged` (what `take_sample` passes): the minute is appended to the minute tables and folded into
    its hours later (record_samples)."""
    nodes, pods, namespaces = snapshot_frames(snapshot, slot)
    volumes = snapshot_volume_frame(snapshot, slot)
    if nodes.empty and pods.empty and (volumes is None or volumes.empty):
        # An empty cluster was still looked at: the slot is sampled, with nothing in it.
        return _record_empty(cluster, slot, interval, source, queue)
    return record_samples(
        cluster,
        nodes,
        pods,
        namespaces,
        interval=interval,
        source=source,
        strict=False,
        containers=snapshot_container_frame(snapshot, slot),
        queue=queue,
        volumes=volumes,
        load_balancers=snapshot_load_balancer_frame(snapshot, slot),
        staged=staged,
    )


def record_gap(
    cluster, slot: datetime, *, interval: int, source: str, reason: str, queue: bool = True
) -> bool:
    """Record that `slot` could not be sampled, and why. False if the slot was already recorded."""
    return record_gaps(cluster, [slot], interval=interval, source=source, reason=reason, queue=queue) == 1


def record_gaps(
    cluster, slots: Sequence[datetime], *, interval: int, source: str, reason: str, queue: bool = True
) -> int:
    """Record the slots that could not be sampled, with one reason, in one transaction.

    Slots already recorded (sampled or gap) are left as they are; returns how many gaps were added.
    """
    cluster_id = getattr(cluster, "pk", cluster)
    ts = np.array([int(slot.timestamp()) for slot in slots], dtype=np.int64)
    if len(ts) == 0:
        return 0
    with transaction.atomic():
        writer = _Writer(cluster_id)
        claimed = writer.claim_slots(ts, interval, source, None, None, status=SampleStatus.GAP, reason=reason)
        if not len(claimed):
            return 0
        seconds = _split_seconds(claimed, interval)
        writer.add_coverage(seconds, "gap_seconds")
        mark_days_dirty([cluster_id], _days_of(set(seconds[0].tolist())), queue=queue)
    return len(claimed)


def snapshot_frames(snapshot: Snapshot, at: datetime) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(nodes, pods, namespaces) frames of a snapshot, every row stamped `at`."""
    nodes = pd.DataFrame(
        [
            (n.name, n.node_pool, n.provider_id, n.instance_type, n.cpu_capacity_cores,
             n.memory_capacity_bytes, n.labels)
            for n in snapshot.nodes
        ],
        columns=NODE_COLUMNS[1:],
    )  # fmt: skip
    nodes[NODE_GPU_COLUMNS[0]] = [n.gpu_capacity_devices for n in snapshot.nodes]
    pods = pd.DataFrame(
        [
            (p.namespace, p.name, p.uid or f"{p.namespace}/{p.name}", p.node, p.owner_kind, p.owner_name,
             p.cpu_request_cores, p.cpu_usage_cores, p.memory_request_bytes, p.memory_usage_bytes,
             p.labels, p.has_metrics)
            for p in snapshot.pods
        ],
        columns=POD_COLUMNS[1:],
    )  # fmt: skip
    pods["gpu_request_devices"] = [p.gpu_request_devices for p in snapshot.pods]
    pods["gpu_usage_devices"] = [p.gpu_usage_devices for p in snapshot.pods]
    pods[POD_CLAIMS_COLUMN] = [p.claims for p in snapshot.pods]
    stamp = pd.Timestamp(at).tz_convert(UTC) if pd.Timestamp(at).tzinfo else pd.Timestamp(at, tz=UTC)
    nodes.insert(0, "timestamp", stamp)
    pods.insert(0, "timestamp", stamp)
    namespaces = pd.DataFrame([(ns.name, ns.labels) for ns in snapshot.namespaces], columns=NAMESPACE_COLUMNS)
    return nodes, pods, namespaces


def snapshot_volume_frame(snapshot: Snapshot, at: datetime) -> pd.DataFrame | None:
    """The snapshot's PersistentVolumes (VOLUME_COLUMNS) stamped `at`; None when it did not list them."""
    if snapshot.volumes is None:
        return None
    frame = pd.DataFrame(
        [
            (v.name, v.capacity_bytes, v.phase, v.claim_namespace, v.claim_name, v.disk_id, v.driver,
             v.storage_class)
            for v in snapshot.volumes
        ],
        columns=VOLUME_COLUMNS[1:],
    )  # fmt: skip
    frame.insert(0, "timestamp", pd.Timestamp(at).tz_convert(UTC))
    return frame


def snapshot_container_frame(snapshot: Snapshot, at: datetime) -> pd.DataFrame:
    """The containers of a snapshot's pods (CONTAINER_COLUMNS), every row stamped `at`; a pod sampled
    without containers is one container "main" with the pod's figures."""
    rows = []
    for p in snapshot.pods:
        uid = p.uid or f"{p.namespace}/{p.name}"
        if not p.containers:
            rows.append(
                (p.namespace, p.name, uid, MAIN_CONTAINER, False, p.cpu_request_cores, 0.0, p.cpu_usage_cores,
                 p.memory_request_bytes, 0.0, p.memory_usage_bytes, p.has_metrics)
            )  # fmt: skip
            continue
        rows.extend(
            (p.namespace, p.name, uid, c.name, c.init, c.cpu_request_cores, c.cpu_limit_cores, c.cpu_usage_cores,
             c.memory_request_bytes, c.memory_limit_bytes, c.memory_usage_bytes, c.has_metrics)
            for c in p.containers
        )  # fmt: skip
    frame = pd.DataFrame(rows, columns=CONTAINER_COLUMNS[1:])
    frame.insert(
        0,
        "timestamp",
        pd.Timestamp(at).tz_convert(UTC) if pd.Timestamp(at).tzinfo else pd.Timestamp(at, tz=UTC),
    )
    return frame


def split_container_rows(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(pods, containers) from rows of one container each: pod columns plus `container` and optional
    `init` (False), `cpu_limit_cores` and `memory_limit_bytes` (0: no limit).

    A pod's usage is the sum of its containers'; its request the scheduler's rule for containers that
    run together and init containers that run one by one before them: max(sum of the others, largest
    init container). Pod attributes (node, owner, labels) come from its first row of the timestamp; a
    pod has metrics if one of its containers has.
    """
    if rows.empty:
        return rows.drop(
            columns=[c for c in ("container", "init", "cpu_limit_cores", "memory_limit_bytes") if c in rows]
        ), None
    frame = rows.copy()
    frame["init"] = frame["init"].astype(bool) if "init" in frame else False
    for column in ("cpu_limit_cores", "memory_limit_bytes"):
        frame[column] = frame[column].astype(np.float64) if column in frame else 0.0
    if "has_metrics" not in frame:
        frame["has_metrics"] = True
    if "pod_uid" not in frame:
        frame["pod_uid"] = ""
    blank = frame["pod_uid"].astype(str) == ""
    frame["pod_uid"] = (
        frame["pod_uid"]
        .astype(str)
        .where(~blank, frame["namespace"].astype(str) + "/" + frame["pod"].astype(str))
    )
    init = frame["init"].to_numpy()
    # GPUs (optional columns) follow the same rule as CPU: the scheduler's for requests, a sum for usage.
    for column in POD_GPU_COLUMNS:
        frame[column] = _numbers(frame, column)
    for column in ("cpu_request_cores", "memory_request_bytes", "gpu_request_devices"):
        values = frame[column].astype(np.float64).to_numpy()
        frame[f"_run_{column}"] = np.where(init, 0.0, values)
        frame[f"_init_{column}"] = np.where(init, values, 0.0)
    for column in ("cpu_usage_cores", "memory_usage_bytes"):
        frame[column] = frame[column].astype(np.float64)
    keys = ["timestamp", "pod_uid"]
    grouped = frame.groupby(keys, sort=False)
    firsts = grouped.head(1).set_index(keys)
    sums = grouped[
        [
            "cpu_usage_cores",
            "memory_usage_bytes",
            "gpu_usage_devices",
            "_run_cpu_request_cores",
            "_run_memory_request_bytes",
            "_run_gpu_request_devices",
        ]
    ].sum()
    inits = grouped[
        ["_init_cpu_request_cores", "_init_memory_request_bytes", "_init_gpu_request_devices"]
    ].max()
    pods = firsts.drop(
        columns=[
            c
            for c in firsts.columns
            if c.startswith("_") or c in ("container", "init", "cpu_limit_cores", "memory_limit_bytes")
        ]
    )
    pods["cpu_usage_cores"] = sums["cpu_usage_cores"]
    pods["memory_usage_bytes"] = sums["memory_usage_bytes"]
    pods["cpu_request_cores"] = np.maximum(sums["_run_cpu_request_cores"], inits["_init_cpu_request_cores"])
    pods["memory_request_bytes"] = np.maximum(
        sums["_run_memory_request_bytes"], inits["_init_memory_request_bytes"]
    )
    pods["gpu_usage_devices"] = sums["gpu_usage_devices"]
    pods["gpu_request_devices"] = np.maximum(
        sums["_run_gpu_request_devices"], inits["_init_gpu_request_devices"]
    )
    pods["has_metrics"] = grouped["has_metrics"].any().astype(bool)
    pods = pods.reset_index()
    containers = frame[list(CONTAINER_COLUMNS)].reset_index(drop=True)
    return pods, containers


def coverage(cluster, start: datetime, end: datetime, *, now: datetime | None = None) -> float | None:
    """Sampled seconds / expected seconds of the cluster over [start, end) (hours), 0..1.

    Expected seconds run from the start to the end or to now, whichever is earlier; None when that is
    no time at all (a period in the future). An hour nobody tried to sample counts as not sampled.
    """
    start, end = _floor_hour(start), _ceil_hour(end)
    now = now or timezone.now()
    expected = (min(end, now) - start).total_seconds()
    if expected <= 0:
        return None
    sampled = (
        CoverageHour.objects.filter(cluster=cluster, hour__gte=start, hour__lt=end).aggregate(
            s=Sum("sampled_seconds")
        )["s"]
        or 0
    )
    return min(sampled / expected, 1.0)


def coverage_hours(cluster, start: datetime, end: datetime) -> pd.DataFrame:
    """One row per hour of [start, end): hour, sampled_seconds, gap_seconds, coverage (missing hours: 0)."""
    start, end = _floor_hour(start), _ceil_hour(end)
    hours = pd.date_range(start, end, freq="h", inclusive="left", tz=UTC)
    rows = pd.DataFrame.from_records(
        CoverageHour.objects.filter(cluster=cluster, hour__gte=start, hour__lt=end).values(
            "hour", "sampled_seconds", "gap_seconds"
        ),
        columns=["hour", "sampled_seconds", "gap_seconds"],
    )
    rows["hour"] = pd.to_datetime(rows["hour"], utc=True)
    frame = (
        pd.DataFrame({"hour": hours})
        .merge(rows, on="hour", how="left")
        .fillna({"sampled_seconds": 0, "gap_seconds": 0})
    )
    frame[["sampled_seconds", "gap_seconds"]] = frame[["sampled_seconds", "gap_seconds"]].astype(np.int64)
    frame["coverage"] = np.minimum(frame["sampled_seconds"] / SECONDS_PER_HOUR, 1.0)
    return frame


def prune_usage(*, now: datetime | None = None, retention_days: int | None = None) -> dict[str, int]:
    """Delete slot rows and hourly rows older than the hourly retention (FINOPS_HOURLY_RETENTION_DAYS).

    Days still waiting for a recompute (dirty) keep their hours, and so does everything after the first
    of them for that cluster: the engine must be able to read them. Returns rows deleted per table.
    """
    days = settings.FINOPS_HOURLY_RETENTION_DAYS if retention_days is None else retention_days
    now = now or timezone.now()
    cutoff = _floor_hour(now - timedelta(days=days)).replace(hour=0)
    from costing.folding import fold_minutes  # folding imports this module's SET clauses

    fold_minutes(None, before=cutoff)  # minutes still staged count in their hours before these go
    deleted = {
        "slots": 0, "pod_hours": 0, "container_hours": 0, "container_days": 0, "node_hours": 0,
        "volume_hours": 0, "load_balancer_hours": 0, "coverage_hours": 0,
    }  # fmt: skip
    first_dirty = dict(
        ClusterDay.objects.filter(dirty=True, day__lt=cutoff.date())
        .values("cluster_id")
        .annotate(first=Min("day"))
        .values_list("cluster_id", "first")
    )
    cluster_ids = set(
        SampleSlot.objects.filter(slot__lt=cutoff).values_list("cluster_id", flat=True).distinct()
    )
    cluster_ids |= set(
        PodHour.objects.filter(hour__lt=cutoff).values_list("cluster_id", flat=True).distinct()
    )
    # Whole months before every cluster's limit go with their partition (PostgreSQL); the rest row by row.
    everyone = min([cutoff, *(datetime(d.year, d.month, d.day, tzinfo=UTC) for d in first_dirty.values())])
    deleted["pod_hours"] += drop_partitions_before(PodHour, everyone)
    deleted["node_hours"] += drop_partitions_before(NodeHour, everyone)
    for cluster_id in sorted(cluster_ids):
        limit = cutoff
        if cluster_id in first_dirty:
            d = first_dirty[cluster_id]
            limit = min(limit, datetime(d.year, d.month, d.day, tzinfo=UTC))
        with transaction.atomic():
            deleted["slots"] += SampleSlot.objects.filter(cluster_id=cluster_id, slot__lt=limit).delete()[0]
            deleted["pod_hours"] += PodHour.objects.filter(cluster_id=cluster_id, hour__lt=limit).delete()[0]
            deleted["container_hours"] += ContainerHour.objects.filter(
                cluster_id=cluster_id, hour__lt=limit
            ).delete()[0]
            # Right-sizing's container-days go with the hours they fold.
            deleted["container_days"] += ContainerDay.objects.filter(
                cluster_id=cluster_id, day__lt=limit.date()
            ).delete()[0]
            deleted["node_hours"] += NodeHour.objects.filter(cluster_id=cluster_id, hour__lt=limit).delete()[
                0
            ]
            for model in (VolumeMountHour, VolumeHour):
                deleted["volume_hours"] += model.objects.filter(
                    cluster_id=cluster_id, hour__lt=limit
                ).delete()[0]
            deleted["load_balancer_hours"] += LoadBalancerHour.objects.filter(
                cluster_id=cluster_id, hour__lt=limit
            ).delete()[0]
            deleted["coverage_hours"] += CoverageHour.objects.filter(
                cluster_id=cluster_id, hour__lt=limit
            ).delete()[0]
    return deleted


# --- frames -------------------------------------------------------------------------------------------


def _epoch_seconds(series: pd.Series) -> np.ndarray:
    stamps = pd.to_datetime(series, utc=True)
    return stamps.dt.tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.int64)


def _labels_json(values: Iterable) -> list[str]:
    out = []
    for value in values:
        if isinstance(value, str):
            out.append(value or _EMPTY_JSON)
        elif value is None or (isinstance(value, float) and np.isnan(value)):
            out.append(_EMPTY_JSON)
        else:
            out.append(json.dumps(value, sort_keys=True, separators=(",", ":")))
    return out


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RecordingError(f"{what} frame has no column {', '.join(missing)}")


def _prepare_nodes(nodes: pd.DataFrame | None) -> pd.DataFrame:
    if nodes is None or nodes.empty:
        return pd.DataFrame({c: [] for c in ["ts", *NODE_COLUMNS[1:], *NODE_GPU_COLUMNS]}).astype(
            {"ts": np.int64}
        )
    _require(
        nodes, ["timestamp", "node", "node_pool", "cpu_capacity_cores", "memory_capacity_bytes"], "nodes"
    )
    out = pd.DataFrame(
        {
            "ts": _epoch_seconds(nodes["timestamp"]),
            "node": nodes["node"].astype(str).to_numpy(),
            "node_pool": nodes["node_pool"].astype(str).replace("", DEFAULT_POOL).to_numpy(),
            "provider_id": _optional(nodes, "provider_id", ""),
            "instance_type": _optional(nodes, "instance_type", ""),
            "cpu_capacity_cores": nodes["cpu_capacity_cores"].astype(np.float64).to_numpy(),
            "memory_capacity_bytes": nodes["memory_capacity_bytes"].astype(np.float64).to_numpy(),
            "labels": nodes["labels"].to_numpy() if "labels" in nodes else None,
            "gpu_capacity_devices": _numbers(nodes, NODE_GPU_COLUMNS[0]),
        }
    )
    if out.duplicated(["ts", "node"]).any():
        raise RecordingError("nodes frame has a node twice at the same timestamp")
    _refuse_bad_names(out, "nodes", ["node"])
    return out


def _prepare_pods(pods: pd.DataFrame | None) -> pd.DataFrame:
    if pods is None or pods.empty:
        return pd.DataFrame({c: [] for c in ["ts", *POD_COLUMNS[1:], *POD_GPU_COLUMNS, "pod_code"]}).astype(
            {"ts": np.int64}
        )
    _require(pods, [c for c in POD_COLUMNS if c not in ("pod_uid", "labels", "has_metrics")], "pods")
    # Names as Categoricals (costing.collectors.csv_files gives them so): each distinct name is handled once.
    namespace, name = _coded(pods["namespace"]), _coded(pods["pod"])
    uid = _coded(pods["pod_uid"]) if "pod_uid" in pods else None
    blank = np.ones(len(pods), bool) if uid is None else np.asarray(uid == "")
    if blank.any():
        joined = _joined(namespace, name)
        uid = joined if uid is None else _coded(pd.Series(np.where(blank, _texts(joined), _texts(uid))))
    has_metrics = (
        pods["has_metrics"].astype(bool).to_numpy() if "has_metrics" in pods else np.ones(len(pods), bool)
    )
    cpu_usage = np.where(has_metrics, pods["cpu_usage_cores"].astype(np.float64).to_numpy(), 0.0)
    mem_usage = np.where(has_metrics, pods["memory_usage_bytes"].astype(np.float64).to_numpy(), 0.0)
    out = pd.DataFrame(
        {
            "ts": _epoch_seconds(pods["timestamp"]),
            "namespace": namespace,
            "pod": name,
            "pod_uid": uid,
            "node": _coded(pods["node"]),
            "owner_kind": _coded(pods["owner_kind"]),
            "owner_name": _coded(pods["owner_name"]),
            "cpu_request_cores": pods["cpu_request_cores"].astype(np.float64).to_numpy(),
            "cpu_usage_cores": cpu_usage,
            "memory_request_bytes": pods["memory_request_bytes"].astype(np.float64).to_numpy(),
            "memory_usage_bytes": mem_usage,
            "labels": pods["labels"].to_numpy() if "labels" in pods else None,
            "has_metrics": has_metrics,
            "gpu_request_devices": _numbers(pods, "gpu_request_devices"),
            "gpu_usage_devices": np.where(has_metrics, _numbers(pods, "gpu_usage_devices"), 0.0),
            "claims": _claims(pods[POD_CLAIMS_COLUMN]) if POD_CLAIMS_COLUMN in pods else None,
        }
    )
    # A bare pod is its own workload.
    bare = np.asarray(out["owner_kind"] == "") | np.asarray(out["owner_name"] == "")
    if bare.any():
        out["owner_kind"] = _coded(pd.Series(np.where(bare, "Pod", _texts(out["owner_kind"])), dtype=object))
        out["owner_name"] = _coded(pd.Series(np.where(bare, _texts(out["pod"]), _texts(out["owner_name"]))))
    # Integer codes of the pods: every later grouping by pod runs on these, not on the strings.
    out["pod_code"] = pd.factorize(out["pod_uid"])[0]
    slot = pd.factorize(out["ts"])[0].astype(np.int64)
    if pd.Series(slot * (int(out["pod_code"].max()) + 1) + out["pod_code"].to_numpy()).duplicated().any():
        raise RecordingError("pods frame has a pod twice at the same timestamp")
    _refuse_bad_names(out, "pods", ["namespace", "pod", "node"])
    kinds, names = _coded(out["owner_kind"]), _coded(out["owner_name"])
    width = len(names.categories) + 1
    pairs = pd.unique(kinds.codes.astype(np.int64) * width + names.codes)
    owners = zip(kinds.categories[pairs // width], names.categories[pairs % width], strict=True)
    if why := next((w for kind, name in owners if (w := owner_problem(kind, name))), None):
        raise RecordingError(f"pods frame: {why}")
    return out


def _coded(values: pd.Series) -> pd.Categorical:
    """Text values (anything else as its text) as a Categorical: each distinct value is hashed once, here or by
    the file reader, and the comparisons, groupings and lookups that follow run on its integer codes."""
    if isinstance(values.dtype, pd.CategoricalDtype) and values.cat.categories.inferred_type in (
        "string",
        "empty",
    ):
        return values.array
    codes, uniques = pd.factorize(values.astype(str).to_numpy())
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object))


def _texts(values) -> np.ndarray:
    return np.asarray(values, dtype=object)


def _joined(namespace: pd.Categorical, name: pd.Categorical) -> pd.Categorical:
    """ "namespace/pod" of each row, made once per distinct pair."""
    width = len(name.categories) + 1
    codes, pairs = pd.factorize(namespace.codes.astype(np.int64) * width + name.codes)
    texts = [f"{namespace.categories[p // width]}/{name.categories[p % width]}" for p in pairs.tolist()]
    return pd.Categorical.from_codes(codes, categories=pd.Index(texts, dtype=object))


_CONTAINER_NUMBERS = [c for c in CONTAINER_COLUMNS if c.endswith(("_cores", "_bytes"))]


def _prepare_containers(containers: pd.DataFrame | None, pods: pd.DataFrame) -> pd.DataFrame:
    """Container rows tied to their pod rows (pod code, node); without any, one "main" per pod row."""
    if pods.empty and (containers is None or containers.empty):
        return pd.DataFrame(
            {
                "ts": np.array([], np.int64), "pod_code": np.array([], np.int64), "node": [], "container": [],
                "init": np.array([], bool), **{c: np.array([], np.float64) for c in _CONTAINER_NUMBERS},
                "has_metrics": np.array([], bool),
            }
        )  # fmt: skip
    if containers is None:
        # Usage of a pod without metrics is already 0 in `pods`. The rows are the pods' (in their order): the
        # container-hours group as the pod-hours do (_Writer.add_container_hours).
        main = pd.DataFrame(
            {
                "ts": pods["ts"].to_numpy(),
                "pod_code": pods["pod_code"].to_numpy(),
                "node": pods["node"].array,
                "container": MAIN_CONTAINER,
                "init": False,
                "cpu_request_cores": pods["cpu_request_cores"].to_numpy(),
                "cpu_limit_cores": 0.0,
                "cpu_usage_cores": pods["cpu_usage_cores"].to_numpy(),
                "memory_request_bytes": pods["memory_request_bytes"].to_numpy(),
                "memory_limit_bytes": 0.0,
                "memory_usage_bytes": pods["memory_usage_bytes"].to_numpy(),
                "has_metrics": pods["has_metrics"].to_numpy(),
            }
        )
        main.attrs["main_of_pods"] = True
        return main
    _require(containers, [c for c in CONTAINER_COLUMNS if c not in ("pod_uid", "has_metrics")], "containers")
    namespace = containers["namespace"].astype(str)
    uid = (
        containers["pod_uid"].astype(str)
        if "pod_uid" in containers
        else pd.Series("", index=containers.index, dtype=object)
    )
    uid = uid.where(uid != "", namespace + "/" + containers["pod"].astype(str))
    ts = _epoch_seconds(containers["timestamp"])
    # The pod row of each container row, by (timestamp, uid); the pod code is per uid.
    code_of_uid = pd.Series(pods["pod_code"].to_numpy(), index=pods["pod_uid"].to_numpy())
    code_of_uid = code_of_uid[~code_of_uid.index.duplicated()]
    codes = code_of_uid.reindex(uid.to_numpy()).to_numpy()
    pod_rows = pd.MultiIndex.from_arrays([pods["ts"].to_numpy(), pods["pod_code"].to_numpy()])
    position = pod_rows.get_indexer(
        pd.MultiIndex.from_arrays([ts, np.nan_to_num(codes, nan=-1).astype(np.int64)])
    )
    if (position < 0).any():
        row = int(np.flatnonzero(position < 0)[0])
        at = datetime.fromtimestamp(int(ts[row]), tz=UTC).isoformat()
        raise RecordingError(f"containers frame: pod {uid.iat[row]} has no pod row at {at}")
    names = containers["container"].astype(str)
    if why := first_problem("container", pd.unique(names)):
        raise RecordingError(f"containers frame: {why}")
    pod_metrics = pods["has_metrics"].to_numpy()[position]
    has_metrics = (
        containers["has_metrics"].astype(bool).to_numpy()
        if "has_metrics" in containers
        else np.ones(len(ts), bool)
    ) & pod_metrics
    out = pd.DataFrame(
        {
            "ts": ts,
            "pod_code": pods["pod_code"].to_numpy()[position],
            "node": pods["node"].to_numpy()[position],
            "container": names.to_numpy(),
            "init": containers["init"].astype(bool).to_numpy(),
            "cpu_request_cores": containers["cpu_request_cores"].astype(np.float64).to_numpy(),
            "cpu_limit_cores": containers["cpu_limit_cores"].astype(np.float64).to_numpy(),
            "cpu_usage_cores": np.where(
                has_metrics, containers["cpu_usage_cores"].astype(np.float64).to_numpy(), 0.0
            ),
            "memory_request_bytes": containers["memory_request_bytes"].astype(np.float64).to_numpy(),
            "memory_limit_bytes": containers["memory_limit_bytes"].astype(np.float64).to_numpy(),
            "memory_usage_bytes": np.where(
                has_metrics, containers["memory_usage_bytes"].astype(np.float64).to_numpy(), 0.0
            ),
            "has_metrics": has_metrics,
        }
    )
    if out.duplicated(["ts", "pod_code", "container"]).any():
        raise RecordingError("containers frame has a container twice in a pod at the same timestamp")
    return out


def _claims(values: pd.Series) -> list[tuple[str, ...]]:
    """Each pod's claims as a tuple of names: from a sequence, or a text of names joined by ";". Each
    distinct value is read once (a pod's value repeats in every slot)."""
    items = values.tolist()
    try:
        codes, uniques = pd.factorize(pd.Series(items, dtype=object), use_na_sentinel=True)
    except TypeError:  # lists: not hashable
        return [_claims_of(value) for value in items]
    parsed = [_claims_of(value) for value in uniques]
    return [parsed[code] if code >= 0 else () for code in codes.tolist()]


def _claims_of(value) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(sorted({c.strip() for c in value.split(";") if c.strip()}))
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ()
    return tuple(sorted({str(c) for c in value}))


_VOLUME_TEXT = ["volume", "phase", "claim_namespace", "claim_name", "disk_id", "driver", "storage_class"]


def _prepare_volumes(volumes: pd.DataFrame | None) -> pd.DataFrame:
    """Volume rows with `ts` (epoch s) and `bound`: phase Bound with a claim (a Released PV keeps its
    claimRef but no claim holds it)."""
    if volumes is None or volumes.empty:
        return pd.DataFrame(
            {"ts": np.array([], np.int64), **{c: [] for c in _VOLUME_TEXT}, "capacity_bytes": [], "bound": []}
        )
    _require(volumes, ["timestamp", "volume", "phase"], "volumes")
    out = pd.DataFrame(
        {
            "ts": _epoch_seconds(volumes["timestamp"]),
            **{c: _optional(volumes, c, "") for c in _VOLUME_TEXT},
            "capacity_bytes": _numbers(volumes, "capacity_bytes").astype(np.int64),
        }
    )
    if (out["volume"] == "").any():
        raise RecordingError("volumes frame: a row has no volume name")
    if out.duplicated(["ts", "volume"]).any():
        raise RecordingError("volumes frame has a volume twice at the same timestamp")
    bound = (out["phase"] == "Bound") & (out["claim_namespace"] != "") & (out["claim_name"] != "")
    out["bound"] = bound.to_numpy()
    claimed = out.loc[out["claim_namespace"] != "", ["claim_namespace"]].rename(
        columns={"claim_namespace": "namespace"}
    )
    _refuse_bad_names(claimed, "volumes", ["namespace"])
    return out


def _prepare_namespaces(namespaces: pd.DataFrame | None) -> pd.DataFrame:
    if namespaces is None or namespaces.empty:
        return pd.DataFrame({"namespace": pd.Series([], dtype=object), "labels": pd.Series([], dtype=object)})
    _require(namespaces, ["namespace"], "namespaces")
    labels = namespaces["labels"] if "labels" in namespaces else [None] * len(namespaces)
    out = pd.DataFrame(
        {"namespace": namespaces["namespace"].astype(str).to_numpy(), "labels": _labels_json(labels)}
    )
    _refuse_bad_names(out, "namespaces", ["namespace"])
    return out.drop_duplicates("namespace", keep="last")


def _refuse_bad_names(frame: pd.DataFrame, what: str, columns: list[str]) -> None:
    # The readers of files check names with their line; this is the last guard for any other caller, since
    # a name Kubernetes refuses (a '/', a space) breaks the links of every page that lists it.
    for column in columns:
        if why := first_problem(column, pd.unique(frame[column])):
            raise RecordingError(f"{what} frame: {why}")


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    """An optional column of non-negative numbers (the GPU columns), 0 where absent or empty."""
    if column not in frame:
        return np.zeros(len(frame))
    values = pd.to_numeric(frame[column], errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)
    if (values < 0).any() or not np.isfinite(values).all():
        raise RecordingError(f"{column}: a value is negative or not a number")
    return values


def _optional(frame: pd.DataFrame, column: str, default: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), default, dtype=object)
    return frame[column].fillna(default).astype(str).to_numpy()


def _check_pods_on_sampled_nodes(nodes: pd.DataFrame, pods: pd.DataFrame) -> None:
    if pods.empty:
        return
    names = pd.Index(pd.unique(nodes["node"].to_numpy()), dtype=object)
    pod_codes, pod_names = pd.factorize(pods["node"])
    pod_node = names.get_indexer(np.asarray(pod_names, dtype=object))[pod_codes]
    width = len(names) + 1
    listed = nodes["ts"].to_numpy() * width + names.get_indexer(nodes["node"].to_numpy())
    present = pd.Index(pods["ts"].to_numpy() * width + pod_node).isin(listed) & (pod_node >= 0)
    if not present.all():
        row = pods[~present].iloc[0]
        at = datetime.fromtimestamp(int(row["ts"]), tz=UTC).isoformat()
        raise RecordingError(
            f"pod {row['namespace']}/{row['pod']} is on node {row['node']!r}, not sampled at {at}"
        )


def _split_seconds(ts: np.ndarray, interval: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hour start, seconds in that hour, index into ts) of each slot [t, t + interval) per hour it overlaps."""
    ts = np.asarray(ts, dtype=np.int64)
    hour = ts - ts % SECONDS_PER_HOUR
    first = np.minimum(ts + interval, hour + SECONDS_PER_HOUR) - ts
    second = interval - first
    spill = np.flatnonzero(second > 0)
    index = np.concatenate([np.arange(len(ts)), spill])
    return (
        np.concatenate([hour, hour[spill] + SECONDS_PER_HOUR]),
        np.concatenate([first, second[spill]]),
        index,
    )


def _hours_of(ts: np.ndarray, interval: int) -> set[int]:
    return set(np.unique(_split_seconds(ts, interval)[0]).tolist())


def _days_of(hours: Iterable[int]) -> set[date]:
    return {datetime.fromtimestamp(h, tz=UTC).date() for h in hours}


def _floor_hour(t: datetime) -> datetime:
    t = t.astimezone(UTC)
    return t.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(t: datetime) -> datetime:
    floor = _floor_hour(t)
    return floor if floor == t.astimezone(UTC) else floor + timedelta(hours=1)


def _record_empty(cluster, slot: datetime, interval: int, source: str, queue: bool) -> RecordResult:
    cluster_id = getattr(cluster, "pk", cluster)
    ts = np.array([int(slot.timestamp())], dtype=np.int64)
    result = RecordResult()
    with transaction.atomic():
        writer = _Writer(cluster_id)
        claimed = writer.claim_slots(ts, interval, source, None, None)
        result.slots, result.duplicate_slots = len(claimed), 1 - len(claimed)
        if len(claimed):
            seconds = _split_seconds(claimed, interval)
            writer.add_coverage(seconds, "sampled_seconds")
            result.days = _days_of(set(seconds[0].tolist()))
            mark_days_dirty([cluster_id], result.days, queue=queue)
    return result


# --- SQL ----------------------------------------------------------------------------------------------


class _Writer:
    """The writes of one cluster's samples, inside the caller's transaction, through costing.bulk_write."""

    def __init__(self, cluster_id: int, *, staged: bool = False):
        self.cluster_id = cluster_id
        self.staged = staged
        self.pod_hour_groups: tuple[np.ndarray, pd.DataFrame] | None = None  # set by add_pod_hours

    # -- slots --
    def claim_slots(
        self,
        slot_ts: np.ndarray,
        interval: int,
        source: str,
        nodes: pd.DataFrame | None,
        pods: pd.DataFrame | None,
        *,
        status: str = SampleStatus.OK,
        reason: str = "",
    ) -> np.ndarray:
        """Insert the SampleSlot rows; return the slot starts (epoch s) that this call created."""
        slot_ts = np.sort(np.asarray(slot_ts, dtype=np.int64))
        counts = pd.DataFrame(index=slot_ts)
        counts["nodes"] = nodes["ts"].value_counts() if nodes is not None and len(nodes) else 0
        counts["pods"] = pods["ts"].value_counts() if pods is not None and len(pods) else 0
        if pods is not None and len(pods):
            counts["no_metrics"] = pods.loc[~pods["has_metrics"], "ts"].value_counts()
        else:
            counts["no_metrics"] = 0
        counts = counts.fillna(0).astype(np.int64)
        now = bulk.stamps(np.array([int(timezone.now().timestamp())]))[0]
        stamps = bulk.stamps(slot_ts)
        rows = [
            (
                self.cluster_id,
                stamps[i],
                interval,
                str(status),
                source,
                reason[:500],
                int(n),
                int(p),
                int(m),
                now,
            )
            for i, (n, p, m) in enumerate(counts[["nodes", "pods", "no_metrics"]].itertuples(index=False))
        ]
        returned = bulk.upsert(
            SampleSlot,
            [
                "cluster_id", "slot", "interval", "status", "source", "reason",
                "nodes", "pods", "pods_without_metrics", "recorded_at",
            ],
            rows,
            conflict=["cluster_id", "slot"],
            returning=["slot"],
        )  # fmt: skip
        return np.sort(np.array([_to_epoch(r[0]) for r in returned], dtype=np.int64))

    def clear_hours(self, hours: set[int]) -> set[int]:
        """Delete every hourly row and slot of the given hours (grown to whole slots); return the hours."""
        hours = set(hours)
        while True:  # a slot that starts in one of the hours may spill into the next: take that too
            lo, hi = min(hours) - SECONDS_PER_HOUR, max(hours) + SECONDS_PER_HOUR
            slots = SampleSlot.objects.filter(
                cluster_id=self.cluster_id,
                slot__gte=datetime.fromtimestamp(lo, tz=UTC),
                slot__lt=datetime.fromtimestamp(hi, tz=UTC),
            ).values_list("slot", "interval")
            grown = set(hours)
            for slot, interval in slots:
                spanned = _hours_of(np.array([int(slot.timestamp())]), interval)
                if spanned & hours:
                    grown |= spanned
            if grown == hours:
                break
            hours = grown
        for start, end in _ranges(sorted(hours)):
            a, b = datetime.fromtimestamp(start, tz=UTC), datetime.fromtimestamp(end, tz=UTC)
            scope = {"cluster_id": self.cluster_id}
            PodHour.objects.filter(**scope, hour__gte=a, hour__lt=b).delete()
            ContainerHour.objects.filter(**scope, hour__gte=a, hour__lt=b).delete()
            NodeHour.objects.filter(**scope, hour__gte=a, hour__lt=b).delete()
            VolumeMountHour.objects.filter(**scope, hour__gte=a, hour__lt=b).delete()
            VolumeHour.objects.filter(**scope, hour__gte=a, hour__lt=b).delete()
            CoverageHour.objects.filter(**scope, hour__gte=a, hour__lt=b).delete()
            clear_load_balancer_hours(self.cluster_id, a, b)
            for model in (PodMinute, ContainerMinute, NodeMinute):
                model.objects.filter(**scope, hour__gte=a, hour__lt=b).delete()
            SampleSlot.objects.filter(**scope, slot__gte=a, slot__lt=b).delete()
        return hours

    # -- inventory --
    def upsert_nodes(self, nodes: pd.DataFrame, pods: pd.DataFrame) -> dict[str, int]:
        """Node pools and nodes (attributes from their latest sample); name -> id of every node named."""
        ids: dict[str, int] = {}
        if len(nodes):
            pools = sorted(nodes["node_pool"].unique().tolist())
            bulk.upsert(
                NodePool,
                ["cluster_id", "name"],
                [(self.cluster_id, p) for p in pools],
                conflict=["cluster_id", "name"],
            )
            pool_ids = dict(NodePool.objects.filter(cluster_id=self.cluster_id).values_list("name", "id"))
            ordered = nodes.sort_values(["node", "ts"], kind="stable")
            grouped = ordered.groupby("node", sort=True)
            last = grouped.tail(1).set_index("node")
            first_ts = grouped["ts"].min()
            last = last.join(first_ts.rename("first_ts"))
            labels = (
                _labels_json(last["labels"]) if last["labels"].notna().any() else [_EMPTY_JSON] * len(last)
            )
            first = bulk.stamps(last["first_ts"].to_numpy())
            latest = bulk.stamps(last["ts"].to_numpy())
            rows = [
                (self.cluster_id, name, pool_ids[pool], provider, _instance_id(provider), itype,
                 float(cpu), int(mem), label, f, ls, float(gpu))
                for name, pool, provider, itype, cpu, mem, label, f, ls, gpu in zip(
                    last.index, last["node_pool"], last["provider_id"], last["instance_type"],
                    last["cpu_capacity_cores"], last["memory_capacity_bytes"], labels, first, latest,
                    last["gpu_capacity_devices"], strict=True,
                )
            ]  # fmt: skip
            update = bulk.if_newer(
                Node,
                [
                    "node_pool_id", "provider_id", "instance_id", "instance_type",
                    "cpu_capacity_cores", "memory_capacity_bytes", "labels", "gpu_capacity_devices",
                ],
                "last_seen",
            ) + bulk.widened(Node)  # fmt: skip
            returned = bulk.upsert(
                Node,
                _NODE_FIELDS,
                rows,
                conflict=["cluster_id", "name"],
                update=update,
                returning=["name", "id"],
            )
            ids.update(returned)
            self._upsert_instances(nodes, ids)
        missing = sorted(set(pods["node"].unique().tolist()) - set(ids)) if len(pods) else []
        if missing:
            ids.update(self._nodes_by_name(missing))
            unknown = [name for name in missing if name not in ids]
            if unknown:
                ids.update(self._unsampled_nodes(unknown, pods))
        return ids

    def _upsert_instances(self, nodes: pd.DataFrame, ids: dict[str, int]) -> None:
        """Each (node, instance) seen, with its first and last sample: a name can stand for several."""
        spans = nodes.groupby(["node", "provider_id"], sort=True)["ts"].agg(["min", "max"]).reset_index()
        spans["instance_id"] = [_instance_id(p) for p in spans["provider_id"]]
        spans = spans.loc[spans["instance_id"] != ""]
        if not len(spans):
            return
        # One provider id of a node may differ only in its prefix: keep the widest span per instance id.
        spans = (
            spans.groupby(["node", "instance_id"], sort=True).agg({"min": "min", "max": "max"}).reset_index()
        )
        rows = list(
            zip(
                [ids[name] for name in spans["node"]],
                spans["instance_id"].tolist(),
                bulk.stamps(spans["min"].to_numpy()),
                bulk.stamps(spans["max"].to_numpy()),
                strict=True,
            )
        )
        bulk.upsert(
            NodeInstance,
            ["node_id", "instance_id", "first_seen", "last_seen"],
            rows,
            conflict=["node_id", "instance_id"],
            update=bulk.widened(NodeInstance),
        )

    def _nodes_by_name(self, names: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        chunk = bulk.max_params() - 1
        for i in range(0, len(names), chunk):
            part = names[i : i + chunk]
            found.update(
                Node.objects.filter(cluster_id=self.cluster_id, name__in=part).values_list("name", "id")
            )
        return found

    def _unsampled_nodes(self, names: list[str], pods: pd.DataFrame) -> dict[str, int]:
        """Nodes that pods name but no sample listed: known by name only, in the default pool."""
        logger.info(
            "cluster %s: %d pod node(s) not in the node list; recorded unsampled", self.cluster_id, len(names)
        )
        bulk.upsert(
            NodePool,
            ["cluster_id", "name"],
            [(self.cluster_id, DEFAULT_POOL)],
            conflict=["cluster_id", "name"],
        )
        pool_id = NodePool.objects.get(cluster_id=self.cluster_id, name=DEFAULT_POOL).pk
        seen = pods[pods["node"].isin(names)].groupby("node")["ts"].agg(["min", "max"])
        rows = [
            (self.cluster_id, name, pool_id, "", "", "", 0.0, 0, _EMPTY_JSON, f, last, 0.0)
            for name, f, last in zip(
                seen.index,
                bulk.stamps(seen["min"].to_numpy()),
                bulk.stamps(seen["max"].to_numpy()),
                strict=True,
            )
        ]
        return dict(
            bulk.upsert(
                Node,
                _NODE_FIELDS,
                rows,
                conflict=["cluster_id", "name"],
                update=bulk.widened(Node),
                returning=["name", "id"],
            )
        )

    def upsert_namespaces(
        self, namespaces: pd.DataFrame, pods: pd.DataFrame, slot_ts: np.ndarray
    ) -> dict[str, int]:
        """Namespaces listed (with their labels) and namespaces of pods; name -> id."""
        seen = (
            pods.groupby("namespace")["ts"].agg(["min", "max"])
            if len(pods)
            else pd.DataFrame(columns=["min", "max"])
        )
        seen.index = pd.Index(np.asarray(seen.index, dtype=object))
        lo, hi = int(slot_ts.min()), int(slot_ts.max())
        ids: dict[str, int] = {}
        columns = ["cluster_id", "name", "labels", "first_seen", "last_seen"]
        listed = set(namespaces["namespace"])
        if listed:
            spans = seen.reindex(namespaces["namespace"])
            first = bulk.stamps(spans["min"].fillna(lo).astype(np.int64).to_numpy())
            last = bulk.stamps(spans["max"].fillna(hi).astype(np.int64).to_numpy())
            rows = sorted(
                (self.cluster_id, name, label, f, ls)
                for name, label, f, ls in zip(
                    namespaces["namespace"], namespaces["labels"], first, last, strict=True
                )
            )
            update = bulk.if_newer(Namespace, ["labels"], "last_seen") + bulk.widened(Namespace)
            ids.update(
                bulk.upsert(
                    Namespace,
                    columns,
                    rows,
                    conflict=["cluster_id", "name"],
                    update=update,
                    returning=["name", "id"],
                )
            )
        others = seen[~seen.index.isin(listed)]
        if len(others):
            rows = [
                (self.cluster_id, name, _EMPTY_JSON, f, ls)
                for name, f, ls in zip(
                    others.index,
                    bulk.stamps(others["min"].to_numpy()),
                    bulk.stamps(others["max"].to_numpy()),
                    strict=True,
                )
            ]
            ids.update(
                bulk.upsert(
                    Namespace,
                    columns,
                    rows,
                    conflict=["cluster_id", "name"],
                    update=bulk.widened(Namespace),
                    returning=["name", "id"],
                )
            )
        return ids

    def upsert_pods(
        self, pods: pd.DataFrame, node_ids: dict[str, int], namespace_ids: dict[str, int]
    ) -> dict[str, int]:
        """Workloads and pods (attributes from their latest sample); uid -> id."""
        if pods.empty:
            return {}
        # Each pod's latest and first rows (codes run 0..n-1): the frame itself is not reordered.
        code, ts = pods["pod_code"].to_numpy(), pods["ts"].to_numpy()
        order = np.lexsort((ts, code))
        ends = np.flatnonzero(np.r_[code[order][1:] != code[order][:-1], True])
        starts = np.r_[0, ends[:-1] + 1]
        last = pods.iloc[order[ends]].set_index("pod_code")
        last["first_ts"] = ts[order[starts]]
        for column in ("namespace", "pod", "pod_uid", "node", "owner_kind", "owner_name"):
            last[column] = _texts(last[column])
        last["namespace_id"] = [namespace_ids[n] for n in last["namespace"]]
        workloads = (
            last[["namespace_id", "owner_kind", "owner_name"]]
            .drop_duplicates()
            .sort_values(["namespace_id", "owner_kind", "owner_name"])
        )
        bulk.upsert(
            Workload,
            ["cluster_id", "namespace_id", "kind", "name"],
            [(self.cluster_id, int(n), k[:100], w) for n, k, w in workloads.itertuples(index=False)],
            conflict=["namespace_id", "kind", "name"],
        )
        namespace_list = sorted({int(n) for n in workloads["namespace_id"]})
        workload_ids = {
            (n, k, w): i
            for i, n, k, w in Workload.objects.filter(
                cluster_id=self.cluster_id, namespace_id__in=namespace_list
            ).values_list("id", "namespace_id", "kind", "name")
        }
        labels = _labels_json(last["labels"]) if last["labels"].notna().any() else [_EMPTY_JSON] * len(last)
        first = bulk.stamps(last["first_ts"].to_numpy())
        latest = bulk.stamps(last["ts"].to_numpy())
        rows = [
            (self.cluster_id, int(ns), workload_ids[(int(ns), kind[:100], owner)], node_ids[node], name, uid, label, f, ls)
            for uid, ns, kind, owner, node, name, label, f, ls in zip(
                last["pod_uid"], last["namespace_id"], last["owner_kind"], last["owner_name"], last["node"],
                last["pod"], labels, first, latest, strict=True,
            )
        ]  # fmt: skip
        update = bulk.if_newer(
            Pod, ["namespace_id", "workload_id", "node_id", "name", "labels"], "last_seen"
        ) + bulk.widened(Pod)
        if self.staged:
            return self._upsert_changed_pods(rows, update, last)
        ids = dict(
            bulk.upsert(
                Pod, _POD_FIELDS, rows, conflict=["cluster_id", "uid"], update=update, returning=["uid", "id"]
            )
        )
        self._pod_codes(last, ids)
        return ids

    def _upsert_changed_pods(
        self, rows: list[tuple], update: list[str], last: pd.DataFrame
    ) -> dict[str, int]:
        """The staged path's pods: only a new pod, or one moved, renamed, relabelled or seen earlier than its
        first_seen, is written (the others' last_seen follows when their minutes fold); uid -> id of all."""
        t = bulk.table(Pod)
        first = bulk.column(Pod, "first_seen")
        where = bulk.differs(Pod, ["namespace_id", "workload_id", "node_id", "name", "labels"])
        where += f" OR excluded.{first} < {t}.{first}"
        bulk.upsert(
            Pod,
            _POD_FIELDS,
            rows,
            conflict=["cluster_id", "uid"],
            update=update,
            where=where,
            copy_min_rows=500,
        )
        ids = self._pod_ids(last["pod_uid"].tolist())
        self._pod_codes(last, ids)
        return ids

    def _pod_ids(self, uids: list[str]) -> dict[str, int]:
        """uid -> id of the cluster's pods named (PostgreSQL: one array parameter, not one per uid)."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {bulk.column(Pod, 'uid')}, {bulk.column(Pod, 'id')} FROM {bulk.table(Pod)} "  # noqa: S608
                    f"WHERE {bulk.column(Pod, 'cluster_id')} = %s AND {bulk.column(Pod, 'uid')} = ANY(%s)",
                    [self.cluster_id, uids],
                )
                return dict(cursor.fetchall())
        ids: dict[str, int] = {}
        chunk = bulk.max_params() - 1
        for i in range(0, len(uids), chunk):
            part = uids[i : i + chunk]
            ids.update(Pod.objects.filter(cluster_id=self.cluster_id, uid__in=part).values_list("uid", "id"))
        return ids

    def _pod_codes(self, last: pd.DataFrame, ids: dict[str, int]) -> None:
        """pod code -> id, for the pod-hours (codes run 0..n-1 over the batch)."""
        self.pod_id_by_code = np.zeros(int(last.index.max()) + 1, dtype=np.int64)
        self.pod_id_by_code[last.index.to_numpy()] = [ids[u] for u in last["pod_uid"]]

    # -- hourly quantities --
    def add_pod_hours(
        self, pods: pd.DataFrame, pod_ids: dict[str, int], node_ids: dict[str, int], interval: int
    ) -> int:
        if pods.empty:
            return 0
        hour, seconds, index = _split_seconds(pods["ts"].to_numpy(), interval)
        weight = seconds / SECONDS_PER_HOUR
        take = _taker(index)
        cpu_req = pods["cpu_request_cores"].to_numpy()
        cpu_use = pods["cpu_usage_cores"].to_numpy()
        mem_req = pods["memory_request_bytes"].to_numpy() / GIB
        mem_use = pods["memory_usage_bytes"].to_numpy() / GIB
        gpu_req = pods["gpu_request_devices"].to_numpy()
        gpu_use = pods["gpu_usage_devices"].to_numpy()
        keys = {
            "pod_id": take(self.pod_id_by_code[pods["pod_code"].to_numpy()]),
            "node_id": take(_ids(pods["node"], node_ids)),
            "hour": hour,
        }
        # The maximum is taken per sample, before anything is summed (docs/cost-model.md, rule 2).
        quantities = {
            "cpu_request_core_hours": (cpu_req, None),
            "cpu_usage_core_hours": (cpu_use, None),
            "cpu_billable_core_hours": (cpu_use, cpu_req),
            "mem_request_gib_hours": (mem_req, None),
            "mem_usage_gib_hours": (mem_use, None),
            "mem_billable_gib_hours": (mem_use, mem_req),
            "gpu_request_hours": (gpu_req, None),
            "gpu_usage_hours": (gpu_use, None),
            "gpu_billable_hours": (gpu_use, gpu_req),
        }
        values = _columns(
            [
                take(value if floor is None else np.maximum(value, floor)) * weight
                for value, floor in quantities.values()
            ]
        )
        if self.staged:
            frame = pd.DataFrame(
                {
                    **keys,
                    "samples": 1,
                    "samples_without_metrics": take((~pods["has_metrics"].to_numpy()).astype(np.int64)),
                    **{name: values[:, i] for i, name in enumerate(quantities)},
                }
            )
            return self._stage(PodMinute, frame, take(pods["ts"].to_numpy()))
        group, sums = _grouped(keys)
        self.pod_hour_groups = (group, sums.copy())
        sums["samples"] = np.bincount(group, minlength=len(sums))
        sums["samples_without_metrics"] = _count(group, take(~pods["has_metrics"].to_numpy()), len(sums))
        sums[list(quantities)] = _summed(group, values)
        sums.insert(0, "cluster_id", self.cluster_id)
        sums["hour"] = bulk.stamps(sums["hour"].to_numpy())
        columns = list(sums.columns)
        bulk.upsert(
            PodHour,
            columns,
            _tuples(sums),
            conflict=["pod_id", "node_id", "hour"],
            update=bulk.added(PodHour, columns[4:]),
        )
        return len(sums)

    def add_container_hours(self, containers: pd.DataFrame, node_ids: dict[str, int], interval: int) -> int:
        """Add the containers' samples to their container-hours: sums, peaks and histograms merged."""
        if containers.empty:
            return 0
        hour, seconds, index = _split_seconds(containers["ts"].to_numpy(), interval)
        weight = seconds / SECONDS_PER_HOUR
        take = _taker(index)
        metrics = take(containers["has_metrics"].to_numpy())
        cpu_req = take(containers["cpu_request_cores"].to_numpy())
        cpu_use = take(containers["cpu_usage_cores"].to_numpy())
        mem_req = take(containers["memory_request_bytes"].to_numpy())
        mem_use = take(containers["memory_usage_bytes"].to_numpy())
        if self.staged:
            frame = pd.DataFrame(
                {
                    "pod_id": take(self.pod_id_by_code[containers["pod_code"].to_numpy()]),
                    "node_id": take(_ids(containers["node"], node_ids)),
                    "container": take(containers["container"].to_numpy()),
                    "hour": hour,
                    "init": take(containers["init"].to_numpy()),
                    "samples": 1,
                    "samples_without_metrics": (~metrics).astype(np.int64),
                    "seconds": seconds,
                    "cpu_request_core_hours": cpu_req * weight,
                    "cpu_usage_core_hours": cpu_use * weight,
                    "cpu_billable_core_hours": np.maximum(cpu_use, cpu_req) * weight,
                    "cpu_limit_core_hours": take(containers["cpu_limit_cores"].to_numpy()) * weight,
                    "mem_request_gib_hours": mem_req / GIB * weight,
                    "mem_usage_gib_hours": mem_use / GIB * weight,
                    "mem_billable_gib_hours": np.maximum(mem_use, mem_req) / GIB * weight,
                    "mem_limit_gib_hours": take(containers["memory_limit_bytes"].to_numpy()) / GIB * weight,
                    "cpu_usage_max_cores": cpu_use,
                    "mem_usage_max_bytes": mem_use,
                }
            )
            # Each sample's usage bucket (None without metrics): the fold sums seconds per bucket.
            frame["cpu_bucket"] = np.where(metrics, histograms.CPU.index(cpu_use), -1)
            frame["mem_bucket"] = np.where(metrics, histograms.MEMORY.index(mem_use), -1)
            return self._stage(ContainerMinute, frame, take(containers["ts"].to_numpy()))
        keys = ["pod_id", "node_id", "container", "hour"]
        pod_hours = self.pod_hour_groups
        if containers.attrs.get("main_of_pods") and pod_hours is not None and len(pod_hours[0]) == len(hour):
            # One "main" container per pod row: the groups are the pod-hours' (same rows, same pieces).
            group, sums = pod_hours[0], pod_hours[1].copy()
            sums.insert(2, "container", MAIN_CONTAINER)
        else:
            group, sums = _grouped(
                {
                    "pod_id": take(self.pod_id_by_code[containers["pod_code"].to_numpy()]),
                    "node_id": take(_ids(containers["node"], node_ids)),
                    "container": take(containers["container"].to_numpy()),
                    "hour": hour,
                }
            )
        sums["init"] = _count(group, take(containers["init"].to_numpy()), len(sums)) > 0
        sums["samples"] = np.bincount(group, minlength=len(sums))
        sums["samples_without_metrics"] = _count(group, ~metrics, len(sums))
        sums["seconds"] = _count(group, seconds, len(sums))
        added = {
            "cpu_request_core_hours": cpu_req * weight,
            "cpu_usage_core_hours": cpu_use * weight,
            "cpu_billable_core_hours": np.maximum(cpu_use, cpu_req) * weight,
            "cpu_limit_core_hours": take(containers["cpu_limit_cores"].to_numpy()) * weight,
            "mem_request_gib_hours": mem_req / GIB * weight,
            "mem_usage_gib_hours": mem_use / GIB * weight,
            "mem_billable_gib_hours": np.maximum(mem_use, mem_req) / GIB * weight,
            "mem_limit_gib_hours": take(containers["memory_limit_bytes"].to_numpy()) / GIB * weight,
        }
        sums[list(added)] = _summed(group, _columns(list(added.values())))
        peaks = ["cpu_usage_max_cores", "mem_usage_max_bytes"]
        sums[peaks] = _summed(group, _columns([cpu_use, mem_use]), "max")
        sums["cpu_histogram"] = _histograms(group, len(sums), histograms.CPU.index(cpu_use), seconds, metrics)
        sums["mem_histogram"] = _histograms(
            group, len(sums), histograms.MEMORY.index(mem_use), seconds, metrics
        )
        sums.insert(0, "cluster_id", self.cluster_id)
        sums["hour"] = bulk.stamps(sums["hour"].to_numpy())
        sums["init"] = sums["init"].astype(bool)
        columns = list(sums.columns)
        t = bulk.table(ContainerHour)
        update = bulk.added(ContainerHour, [c for c in columns if c in _ADDED_CONTAINER_FIELDS])
        update += [
            _larger(t, bulk.column(ContainerHour, c)) for c in ("cpu_usage_max_cores", "mem_usage_max_bytes")
        ]
        update += [_merged_json(t, bulk.column(ContainerHour, c)) for c in ("cpu_histogram", "mem_histogram")]
        # Wide rows with JSON: COPY beats a VALUES statement from a few hundred rows on (0.10 s against
        # 0.26 s for 1,200 container-hours of a live slot).
        bulk.upsert(ContainerHour, columns, _tuples(sums), conflict=keys, update=update, copy_min_rows=500)
        return len(sums)

    def add_node_hours(self, nodes: pd.DataFrame, node_ids: dict[str, int], interval: int) -> int:
        if nodes.empty:
            return 0
        hour, seconds, index = _split_seconds(nodes["ts"].to_numpy(), interval)
        weight = seconds / SECONDS_PER_HOUR
        frame = pd.DataFrame(
            {
                "node_id": _ids(nodes["node"], node_ids)[index],
                "hour": hour,
                "samples": 1,
                "cpu_capacity_core_hours": nodes["cpu_capacity_cores"].to_numpy()[index] * weight,
                "mem_capacity_gib_hours": (nodes["memory_capacity_bytes"].to_numpy() / GIB)[index] * weight,
                "gpu_capacity_hours": nodes["gpu_capacity_devices"].to_numpy()[index] * weight,
            }
        )
        if self.staged:
            return self._stage(NodeMinute, frame, nodes["ts"].to_numpy()[index])
        sums = frame.groupby(["node_id", "hour"], sort=True).sum().reset_index()
        sums.insert(0, "cluster_id", self.cluster_id)
        sums["hour"] = bulk.stamps(sums["hour"].to_numpy())
        columns = list(sums.columns)
        bulk.upsert(
            NodeHour,
            columns,
            _tuples(sums),
            conflict=["node_id", "hour"],
            update=bulk.added(NodeHour, columns[3:]),
        )
        return len(sums)

    def _stage(self, model, frame: pd.DataFrame, slots: np.ndarray) -> int:
        """Append one row per sample and hour to a minute table (COPY on PostgreSQL); the rows' count."""
        columns: dict[str, object] = {"cluster_id": self.cluster_id}
        for name in frame.columns:
            values = frame[name].to_numpy()
            if name == "hour":
                values = pd.to_datetime(values, unit="s", utc=True)
            elif name in ("cpu_bucket", "mem_bucket"):  # -1: no metrics, NULL
                values = np.where(values < 0, None, values.astype(object))
            columns[name] = values
        columns["slot"] = pd.to_datetime(slots, unit="s", utc=True)
        bulk.insert_columns(model, columns)
        return len(frame)

    # -- volumes --
    def add_volume_hours(
        self, volumes: pd.DataFrame, pods: pd.DataFrame, namespace_ids: dict[str, int], interval: int
    ) -> int:
        """Volumes (attributes from their latest sample), their volume-hours and the pods' mount-hours."""
        if volumes.empty:
            return 0
        volumes = volumes.reset_index(drop=True)
        volume_ids = self._upsert_volumes(volumes)
        claim_namespaces = sorted(set(volumes.loc[volumes["bound"], "claim_namespace"]) - set(namespace_ids))
        if claim_namespaces:
            namespace_ids = {**namespace_ids, **self._claim_namespaces(volumes, claim_namespaces)}
        mounts = self._mounts(volumes, pods)
        mounted_by = np.bincount(mounts["row"].to_numpy(), minlength=len(volumes)) if len(mounts) else 0
        bound = volumes["bound"].to_numpy()
        hour, seconds, index = _split_seconds(volumes["ts"].to_numpy(), interval)
        namespace = np.array(
            [namespace_ids[n] if b else -1 for n, b in zip(volumes["claim_namespace"], bound, strict=True)],
            dtype=np.int64,
        )
        frame = pd.DataFrame(
            {
                "volume_id": _ids(volumes["volume"], volume_ids)[index],
                "hour": hour,
                "samples": 1,
                "seconds": seconds,
                "bound_seconds": np.where(bound[index], seconds, 0),
                "unmounted_seconds": np.where((bound & (mounted_by == 0))[index], seconds, 0),
                "namespace_id": namespace[index],
            }
        )
        keys = ["volume_id", "hour"]
        grouped = frame.groupby(keys, sort=True)
        sums = grouped[["samples", "seconds", "bound_seconds", "unmounted_seconds"]].sum()
        sums["namespace_id"] = grouped["namespace_id"].max()  # one claim namespace an hour, as a rule
        sums = sums.reset_index()
        volume_hours = len(sums)
        sums.insert(0, "cluster_id", self.cluster_id)
        sums["hour"] = bulk.stamps(sums["hour"].to_numpy())
        sums["namespace_id"] = sums["namespace_id"].astype(object).where(sums["namespace_id"] >= 0, None)
        t, ns = bulk.table(VolumeHour), bulk.column(VolumeHour, "namespace_id")
        bulk.upsert(
            VolumeHour,
            list(sums.columns),
            _tuples(sums),
            conflict=keys,
            update=[
                *bulk.added(VolumeHour, ["samples", "seconds", "bound_seconds", "unmounted_seconds"]),
                f"{ns} = COALESCE(excluded.{ns}, {t}.{ns})",
            ],
        )
        if len(mounts):
            rows = mounts["row"].to_numpy()
            hour, seconds, index = _split_seconds(volumes["ts"].to_numpy()[rows], interval)
            share = seconds / mounted_by[rows][index]
            frame = pd.DataFrame(
                {
                    "volume_id": _ids(volumes["volume"], volume_ids)[rows][index],
                    "pod_id": self.pod_id_by_code[mounts["pod_code"].to_numpy()][index],
                    "hour": hour,
                    "seconds": seconds,
                    "share_seconds": share,
                }
            )
            sums = frame.groupby(["volume_id", "pod_id", "hour"], sort=True).sum().reset_index()
            sums.insert(0, "cluster_id", self.cluster_id)
            sums["hour"] = bulk.stamps(sums["hour"].to_numpy())
            bulk.upsert(
                VolumeMountHour,
                list(sums.columns),
                _tuples(sums),
                conflict=["volume_id", "pod_id", "hour"],
                update=bulk.added(VolumeMountHour, ["seconds", "share_seconds"]),
            )
        return volume_hours

    def _upsert_volumes(self, volumes: pd.DataFrame) -> dict[str, int]:
        ordered = volumes.sort_values(["volume", "ts"], kind="stable")
        grouped = ordered.groupby("volume", sort=True)
        last = grouped.tail(1).set_index("volume").join(grouped["ts"].min().rename("first_ts"))
        fields = [
            "disk_id",
            "driver",
            "storage_class",
            "capacity_bytes",
            "phase",
            "claim_namespace",
            "claim_name",
        ]
        rows = [
            (self.cluster_id, name, *values, f, ls)
            for name, *values, f, ls in zip(
                last.index,
                *(last[c].tolist() for c in fields),
                bulk.stamps(last["first_ts"].to_numpy()),
                bulk.stamps(last["ts"].to_numpy()),
                strict=True,
            )
        ]
        return dict(
            bulk.upsert(
                Volume,
                ["cluster_id", "name", *fields, "first_seen", "last_seen"],
                rows,
                conflict=["cluster_id", "name"],
                update=bulk.if_newer(Volume, fields, "last_seen") + bulk.widened(Volume),
                returning=["name", "id"],
            )
        )

    def _claim_namespaces(self, volumes: pd.DataFrame, names: list[str]) -> dict[str, int]:
        """Namespaces that only a volume's claim names (no pod, not listed): known by name."""
        seen = volumes.loc[volumes["claim_namespace"].isin(names)].groupby("claim_namespace")["ts"]
        spans = seen.agg(["min", "max"])
        rows = [
            (self.cluster_id, name, _EMPTY_JSON, f, ls)
            for name, f, ls in zip(
                spans.index,
                bulk.stamps(spans["min"].to_numpy()),
                bulk.stamps(spans["max"].to_numpy()),
                strict=True,
            )
        ]
        return dict(
            bulk.upsert(
                Namespace,
                ["cluster_id", "name", "labels", "first_seen", "last_seen"],
                rows,
                conflict=["cluster_id", "name"],
                update=bulk.widened(Namespace),
                returning=["name", "id"],
            )
        )

    @staticmethod
    def _mounts(volumes: pd.DataFrame, pods: pd.DataFrame) -> pd.DataFrame:
        """(row of `volumes`, pod code) of every bound volume sample and pod of its claim's namespace, at the
        same timestamp, that mounts the claim."""
        if pods.empty or pods["claims"].isna().all():
            return pd.DataFrame({"row": np.array([], np.int64), "pod_code": np.array([], np.int64)})
        claims = pods.loc[[bool(c) for c in pods["claims"]], ["ts", "namespace", "pod_code", "claims"]]
        claims = claims.explode("claims").rename(
            columns={"claims": "claim_name", "namespace": "claim_namespace"}
        )
        claims["claim_namespace"] = claims["claim_namespace"].astype(str)
        bound = volumes.loc[volumes["bound"], ["ts", "claim_namespace", "claim_name"]].reset_index(drop=True)
        bound["row"] = np.flatnonzero(volumes["bound"].to_numpy())
        joined = bound.merge(claims, on=["ts", "claim_namespace", "claim_name"], how="inner")
        joined = joined.drop_duplicates(["row", "pod_code"])
        return joined[["row", "pod_code"]].astype(np.int64).reset_index(drop=True)

    def add_coverage(self, split: tuple[np.ndarray, np.ndarray, np.ndarray], column: str) -> None:
        hour, seconds, _ = split
        sums = pd.Series(seconds).groupby(hour).sum().sort_index()
        other = "gap_seconds" if column == "sampled_seconds" else "sampled_seconds"
        stamps = bulk.stamps(sums.index.to_numpy())
        rows = [(self.cluster_id, h, int(s), 0) for h, s in zip(stamps, sums.to_numpy(), strict=True)]
        bulk.upsert(
            CoverageHour,
            ["cluster_id", "hour", column, other],
            rows,
            conflict=["cluster_id", "hour"],
            update=bulk.added(CoverageHour, [column]),
        )


_ADDED_CONTAINER_FIELDS = {
    "samples", "samples_without_metrics", "seconds",
    "cpu_request_core_hours", "cpu_usage_core_hours", "cpu_billable_core_hours", "cpu_limit_core_hours",
    "mem_request_gib_hours", "mem_usage_gib_hours", "mem_billable_gib_hours", "mem_limit_gib_hours",
}  # fmt: skip


def _histograms(
    group: np.ndarray, groups: int, bucket: np.ndarray, seconds: np.ndarray, keep: np.ndarray
) -> list[str]:
    """The JSON histogram {bucket: seconds} of every group, from the samples' buckets and seconds."""
    # One integer per (group, bucket) cell, in (group, bucket) order; seconds are whole: their sums exact.
    width = int(bucket.max()) + 1 if len(bucket) else 1
    cell, cells = pd.factorize(group[keep].astype(np.int64) * width + bucket[keep], sort=True)
    totals = np.bincount(cell, weights=seconds[keep], minlength=len(cells)).astype(np.int64)
    g = cells // width
    # Each distinct bucket and total formatted once (few: the buckets, whole minutes of an hour).
    keys = np.array([f'"{b}":' for b in range(width)], dtype=object)
    codes, distinct = pd.factorize(totals)
    items = (
        keys[cells % width] + np.array([str(v) for v in distinct.tolist()], dtype=object)[codes]
    ).tolist()
    out = [_EMPTY_JSON] * groups
    bounds = np.flatnonzero(np.diff(g)) + 1
    for lo, hi in zip(np.r_[0, bounds].tolist(), np.r_[bounds, len(g)].tolist(), strict=True):
        if hi > lo:
            out[int(g[lo])] = "{" + ",".join(items[lo:hi]) + "}"
    return out


def _taker(index: np.ndarray):
    """Each slot's value per piece of `_split_seconds` (a slot that spills into the next hour is two pieces);
    without a spill the pieces are the slots themselves and nothing is copied."""
    if len(index) and index[-1] == len(index) - 1:  # index is arange(n), then the spills
        return lambda values: values
    return lambda values: values[index]


def _grouped(keys: dict[str, np.ndarray]) -> tuple[np.ndarray, pd.DataFrame]:
    """(group of each row, one row per group with its keys), groups in the keys' sorted order: what
    groupby(keys, sort=True) gives, through one integer per row instead of a tuple of keys."""
    combined = np.zeros(len(next(iter(keys.values()))), dtype=np.int64)
    width = 1
    for values in keys.values():
        codes, uniques = pd.factorize(values, sort=True)
        if width * (len(uniques) + 1) >= 2**62:  # keep the combined key within int64
            combined, distinct = pd.factorize(combined, sort=True)
            width = len(distinct)
        combined = combined * len(uniques) + codes
        width *= max(len(uniques), 1)
    group, distinct = pd.factorize(combined, sort=True)
    first = np.empty(len(distinct), dtype=np.int64)
    first[group[::-1]] = np.arange(len(group) - 1, -1, -1)
    return group, pd.DataFrame({name: values[first] for name, values in keys.items()})


def _columns(arrays: list[np.ndarray]) -> np.ndarray:
    """Float columns side by side, column-major: the layout of a pandas block, so that no copy is made."""
    out = np.empty((len(arrays[0]), len(arrays)), order="F")
    for i, values in enumerate(arrays):
        out[:, i] = values
    return out


def _count(group: np.ndarray, values: np.ndarray, groups: int) -> np.ndarray:
    """Sums of integers (or booleans) per group, exact."""
    return np.bincount(group, weights=values, minlength=groups).astype(np.int64)


def _summed(group: np.ndarray, values: np.ndarray, how: str = "sum") -> np.ndarray:
    """Column sums (or maxima) of a 2-D float array per group: pandas' grouped sum, whose compensated
    summation in row order the stored figures have always had."""
    return getattr(pd.DataFrame(values, copy=False).groupby(group, sort=True), how)().to_numpy()


def _larger(table: str, column: str) -> str:
    return f"{column} = CASE WHEN excluded.{column} > {table}.{column} THEN excluded.{column} ELSE {table}.{column} END"


def _merged_json(table: str, column: str) -> str:
    """A SET clause that adds the new histogram to the stored one key by key, in SQL (no read-then-write).

    Only the new row's keys are visited (one per sample and hour: live slots bring a single one); the
    stored object is patched with their sums. Names come from the model's metadata, never from input."""
    old, new = f"{table}.{column}", f"excluded.{column}"
    if connection.vendor == "postgresql":
        return (
            f"{column} = {old} || (SELECT COALESCE(jsonb_object_agg(key, value::bigint + "  # noqa: S608
            f"COALESCE(({old} ->> key)::bigint, 0)), '{{}}'::jsonb) FROM jsonb_each_text({new}))"
        )
    return (
        f"{column} = json_patch({old}, (SELECT COALESCE(json_group_object(key, value + "  # noqa: S608
        f"COALESCE(json_extract({old}, '$.\"' || key || '\"'), 0)), '{{}}') FROM json_each({new})))"
    )


def _ids(keys: pd.Series, ids: dict[str, int]) -> np.ndarray:
    """The id of every key, through the distinct keys (a Series.map over strings is slow)."""
    codes, uniques = pd.factorize(keys)
    return np.array([ids[k] for k in uniques], dtype=np.int64)[codes]


def _instance_id(provider_id: str) -> str:
    return provider_id.rstrip("/").rsplit("/", 1)[-1] if provider_id else ""


def _tuples(frame: pd.DataFrame) -> list[tuple]:
    # Plain Python values: both drivers adapt them without numpy adapters.
    return list(zip(*(frame[c].tolist() for c in frame.columns), strict=True))


def _to_epoch(value) -> int:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def _ranges(hours: list[int]) -> list[tuple[int, int]]:
    """Contiguous runs of hour starts as [start, end) pairs."""
    out: list[tuple[int, int]] = []
    for h in hours:
        if out and out[-1][1] == h:
            out[-1] = (out[-1][0], h + SECONDS_PER_HOUR)
        else:
            out.append((h, h + SECONDS_PER_HOUR))
    return out
