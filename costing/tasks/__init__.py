"""Celery tasks of the cost domain, one module per family; Celery's autodiscovery imports this package."""

from .compute import prune_results, recompute_day, recompute_dirty_days
from .operations import worker_heartbeat

__all__ = ["prune_results", "recompute_day", "recompute_dirty_days", "worker_heartbeat"]
