"""What each subject may spend: effective-dated budget plans, and the alerts raised against them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from costing.choices import AlertKind, BudgetPeriod, ChannelKind, DeliveryStatus, SubjectKind
from costing.secrets import EncryptedTextField

from .base import MONEY
from .policy import Department


class BudgetPlan(models.Model):
    """The budgets in force from `effective_from` until the next plan's date (like the policy)."""

    effective_from = models.DateField(unique=True, verbose_name=_("effective from"))
    comment = models.TextField(blank=True, default="", verbose_name=_("comment"))
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
        verbose_name = _("budget plan")
        verbose_name_plural = _("budget plans")
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        return f"Budgets from {self.effective_from:%Y-%m-%d}"


class Budget(models.Model):
    """One subject's amount per period (month, quarter or year) under one plan, and its alert thresholds."""

    plan = models.ForeignKey(
        BudgetPlan, on_delete=models.CASCADE, related_name="budgets", verbose_name=_("plan")
    )
    subject_kind = models.CharField(
        max_length=20, choices=SubjectKind.choices, verbose_name=_("subject kind")
    )
    # The department, namespace or cluster name; empty for the organisation.
    subject = models.CharField(max_length=253, blank=True, default="", verbose_name=_("subject"))
    period = models.CharField(
        max_length=10, choices=BudgetPeriod.choices, default=BudgetPeriod.MONTH, verbose_name=_("period")
    )
    amount = models.DecimalField(
        max_digits=20, decimal_places=2, validators=[MinValueValidator(0)], verbose_name=_("amount")
    )
    thresholds = models.JSONField(
        default=list, help_text=_("percents of the amount, e.g. [80, 100]"), verbose_name=_("thresholds")
    )
    position = models.PositiveIntegerField(
        default=0, help_text=_("order in the budget file"), verbose_name=_("position")
    )

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
            errors["subject_kind"] = gettext(
                "budgets are set per organisation, department, namespace or cluster"
            )
        if self.subject_kind == SubjectKind.ORGANISATION and self.subject:
            errors["subject"] = gettext("leave it empty for the organisation")
        elif self.subject_kind != SubjectKind.ORGANISATION and not self.subject:
            errors["subject"] = gettext("name the %(kind)s") % {
                "kind": str(self.get_subject_kind_display()).lower()
            }
        try:
            values = [Decimal(str(t)) for t in self.thresholds]
            if any(not 0 < v <= 1000 for v in values) or len(set(values)) != len(values):
                raise ValueError
        except (TypeError, ValueError, ArithmeticError):
            errors["thresholds"] = gettext(
                "a list of distinct percents above 0 and at most 1000, e.g. [80, 100]"
            )
        if errors:
            raise ValidationError(errors)


class AlertChannel(models.Model):
    """Where alerts go: an e-mail list or a webhook; limited to one department's alerts, or all of them."""

    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    kind = models.CharField(max_length=10, choices=ChannelKind.choices, verbose_name=_("kind"))
    # Comma-separated addresses for e-mail; the URL for a webhook. The URL of a bot carries its token:
    # encrypted at rest, never shown, logged nor copied into the delivery log (which names the channel).
    target = EncryptedTextField(verbose_name=_("target"))
    # The signing secret of a Feishu/Lark or DingTalk bot with the "signature" security setting; empty: none.
    secret = EncryptedTextField(blank=True, default="", verbose_name=_("secret"))
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alert_channels",
        help_text=_("only this department's alerts; empty: every alert"),
        verbose_name=_("department"),
    )
    active = models.BooleanField(default=True, verbose_name=_("active"))
    # A webhook or a bot has no user to ask: its messages are in this language (docs/i18n.md).
    language = models.CharField(
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
        verbose_name=_("language"),
        help_text=_(
            "The language of its webhook messages, and of its e-mails to addresses without a user "
            "who chose one; empty: FINOPS_LANGUAGE."
        ),
    )

    class Meta:
        verbose_name = _("alert channel")
        verbose_name_plural = _("alert channels")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Alert(models.Model):
    """One alert: raised once per subject, kind, threshold and period, whatever recomputes the days."""

    kind = models.CharField(max_length=10, choices=AlertKind.choices, verbose_name=_("kind"))
    subject_kind = models.CharField(
        max_length=20, choices=SubjectKind.choices, verbose_name=_("subject kind")
    )
    subject = models.CharField(max_length=600, blank=True, default="", verbose_name=_("subject"))
    # The department the subject belonged to when the alert was raised: who may see and receive it.
    department = models.CharField(max_length=200, blank=True, default="", verbose_name=_("department"))
    period_start = models.DateField(verbose_name=_("period start"))
    period_end = models.DateField(
        help_text=_("exclusive; an anomaly's period is its day"), verbose_name=_("period end")
    )
    # Percent of the budget for budget and forecast alerts; 0 for anomalies.
    threshold = models.DecimalField(max_digits=7, decimal_places=2, default=0, verbose_name=_("threshold"))
    as_of = models.DateField(
        help_text=_("the last computed day the alert was evaluated with"), verbose_name=_("as of")
    )
    actual = models.DecimalField(**MONEY, verbose_name=_("actual"))
    forecast = models.DecimalField(
        null=True, blank=True, max_digits=20, decimal_places=8, verbose_name=_("forecast")
    )
    forecast_low = models.DecimalField(
        null=True, blank=True, max_digits=20, decimal_places=8, verbose_name=_("forecast low")
    )
    forecast_high = models.DecimalField(
        null=True, blank=True, max_digits=20, decimal_places=8, verbose_name=_("forecast high")
    )
    budget = models.DecimalField(
        null=True, blank=True, max_digits=20, decimal_places=2, verbose_name=_("budget")
    )
    expected = models.DecimalField(
        null=True, blank=True, max_digits=20, decimal_places=8, verbose_name=_("expected")
    )
    message = models.TextField(verbose_name=_("message"))
    # The message in each language of the interface, so that each recipient gets their own (docs/i18n.md);
    # `message` is the one in FINOPS_LANGUAGE. Empty for alerts raised before the field existed.
    messages = models.JSONField(
        default=dict,
        blank=True,
        verbose_name=_("messages"),
        help_text=_("the message in each language of the interface"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

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

    def message_in(self, language: str) -> str:
        """The message in `language`, or in FINOPS_LANGUAGE when it was not written in that one."""
        return self.messages.get(language) or self.message


class AlertDelivery(models.Model):
    """One alert sent to one channel (or one viewer's address): the delivery log, with its retries."""

    alert = models.ForeignKey(
        Alert, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("alert")
    )
    channel = models.ForeignKey(
        AlertChannel,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        verbose_name=_("channel"),
    )
    # The channel's name, or the viewer's e-mail address; never a webhook URL (it carries a token).
    recipient = models.CharField(max_length=320, verbose_name=_("recipient"))
    kind = models.CharField(max_length=10, choices=ChannelKind.choices, verbose_name=_("kind"))
    status = models.CharField(
        max_length=10,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
        verbose_name=_("status"),
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    last_error = models.TextField(blank=True, default="", verbose_name=_("last error"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

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
