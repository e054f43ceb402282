"""Celery tasks of the cost domain, one module per family; Celery's autodiscovery imports this package."""

from .operations import worker_heartbeat
from .sampling import prune_usage_task, sample_cluster

__all__ = ["prune_usage_task", "sample_cluster", "worker_heartbeat"]
