"""Sampling tasks: one sample of a cluster per slot, the sweep of missed slots, the pruning of old hours.

Thin: the work is in costing/collectors/sampling.py. What stays here is Celery's part: which slot a
message stands for, and when a database error is worth another try.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from costing.collectors.sampling import SAMPLE_TASK, give_up, slot_of, sweep_missed_slots, take_sample
from costing.folding import fold_closed_hours
from costing.recording import prune_usage

logger = logging.getLogger(__name__)

PRUNE_TASK = "costing.prune_usage"
FOLD_TASK = "costing.fold_minutes"
SWEEP_TASK = "costing.sweep_missed_slots"
MAX_RETRIES = 3


@shared_task(name=SAMPLE_TASK, bind=True, ignore_result=True, acks_late=True, max_retries=MAX_RETRIES)
def sample_cluster(self, cluster_id: int, slot_iso: str | None = None) -> str:
    """Sample the cluster for one slot: the time the run was sent (or now) floored to the cluster's interval.

    Every message carries the time it was sent (costing.signals.stamp_sample_slot), so a run that starts
    late still records the slot it was sent for, never the current one. Safe to run twice, late or
    concurrently for the same slot: the slot is recorded once. Retried (with the same slot) on transient database errors,
    the cluster lookup included, while the retry can still start before the message expires; then the
    slot is given up as a gap. An unreachable cluster is a gap, not an error.
    """
    when = datetime.fromisoformat(slot_iso) if slot_iso else timezone.now()
    slot = None
    try:
        slot = slot_of(cluster_id, when)
        if slot is None:
            return "skipped"
        return take_sample(cluster_id, slot)
    except (OperationalError, InterfaceError) as error:
        # Deadlock, serialization failure, a locked SQLite file, a dropped connection or a database that
        # is down: the transaction rolled back, so trying the same slot again is safe.
        countdown = 2**self.request.retries
        if self.request.retries < self.max_retries and retry_starts_in_time(self.request.expires, countdown):
            raise self.retry(args=(cluster_id, when.isoformat()), countdown=countdown, exc=error) from None
        _give_up(cluster_id, slot, f"not sampled: database error ({type(error).__name__})")
        raise


def retry_starts_in_time(expires: datetime | str | None, countdown: int, now: datetime | None = None) -> bool:
    """Whether a retry in `countdown` seconds starts before the message expires (the slot's deadline: beat
    sends a sample message within its slot, expiring one interval later). A retry after it would be
    dropped by the worker without a word; a message without expiry (sent by hand) has no deadline."""
    if not expires:
        return True
    if isinstance(expires, str):
        expires = datetime.fromisoformat(expires)
    return (now or timezone.now()) + timedelta(seconds=countdown) < expires


def _give_up(cluster_id: int, slot: datetime | None, reason: str) -> None:
    # The database may still be down: then the sweep records the slot once it is back.
    if slot is None:
        return
    try:
        give_up(cluster_id, slot, reason)
    except (OperationalError, InterfaceError):
        logger.warning("cluster %s slot %s: given up, left to the sweep", cluster_id, slot.isoformat())


@shared_task(name=SWEEP_TASK, ignore_result=True, acks_late=True)
def sweep_missed_slots_task() -> dict[str, int]:
    """Beat, every 5 minutes: record the slots no run sampled (worker, broker or database down) as gaps."""
    return sweep_missed_slots()


@shared_task(name=PRUNE_TASK, ignore_result=True, acks_late=True)
def prune_usage_task() -> dict[str, int]:
    """Drop slot and hourly rows older than FINOPS_HOURLY_RETENTION_DAYS (days awaiting recompute stay)."""
    deleted = prune_usage()
    logger.info("pruned usage rows: %s", deleted)
    return deleted


@shared_task(name=FOLD_TASK, ignore_result=True, acks_late=True)
def fold_minutes_task() -> dict[str, int]:
    """Beat, every 5 minutes: fold the live samples' staged minutes of the hours that have closed into those
    hours (costing/folding.py). Safe to run twice or at once: each fold moves its minutes in one transaction."""
    return fold_closed_hours()
