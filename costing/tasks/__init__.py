"""Celery tasks of the cost domain, one module per family; Celery's autodiscovery imports this package."""

from .operations import worker_heartbeat

__all__ = ["worker_heartbeat"]
