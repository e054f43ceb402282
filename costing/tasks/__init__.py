"""Celery tasks of the cost domain, one module per family; Celery's autodiscovery imports this package."""

from .billing import import_bill
from .operations import worker_heartbeat

__all__ = ["import_bill", "worker_heartbeat"]
