"""Admin for clusters, policies and departments. Credentials are write-only."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal

from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core import validators
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _

from .choices import ChannelKind, ConnectionType
from .collectors.prometheus import normalise_selector
from .collectors.prometheus_client import PrometheusError
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
    UserLanguage,
)
from .policy import ClusterRules, DepartmentSpec, PolicySpec, PoolSpec, RightsizingSpec, SplitSpec, validate
from .policy import FallbackPrice as FallbackPriceSpec
from .policy import TagRule as TagRuleSpec
from .policy.history import policy_text, record_policy_change
from .policy.preview import EDIT, NEW, preview_change
from .policy.store import (
    InvalidPolicy,
    gpu_spec_from_policy,
    mark_policy_days_dirty,
    save_spec,
    sheet_from_json,
    spec_from_policy,
)


class ClusterForm(forms.ModelForm):
    """The kubeconfig and the Prometheus secrets are never rendered back: leave a field empty to keep the stored one."""

    SECRETS = ("kubeconfig", "prometheus_password", "prometheus_token")

    kubeconfig = forms.CharField(
        required=False,
        label=_("Kubeconfig"),
        widget=forms.Textarea(attrs={"rows": 6, "autocomplete": "off"}),
        help_text=gettext_lazy(
            "Paste a kubeconfig to set or replace it. The stored one is never shown; empty keeps it."
        ),
    )
    prometheus_password = forms.CharField(
        required=False,
        label=_("Prometheus password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("For basic authentication with the user above. Never shown; empty keeps the stored one."),
    )
    prometheus_token = forms.CharField(
        required=False,
        label=_("Prometheus bearer token"),
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text=_("Instead of a user and password. Never shown; empty keeps the stored one."),
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
            "prometheus_url",
            "prometheus_selector",
            "prometheus_username",
            "prometheus_password",
            "prometheus_token",
            "simulator_seed",
            "enabled",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.SECRETS:
            self.initial[name] = ""

    def _kept(self, name: str) -> str:
        value = self.cleaned_data.get(name, "")
        if not value and self.instance.pk:
            return getattr(self.instance, name)
        return value

    def clean_kubeconfig(self) -> str:
        return self._kept("kubeconfig")

    def clean_prometheus_password(self) -> str:
        return self._kept("prometheus_password")

    def clean_prometheus_token(self) -> str:
        return self._kept("prometheus_token")

    def clean_prometheus_selector(self) -> str:
        try:
            return normalise_selector(self.cleaned_data.get("prometheus_selector", ""))
        except PrometheusError as error:
            raise forms.ValidationError(str(error)) from None

    def clean(self):
        data = super().clean()
        if data.get("connection_type") == ConnectionType.PROMETHEUS:
            url = data.get("prometheus_url", "")
            if not url.startswith(("http://", "https://")):
                self.add_error(
                    "prometheus_url",
                    _("A Prometheus cluster needs the server's URL, e.g. http://prometheus.monitoring:9090."),
                )
            if data.get("prometheus_token") and data.get("prometheus_username"):
                self.add_error("prometheus_token", _("Give a bearer token or a user and password, not both."))
        return data


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    form = ClusterForm
    list_display = ("name", "connection_type", "sampling_interval", "enabled", "has_credentials")
    list_filter = ("connection_type", "enabled")
    search_fields = ("name",)

    @admin.display(boolean=True, description=_("Credentials stored"))
    def has_credentials(self, obj: Cluster) -> bool:
        return bool(obj.kubeconfig or obj.prometheus_token or obj.prometheus_password)


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
                gpu_hour=f.cleaned_data.get("gpu_hour"),
            )
            for f in _live_forms(formsets["fallback_prices"])
        ],
        # The GPU settings are edited in the policy file (docs/policy.md): the form keeps the policy's.
        gpu=gpu_spec_from_policy(policy),
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
        # Not on the form (set in the policy file): an edit in the admin keeps the stored sheet.
        pay_per_use=sheet_from_json(policy.pay_per_use),
        # Not on the form: set in the policy file or the API, kept as stored.
        rightsizing=RightsizingSpec.from_json(policy.rightsizing),
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


# Items are separated by commas, spaces or new lines; a comma inside [...] belongs to a glob pattern.
_LIST_SEPARATOR = re.compile(r",(?![^\[]*\])|\s+")


class ListField(forms.Field):
    """A list of names or glob patterns edited as text: `payments, checkout` (JSON `["a"]` is read too)."""

    def __init__(self, *, rows: int | None = None, **kwargs):
        widget = (
            forms.Textarea(attrs={"rows": rows, "cols": 60}) if rows else forms.TextInput(attrs={"size": 36})
        )
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text", "Separated by commas or new lines; glob patterns such as pay-* allowed."
        )
        super().__init__(widget=widget, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return value or ""

    def to_python(self, value) -> list[str]:
        text = (value or "").strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, list) and all(isinstance(v, str) for v in parsed):
                return parsed
        return [item for item in _LIST_SEPARATOR.split(text) if item]

    def has_changed(self, initial, data) -> bool:
        return list(initial or []) != self.to_python(data)


class DepartmentRuleForm(forms.ModelForm):
    namespaces = ListField(
        label=gettext_lazy("Namespaces"),
        help_text=gettext_lazy("Explicit namespace names, separated by commas."),
    )
    patterns = ListField(
        label=gettext_lazy("Patterns"),
        help_text=gettext_lazy("Glob patterns such as pay-*, separated by commas."),
    )

    class Meta:
        model = DepartmentRule
        fields = ["department", "namespaces", "patterns", "label_value", "weight", "position"]


class DepartmentRuleInline(admin.TabularInline):
    model = DepartmentRule
    form = DepartmentRuleForm
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


class PolicyForm(forms.ModelForm):
    shared_namespaces = ListField(
        rows=3, help_text=gettext_lazy("Names or glob patterns (istio-*), separated by commas or new lines.")
    )

    class Meta:
        model = Policy
        fields = [
            "effective_from",
            "currency",
            "split_method",
            "cpu_share",
            "price_ratio",
            "namespace_label_key",
            "shared_namespaces",
            "shared_method",
            "shared_scope",
            "idle_method",
            "overhead_method",
            "overhead_scope",
            "comment",
            "created_by",
        ]


# The confirmation step of a policy change (docs/policy.md, "Changing a policy"): POST fields it adds.
MODE_FIELD = "_policy_mode"  # "edit": change the policy in force; "new": add a policy from NEW_FROM_FIELD
NEW_FROM_FIELD = "_policy_new_from"
CONFIRM_FIELD = "_policy_confirm"


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    """Saving first shows what the change does (costing.policy.preview) and asks whether to edit this
    policy or add a new dated one; only the confirmed choice is stored, and recorded in the history."""

    form = PolicyForm
    list_display = ("effective_from", "split_method", "shared_method", "idle_method", "overhead_method")
    inlines = [DepartmentRuleInline, TagRuleInline, FallbackPriceInline]
    confirm_template = "admin/costing/policy/confirm_change.html"

    def _parts(self, request) -> dict:
        # One dict per request, shared by the policy form and its inline formsets.
        if not hasattr(request, "_policy_parts"):
            request._policy_parts = {}
        return request._policy_parts

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        parts = self._parts(request)

        class PolicyPartsForm(form_class):
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                parts["form"] = self

        return PolicyPartsForm

    def get_formset_kwargs(self, request, obj, inline, prefix):
        return {
            **super().get_formset_kwargs(request, obj, inline, prefix),
            "policy_parts": self._parts(request),
        }

    # -- the confirmation step ---------------------------------------------------------------------------

    @staticmethod
    def _mode(request, change: bool) -> str:
        # Adding a dated policy is the documented way to change the rules: it is the default choice.
        if change and request.POST.get(MODE_FIELD) == EDIT:
            return EDIT
        return NEW

    @staticmethod
    def _confirmed(request) -> bool:
        return CONFIRM_FIELD in request.POST

    @staticmethod
    def _new_from(request, stored: Policy, wanted: date) -> date | str:
        """The date of the new policy: as posted; else the date typed in the form if it was changed;
        else today, or the day after the stored policy's date if that is later."""
        text = request.POST.get(NEW_FROM_FIELD, "").strip()
        if not text:
            if wanted != stored.effective_from:
                return wanted
            return max(timezone.now().date(), stored.effective_from + timedelta(days=1))
        try:
            return date.fromisoformat(text)
        except ValueError:
            return text

    def save_model(self, request, obj, form, change):
        if not self._confirmed(request) or (change and self._mode(request, change) == NEW):
            return  # nothing stored before the confirmation; a new dated policy is stored in save_related
        request._policy_before = policy_text(Policy.objects.filter(pk=obj.pk).first()) if change else None
        if change and "effective_from" in form.changed_data:
            request._policy_old_date = form.initial.get("effective_from")
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        policy = form.instance
        parts = {fs.fk.remote_field.related_name: fs for fs in formsets}
        if not self._confirmed(request):
            request._policy_confirm_page = self._confirm_page(request, form, parts, change)
            return
        if change and self._mode(request, change) == NEW:
            request._policy_created = self._save_new(request, form, parts)
            return
        super().save_related(request, form, formsets, change)
        record_policy_change(policy, request._policy_before, policy_text(policy), request.user)
        for issue in validate(spec_from_policy(policy)):
            if issue.level == "warning":
                messages.warning(request, f"{issue.field}: {issue.message}")
        old = getattr(request, "_policy_old_date", None)
        marked = mark_policy_days_dirty(min(policy.effective_from, old) if old else policy.effective_from)
        if marked:
            messages.info(
                request,
                gettext("%(count)s computed cluster-day(s) will be recomputed under this policy.")
                % {"count": marked},
            )

    def _spec(self, request, form, parts, change):
        """The spec the form describes, dated for the chosen mode; a date that cannot be used is a str."""
        spec = spec_from_forms(form.instance, parts)
        if change and self._mode(request, change) == NEW:
            stored = Policy.objects.get(pk=form.instance.pk)
            new_from = self._new_from(request, stored, form.instance.effective_from)
            if not isinstance(new_from, date):
                return new_from
            from dataclasses import replace

            spec = replace(spec, effective_from=new_from)
        return spec

    def _save_new(self, request, form, parts) -> Policy | None:
        spec = self._spec(request, form, parts, True)
        if isinstance(spec, str) or Policy.objects.filter(effective_from=spec.effective_from).exists():
            return None
        policy = save_spec(spec, user=request.user)
        messages.success(
            request,
            gettext(
                "Added the policy from %(new)s; the policy from %(old)s is unchanged. "
                "The days it governs will be recomputed."
            )
            % {"new": policy.effective_from, "old": form.initial.get("effective_from")},
        )
        return policy

    def _confirm_page(self, request, form, parts, change) -> TemplateResponse:
        mode = self._mode(request, change)
        edited = Policy.objects.get(pk=form.instance.pk) if change else None
        spec = self._spec(request, form, parts, change)
        preview, error = None, None
        if isinstance(spec, str):
            error = f"{spec!r} is not a date YYYY-MM-DD"
        elif mode == NEW and Policy.objects.filter(effective_from=spec.effective_from).exists():
            error = f"a policy already starts on {spec.effective_from}: edit that one, or choose another date"
        else:
            try:
                preview = preview_change(spec, policy=edited if mode == EDIT else None)
            except InvalidPolicy as exc:
                error = str(exc)
        hidden = [
            (name, value)
            for name, values in request.POST.lists()
            if name
            not in ("csrfmiddlewaretoken", MODE_FIELD, NEW_FROM_FIELD, CONFIRM_FIELD, "_policy_preview")
            for value in values
        ]
        new_from = self._new_from(request, edited, form.instance.effective_from) if edited else None
        return TemplateResponse(
            request,
            self.confirm_template,
            {
                **self.admin_site.each_context(request),
                "title": "Review the policy change",
                "opts": self.model._meta,
                "original": edited,
                "change": change,
                "mode": mode,
                "new_from": new_from.isoformat() if isinstance(new_from, date) else new_from or "",
                "preview": preview,
                "error": error,
                "hidden": hidden,
                "fields": {"mode": MODE_FIELD, "new_from": NEW_FROM_FIELD, "confirm": CONFIRM_FIELD},
            },
        )

    def construct_change_message(self, request, form, formsets, add=False):
        if not self._confirmed(request) or (not add and self._mode(request, True) == NEW):
            return []  # the inlines were not saved: Django's message would read their saved objects
        return super().construct_change_message(request, form, formsets, add)

    def log_addition(self, request, obj, message):
        if self._confirmed(request):
            return super().log_addition(request, obj, message)
        return None

    def log_change(self, request, obj, message):
        if self._confirmed(request) and self._mode(request, True) == EDIT:
            return super().log_change(request, obj, message)
        return None

    def response_add(self, request, obj, post_url_continue=None):
        page = getattr(request, "_policy_confirm_page", None)
        return page if page is not None else super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        page = getattr(request, "_policy_confirm_page", None)
        if page is not None:
            return page
        if self._mode(request, True) == NEW:
            created = getattr(request, "_policy_created", None)
            if created is None:
                messages.error(request, gettext("No policy was added: the date is taken or is not a date."))
                return HttpResponseRedirect(request.path)
            return HttpResponseRedirect(reverse("admin:costing_policy_change", args=[created.pk]))
        return super().response_change(request, obj)

    def delete_model(self, request, obj):
        day = obj.effective_from
        record_policy_change(obj, policy_text(obj), None, request.user)
        super().delete_model(request, obj)
        mark_policy_days_dirty(day)

    def history_view(self, request, object_id, extra_context=None):
        # The policy's history is the audit log's: who, when and the diff of the policy file.
        url = reverse("admin:auditlog_logentry_changelist")
        return HttpResponseRedirect(f"{url}?{POLICY_HISTORY_QUERY.format(pk=int(object_id))}")


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


# The policy history of one policy in the audit log (PolicyAdmin.history_view).
POLICY_HISTORY_QUERY = "content_type__model=policy&content_type__app_label=costing&object_pk={pk}"


class EventFilter(admin.SimpleListFilter):
    """Sign-ins and failed sign-ins apart from the changes of rows."""

    title = "event"
    parameter_name = "event"

    def lookups(self, request, model_admin):
        return [("signed in", "Signed in"), ("sign-in failed", "Sign-in failed"), ("changes", "Changes")]

    def queryset(self, request, queryset):
        if self.value() == "changes":
            return queryset.exclude(action=LogEntry.Action.ACCESS)
        if self.value():
            return queryset.filter(action=LogEntry.Action.ACCESS, additional_data__event=self.value())
        return queryset


admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class AuditEntryAdmin(LogEntryAdmin):
    """The audit trail (costing/audit.py), read-only: filter by event, action, kind of object, actor, day.
    A policy change shows the diff of the policy file."""

    list_filter = [
        EventFilter,
        "action",
        ("content_type", admin.RelatedOnlyFieldListFilter),  # only the kinds of object that have entries
        ("actor", admin.RelatedOnlyFieldListFilter),
    ]
    list_display = ["created", "resource_url", "action", "event", "msg_short", "user_url", "remote_addr"]
    readonly_fields = [*LogEntryAdmin.readonly_fields, "remote_addr", "event"]
    fieldsets = [
        (None, {"fields": ["created", "user_url", "remote_addr", "resource_url", "cid"]}),
        ("Changes", {"fields": ["action", "event", "msg"]}),
    ]

    def lookup_allowed(self, lookup, value, request=None):
        # The policy history link filters on one policy's entries.
        own = ("object_pk", "content_type__model", "content_type__app_label")
        return lookup in own or super().lookup_allowed(lookup, value, request)

    @admin.display(description=gettext_lazy("event"))
    def event(self, obj) -> str:
        data = obj.additional_data if isinstance(obj.additional_data, dict) else {}
        return data.get("event", "") or obj.get_action_display()

    @staticmethod
    def _is_policy(obj) -> bool:
        return (obj.content_type.app_label, obj.content_type.model) == ("costing", "policy")

    @admin.display(description=gettext_lazy("changes"))
    def msg(self, obj):
        if self._is_policy(obj):  # the policy file's diff, not two whole files side by side
            return format_html('<pre style="white-space: pre-wrap">{}</pre>', obj.changes_text)
        return super().msg(obj)

    @admin.display(description=gettext_lazy("changes"))
    def msg_short(self, obj):
        if self._is_policy(obj):
            return f"policy file: {obj.changes_text.count(chr(10))} diff lines"
        return obj.changes_text if obj.action == LogEntry.Action.ACCESS else super().msg_short(obj)


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
        label=_("Target"),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=gettext_lazy(
            "Comma-separated e-mail addresses, or the webhook URL. Empty keeps the stored value."
        ),
    )

    secret = forms.CharField(
        required=False,
        label=_("Secret"),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "Feishu/Lark and DingTalk bots with the signature security setting: their secret "
            "(DingTalk's starts with SEC). Empty keeps the stored one."
        ),
    )
    remove_secret = forms.BooleanField(
        required=False, label=_("Remove secret"), help_text=_("Forget the stored signing secret.")
    )

    class Meta:
        model = AlertChannel
        fields = ["name", "kind", "target", "secret", "remove_secret", "department", "language", "active"]

    def clean_secret(self):
        secret = self.cleaned_data["secret"].strip()
        if self.data.get(self.add_prefix("remove_secret")):
            return ""
        return secret or (self.instance.secret if self.instance.pk else "")

    def clean_target(self):
        target = self.cleaned_data["target"].strip()
        if not target:
            if self.instance.pk:
                return self.instance.target
            raise forms.ValidationError(gettext("Give the e-mail addresses or the webhook URL."))
        return target

    def clean(self):
        cleaned = super().clean()
        target, kind = cleaned.get("target"), cleaned.get("kind")
        if cleaned.get("secret") and kind not in (ChannelKind.FEISHU, ChannelKind.DINGTALK):
            self.add_error("secret", gettext("Only Feishu/Lark and DingTalk bots are signed with a secret."))
        if not target or not kind:
            return cleaned
        try:
            if kind == ChannelKind.EMAIL:
                for address in target.split(","):
                    validators.validate_email(address.strip())
            else:
                validators.URLValidator(schemes=["http", "https"])(target)
        except forms.ValidationError:
            # The value itself is not echoed: it may hold a token.
            self.add_error(
                "target",
                gettext("Must be comma-separated e-mail addresses.")
                if kind == ChannelKind.EMAIL
                else gettext("Must be an http(s) URL."),
            )
        return cleaned


@admin.register(AlertChannel)
class AlertChannelAdmin(admin.ModelAdmin):
    form = AlertChannelForm
    list_display = ("name", "kind", "department", "language", "active", "signed")

    @admin.display(boolean=True, description=_("Signed"))
    def signed(self, obj: AlertChannel) -> bool:
        return bool(obj.secret)


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


class UserLanguageInline(admin.StackedInline):
    """The language of the user's e-mails (costing/languages.py), set on the user's own page."""

    model = UserLanguage
    can_delete = True
    extra = 1
    max_num = 1


# Django's user admin (registered by django.contrib.auth, listed before costing), with the language.
admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class UserWithLanguageAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, UserLanguageInline]
