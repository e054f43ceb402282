"""Policies in the database: PolicySpec to rows and back, the policy in force on a day, and dirty marking."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from django.db import transaction

from costing.dirty import mark_days_dirty
from costing.models import ClusterDay, Department, DepartmentRule, FallbackPrice, Policy, TagRule
from costing.policy.spec import (
    PAY_PER_USE_FIELDS,
    ClusterRules,
    DepartmentSpec,
    GpuResource,
    GpuRule,
    GpuSpec,
    Issue,
    PayPerUseSheet,
    PolicySpec,
    PoolSpec,
    RightsizingSpec,
    SplitSpec,
    validate,
)
from costing.policy.spec import (
    FallbackPrice as FallbackPriceSpec,
)
from costing.policy.spec import (
    TagRule as TagRuleSpec,
)

# The policy of a day before any policy exists: the defaults of the database model and of the file
# format (cost share 0.5, every pool proportional within its cluster), no fallback prices and no
# departments, so every namespace that is not shared is "Unallocated".
DEFAULT_SPEC = PolicySpec(effective_from=date(1970, 1, 1))

# Decimal places the columns keep; a value with more would be changed silently by the database.
_PLACES = {
    "split.cpu_share": Policy._meta.get_field("cpu_share").decimal_places,
    "split.price_ratio": Policy._meta.get_field("price_ratio").decimal_places,
    "gpu.price_ratio": Policy._meta.get_field("gpu_price_ratio").decimal_places,
    "weight": DepartmentRule._meta.get_field("weight").decimal_places,
    "price": FallbackPrice._meta.get_field("cpu_core_hour").decimal_places,
}


class InvalidPolicy(ValueError):
    """The spec has errors (costing.policy.validate) or values the database cannot keep exactly."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("\n".join(f"field {i.field}: {i.message}" for i in issues))


def _places_issues(spec: PolicySpec) -> list[Issue]:
    def check(path: str, value: Decimal | None, places: int) -> list[Issue]:
        if isinstance(value, Decimal) and value.is_finite() and value.as_tuple().exponent < -places:
            return [Issue("error", path, f"has more than {places} decimal places: {value}")]
        return []

    issues = check("split.cpu_share", spec.split.cpu_share, _PLACES["split.cpu_share"])
    issues += check("split.price_ratio", spec.split.price_ratio, _PLACES["split.price_ratio"])
    for i, dept in enumerate(spec.departments):
        issues += check(f"departments[{i}].weight", dept.weight, _PLACES["weight"])
    for i, price in enumerate(spec.fallback_prices):
        issues += check(f"fallback_prices[{i}].cpu_core_hour", price.cpu_core_hour, _PLACES["price"])
        issues += check(f"fallback_prices[{i}].mem_gib_hour", price.mem_gib_hour, _PLACES["price"])
        issues += check(f"fallback_prices[{i}].gpu_hour", price.gpu_hour, _PLACES["price"])
    issues += check("gpu.price_ratio", spec.gpu.price_ratio, _PLACES["gpu.price_ratio"])
    return issues


def save_spec(spec: PolicySpec, user=None, *, policy: Policy | None = None) -> Policy:
    """Store `spec` as the policy in force from its effective_from, replacing one of the same date.

    All or nothing, in one transaction: the policy row (kept, if it exists, so results that point at it
    stay valid), its department rules, tag rules and fallback prices; Department rows are created by name.
    Every computed cluster-day the policy governs (from effective_from until the next policy's date) is
    marked dirty (not for a change of the right-sizing section alone, which changes no cost), and the change is recorded in the policy history (costing.policy.history) under `user`.
    `policy`: edit this stored policy, whose date may then move to spec.effective_from. Raises
    InvalidPolicy when validate() finds an error.
    """
    from costing.policy.history import policy_text, record_policy_change

    errors = [i for i in validate(spec) if i.level == "error"] + _places_issues(spec)
    if errors:
        raise InvalidPolicy(errors)
    with transaction.atomic():
        if policy is not None:
            policy = Policy.objects.select_for_update().get(pk=policy.pk)
            if Policy.objects.filter(effective_from=spec.effective_from).exclude(pk=policy.pk).exists():
                raise InvalidPolicy(
                    [Issue("error", "effective_from", f"another policy starts on {spec.effective_from}")]
                )
            before = policy_text(policy)
            old_date = policy.effective_from
            policy.effective_from = spec.effective_from
        else:
            policy = Policy.objects.select_for_update().filter(effective_from=spec.effective_from).first()
            before = policy_text(policy)
            old_date = spec.effective_from
        # A change of the right-sizing section alone changes no cost: no day is recomputed for it.
        same_costs = (
            policy is not None
            and old_date == spec.effective_from
            and replace(spec_from_policy(policy), rightsizing=spec.rightsizing) == spec
        )
        if policy is None:
            policy = Policy(effective_from=spec.effective_from, created_by=user)
        else:
            policy.department_rules.all().delete()
            policy.tag_rules.all().delete()
            policy.fallback_prices.all().delete()
            if user is not None:
                policy.created_by = user
        pools = spec.pools
        policy.currency = spec.currency
        policy.split_method = spec.split.method
        policy.cpu_share = spec.split.cpu_share
        policy.price_ratio = spec.split.price_ratio
        policy.gpu_price_ratio = spec.gpu.price_ratio
        policy.gpu_instance_types = [
            {
                "instance_type": r.instance_type,
                **({"share": str(r.share)} if r.share is not None else {}),
                **({"price_ratio": str(r.price_ratio)} if r.price_ratio is not None else {}),
            }
            for r in spec.gpu.instance_types
        ]
        policy.gpu_resources = [{"name": r.name, "devices": str(r.devices)} for r in spec.gpu.resources]
        policy.namespace_label_key = spec.namespace_label_key or ""
        policy.shared_namespaces = list(spec.shared_namespaces)
        policy.shared_method = pools["shared"].method
        policy.shared_scope = pools["shared"].scope
        policy.idle_method = pools["idle"].method
        policy.gpu_idle_method = pools["gpu_idle"].method if "gpu_idle" in pools else ""
        policy.overhead_method = pools["overhead"].method
        policy.overhead_scope = pools["overhead"].scope
        policy.pay_per_use = sheet_to_json(spec.pay_per_use)
        policy.rightsizing = spec.rightsizing.as_json()
        policy.save()

        for position, dept in enumerate(spec.departments):
            department, _ = Department.objects.get_or_create(name=dept.name)
            DepartmentRule.objects.create(
                policy=policy,
                department=department,
                namespaces=list(dept.namespaces),
                patterns=list(dept.patterns),
                label_value=dept.label_value or "",
                weight=dept.weight,
                position=position,
            )
        TagRule.objects.bulk_create(
            TagRule(policy=policy, cluster_name=c.name, key=r.key, value=r.value, position=position)
            for position, (c, r) in enumerate((c, r) for c in spec.clusters for r in c.tag_rules)
        )
        FallbackPrice.objects.bulk_create(
            FallbackPrice(
                policy=policy,
                instance_type=p.instance_type,
                cpu_core_hour=p.cpu_core_hour,
                mem_gib_hour=p.mem_gib_hour,
                gpu_hour=p.gpu_hour,
                position=position,
            )
            for position, p in enumerate(spec.fallback_prices)
        )
        if not same_costs:
            mark_policy_days_dirty(min(old_date, policy.effective_from))
        if old_date != policy.effective_from:
            mark_policy_days_dirty(max(old_date, policy.effective_from))
        record_policy_change(policy, before, policy_text(policy), user)
    return policy


def mark_policy_days_dirty(effective_from: date) -> int:
    """Mark every computed cluster-day from `effective_from` until the next policy's date dirty."""
    following = (
        Policy.objects.filter(effective_from__gt=effective_from)
        .order_by("effective_from")
        .values_list("effective_from", flat=True)
        .first()
    )
    days = ClusterDay.objects.filter(day__gte=effective_from)
    if following is not None:
        days = days.filter(day__lt=following)
    pairs = list(days.values_list("cluster_id", "day"))
    by_day: dict[date, list[int]] = {}
    for cluster_id, day in pairs:
        by_day.setdefault(day, []).append(cluster_id)
    for day, cluster_ids in by_day.items():
        mark_days_dirty(cluster_ids, [day])
    return len(pairs)


def _plain(value: Decimal | None) -> Decimal | None:
    """A stored Decimal without the column's trailing zeros (0.50000 -> 0.5, 100.0000 -> 100)."""
    if value is None:
        return None
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def gpu_spec_from_policy(policy: Policy) -> GpuSpec:
    """The GPU part of a stored (or edited, unsaved) policy."""
    return GpuSpec(
        price_ratio=_plain(Decimal(policy.gpu_price_ratio)),
        instance_types=[
            GpuRule(
                instance_type=r["instance_type"],
                share=Decimal(r["share"]) if "share" in r else None,
                price_ratio=Decimal(r["price_ratio"]) if "price_ratio" in r else None,
            )
            for r in policy.gpu_instance_types or []
        ],
        resources=[GpuResource(r["name"], Decimal(r["devices"])) for r in policy.gpu_resources or []],
    )


def spec_from_policy(policy: Policy) -> PolicySpec:
    """The PolicySpec a stored policy stands for (what dump_policy writes and the engine reads)."""
    clusters: dict[str, list[TagRuleSpec]] = {}
    for rule in policy.tag_rules.all():
        clusters.setdefault(rule.cluster_name, []).append(TagRuleSpec(rule.key, rule.value))
    return PolicySpec(
        effective_from=policy.effective_from,
        currency=policy.currency,
        split=SplitSpec(policy.split_method, _plain(policy.cpu_share), _plain(policy.price_ratio)),
        fallback_prices=[
            FallbackPriceSpec(
                instance_type=p.instance_type,
                cpu_core_hour=_plain(p.cpu_core_hour),
                mem_gib_hour=_plain(p.mem_gib_hour),
                gpu_hour=_plain(p.gpu_hour),
            )
            for p in policy.fallback_prices.all()
        ],
        gpu=gpu_spec_from_policy(policy),
        clusters=[ClusterRules(name, rules) for name, rules in clusters.items()],
        namespace_label_key=policy.namespace_label_key or None,
        shared_namespaces=list(policy.shared_namespaces),
        departments=[
            DepartmentSpec(
                name=rule.department.name,
                namespaces=list(rule.namespaces),
                patterns=list(rule.patterns),
                label_value=rule.label_value or None,
                weight=_plain(rule.weight),
            )
            for rule in policy.department_rules.select_related("department")
        ],
        pools={
            "shared": PoolSpec(policy.shared_method, policy.shared_scope),
            "idle": PoolSpec(policy.idle_method, "cluster"),
            "overhead": PoolSpec(policy.overhead_method, policy.overhead_scope),
            **({"gpu_idle": PoolSpec(policy.gpu_idle_method, "cluster")} if policy.gpu_idle_method else {}),
        },
        pay_per_use=sheet_from_json(policy.pay_per_use),
        rightsizing=RightsizingSpec.from_json(policy.rightsizing),
    )


def sheet_to_json(sheet: PayPerUseSheet | None) -> dict | None:
    """The pay-per-use sheet as stored: its numbers as their text, exact."""
    if sheet is None:
        return None
    return {name: str(getattr(sheet, name)) for name in PAY_PER_USE_FIELDS}


def sheet_from_json(data: dict | None) -> PayPerUseSheet | None:
    if not data:
        return None
    values = {name: Decimal(data[name]) for name in PAY_PER_USE_FIELDS[1:] if name in data}
    return PayPerUseSheet(name=data.get("name", "pay-per-use"), **values)


def policy_for_day(day: date) -> Policy | None:
    """The policy in force on `day`: the one with the greatest effective_from on or before it."""
    return Policy.objects.filter(effective_from__lte=day).order_by("-effective_from").first()


def gpu_resources_for_day(day: date) -> dict[str, float]:
    """The extended resources the policy in force on `day` counts as GPUs (name -> devices per unit):
    what the collector needs every sample, read without building the whole spec."""
    rows = (
        Policy.objects.filter(effective_from__lte=day)
        .order_by("-effective_from")
        .values_list("gpu_resources", flat=True)
        .first()
    )
    return {r["name"]: float(Decimal(r["devices"])) for r in rows or ()}


def spec_for_day(day: date) -> PolicySpec:
    """The spec in force on `day`, or DEFAULT_SPEC when no policy starts on or before it."""
    policy = policy_for_day(day)
    return spec_from_policy(policy) if policy is not None else DEFAULT_SPEC
