"""History for the demo cluster: the simulator's samples of past days, through the one recorder."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from django.utils import timezone

from costing.choices import SampleSource
from costing.demo.simulator import DemoCluster
from costing.models import SampleSlot
from costing.recording import NAMESPACE_COLUMNS, RecordResult, floor_slot, record_samples

DAY = 86400


def backfill_demo(
    cluster,
    days: int = 30,
    *,
    now: datetime | None = None,
    write: Callable[[str], None] | None = None,
) -> RecordResult:
    """Record the simulator's samples of the `days` whole UTC days before today and of today up to now.

    A day whose slots are all recorded already is skipped without simulating it, and slots recorded
    already (by an earlier backfill or by the live task) add nothing, so running it again is cheap and
    never counts a minute twice. Each day is one transaction: an interrupted backfill resumes.
    The slots are those the live task would take: multiples of the interval since the epoch.
    """
    if days < 0:
        raise ValueError(f"days must not be negative, not {days}")
    now = now or timezone.now()
    interval = cluster.sampling_interval
    simulator = DemoCluster(cluster.name, cluster.simulator_seed)
    namespaces = pd.DataFrame(
        [(ns.name, ns.labels) for ns in simulator.namespaces()], columns=NAMESPACE_COLUMNS
    )
    today = now.astimezone(UTC).date()
    current_slot = floor_slot(now, interval)
    total = RecordResult()
    spans = [(today - timedelta(days=back), None) for back in range(days, 0, -1)]
    spans.append((today, current_slot))  # today: up to the slot the live task samples now
    for day, until in spans:
        start = _day_start(day)
        first = _ceil_slot(start, interval)
        end = until or start + timedelta(days=1)
        expected = _slot_count(first, end, interval)
        if expected == 0:
            continue
        have = SampleSlot.objects.filter(cluster=cluster, slot__gte=first, slot__lt=end).count()
        if have >= expected:
            if write:
                write(f"{day}: already recorded")
            continue
        started = time.perf_counter()
        nodes, pods, containers = simulator.frames(first, end, interval, containers=True)
        result = record_samples(
            cluster,
            nodes,
            simulator.with_claims(pods),
            namespaces,
            interval=interval,
            source=SampleSource.SIMULATOR,
            strict=False,
            containers=containers,
            volumes=simulator.volume_frame(first, end, interval),
            load_balancers=simulator.load_balancer_frame(first, end, interval),
        )
        total += result
        if write:
            write(
                f"{day}: {result.slots} slots, {result.pod_samples:,} pod samples "
                f"({result.duplicate_slots} already there) in {time.perf_counter() - started:.1f} s"
            )
    return total


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _ceil_slot(t: datetime, interval: int) -> datetime:
    floor = floor_slot(t, interval)
    return floor if floor == t else floor + timedelta(seconds=interval)


def _slot_count(first: datetime, end: datetime, interval: int) -> int:
    span = (end - first).total_seconds()
    return max(0, -(-int(span) // interval))
