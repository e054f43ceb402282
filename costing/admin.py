"""Admin for clusters, policies and departments. Credentials are write-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from .models import (
    BillImport,
    Cluster,
    Department,
    DepartmentRule,
    FallbackPrice,
    Policy,
    TagRule,
)


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


class DepartmentRuleInline(admin.TabularInline):
    model = DepartmentRule
    extra = 0


class TagRuleInline(admin.TabularInline):
    model = TagRule
    extra = 0


class FallbackPriceInline(admin.TabularInline):
    model = FallbackPrice
    extra = 0


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ("effective_from", "split_method", "shared_method", "idle_method", "overhead_method")
    inlines = [DepartmentRuleInline, TagRuleInline, FallbackPriceInline]


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
