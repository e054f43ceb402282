"""Recomputes many cluster-days across workers: one task per cluster-day, then one apportionment per day.

The serial path (costing.compute.recompute_day) computes every cluster of a day and apportions it in one
transaction. Here each cluster-day is its own task on the compute queue, so N workers take N cluster-days
at once; the departments of a day are apportioned once, by whichever task of that day finishes last.

Nothing is counted, so nothing can be counted twice or lost. Two marks on ClusterDay carry the state:

- `queued_at`: a compute task was sent for the cluster-day and has not run yet. fan_out sets it in the
  transaction that sends the tasks (sent on commit); the task clears it in the transaction that stores
  the cluster-day's results.
- `apportion_pending`: the cluster-day's results changed since the day was last apportioned. Set in that
  same transaction; apportion_day clears it for the whole day.

A task, after its commit, apportions the day if no cluster-day of the day is still queued and one is
pending. Read committed makes the last one see the others' commits (each commits before it looks), so at
least one task apportions; two that finish together both may, and the second finds nothing pending under
apportion_day's row locks. A task that dies is redelivered (acks_late, reject_on_worker_lost) and computes
again (the compute replaces its rows); a task the broker lost leaves `queued_at` behind, and the sweep
(recompute_dirty_days) sends it again after STALE_AFTER, and apportions any day left pending with nothing
queued. `dirty` keeps its meaning: inputs changed since the cluster part was computed.

While a day's tasks run, pages can show the new cluster figures beside the old departments of that day,
for the seconds until its apportionment (the serial path never shows that: one transaction).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from costing.billing.attribution_db import reattribute
from costing.compute import apportion_day, clusters_of_day, compute_cluster_day, day_bounds, day_runs
from costing.models import Cluster, ClusterDay

# A queued cluster-day not computed by then is sent again by the sweep (its message was lost): longer
# than the longest wait in the compute queue after a large change.
STALE_AFTER = timedelta(minutes=30)


def fan_out(pairs: Iterable[tuple[date, int]], *, queue: str | None = None) -> int:
    """Queue one compute task per (day, cluster_id) once this transaction commits; returns how many.

    Bill lines of each day are attributed again first (as recompute_day does), so the tasks read the
    attribution of now. `queue` overrides the route (tests send to a worker of their own)."""
    by_day: dict[date, set[int]] = {}
    for day, cluster_id in pairs:
        by_day.setdefault(day, set()).add(cluster_id)
    # Bill lines attributed again once per run of consecutive days, not once per day: a line of a month
    # overlaps every day of it.
    for first, last in day_runs(sorted(by_day)):
        reattribute(day_bounds(first)[0], day_bounds(last)[1])
    for day in sorted(by_day):
        ids = sorted(by_day[day])
        # A transaction per day: the workers start on the first day while the next ones are prepared.
        with transaction.atomic():
            ClusterDay.objects.bulk_create(
                [ClusterDay(cluster_id=c, day=day) for c in ids], ignore_conflicts=True
            )
            ClusterDay.objects.filter(day=day, cluster_id__in=ids).update(queued_at=timezone.now())
            sent = [(c, day) for c in ids]
            transaction.on_commit(lambda sent=sent: _send(sent, queue))
    return sum(len(ids) for ids in by_day.values())


def _send(pairs: list[tuple[int, date]], queue: str | None) -> None:
    from costing.tasks.compute import compute_cluster_day_task

    options = {"queue": queue} if queue else {}
    for cluster_id, day in pairs:
        compute_cluster_day_task.apply_async(args=(cluster_id, day.isoformat()), **options)


def fan_out_period(start: date, end: date, cluster: str | None = None, *, queue: str | None = None) -> int:
    """Queue every cluster-day of [start, end) with data (or of one cluster); returns how many."""
    only = [Cluster.objects.get(name=cluster).pk] if cluster is not None else None
    pairs = []
    day = start
    while day < end:
        pairs += [(day, c) for c in (only if only is not None else clusters_of_day(day))]
        day += timedelta(days=1)
    return fan_out(pairs, queue=queue)


def compute_queued(cluster_id: int, day: date) -> bool:
    """Compute one cluster-day of a fan-out, then apportion its day if it was the last one queued.

    Safe to run twice (a redelivered or duplicate task computes again). Returns whether this run
    apportioned the day."""
    with transaction.atomic():
        compute_cluster_day(cluster_id, day)
        ClusterDay.objects.filter(cluster_id=cluster_id, day=day).update(
            queued_at=None, apportion_pending=True
        )
    return finish_day(day)


def finish_day(day: date) -> bool:
    """Apportion the day if one of its cluster-days waits for it and none is still queued."""
    if ClusterDay.objects.filter(day=day, queued_at__isnull=False).exists():
        return False
    if not ClusterDay.objects.filter(day=day, apportion_pending=True).exists():
        return False
    with transaction.atomic():
        # The row locks apportion_day takes too, in its order: a second finisher waits here, then sees
        # the flags the first one cleared.
        pending = ClusterDay.objects.select_for_update().filter(day=day).order_by("cluster_id")
        if not any(pending.values_list("apportion_pending", flat=True)):
            return False
        apportion_day(day)
    return True


def fan_out_dirty(batch: int, *, queue: str | None = None) -> tuple[int, int]:
    """The sweep in fan-out mode: send up to `batch` dirty cluster-days not queued (or queued longer than
    STALE_AFTER: the message was lost), and apportion the days left pending with nothing queued.
    Returns (cluster-days sent, days apportioned)."""
    stale = timezone.now() - STALE_AFTER
    waiting = Q(queued_at__isnull=True) | Q(queued_at__lt=stale)
    pairs = list(
        ClusterDay.objects.filter(Q(dirty=True) & waiting | Q(queued_at__lt=stale))
        .order_by("day", "cluster_id")
        .values_list("day", "cluster_id")[:batch]
    )
    sent = fan_out(pairs, queue=queue) if pairs else 0
    sent_days = {day for day, _ in pairs}
    days = (
        ClusterDay.objects.filter(apportion_pending=True)
        .exclude(day__in=sent_days)
        .values_list("day", flat=True)
        .distinct()
        .order_by("day")
    )
    apportioned = sum(finish_day(day) for day in list(days))
    return sent, apportioned
