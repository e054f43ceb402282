"""Signal handlers of the cost domain (Django's and Celery's), connected in CostingConfig.ready."""

from __future__ import annotations

from django.utils import timezone

from costing.collectors.sampling import SAMPLE_TASK, remove_sampling_schedule, sync_sampling_schedule
from costing.models import Cluster


def cluster_saved(sender, instance: Cluster, raw: bool = False, **kwargs) -> None:
    # Beat runs one sampling task per cluster: created, re-timed or paused with the cluster, in the same
    # transaction as the save. Not while loading fixtures (raw).
    if raw:
        return
    sync_sampling_schedule(instance)


def cluster_deleted(sender, instance: Cluster, **kwargs) -> None:
    remove_sampling_schedule(instance.pk)


def stamp_sample_slot(sender=None, body=None, **kwargs) -> None:
    """Celery's before_task_publish: a sample message sent without a slot gets the time it is sent.

    Beat sends `sample_cluster(cluster_id)`; without the stamp, a run that waited in the queue would
    sample the slot it starts in, taking that slot twice and skipping its own.
    """
    if sender != SAMPLE_TASK or not isinstance(body, tuple | list) or len(body) < 2:
        return
    args, task_kwargs = body[0], body[1]
    if len(args) < 2 and isinstance(task_kwargs, dict) and not task_kwargs.get("slot_iso"):
        task_kwargs["slot_iso"] = timezone.now().isoformat()
