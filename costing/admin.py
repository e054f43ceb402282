"""Admin for clusters, policies and departments. Credentials are write-only."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core import validators
from django.forms.models import BaseInlineFormSet

from .choices import ChannelKind
from .models import (
    Alert,
    AlertChannel,
    AlertDelivery,
    BillImport,
    Budget,
    BudgetPlan,
    Cluster,
    Department,
    DepartmentRule,
    ExchangeRate,
    FallbackPrice,
    Policy,
    SsoGroupRule,
    SsoIdentity,
    TagRule,
)
from .policy import ClusterRules, DepartmentSpec, PolicySpec, PoolSpec, SplitSpec, validate
from .policy import FallbackPrice as FallbackPriceSpec
from .policy import TagRule as TagRuleSpec
from .policy.store import mark_policy_days_dirty, spec_from_policy


class ClusterForm(forms.ModelForm):
    """The kubeconfig is never rendered back: leave the field empty to keep the stored one."""

    kubeconfig = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "autocomplete": "off"}),
        help_text="Paste a kubeconfig to set or replace it. The stored one is never shown; empty keeps it.",
    )

    class Meta:
        model = Cluster
        fields = [
            "name",
            "connection_type",
            "kubeconfig",
            "kubeconfig_context",
            "sampling_interval",
            "node_pool_label",
            "simulator_seed",
            "enabled",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["kubeconfig"] = ""

    def clean_kubeconfig(self) -> str:
        value = self.cleaned_data.get("kubeconfig", "")
        if not value and self.instance.pk:
            return self.instance.kubeconfig
        return value


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    form = ClusterForm
    list_display = ("name", "connection_type", "sampling_interval", "enabled", "has_credentials")
    list_filter = ("connection_type", "enabled")
    search_fields = ("name",)

    @admin.display(boolean=True, description="Kubeconfig stored")
    def has_credentials(self, obj: Cluster) -> bool:
        return bool(obj.kubeconfig)


# Where a field path of costing.policy.validate is edited on the policy's own form.
POLICY_FORM_FIELDS = {
    "effective_from": "effective_from",
    "currency": "currency",
    "namespace_label_key": "namespace_label_key",
    "split.method": "split_method",
    "split.cpu_share": "cpu_share",
    "split.price_ratio": "price_ratio",
    "shared_namespaces": "shared_namespaces",
    "pools.shared.method": "shared_method",
    "pools.shared.scope": "shared_scope",
    "pools.idle.method": "idle_method",
    "pools.idle": "idle_method",
    "pools.overhead.method": "overhead_method",
    "pools.overhead.scope": "overhead_scope",
}


def _live_forms(formset) -> list:
    return sorted(
        (f for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")),
        key=lambda f: f.cleaned_data.get("position") or 0,
    )


def spec_from_forms(policy: Policy, formsets: dict[str, BaseInlineFormSet]) -> PolicySpec:
    """The PolicySpec the admin form and its inlines describe, before anything is saved."""
    clusters: dict[str, list[TagRuleSpec]] = {}
    for f in _live_forms(formsets["tag_rules"]):
        data = f.cleaned_data
        clusters.setdefault(data["cluster_name"], []).append(TagRuleSpec(data["key"], data.get("value")))
    return PolicySpec(
        effective_from=policy.effective_from,
        currency=policy.currency,
        split=SplitSpec(policy.split_method, Decimal(policy.cpu_share), Decimal(policy.price_ratio)),
        fallback_prices=[
            FallbackPriceSpec(
                instance_type=f.cleaned_data.get("instance_type") or "",
                cpu_core_hour=f.cleaned_data["cpu_core_hour"],
                mem_gib_hour=f.cleaned_data["mem_gib_hour"],
            )
            for f in _live_forms(formsets["fallback_prices"])
        ],
        clusters=[ClusterRules(name, rules) for name, rules in clusters.items()],
        namespace_label_key=policy.namespace_label_key or None,
        shared_namespaces=list(policy.shared_namespaces or []),
        departments=[
            DepartmentSpec(
                name=f.cleaned_data["department"].name,
                namespaces=list(f.cleaned_data.get("namespaces") or []),
                patterns=list(f.cleaned_data.get("patterns") or []),
                label_value=f.cleaned_data.get("label_value") or None,
                weight=f.cleaned_data.get("weight"),
            )
            for f in _live_forms(formsets["department_rules"])
        ],
        pools={
            "shared": PoolSpec(policy.shared_method, policy.shared_scope),
            "idle": PoolSpec(policy.idle_method, "cluster"),
            "overhead": PoolSpec(policy.overhead_method, policy.overhead_scope),
        },
    )


class PolicyPartFormSet(BaseInlineFormSet):
    """The inlines of a policy. The last one to be cleaned checks the whole policy with validate():
    errors go on the policy form (by field where the field is there) and stop the save."""

    checks_policy = False

    def __init__(self, *args, policy_parts=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.policy_parts = policy_parts if policy_parts is not None else {}
        self.policy_parts[self.fk.remote_field.related_name or self.prefix] = self

    def clean(self):
        super().clean()
        if not self.checks_policy:
            return
        parts = {name: fs for name, fs in self.policy_parts.items() if name != "form"}
        form = self.policy_parts.get("form")
        if form is None or form.errors or any(fs is not self and not fs.is_valid() for fs in parts.values()):
            return  # the field errors come first; the policy is checked once they are fixed
        issues = validate(spec_from_forms(self.instance, parts))
        errors = [i for i in issues if i.level == "error"]
        for issue in errors:
            field = POLICY_FORM_FIELDS.get(issue.field)
            if field is not None and field in form.fields:
                form.add_error(field, issue.message)
            else:
                form.add_error(None, f"{issue.field}: {issue.message}")
        if errors:
            raise forms.ValidationError("The policy is not valid: see the errors at the top of the page.")


class DepartmentRuleInline(admin.TabularInline):
    model = DepartmentRule
    formset = PolicyPartFormSet
    extra = 0


class TagRuleInline(admin.TabularInline):
    model = TagRule
    formset = PolicyPartFormSet
    extra = 0


class FallbackPriceFormSet(PolicyPartFormSet):
    checks_policy = True  # the last inline: the other parts are cleaned by then


class FallbackPriceInline(admin.TabularInline):
    model = FallbackPrice
    formset = FallbackPriceFormSet
    extra = 0


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ("effective_from", "split_method", "shared_method", "idle_method", "overhead_method")
    inlines = [DepartmentRuleInline, TagRuleInline, FallbackPriceInline]

    def _parts(self, request) -> dict:
        # One dict per request, shared by the policy form and its inline formsets.
        if not hasattr(request, "_policy_parts"):
            request._policy_parts = {}
        return request._policy_parts

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        parts = self._parts(request)

        class PolicyForm(form_class):
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                parts["form"] = self

        return PolicyForm

    def get_formset_kwargs(self, request, obj, inline, prefix):
        return {
            **super().get_formset_kwargs(request, obj, inline, prefix),
            "policy_parts": self._parts(request),
        }

    def save_model(self, request, obj, form, change):
        if change and "effective_from" in form.changed_data:
            request._policy_old_date = form.initial.get("effective_from")
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        policy = form.instance
        for issue in validate(spec_from_policy(policy)):
            if issue.level == "warning":
                messages.warning(request, f"{issue.field}: {issue.message}")
        old = getattr(request, "_policy_old_date", None)
        marked = mark_policy_days_dirty(min(policy.effective_from, old) if old else policy.effective_from)
        if marked:
            messages.info(request, f"{marked} computed cluster-day(s) will be recomputed under this policy.")

    def delete_model(self, request, obj):
        day = obj.effective_from
        super().delete_model(request, obj)
        mark_policy_days_dirty(day)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    search_fields = ("name",)
    filter_horizontal = ("viewers",)


@admin.register(BillImport)
class BillImportAdmin(admin.ModelAdmin):
    list_display = ("file_name", "format", "status", "rows", "currency", "effective_total", "created_at")
    list_filter = ("status", "format")
    readonly_fields = [f.name for f in BillImport._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SsoGroupRule)
class SsoGroupRuleAdmin(admin.ModelAdmin):
    """Which provider groups give which role; applied at each single sign-on (docs/operations.md)."""

    list_display = ("group", "role", "department")
    list_filter = ("role",)
    search_fields = ("group", "department__name")
    autocomplete_fields = ("department",)


@admin.register(SsoIdentity)
class SsoIdentityAdmin(admin.ModelAdmin):
    """Read-only: made at first sign-in. Deleting one lets that subject sign in as a new user."""

    list_display = ("subject", "user")
    search_fields = ("subject", "user__username", "user__email")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """Dated rates for bills in another currency: a line uses the rate in force on its charge day."""

    list_display = ("from_currency", "to_currency", "rate", "valid_from", "note")
    list_filter = ("from_currency", "to_currency")
    search_fields = ("from_currency", "to_currency", "note")
    date_hierarchy = "valid_from"


class BudgetInline(admin.TabularInline):
    model = Budget
    extra = 1


@admin.register(BudgetPlan)
class BudgetPlanAdmin(admin.ModelAdmin):
    """Budgets, effective-dated like the policy; the same as `manage.py load_budgets` (docs/budgets.md)."""

    list_display = ("effective_from", "comment", "created_at")
    inlines = [BudgetInline]
    exclude = ("created_by",)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class AlertChannelForm(forms.ModelForm):
    """A webhook URL carries its bot's token: never rendered back, empty keeps the stored one."""

    target = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Comma-separated e-mail addresses, or the webhook URL. Empty keeps the stored value.",
    )

    class Meta:
        model = AlertChannel
        fields = ["name", "kind", "target", "department", "active"]

    def clean_target(self):
        target = self.cleaned_data["target"].strip()
        if not target:
            if self.instance.pk:
                return self.instance.target
            raise forms.ValidationError("Give the e-mail addresses or the webhook URL.")
        return target

    def clean(self):
        cleaned = super().clean()
        target, kind = cleaned.get("target"), cleaned.get("kind")
        if not target or not kind:
            return cleaned
        try:
            if kind == ChannelKind.EMAIL:
                for address in target.split(","):
                    validators.validate_email(address.strip())
            else:
                validators.URLValidator(schemes=["http", "https"])(target)
        except forms.ValidationError:
            what = "comma-separated e-mail addresses" if kind == ChannelKind.EMAIL else "an http(s) URL"
            self.add_error(
                "target", f"Must be {what}."
            )  # the value itself is not echoed: it may hold a token
        return cleaned


@admin.register(AlertChannel)
class AlertChannelAdmin(admin.ModelAdmin):
    form = AlertChannelForm
    list_display = ("name", "kind", "department", "active")


class AlertDeliveryInline(admin.TabularInline):
    model = AlertDelivery
    extra = 0
    can_delete = False
    readonly_fields = ("recipient", "kind", "status", "attempts", "last_error", "sent_at")
    exclude = ("channel",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "subject_kind", "subject", "period_start", "threshold", "message")
    list_filter = ("kind", "subject_kind")
    readonly_fields = [f.name for f in Alert._meta.fields]
    inlines = [AlertDeliveryInline]

    def has_add_permission(self, request) -> bool:
        return False
