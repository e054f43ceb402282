"""Who pays: effective-dated apportionment policies, departments and their namespace rules."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from costing.choices import PoolMethod, Scope, SplitMethod

PRICE = {"max_digits": 20, "decimal_places": 10}


class Department(models.Model):
    """A cost owner. Lives across policies; each policy says which namespaces it owns."""

    name = models.CharField(max_length=200, unique=True, verbose_name=_("name"))
    viewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="departments",
        help_text=_("Department viewers who may see this department's costs."),
        verbose_name=_("viewers"),
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Policy(models.Model):
    """The apportionment policy in force from `effective_from` until the next policy's date."""

    effective_from = models.DateField(unique=True, verbose_name=_("effective from"))
    currency = models.CharField(max_length=3, default="EUR", verbose_name=_("currency"))
    split_method = models.CharField(
        max_length=20,
        choices=SplitMethod.choices,
        default=SplitMethod.COST_SHARE,
        verbose_name=_("split method"),
    )
    cpu_share = models.DecimalField(
        max_digits=6, decimal_places=5, default=Decimal("0.5"), verbose_name=_("CPU share")
    )
    price_ratio = models.DecimalField(
        max_digits=10, decimal_places=5, default=Decimal("7.46"), verbose_name=_("price ratio")
    )
    gpu_price_ratio = models.DecimalField(
        max_digits=10,
        decimal_places=5,
        default=Decimal(30),
        help_text=_("a GPU-hour costs this many core-hours"),
        verbose_name=_("GPU price ratio"),
    )
    gpu_instance_types = models.JSONField(
        default=list,
        blank=True,
        help_text=_('[{"instance_type", "share" or "price_ratio"}], numbers as text'),
        verbose_name=_("GPU instance types"),
    )
    gpu_resources = models.JSONField(
        default=list,
        blank=True,
        help_text=_('extended resources counted as GPUs: [{"name", "devices"}]'),
        verbose_name=_("GPU resources"),
    )
    namespace_label_key = models.CharField(
        max_length=200, blank=True, default="", verbose_name=_("namespace label key")
    )
    shared_namespaces = models.JSONField(
        default=list, blank=True, help_text=_("Names or glob patterns."), verbose_name=_("shared namespaces")
    )
    shared_method = models.CharField(
        max_length=20,
        choices=PoolMethod.choices,
        default=PoolMethod.PROPORTIONAL,
        verbose_name=_("shared method"),
    )
    shared_scope = models.CharField(
        max_length=10, choices=Scope.choices, default=Scope.CLUSTER, verbose_name=_("shared scope")
    )
    idle_method = models.CharField(
        max_length=20,
        choices=PoolMethod.choices,
        default=PoolMethod.PROPORTIONAL,
        verbose_name=_("idle method"),
    )
    # Blank: idle GPU is divided like idle (policies from before it had a rule of its own).
    gpu_idle_method = models.CharField(
        max_length=20,
        choices=PoolMethod.choices,
        blank=True,
        default="",
        db_default="",
        verbose_name=_("idle GPU method"),
    )
    overhead_method = models.CharField(
        max_length=20,
        choices=PoolMethod.choices,
        default=PoolMethod.PROPORTIONAL,
        verbose_name=_("overhead method"),
    )
    overhead_scope = models.CharField(
        max_length=10, choices=Scope.choices, default=Scope.CLUSTER, verbose_name=_("overhead scope")
    )
    # The policy file's `rightsizing` section (costing.policy.RightsizingSpec.as_json); {}: the defaults.
    rightsizing = models.JSONField(default=dict, blank=True, verbose_name=_("rightsizing"))
    comment = models.TextField(blank=True, default="", verbose_name=_("comment"))
    # The Optimise view's pay-per-use price sheet (costing.policy.spec.PayPerUseSheet), numbers as text so
    # that they stay exact; null: none set.
    pay_per_use = models.JSONField(null=True, blank=True, default=None, verbose_name=_("pay per use"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("policy")
        verbose_name_plural = _("policies")
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        return f"Policy from {self.effective_from:%Y-%m-%d}"


class DepartmentRule(models.Model):
    """What one department owns under one policy, and its weight for `weights` pools."""

    policy = models.ForeignKey(
        Policy, on_delete=models.CASCADE, related_name="department_rules", verbose_name=_("policy")
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="rules", verbose_name=_("department")
    )
    namespaces = models.JSONField(
        default=list, blank=True, help_text=_("Explicit namespace names."), verbose_name=_("namespaces")
    )
    patterns = models.JSONField(
        default=list, blank=True, help_text=_("Glob patterns, e.g. pay-*."), verbose_name=_("patterns")
    )
    label_value = models.CharField(max_length=200, blank=True, default="", verbose_name=_("label value"))
    weight = models.DecimalField(
        max_digits=9,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        verbose_name=_("weight"),
    )
    # The order of the policy file: a tie between equally specific patterns goes to the first department.
    position = models.PositiveIntegerField(default=0, verbose_name=_("position"))

    class Meta:
        verbose_name = _("department rule")
        verbose_name_plural = _("department rules")
        ordering = ["policy", "position", "department__name"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "department"], name="departmentrule_unique_department")
        ]

    def __str__(self) -> str:
        return f"{self.department} under {self.policy}"


class TagRule(models.Model):
    """A bill line carrying this tag belongs to the cluster (value empty: the key alone is enough)."""

    policy = models.ForeignKey(
        Policy, on_delete=models.CASCADE, related_name="tag_rules", verbose_name=_("policy")
    )
    cluster_name = models.CharField(max_length=100, verbose_name=_("cluster name"))
    key = models.CharField(max_length=500, verbose_name=_("key"))
    value = models.CharField(max_length=500, null=True, blank=True, verbose_name=_("value"))
    position = models.PositiveIntegerField(
        default=0, help_text=_("order in the policy file"), verbose_name=_("position")
    )

    class Meta:
        verbose_name = _("tag rule")
        verbose_name_plural = _("tag rules")
        ordering = ["policy", "position", "cluster_name", "key"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "cluster_name", "key", "value"], name="tagrule_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value or '*'} -> {self.cluster_name}"


class FallbackPrice(models.Model):
    """Prices for node-hours that have no bill line yet; blank instance type is the default row."""

    policy = models.ForeignKey(
        Policy, on_delete=models.CASCADE, related_name="fallback_prices", verbose_name=_("policy")
    )
    instance_type = models.CharField(max_length=100, blank=True, default="", verbose_name=_("instance type"))
    cpu_core_hour = models.DecimalField(
        validators=[MinValueValidator(0)], **PRICE, verbose_name=_("CPU core hour")
    )
    mem_gib_hour = models.DecimalField(
        validators=[MinValueValidator(0)], **PRICE, verbose_name=_("memory GiB hour")
    )
    gpu_hour = models.DecimalField(
        validators=[MinValueValidator(0)], null=True, blank=True, **PRICE, verbose_name=_("GPU hour")
    )
    position = models.PositiveIntegerField(
        default=0, help_text=_("order in the policy file"), verbose_name=_("position")
    )

    class Meta:
        verbose_name = _("fallback price")
        verbose_name_plural = _("fallback prices")
        ordering = ["policy", "position", "instance_type"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "instance_type"], name="fallbackprice_unique_type")
        ]

    def __str__(self) -> str:
        return f"{self.instance_type or 'default'}: {self.cpu_core_hour}/core-h, {self.mem_gib_hour}/GiB-h"
