"""What was paid: imported bills and their lines, attributed to clusters and nodes."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from costing.choices import BillFormat, LineKind, RunStatus

from .inventory import Cluster, Node, Volume

# Bills carry up to 10-11 decimals (the FOCUS sample, the demo bill): stored exactly, so that the lines of an
# import add up to the file's totals.
MONEY = {"max_digits": 30, "decimal_places": 12}


class BillImport(models.Model):
    """One import of one bill file: what came in, from whom, and how it ended."""

    file_name = models.CharField(max_length=500, verbose_name=_("file name"))
    format = models.CharField(max_length=10, choices=BillFormat.choices, verbose_name=_("format"))
    sha256 = models.CharField(max_length=64, blank=True, default="", verbose_name=_("sha256"))
    status = models.CharField(
        max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING, verbose_name=_("status")
    )
    error = models.TextField(blank=True, default="", verbose_name=_("error"))
    progress = models.FloatField(default=0, help_text=_("0..1 while running"), verbose_name=_("progress"))
    rows = models.PositiveIntegerField(default=0, verbose_name=_("rows"))
    currency = models.CharField(max_length=3, blank=True, default="", verbose_name=_("currency"))
    billing_account_ids = models.JSONField(default=list, blank=True, verbose_name=_("billing account ids"))
    period_start = models.DateTimeField(null=True, blank=True, verbose_name=_("period start"))
    period_end = models.DateTimeField(null=True, blank=True, verbose_name=_("period end"))
    effective_total = models.DecimalField(default=0, **MONEY, verbose_name=_("effective total"))
    billed_total = models.DecimalField(default=0, **MONEY, verbose_name=_("billed total"))
    list_total = models.DecimalField(default=0, **MONEY, verbose_name=_("list total"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    # Where an uploaded file waits for the worker (under MEDIA_ROOT/bills/); empty for command-line imports.
    stored_path = models.CharField(max_length=1000, blank=True, default="", verbose_name=_("stored path"))
    cbc_account_id = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text=_("CBC only: the account of a file without one."),
        verbose_name=_("cbc account ID"),
    )
    # {kind: {"lines": n, "effective": "...", "billed": "..."}} as attributed at import time (exact).
    kind_totals = models.JSONField(default=dict, blank=True, verbose_name=_("kind totals"))
    replaced_lines = models.PositiveIntegerField(
        default=0,
        help_text=_("lines of earlier imports of the same account and billing period it replaced"),
        verbose_name=_("replaced lines"),
    )
    replaced_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replaced",
        verbose_name=_("replaced by"),
    )
    notes = models.TextField(blank=True, default="", verbose_name=_("notes"))

    class Meta:
        verbose_name = _("bill import")
        verbose_name_plural = _("bill imports")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"


class BillLine(models.Model):
    """One line of a bill: a charge for one resource over one charge period, and where it belongs.

    A re-import of the same billing account and billing period replaces these lines.
    """

    # No database constraint on this key nor on cluster and node below: checking a foreign key costs the
    # server more per row than storing it, and a bill has millions of rows. Django still applies on_delete
    # (CASCADE here, SET_NULL below); the importer writes only ids it has just read or created.
    bill_import = models.ForeignKey(
        BillImport,
        on_delete=models.CASCADE,
        related_name="lines",
        db_constraint=False,
        verbose_name=_("bill import"),
    )
    source_row = models.PositiveIntegerField(verbose_name=_("source row"))
    billing_account_id = models.CharField(max_length=200, verbose_name=_("billing account ID"))
    billing_period_start = models.DateTimeField(verbose_name=_("billing period start"))
    billing_period_end = models.DateTimeField(verbose_name=_("billing period end"))
    charge_period_start = models.DateTimeField(verbose_name=_("charge period start"))
    charge_period_end = models.DateTimeField(verbose_name=_("charge period end"))
    charge_category = models.CharField(max_length=20, verbose_name=_("charge category"))
    charge_class = models.CharField(max_length=20, blank=True, default="", verbose_name=_("charge class"))
    provider = models.CharField(max_length=200, blank=True, default="", verbose_name=_("provider"))
    service_name = models.CharField(max_length=300, blank=True, default="", verbose_name=_("service name"))
    sku_id = models.CharField(max_length=300, blank=True, default="", verbose_name=_("sku ID"))
    region = models.CharField(max_length=100, blank=True, default="", verbose_name=_("region"))
    resource_id = models.CharField(max_length=1000, blank=True, default="", verbose_name=_("resource ID"))
    resource_name = models.CharField(max_length=1000, blank=True, default="", verbose_name=_("resource name"))
    resource_type = models.CharField(max_length=300, blank=True, default="", verbose_name=_("resource type"))
    tags = models.JSONField(default=dict, blank=True, verbose_name=_("tags"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    effective_cost = models.DecimalField(**MONEY, verbose_name=_("effective cost"))
    billed_cost = models.DecimalField(**MONEY, verbose_name=_("billed cost"))
    list_cost = models.DecimalField(null=True, blank=True, **MONEY, verbose_name=_("list cost"))
    kind = models.CharField(
        max_length=20, choices=LineKind.choices, default=LineKind.OUTSIDE, verbose_name=_("kind")
    )
    # No index of their own: the (cluster, ...) and (node, ...) indexes below serve the keys.
    cluster = models.ForeignKey(
        Cluster,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
        verbose_name=_("cluster"),
    )
    node = models.ForeignKey(
        Node,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
        verbose_name=_("node"),
    )
    # A persistent volume's disk (kind volume): its ResourceId is the volume's disk id.
    volume = models.ForeignKey(
        Volume,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
        verbose_name=_("volume"),
    )
    # The Service whose cloud load balancer this line is (kind load_balancer), charged to its namespace.
    load_balancer = models.ForeignKey(
        "costing.LoadBalancer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
        verbose_name=_("load balancer"),
    )

    class Meta:
        verbose_name = _("bill line")
        verbose_name_plural = _("bill lines")
        ordering = ["bill_import", "source_row"]
        # A cluster's lines in a window are found by the end of their charge period (end > window start,
        # then start < window end): a recent window reads only recent lines, however long the older ones.
        # On PostgreSQL a BRIN index on charge_period_end (migration 0003) serves the windows of all clusters.
        indexes = [
            models.Index(
                fields=["billing_account_id", "billing_period_start"], name="billline_account_period"
            ),
            # Partial: the lines outside Kubernetes (no cluster, no node) are never looked up by these keys.
            models.Index(
                fields=["cluster", "charge_period_end"],
                name="billline_cluster_end",
                condition=models.Q(cluster__isnull=False),
            ),
            models.Index(
                fields=["node", "charge_period_end"],
                name="billline_node_end",
                condition=models.Q(node__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource_id or self.service_name}: {self.effective_cost} {self.currency}"


_CURRENCY = RegexValidator(r"^[A-Z]{3}$", "a three-letter ISO 4217 code in capitals, e.g. USD")


class ExchangeRate(models.Model):
    """One dated exchange rate: from valid_from on (until the next one of the same pair), one unit of
    from_currency is `rate` units of to_currency. A bill line uses the rate in force on the start day (UTC) of
    its charge period, so a January bill converts at January's rate (docs/import-formats.md)."""

    from_currency = models.CharField(max_length=3, validators=[_CURRENCY], verbose_name=_("from currency"))
    to_currency = models.CharField(max_length=3, validators=[_CURRENCY], verbose_name=_("to currency"))
    rate = models.DecimalField(
        max_digits=24,
        decimal_places=12,
        validators=[MinValueValidator(Decimal("1e-12"))],
        verbose_name=_("rate"),
    )
    valid_from = models.DateField(verbose_name=_("valid from"))
    note = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text=_("its source, e.g. ECB reference"),
        verbose_name=_("note"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["from_currency", "to_currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_currency", "to_currency", "valid_from"], name="exchangerate_pair_day"
            ),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchangerate_rate_positive"),
            models.CheckConstraint(
                condition=~models.Q(from_currency=models.F("to_currency")), name="exchangerate_two_currencies"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_currency}:{self.to_currency}={self.rate} from {self.valid_from}"

    def clean(self) -> None:
        if self.from_currency and self.from_currency == self.to_currency:
            raise ValidationError(
                {"to_currency": gettext("a rate converts between two different currencies")}
            )
