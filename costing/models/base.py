"""Field groups that several tables share: resource-hours and what they cost."""

from __future__ import annotations

from django.db import models

MONEY = {"max_digits": 20, "decimal_places": 8, "default": 0}


class ResourceHours(models.Model):
    """Requested, used and billable resource-hours (billable = max(usage, request) per sample, summed)."""

    cpu_request_core_hours = models.FloatField(default=0)
    cpu_usage_core_hours = models.FloatField(default=0)
    cpu_billable_core_hours = models.FloatField(default=0)
    mem_request_gib_hours = models.FloatField(default=0)
    mem_usage_gib_hours = models.FloatField(default=0)
    mem_billable_gib_hours = models.FloatField(default=0)

    class Meta:
        abstract = True


class GpuHours(models.Model):
    """Requested, used and billable GPU device-hours (a MIG slice counts as its fraction of a device)."""

    gpu_request_hours = models.FloatField(default=0, db_default=0)
    gpu_usage_hours = models.FloatField(default=0, db_default=0)
    gpu_billable_hours = models.FloatField(default=0, db_default=0)

    class Meta:
        abstract = True


class AllocatedCost(models.Model):
    """What was charged: CPU, memory, GPU and storage parts, their sum, and the estimated part of it."""

    cpu_cost = models.DecimalField(**MONEY)
    mem_cost = models.DecimalField(**MONEY)
    gpu_cost = models.DecimalField(**MONEY, db_default=0)
    # Persistent volumes' disks: of the pods mounting them, plus a namespace's unmounted claims.
    storage_cost = models.DecimalField(**MONEY, db_default=0)
    cost = models.DecimalField(**MONEY)
    estimated_cost = models.DecimalField(**MONEY)  # the part of cost priced from the fallback sheet

    class Meta:
        abstract = True
