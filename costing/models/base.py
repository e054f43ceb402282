"""Field groups that several tables share: resource-hours and what they cost."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 20, "decimal_places": 8, "default": 0}


class ResourceHours(models.Model):
    """Requested, used and billable resource-hours (billable = max(usage, request) per sample, summed)."""

    cpu_request_core_hours = models.FloatField(default=0, verbose_name=_("CPU request core hours"))
    cpu_usage_core_hours = models.FloatField(default=0, verbose_name=_("CPU usage core hours"))
    cpu_billable_core_hours = models.FloatField(default=0, verbose_name=_("CPU billable core hours"))
    mem_request_gib_hours = models.FloatField(default=0, verbose_name=_("memory request GiB hours"))
    mem_usage_gib_hours = models.FloatField(default=0, verbose_name=_("memory usage GiB hours"))
    mem_billable_gib_hours = models.FloatField(default=0, verbose_name=_("memory billable GiB hours"))

    class Meta:
        abstract = True


class GpuHours(models.Model):
    """Requested, used and billable GPU device-hours (a MIG slice counts as its fraction of a device)."""

    gpu_request_hours = models.FloatField(default=0, db_default=0, verbose_name=_("GPU request hours"))
    gpu_usage_hours = models.FloatField(default=0, db_default=0, verbose_name=_("GPU usage hours"))
    gpu_billable_hours = models.FloatField(default=0, db_default=0, verbose_name=_("GPU billable hours"))

    class Meta:
        abstract = True


class AllocatedCost(models.Model):
    """What was charged: CPU, memory, GPU and storage parts, their sum, and the estimated part of it."""

    cpu_cost = models.DecimalField(**MONEY, verbose_name=_("CPU cost"))
    mem_cost = models.DecimalField(**MONEY, verbose_name=_("memory cost"))
    gpu_cost = models.DecimalField(**MONEY, db_default=0, verbose_name=_("GPU cost"))
    # Persistent volumes' disks: of the pods mounting them, plus a namespace's unmounted claims.
    storage_cost = models.DecimalField(**MONEY, db_default=0, verbose_name=_("storage cost"))
    cost = models.DecimalField(**MONEY, verbose_name=_("cost"))
    estimated_cost = models.DecimalField(
        **MONEY, verbose_name=_("estimated cost")
    )  # the part of cost priced from the fallback sheet

    class Meta:
        abstract = True
