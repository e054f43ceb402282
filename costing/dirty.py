"""Mark cluster-days whose inputs changed, so that the recompute task computes them again (and only them)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from kombu.exceptions import OperationalError

from costing.models import ClusterDay

log = logging.getLogger(__name__)

# Marks within this many seconds share one queued recompute: a burst of late samples or a bill import
# marks many times in a row; the one recompute that runs takes every day dirty by then.
QUEUE_WINDOW_SECONDS = 10
QUEUED_KEY = "costing:recompute-queued"
# Rounds of DIRTY_BATCH cluster-days the queued recompute takes before it leaves the rest to the sweep.
QUEUED_ROUNDS = 10


def mark_days_dirty(cluster_ids: Iterable[int], days: Iterable[date], *, queue: bool = True) -> int:
    """Flag every (cluster, day) pair as dirty, creating the rows that do not exist yet.

    Producers of inputs call this inside their own transaction (new samples for a past hour, a new or
    corrected bill, a policy change), so a day is never flagged for rows that are not committed.
    Once the transaction commits, a recompute is queued at once (queue_recompute), so the pages show
    the new figures within a minute instead of at the next 5-minute sweep. Sampling (every minute's
    sample, its gaps, the sweep of missed slots) passes `queue=False`: the running day it adds to is the
    sweep's, or every sample of every cluster would recompute its day. Returns the number of pairs flagged.
    """
    cluster_ids = sorted(set(cluster_ids))
    days = sorted(set(days))
    if not cluster_ids or not days:
        return 0
    # Every mark bumps dirty_version, also on a day already dirty: a recompute that is running reads the
    # version when it starts and leaves the day dirty if a mark came in meanwhile (costing.compute).
    ClusterDay.objects.filter(cluster_id__in=cluster_ids, day__in=days).update(
        dirty=True, dirty_version=F("dirty_version") + 1
    )
    existing = set(
        ClusterDay.objects.filter(cluster_id__in=cluster_ids, day__in=days).values_list("cluster_id", "day")
    )
    missing = [
        ClusterDay(cluster_id=c, day=d, dirty=True)
        for c in cluster_ids
        for d in days
        if (c, d) not in existing
    ]
    ClusterDay.objects.bulk_create(missing, ignore_conflicts=True)
    if queue:
        transaction.on_commit(queue_recompute)
    return len(cluster_ids) * len(days)


def queue_recompute() -> bool:
    """Queue the recompute of the dirty days now, unless one was queued in the last few seconds.

    Returns whether a task was sent. A broker that cannot be reached is logged, not raised: the day is
    marked already, and the 5-minute sweep computes it."""
    from costing.tasks.compute import recompute_dirty_days

    if not cache.add(QUEUED_KEY, True, timeout=QUEUE_WINDOW_SECONDS):
        return False
    try:
        recompute_dirty_days.apply_async(kwargs={"rounds": QUEUED_ROUNDS}, retry=False)
    except OperationalError as exc:
        cache.delete(QUEUED_KEY)
        log.warning("could not queue the recompute of dirty days (the sweep will): %s", exc)
        return False
    return True
