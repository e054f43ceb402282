"""Celery tasks of the cost domain, one module per family; Celery's autodiscovery imports this package."""

from .alerts import evaluate_alerts
from .billing import import_bill
from .compute import compute_cluster_day_task, prune_results, recompute_day, recompute_dirty_days
from .operations import ensure_partitions_task, worker_heartbeat
from .sampling import fold_minutes_task, prune_usage_task, sample_cluster, sweep_missed_slots_task

__all__ = [
    "compute_cluster_day_task",
    "ensure_partitions_task",
    "evaluate_alerts",
    "fold_minutes_task",
    "import_bill",
    "prune_results",
    "prune_usage_task",
    "recompute_day",
    "recompute_dirty_days",
    "sample_cluster",
    "sweep_missed_slots_task",
    "worker_heartbeat",
]
