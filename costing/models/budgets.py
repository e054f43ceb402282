"""What each subject may spend: effective-dated budget plans, and the alerts raised against them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from costing.choices import AlertKind, BudgetPeriod, ChannelKind, DeliveryStatus, SubjectKind
from costing.secrets import EncryptedTextField

from .base import MONEY
from .policy import Department


class BudgetPlan(models.Model):
    """The budgets in force from `effective_from` until the next plan's date (like the policy)."""

    effective_from = models.DateField(unique=True)
    comment = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("budget plan")
        verbose_name_plural = _("budget plans")
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        return f"Budgets from {self.effective_from:%Y-%m-%d}"


class Budget(models.Model):
    """One subject's amount per period (month, quarter or year) under one plan, and its alert thresholds."""

    plan = models.ForeignKey(BudgetPlan, on_delete=models.CASCADE, related_name="budgets")
    subject_kind = models.CharField(max_length=20, choices=SubjectKind.choices)
    # The department, namespace or cluster name; empty for the organisation.
    subject = models.CharField(max_length=253, blank=True, default="")
    period = models.CharField(max_length=10, choices=BudgetPeriod.choices, default=BudgetPeriod.MONTH)
    amount = models.DecimalField(max_digits=20, decimal_places=2, validators=[MinValueValidator(0)])
    thresholds = models.JSONField(default=list, help_text="percents of the amount, e.g. [80, 100]")
    position = models.PositiveIntegerField(default=0, help_text="order in the budget file")

    class Meta:
        verbose_name = _("budget")
        verbose_name_plural = _("budgets")
        ordering = ["plan", "position", "subject_kind", "subject"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "subject_kind", "subject", "period"], name="budget_unique_subject_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject_kind} {self.subject or '(all)'} {self.period}: {self.amount}"

    def clean(self):
        """The rules of the budget file (costing/budgets/yamlfile.py) for a budget set in the admin."""
        errors = {}
        if self.subject_kind == SubjectKind.WORKLOAD:
            errors["subject_kind"] = "budgets are set per organisation, department, namespace or cluster"
        if self.subject_kind == SubjectKind.ORGANISATION and self.subject:
            errors["subject"] = "leave it empty for the organisation"
        elif self.subject_kind != SubjectKind.ORGANISATION and not self.subject:
            errors["subject"] = f"name the {self.subject_kind}"
        try:
            values = [Decimal(str(t)) for t in self.thresholds]
            if any(not 0 < v <= 1000 for v in values) or len(set(values)) != len(values):
                raise ValueError
        except (TypeError, ValueError, ArithmeticError):
            errors["thresholds"] = "a list of distinct percents above 0 and at most 1000, e.g. [80, 100]"
        if errors:
            raise ValidationError(errors)


class AlertChannel(models.Model):
    """Where alerts go: an e-mail list or a webhook; limited to one department's alerts, or all of them."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    # Comma-separated addresses for e-mail; the URL for a webhook. The URL of a bot carries its token:
    # encrypted at rest, never shown, logged nor copied into the delivery log (which names the channel).
    target = EncryptedTextField()
    # The signing secret of a Feishu/Lark or DingTalk bot with the "signature" security setting; empty: none.
    secret = EncryptedTextField(blank=True, default="")
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alert_channels",
        help_text="only this department's alerts; empty: every alert",
    )
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("alert channel")
        verbose_name_plural = _("alert channels")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Alert(models.Model):
    """One alert: raised once per subject, kind, threshold and period, whatever recomputes the days."""

    kind = models.CharField(max_length=10, choices=AlertKind.choices)
    subject_kind = models.CharField(max_length=20, choices=SubjectKind.choices)
    subject = models.CharField(max_length=600, blank=True, default="")
    # The department the subject belonged to when the alert was raised: who may see and receive it.
    department = models.CharField(max_length=200, blank=True, default="")
    period_start = models.DateField()
    period_end = models.DateField(help_text="exclusive; an anomaly's period is its day")
    # Percent of the budget for budget and forecast alerts; 0 for anomalies.
    threshold = models.DecimalField(max_digits=7, decimal_places=2, default=0)
    as_of = models.DateField(help_text="the last computed day the alert was evaluated with")
    actual = models.DecimalField(**MONEY)
    forecast = models.DecimalField(null=True, blank=True, max_digits=20, decimal_places=8)
    forecast_low = models.DecimalField(null=True, blank=True, max_digits=20, decimal_places=8)
    forecast_high = models.DecimalField(null=True, blank=True, max_digits=20, decimal_places=8)
    budget = models.DecimalField(null=True, blank=True, max_digits=20, decimal_places=2)
    expected = models.DecimalField(null=True, blank=True, max_digits=20, decimal_places=8)
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject_kind", "subject", "period_start", "period_end", "threshold"],
                name="alert_once_per_subject_threshold_period",
            )
        ]
        indexes = [models.Index(fields=["department", "created_at"], name="alert_department")]

    def __str__(self) -> str:
        return self.message


class AlertDelivery(models.Model):
    """One alert sent to one channel (or one viewer's address): the delivery log, with its retries."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(
        AlertChannel, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    # The channel's name, or the viewer's e-mail address; never a webhook URL (it carries a token).
    recipient = models.CharField(max_length=320)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("alert delivery")
        verbose_name_plural = _("alert deliveries")
        ordering = ["alert", "recipient"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "kind", "recipient"], name="alertdelivery_unique_recipient"
            )
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} -> {self.recipient}: {self.status}"
