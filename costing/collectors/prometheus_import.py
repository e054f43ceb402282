"""Recording what Prometheus holds: the backfill of `import_prometheus` and the continuous catch-up of a cluster
whose connection type is Prometheus. Both store through costing/recording.py, one slot per step."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django_celery_beat.models import PeriodicTask

from costing.choices import SECONDS_PER_HOUR, SampleSource
from costing.collectors.prometheus import DEFAULT_RATE_WINDOW, NO_DATA_REASON, PrometheusSource
from costing.collectors.prometheus_client import MAX_POINTS, PrometheusClient, PrometheusError
from costing.dirty import queue_recompute
from costing.models import Cluster, SampleSlot
from costing.policy.store import gpu_resources_for_day
from costing.recording import RecordResult, floor_slot, record_gaps, record_samples

__all__ = [
    "SETTLE_SECONDS",
    "catch_up",
    "client_for",
    "import_range",
    "slots_to_read",
]

logger = logging.getLogger(__name__)

# A slot is read once it ended this long ago: the scrapes of its last seconds are then stored.
SETTLE_SECONDS = 60


@dataclass
class ImportResult:
    """What an import stored: slots sampled, gaps (no data in Prometheus), slots already there."""

    recorded: RecordResult
    gaps: int = 0
    chunks: int = 0


def client_for(cluster: Cluster, *, timeout: float = 30.0) -> PrometheusClient:
    """A client with the cluster's stored URL and credentials."""
    if not cluster.prometheus_url:
        raise PrometheusError(f"cluster {cluster.name}: no Prometheus URL is set (admin: Clusters)")
    return PrometheusClient(
        cluster.prometheus_url,
        token=cluster.prometheus_token,
        username=cluster.prometheus_username,
        password=cluster.prometheus_password,
        timeout=timeout,
    )


def import_range(
    cluster: Cluster,
    source: PrometheusSource,
    start: datetime,
    end: datetime,
    step: int,
    *,
    chunk_slots: int | None = None,
    queue: bool = True,
    progress: Callable[[int, int], None] | None = None,
    deadline: float | None = None,
) -> ImportResult:
    """Record the slots of `step` seconds in [start, end) that are not recorded yet, chunk by chunk.

    Each chunk (at most an hour of slots, and MAX_POINTS) is read whole, then stored in one transaction:
    its samples and its gaps (slots without any kube_node_info sample). Slots already recorded, by an
    earlier run, the live collector or another import, add nothing: a run that was interrupted is simply
    run again. `progress(done, total)` is called after each chunk with slot counts. The days touched are
    marked dirty chunk by chunk; with `queue`, their recompute is queued once, at the end. Past `deadline`
    (time.monotonic()), no further chunk is begun.
    """
    slots = slots_to_read(cluster, start, end, step)
    per_chunk = min(chunk_slots or max(1, SECONDS_PER_HOUR // step), MAX_POINTS)
    result = ImportResult(recorded=RecordResult())
    done = 0
    for run in _runs(slots, step, per_chunk):
        if deadline is not None and result.chunks and time.monotonic() > deadline:
            break  # the next run goes on from here
        frames = source.read(int(run[0]), int(run[-1]), step)
        with transaction.atomic():
            if len(frames.sampled):
                result.recorded += record_samples(
                    cluster,
                    frames.nodes,
                    frames.pods,
                    frames.namespaces,
                    interval=step,
                    source=SampleSource.PROMETHEUS,
                    strict=False,
                    containers=frames.containers,
                    queue=False,
                )
            if len(frames.missing):
                result.gaps += record_gaps(
                    cluster,
                    [datetime.fromtimestamp(int(t), tz=UTC) for t in frames.missing],
                    interval=step,
                    source=SampleSource.PROMETHEUS,
                    reason=NO_DATA_REASON,
                    queue=False,
                )
        result.chunks += 1
        done += len(run)
        if progress:
            progress(done, len(slots))
    if queue and (result.recorded.slots or result.gaps):
        # Once for the whole import: a recompute per chunk would redo days still being filled.
        queue_recompute()
    return result


def slots_to_read(cluster: Cluster, start: datetime, end: datetime, step: int) -> np.ndarray:
    """Slot starts (Unix seconds) of `step` in [start, end) that no slot row of the cluster covers."""
    first = int(floor_slot(start, step).timestamp())
    if first < int(start.timestamp()):
        first += step
    stop = int(end.timestamp())
    slots = np.arange(first, stop - step + 1, step, dtype=np.int64)
    if not len(slots):
        return slots
    rows = SampleSlot.objects.filter(
        cluster=cluster,
        slot__gte=datetime.fromtimestamp(int(slots[0]) - SECONDS_PER_HOUR, tz=UTC),
        slot__lt=datetime.fromtimestamp(int(slots[-1]) + step, tz=UTC),
    ).values_list("slot", "interval")
    rows = list(rows)
    starts = np.array([int(slot.timestamp()) for slot, _ in rows], dtype=np.int64)
    if not len(starts):
        return slots
    ends = starts + np.array([length for _, length in rows], dtype=np.int64)
    order = np.argsort(starts, kind="stable")
    starts, reach = starts[order], np.maximum.accumulate(ends[order])
    # A slot row covers every step slot it overlaps (a sample of another interval included): the latest row
    # starting before the slot ends covers it if any row up to it reaches into the slot.
    before = np.searchsorted(starts, slots + step, side="left") - 1
    covered = (before >= 0) & (reach[np.maximum(before, 0)] > slots)
    return slots[~covered]


def _runs(slots: np.ndarray, step: int, size: int):
    """Consecutive slots in runs of at most `size` (a hole, already recorded, starts a new run)."""
    if not len(slots):
        return
    breaks = np.flatnonzero(np.diff(slots) != step) + 1
    for run in np.split(slots, breaks):
        for begin in range(0, len(run), size):
            yield run[begin : begin + size]


# --- the continuous path ------------------------------------------------------------------------------------


def catch_up(
    cluster: Cluster, now: datetime, *, schedule_name: str, max_slots: int | None = None
) -> ImportResult:
    """Record the complete slots of the cluster not recorded yet: from when sampling was switched on (at most
    FINOPS_GAP_SWEEP_DAYS ago) to the last slot that ended SETTLE_SECONDS before `now`, oldest first.

    At most an hour of slots per run, in chunks of ten minutes, none begun after half an interval: the runs
    of a large cluster catching up do not pile onto each other, the next run goes on. After an outage of
    the worker or of the link to Prometheus, the slots Prometheus still holds are read back; those it has no
    data for become gaps.
    """
    interval = cluster.sampling_interval
    started = (
        PeriodicTask.objects.filter(name=schedule_name, start_time__isnull=False)
        .values_list("start_time", flat=True)
        .first()
    )
    horizon = now - timedelta(days=settings.FINOPS_GAP_SWEEP_DAYS)
    start = max(started or cluster.created_at, horizon)
    end = floor_slot(now - timedelta(seconds=SETTLE_SECONDS), interval)
    if end <= start:
        return ImportResult(recorded=RecordResult())
    limit = max_slots or max(1, SECONDS_PER_HOUR // interval)
    slots = slots_to_read(cluster, start, end, interval)[:limit]
    if not len(slots):
        return ImportResult(recorded=RecordResult())
    source = PrometheusSource(
        client_for(cluster),
        selector=cluster.prometheus_selector,
        node_pool_label=cluster.node_pool_label or None,
        rate_window=max(DEFAULT_RATE_WINDOW, interval),
        gpu_resources=gpu_resources_for_day(now.astimezone(UTC).date()),
    )
    try:
        last = datetime.fromtimestamp(int(slots[-1]) + interval, tz=UTC)
        first = datetime.fromtimestamp(int(slots[0]), tz=UTC)
        return import_range(
            cluster,
            source,
            first,
            last,
            interval,
            chunk_slots=max(1, 600 // interval),
            queue=False,
            deadline=time.monotonic() + interval / 2,
        )
    finally:
        source.client.close()
