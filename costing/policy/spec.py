"""The apportionment policy as plain frozen dataclasses, and the rules that say whether it makes sense."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fnmatch import fnmatchcase

# Same values as costing.choices, repeated here because this package must import without Django.
UNALLOCATED = "Unallocated"
SHARED = "Shared"
IDLE = "Idle"
IDLE_GPU = "Idle GPU"
OVERHEAD = "Overhead"
RESERVED_DEPARTMENT_NAMES = (UNALLOCATED, SHARED, IDLE, IDLE_GPU, OVERHEAD)

SPLIT_METHODS = ("cost_share", "price_ratio")
POOLS = ("shared", "idle", "overhead")
# Pools a policy may leave out: without its own rule, idle GPU is divided by the idle pool's method (so a
# policy file from before keeps its meaning), always on its own line and column "Idle GPU".
OPTIONAL_POOLS = ("gpu_idle",)
IDLE_POOLS = ("idle", "gpu_idle")
POOL_METHODS = ("proportional", "even", "weights", "separate", "per_resource")
SCOPES = ("cluster", "global")

DEFAULT_CPU_SHARE = Decimal("0.5")
DEFAULT_PRICE_RATIO = Decimal("7.46")  # OpenCost's default core-hour : GiB-hour price ratio
# A GPU-hour costs this many core-hours unless the policy says otherwise: OpenCost's default prices
# (0.95 per GPU-hour, 0.031611 per core-hour), rounded. Same value as costing.engine.pricing.
DEFAULT_GPU_PRICE_RATIO = Decimal(30)
# Always one GPU per unit; MIG slices (nvidia.com/mig-*) are read by their profile (costing/gpus.py).
NVIDIA_GPU = "nvidia.com/gpu"
EXTENDED_RESOURCE_NAME = re.compile(
    r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
)
WEIGHT_TOTAL = Decimal(100)
WEIGHT_TOLERANCE = Decimal("0.01")

GLOB_CHARS = frozenset("*?[")
# A Kubernetes namespace name is an RFC 1123 label.
NAMESPACE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
CURRENCY_CODE = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True, slots=True)
class SplitSpec:
    """How a node's hourly cost is split between CPU and memory (docs/cost-model.md, rule 4)."""

    method: str = "cost_share"
    cpu_share: Decimal = DEFAULT_CPU_SHARE  # used by cost_share: CPU's part of the node cost
    price_ratio: Decimal = DEFAULT_PRICE_RATIO  # used by price_ratio: a core-hour costs k GiB-hours


@dataclass(frozen=True, slots=True, kw_only=True)
class FallbackPrice:
    """Unit prices for node-hours that have no bill line, charged as written (the CPU/memory split does not
    apply to them); instance_type "" is the default row."""

    instance_type: str = ""
    cpu_core_hour: Decimal
    mem_gib_hour: Decimal
    gpu_hour: Decimal | None = None  # price of a GPU-hour; None: GPUs cost nothing in an estimate


@dataclass(frozen=True, slots=True, kw_only=True)
class GpuRule:
    """The GPU part of one instance type's node cost: a share of it, or a GPU-hour's price in core-hours."""

    instance_type: str
    share: Decimal | None = None
    price_ratio: Decimal | None = None


@dataclass(frozen=True, slots=True)
class GpuResource:
    """An extended resource counted as GPUs: `devices` GPUs per unit requested or on a node."""

    name: str
    devices: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class GpuSpec:
    """How a GPU node's hourly cost gives its GPUs their part (docs/cost-model.md, Decisions: GPUs)."""

    price_ratio: Decimal = DEFAULT_GPU_PRICE_RATIO  # a GPU-hour costs this many core-hours
    instance_types: list[GpuRule] = field(default_factory=list)
    resources: list[GpuResource] = field(default_factory=list)

    def rule_for(self, instance_type: str) -> tuple[float | None, float]:
        """(GPU share or None, GPU-hour price in core-hours) for a node of `instance_type`."""
        for rule in self.instance_types:
            if rule.instance_type == instance_type:
                if rule.share is not None:
                    return float(rule.share), float(self.price_ratio)
                if rule.price_ratio is not None:
                    return None, float(rule.price_ratio)
        return None, float(self.price_ratio)

    def resource_devices(self) -> dict[str, float]:
        """{extended resource name: GPUs per unit} of the policy's gpu.resources (costing.gpus reads
        nvidia.com/gpu and MIG profiles without them)."""
        return {r.name: float(r.devices) for r in self.resources}


@dataclass(frozen=True, slots=True)
class TagRule:
    """A bill line carrying this tag belongs to the cluster; value None means the key alone is enough."""

    key: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class ClusterRules:
    """The tag rules that attach bill lines to one cluster."""

    name: str
    tag_rules: list[TagRule] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DepartmentSpec:
    """One department: the namespaces it owns (by name, glob pattern or label value) and its weight."""

    name: str
    namespaces: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    label_value: str | None = None
    weight: Decimal | None = None  # percent, used by pools divided with the `weights` method


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """How one common pool (shared, idle or overhead cost) is divided, and over which scope."""

    method: str = "proportional"
    scope: str = "cluster"


def default_pools() -> dict[str, PoolSpec]:
    return {pool: PoolSpec() for pool in POOLS}


# --- right-sizing ----------------------------------------------------------------------------------------

# The settings of right-sizing recommendations (docs/rightsizing.md), in file order.
RIGHTSIZING_SETTINGS = (
    "cpu_percentile",
    "cpu_headroom",
    "mem_headroom",
    "lookback_days",
    "min_days",
    "min_coverage",
)
RIGHTSIZING_DAYS = ("lookback_days", "min_days")  # whole days
MAX_LOOKBACK_DAYS = 60  # with the 7 days of the back-test, within the 90 days of hourly rows kept by default


@dataclass(frozen=True, slots=True, kw_only=True)
class RightsizingOverride:
    """Right-sizing settings of some namespaces (names or glob patterns); a setting left out (None) is the
    policy's own."""

    namespaces: list[str] = field(default_factory=list)
    cpu_percentile: Decimal | None = None
    cpu_headroom: Decimal | None = None
    mem_headroom: Decimal | None = None
    lookback_days: Decimal | None = None
    min_days: Decimal | None = None
    min_coverage: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RightsizingSpec:
    """How right-sizing recommendations are made, and the namespaces that have settings of their own."""

    cpu_percentile: Decimal = Decimal(95)
    cpu_headroom: Decimal = Decimal("1.15")
    mem_headroom: Decimal = Decimal("1.15")
    lookback_days: Decimal = Decimal(14)
    min_days: Decimal = Decimal(7)
    min_coverage: Decimal = Decimal("0.8")
    overrides: list[RightsizingOverride] = field(default_factory=list)

    def settings(self, override: RightsizingOverride | None = None) -> dict[str, Decimal]:
        """The settings of the policy, with those `override` sets in their place."""
        out = {name: getattr(self, name) for name in RIGHTSIZING_SETTINGS}
        if override is not None:
            out.update(
                {n: getattr(override, n) for n in RIGHTSIZING_SETTINGS if getattr(override, n) is not None}
            )
        return out

    def override_index(self, namespace: str) -> int | None:
        """The index of the override that applies to `namespace`: the one that lists it by name, else the
        one with the most specific matching pattern (the first on a tie), else None."""
        from costing.policy.namespaces import pattern_specificity

        best: tuple | None = None
        for i, override in enumerate(self.overrides):
            for entry in override.namespaces:
                if not isinstance(entry, str):
                    continue
                if not is_pattern(entry):
                    if entry == namespace:
                        return i
                elif fnmatchcase(namespace, entry):
                    rank = (pattern_specificity(entry), -i)
                    if best is None or rank > best[0]:
                        best = (rank, i)
        return None if best is None else best[1]

    def settings_for(self, namespace: str) -> dict[str, Decimal]:
        """The settings that apply to `namespace`."""
        index = self.override_index(namespace)
        return self.settings(None if index is None else self.overrides[index])

    def as_json(self) -> dict:
        """Plain JSON data (numbers as text, exact) for the database; from_json reads it back equal."""
        out = {name: str(getattr(self, name)) for name in RIGHTSIZING_SETTINGS}
        out["overrides"] = [
            {"namespaces": list(o.namespaces)}
            | {n: str(getattr(o, n)) for n in RIGHTSIZING_SETTINGS if getattr(o, n) is not None}
            for o in self.overrides
        ]
        return out

    @classmethod
    def from_json(cls, data: dict | None) -> RightsizingSpec:
        """The spec as_json wrote; empty data (a policy stored before the section existed): the defaults."""
        data = data or {}
        return cls(
            **{n: Decimal(data[n]) for n in RIGHTSIZING_SETTINGS if n in data},
            overrides=[
                RightsizingOverride(
                    namespaces=list(o.get("namespaces", [])),
                    **{n: Decimal(o[n]) for n in RIGHTSIZING_SETTINGS if n in o},
                )
                for o in data.get("overrides", [])
            ],
        )


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """A whole apportionment policy, in force from `effective_from` until the next policy's date."""

    effective_from: date
    currency: str = "EUR"
    split: SplitSpec = field(default_factory=SplitSpec)
    fallback_prices: list[FallbackPrice] = field(default_factory=list)
    gpu: GpuSpec = field(default_factory=GpuSpec)
    clusters: list[ClusterRules] = field(default_factory=list)
    namespace_label_key: str | None = None
    shared_namespaces: list[str] = field(default_factory=list)
    departments: list[DepartmentSpec] = field(default_factory=list)
    pools: dict[str, PoolSpec] = field(default_factory=default_pools)
    pay_per_use: PayPerUseSheet | None = None  # the Optimise view's serverless price sheet (docs/optimise.md)
    rightsizing: RightsizingSpec = field(default_factory=RightsizingSpec)

    def __post_init__(self):
        # A pool left out takes the default, so two specs that mean the same thing compare equal.
        if any(pool not in self.pools for pool in POOLS):
            object.__setattr__(self, "pools", {**default_pools(), **self.pools})

    def pool(self, name: str) -> PoolSpec:
        return self.pools.get(name, PoolSpec())


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding of `validate`: level "error" or "warning", the field path and what is wrong."""

    level: str
    field: str
    message: str


def is_pattern(name: str) -> bool:
    """True for a glob pattern (it has *, ? or [), False for a plain namespace name."""
    return any(ch in GLOB_CHARS for ch in name)


def _is_number(value) -> bool:
    # int is exact; float is refused on purpose (0.1 is not 0.1), bool is an int but never a number here.
    if isinstance(value, bool):
        return False
    if isinstance(value, Decimal):
        return value.is_finite()
    return isinstance(value, int)


def _text(value) -> str:
    """A value as an error message shows it: text quoted, a Decimal as written, anything else by repr."""
    if isinstance(value, str):
        return f"'{value}'"
    return str(value) if isinstance(value, Decimal) else repr(value)


class _Checker:
    def __init__(self):
        self.issues: list[Issue] = []

    def error(self, path: str, message: str):
        self.issues.append(Issue("error", path, message))

    def warning(self, path: str, message: str):
        self.issues.append(Issue("warning", path, message))


def validate(spec: PolicySpec, known_namespaces: Iterable[str] | None = None) -> list[Issue]:
    """Every error and warning of the policy, in file order; the policy is usable when no issue is an error.

    `known_namespaces` (the namespaces the clusters actually have) enables the checks that need them:
    explicit names nobody has, patterns that match nothing.
    """
    check = _Checker()
    known = set(known_namespaces) if known_namespaces is not None else None

    _check_header(check, spec)
    _check_split(check, spec.split)
    _check_fallback_prices(check, spec.fallback_prices)
    _check_gpu(check, spec.gpu)
    _check_clusters(check, spec.clusters)
    shared_names, shared_patterns = _check_shared(check, spec.shared_namespaces, known)
    _check_departments(check, spec, shared_names, shared_patterns, known)
    _check_pools(check, spec)
    _check_pay_per_use(check, spec.pay_per_use)
    _check_rightsizing(check, spec.rightsizing, known)
    return check.issues


def _check_header(check: _Checker, spec: PolicySpec):
    if not isinstance(spec.effective_from, date) or isinstance(spec.effective_from, datetime):
        check.error("effective_from", f"must be a date (YYYY-MM-DD), not {_text(spec.effective_from)}")
    if not isinstance(spec.currency, str) or not CURRENCY_CODE.fullmatch(spec.currency):
        check.error("currency", f"must be a 3-letter ISO 4217 code such as EUR, not {_text(spec.currency)}")
    key = spec.namespace_label_key
    if key is not None and (not isinstance(key, str) or not key.strip()):
        check.error("namespace_label_key", "must be a label key such as 'department', or left out")


def _check_split(check: _Checker, split: SplitSpec):
    if split.method not in SPLIT_METHODS:
        check.error("split.method", f"must be one of {', '.join(SPLIT_METHODS)}, not {_text(split.method)}")
    if not _is_number(split.cpu_share) or not 0 <= split.cpu_share <= 1:
        check.error("split.cpu_share", f"must be a number between 0 and 1, not {_text(split.cpu_share)}")
    if not _is_number(split.price_ratio) or split.price_ratio <= 0:
        check.error("split.price_ratio", f"must be a number above 0, not {_text(split.price_ratio)}")


def _check_fallback_prices(check: _Checker, prices: list[FallbackPrice]):
    seen: dict[str, int] = {}
    for i, price in enumerate(prices):
        path = f"fallback_prices[{i}]"
        if not isinstance(price.instance_type, str):
            check.error(f"{path}.instance_type", "must be text (empty for the default row)")
        elif price.instance_type in seen:
            label = price.instance_type or "the default row"
            check.error(
                f"{path}.instance_type",
                f"{label} is already priced by fallback_prices[{seen[price.instance_type]}]",
            )
        else:
            seen[price.instance_type] = i
        for name in ("cpu_core_hour", "mem_gib_hour"):
            value = getattr(price, name)
            if not _is_number(value) or value < 0:
                check.error(f"{path}.{name}", f"must be a number of 0 or more, not {_text(value)}")
        if price.gpu_hour is not None and (not _is_number(price.gpu_hour) or price.gpu_hour < 0):
            check.error(f"{path}.gpu_hour", f"must be a number of 0 or more, not {_text(price.gpu_hour)}")
    if prices and "" not in seen:
        check.warning(
            "fallback_prices",
            "no default row (instance_type left empty): node-hours of other instance types cannot be "
            "estimated before their bill arrives",
        )


def _check_gpu(check: _Checker, gpu: GpuSpec):
    if not _is_number(gpu.price_ratio) or gpu.price_ratio < 0:
        check.error("gpu.price_ratio", f"must be a number of 0 or more, not {_text(gpu.price_ratio)}")
    _check_gpu_rules(check, gpu.instance_types)
    _check_gpu_resources(check, gpu.resources)


def _check_gpu_rules(check: _Checker, rules: list[GpuRule]):
    seen: dict[str, int] = {}
    for i, rule in enumerate(rules):
        path = f"gpu.instance_types[{i}]"
        if not isinstance(rule.instance_type, str) or not rule.instance_type:
            check.error(f"{path}.instance_type", "must name an instance type")
        elif rule.instance_type in seen:
            check.error(
                f"{path}.instance_type",
                f"'{rule.instance_type}' is already set by gpu.instance_types[{seen[rule.instance_type]}]",
            )
        else:
            seen[rule.instance_type] = i
        if (rule.share is None) == (rule.price_ratio is None):
            check.error(path, "must give exactly one of share and price_ratio")
        if rule.share is not None and (not _is_number(rule.share) or not 0 <= rule.share <= 1):
            check.error(f"{path}.share", f"must be a number between 0 and 1, not {_text(rule.share)}")
        if rule.price_ratio is not None and (not _is_number(rule.price_ratio) or rule.price_ratio < 0):
            check.error(
                f"{path}.price_ratio", f"must be a number of 0 or more, not {_text(rule.price_ratio)}"
            )


def _check_gpu_resources(check: _Checker, resources: list[GpuResource]):
    names: dict[str, int] = {}
    for i, resource in enumerate(resources):
        path = f"gpu.resources[{i}]"
        name = resource.name
        if not isinstance(name, str) or not EXTENDED_RESOURCE_NAME.fullmatch(name):
            check.error(
                f"{path}.name", f"must be an extended resource name such as amd.com/gpu, not {_text(name)}"
            )
        elif name == NVIDIA_GPU:
            check.error(f"{path}.name", f"{name} is always one GPU per unit; leave it out")
        elif name in names:
            check.error(f"{path}.name", f"'{name}' is already listed as gpu.resources[{names[name]}]")
        else:
            names[name] = i
        if not _is_number(resource.devices) or resource.devices <= 0:
            check.error(f"{path}.devices", f"must be a number above 0, not {_text(resource.devices)}")


def _check_clusters(check: _Checker, clusters: list[ClusterRules]):
    names: dict[str, int] = {}
    rules: list[tuple[str, TagRule]] = []
    for i, cluster in enumerate(clusters):
        path = f"clusters[{i}]"
        if not isinstance(cluster.name, str) or not cluster.name.strip():
            check.error(f"{path}.name", "must be the cluster's name")
        elif cluster.name in names:
            check.error(
                f"{path}.name",
                f"cluster '{cluster.name}' is already listed at clusters[{names[cluster.name]}]",
            )
        else:
            names[cluster.name] = i
        if not cluster.tag_rules:
            check.warning(f"{path}.tag_rules", "no tag rule: no bill line can be attributed to this cluster")
        for j, rule in enumerate(cluster.tag_rules):
            rule_path = f"{path}.tag_rules[{j}]"
            if not isinstance(rule.key, str) or not rule.key:
                check.error(f"{rule_path}.key", "must be a tag key")
                continue
            if rule.value is not None and not isinstance(rule.value, str):
                check.error(f"{rule_path}.value", "must be text, or left out to match the key alone")
                continue
            for other_path, other in rules:
                # A key-only rule matches every value of that key, so it collides with any rule on the key.
                if other.key == rule.key and (
                    other.value is None or rule.value is None or other.value == rule.value
                ):
                    check.error(rule_path, f"matches the same bill lines as {other_path}")
                    break
            rules.append((rule_path, rule))


def _check_shared(check: _Checker, shared: list[str], known: set[str] | None) -> tuple[dict, list]:
    names: dict[str, str] = {}
    patterns: list[tuple[str, str]] = []
    for i, entry in enumerate(shared):
        path = f"shared_namespaces[{i}]"
        if not isinstance(entry, str) or not entry:
            check.error(path, "must be a namespace name or a glob pattern")
            continue
        if is_pattern(entry):
            if known is not None and not any(fnmatchcase(ns, entry) for ns in known):
                check.warning(path, f"pattern '{entry}' matches none of the known namespaces")
            patterns.append((path, entry))
            continue
        if not NAMESPACE_NAME.fullmatch(entry):
            check.error(path, f"'{entry}' is not a valid Kubernetes namespace name")
        elif entry in names:
            check.warning(path, f"'{entry}' is already listed at {names[entry]}")
            continue
        elif known is not None and entry not in known:
            check.warning(path, f"namespace '{entry}' is not one of the known namespaces")
        names[entry] = path
    return names, patterns


def _check_departments(
    check: _Checker,
    spec: PolicySpec,
    shared_names: dict[str, str],
    shared_patterns: list[tuple[str, str]],
    known: set[str] | None,
):
    names: dict[str, int] = {}
    claimed: dict[str, str] = {}  # explicit namespace -> path of its first claim
    label_values: dict[str, str] = {}
    patterns: list[tuple[str, int, str]] = []  # (path, department index, pattern)
    for i, dept in enumerate(spec.departments):
        path = f"departments[{i}]"
        _check_department_name(check, path, dept.name, names, i)
        for j, ns in enumerate(dept.namespaces):
            ns_path = f"{path}.namespaces[{j}]"
            if _claim_namespace(check, ns_path, ns, claimed):
                _check_owned_namespace(check, ns_path, ns, shared_names, shared_patterns, known)
        for j, pattern in enumerate(dept.patterns):
            pattern_path = f"{path}.patterns[{j}]"
            if _check_department_pattern(check, pattern_path, pattern, known):
                patterns.append((pattern_path, i, pattern))
        if dept.label_value is not None:
            _check_label_value(check, f"{path}.label_value", dept.label_value, spec, label_values)
        _check_department_weight(check, path, dept.weight)
        _check_department_charged(check, path, dept)
    _check_pattern_overlaps(check, spec, patterns, known)


def _check_department_name(check: _Checker, path: str, name, names: dict[str, int], index: int):
    if not isinstance(name, str) or not name.strip():
        check.error(f"{path}.name", "must be the department's name")
    elif name in RESERVED_DEPARTMENT_NAMES:
        check.error(
            f"{path}.name",
            f"'{name}' is reserved for the lines {', '.join(RESERVED_DEPARTMENT_NAMES)}",
        )
    elif name in names:
        check.error(f"{path}.name", f"department '{name}' is already listed at departments[{names[name]}]")
    else:
        names[name] = index


def _claim_namespace(check: _Checker, path: str, ns, claimed: dict[str, str]) -> bool:
    """Claim an explicit namespace for its department; False (with the error) if it is invalid or taken."""
    if not isinstance(ns, str) or not NAMESPACE_NAME.fullmatch(ns):
        hint = " (glob patterns go under patterns)" if isinstance(ns, str) and is_pattern(ns) else ""
        check.error(path, f"{_text(ns)} is not a valid Kubernetes namespace name{hint}")
        return False
    if ns in claimed:
        check.error(path, f"namespace '{ns}' is already claimed by {claimed[ns]}")
        return False
    claimed[ns] = path
    return True


def _check_owned_namespace(
    check: _Checker,
    path: str,
    ns: str,
    shared_names: dict[str, str],
    shared_patterns: list[tuple[str, str]],
    known: set[str] | None,
):
    """A namespace a department owns by name must not be shared too, and should exist."""
    if ns in shared_names:
        check.error(path, f"namespace '{ns}' is also shared ({shared_names[ns]})")
    else:
        for shared_path, pattern in shared_patterns:
            if fnmatchcase(ns, pattern):
                check.error(path, f"namespace '{ns}' is also shared ({shared_path} '{pattern}')")
                break
    if known is not None and ns not in known:
        check.warning(path, f"namespace '{ns}' is not one of the known namespaces")


def _check_department_pattern(check: _Checker, path: str, pattern, known: set[str] | None) -> bool:
    """False (with the error) when `pattern` is not a pattern at all, so it takes no part in the overlaps."""
    if not isinstance(pattern, str) or not pattern:
        check.error(path, "must be a glob pattern such as 'pay-*'")
        return False
    if known is not None and not any(fnmatchcase(ns, pattern) for ns in known):
        check.warning(path, f"pattern '{pattern}' matches none of the known namespaces")
    return True


def _check_label_value(check: _Checker, path: str, value, spec: PolicySpec, label_values: dict[str, str]):
    if not isinstance(value, str) or not value:
        check.error(path, "must be a label value, or left out")
    elif not spec.namespace_label_key:
        check.error(path, "a label value needs namespace_label_key to say which label to read")
    elif value in label_values:
        check.error(path, f"label value '{value}' is already used by {label_values[value]}")
    else:
        label_values[value] = path


def _check_department_weight(check: _Checker, path: str, weight):
    if weight is not None and (not _is_number(weight) or not 0 <= weight <= WEIGHT_TOTAL):
        check.error(f"{path}.weight", f"must be a number between 0 and 100, not {_text(weight)}")


def _check_department_charged(check: _Checker, path: str, dept: DepartmentSpec):
    if not (dept.namespaces or dept.patterns or dept.label_value is not None or dept.weight is not None):
        check.warning(path, "no namespace, pattern, label value or weight: this department is never charged")


def _check_pattern_overlaps(check: _Checker, spec: PolicySpec, patterns: list[tuple[str, int, str]], known):
    for a in range(len(patterns)):
        path_a, dept_a, pattern_a = patterns[a]
        for b in range(a + 1, len(patterns)):
            path_b, dept_b, pattern_b = patterns[b]
            if dept_a == dept_b:
                continue
            if pattern_a == pattern_b:
                check.error(path_b, f"pattern '{pattern_b}' is already used by {path_a}")
                continue
            example = None
            if known is not None:
                example = next(
                    (ns for ns in sorted(known) if fnmatchcase(ns, pattern_a) and fnmatchcase(ns, pattern_b)),
                    None,
                )
            if example is None:
                example = glob_overlap(pattern_a, pattern_b)
            if example is not None:
                check.warning(
                    path_b,
                    f"pattern '{pattern_b}' and {path_a} '{pattern_a}' both match namespaces such as "
                    f"'{example}'; the more specific pattern wins (see docs/policy.md)",
                )


def _check_pools(check: _Checker, spec: PolicySpec):
    for pool in spec.pools:
        if pool not in (*POOLS, *OPTIONAL_POOLS):
            check.error(
                f"pools.{pool}", f"unknown pool; the pools are {', '.join((*POOLS, *OPTIONAL_POOLS))}"
            )
    weighted = [d for d in spec.departments if d.weight is not None]
    uses_weights = False
    for pool in (*POOLS, *[p for p in OPTIONAL_POOLS if p in spec.pools]):
        pool_spec = spec.pools[pool]
        path = f"pools.{pool}"
        uses_weights |= _check_pool_method(check, path, pool, pool_spec.method, weighted)
        _check_pool_scope(check, path, pool, pool_spec.scope)
    _check_weight_total(check, weighted, uses_weights)


def _check_pool_method(check: _Checker, path: str, pool: str, method, weighted: list[DepartmentSpec]) -> bool:
    """Check one pool's method; True when the pool is divided by the departments' weights."""
    if method not in POOL_METHODS:
        check.error(f"{path}.method", f"must be one of {', '.join(_methods_for(pool))}, not {_text(method)}")
    elif method == "per_resource" and pool not in IDLE_POOLS:
        check.error(f"{path}.method", "per_resource is only for the idle pools (idle, gpu_idle)")
    elif method == "weights":
        if not weighted:
            check.error(f"{path}.method", "the weights method needs at least one department with a weight")
        return True
    return False


def _check_pool_scope(check: _Checker, path: str, pool: str, scope):
    if scope not in SCOPES:
        check.error(f"{path}.scope", f"must be one of {', '.join(SCOPES)}, not {_text(scope)}")
    elif pool in IDLE_POOLS and scope != "cluster":
        check.error(
            f"{path}.scope",
            "idle cost is always divided within its own cluster: the scope must be cluster",
        )


def _check_weight_total(check: _Checker, weighted: list[DepartmentSpec], uses_weights: bool):
    numeric = [d.weight for d in weighted if _is_number(d.weight)]
    if uses_weights and weighted and len(numeric) == len(weighted):
        total = sum(numeric, Decimal(0))
        if total == 0:
            check.warning("departments", "all weights are 0: pools divided by weights fall back to even")
        elif abs(total - WEIGHT_TOTAL) > WEIGHT_TOLERANCE:
            check.warning(
                "departments",
                f"the weights add up to {total}, not 100; they are normalised over the departments "
                "that have one",
            )
    elif weighted and not uses_weights:
        check.warning(
            "departments", "weights are set but no pool uses the weights method; they have no effect"
        )


def _methods_for(pool: str) -> tuple[str, ...]:
    return POOL_METHODS if pool in IDLE_POOLS else tuple(m for m in POOL_METHODS if m != "per_resource")


def _check_rightsizing_setting(check: _Checker, path: str, name: str, value):
    if name in RIGHTSIZING_DAYS:
        top = MAX_LOOKBACK_DAYS if name == "lookback_days" else None
        low = 1 if name == "lookback_days" else 0
        if (
            not _is_number(value)
            or Decimal(value) != Decimal(value).to_integral_value()
            or value < low
            or (top and value > top)
        ):
            bound = f"from {low} to {top}" if top else f"of {low} or more"
            check.error(path, f"must be a whole number of days {bound}, not {_text(value)}")
        return
    ranges = {
        "cpu_percentile": (Decimal(0), Decimal(100), "above 0 and at most 100"),
        "cpu_headroom": (Decimal(1), Decimal(10), "from 1 to 10"),
        "mem_headroom": (Decimal(1), Decimal(10), "from 1 to 10 (memory is never advised below its peak)"),
        "min_coverage": (Decimal(0), Decimal(1), "from 0 to 1"),
    }
    low, high, words = ranges[name]
    ok = _is_number(value) and (value > low if name == "cpu_percentile" else value >= low) and value <= high
    if not ok:
        check.error(path, f"must be a number {words}, not {_text(value)}")


def _check_rightsizing_days(check: _Checker, path: str, settings: dict, own: bool):
    """min_days must fit in lookback_days, once both are numbers (reported where the override is)."""
    days, lookback = settings["min_days"], settings["lookback_days"]
    if _is_number(days) and _is_number(lookback) and days > lookback:
        where = "" if own else " (with the policy's own setting)"
        check.error(path, f"min_days {days} is more than lookback_days {lookback}{where}")


def _check_rightsizing(check: _Checker, spec: RightsizingSpec, known: set[str] | None):
    if not isinstance(spec, RightsizingSpec):
        check.error("rightsizing", "must be a mapping of right-sizing settings")
        return
    for name in RIGHTSIZING_SETTINGS:
        _check_rightsizing_setting(check, f"rightsizing.{name}", name, getattr(spec, name))
    _check_rightsizing_days(check, "rightsizing.min_days", spec.settings(), True)
    listed: dict[str, str] = {}
    for i, override in enumerate(spec.overrides):
        path = f"rightsizing.overrides[{i}]"
        if not override.namespaces:
            check.error(f"{path}.namespaces", "must list at least one namespace name or glob pattern")
        for j, entry in enumerate(override.namespaces):
            entry_path = f"{path}.namespaces[{j}]"
            if (
                not isinstance(entry, str)
                or not entry
                or not (is_pattern(entry) or NAMESPACE_NAME.fullmatch(entry))
            ):
                check.error(entry_path, f"{_text(entry)} is not a namespace name or a glob pattern")
            elif entry in listed:
                check.error(entry_path, f"'{entry}' is already listed at {listed[entry]}")
            else:
                listed[entry] = entry_path
                if known is not None and not any(fnmatchcase(ns, entry) for ns in known):
                    check.warning(entry_path, f"'{entry}' matches none of the known namespaces")
        given = [n for n in RIGHTSIZING_SETTINGS if getattr(override, n) is not None]
        if not given:
            check.warning(path, "sets no setting: these namespaces use the policy's own settings")
        for name in given:
            _check_rightsizing_setting(check, f"{path}.{name}", name, getattr(override, name))
        own = "min_days" in given and "lookback_days" in given
        _check_rightsizing_days(
            check,
            f"{path}.{'min_days' if 'min_days' in given else 'lookback_days'}",
            spec.settings(override),
            own,
        )


# --- glob overlap -------------------------------------------------------------------------------------

# Characters tried when searching for a name both patterns match: every printable ASCII character,
# plus one non-ASCII letter standing for everything a pattern does not mention. Namespace characters
# come first so that the example shown reads like a namespace.
_NAMESPACE_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-"
_ALPHABET = (
    _NAMESPACE_CHARS
    + "".join(ch for ch in map(chr, range(0x20, 0x7F)) if ch not in _NAMESPACE_CHARS)
    + "\u00e9"
)


def glob_tokens(pattern: str) -> list[str]:
    """Split a glob into tokens: '*', '?', a '[...]' class, or one literal character (fnmatch's rules)."""
    tokens, i, n = [], 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "[":
            j = i + 1
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j < n:
                tokens.append(pattern[i : j + 1])
                i = j + 1
                continue
        tokens.append(ch)
        i += 1
    return tokens


def _token_accepts(token: str, ch: str) -> bool:
    if token in ("*", "?"):
        return True
    if len(token) > 1:
        return fnmatchcase(ch, token)
    return token == ch


def glob_overlap(pattern_a: str, pattern_b: str) -> str | None:
    """The shortest name that both glob patterns match (over printable ASCII), or None when there is none.

    A breadth-first search over pairs of positions in the two patterns: '*' may stay on its
    position while consuming a character, or be skipped.
    """
    ta, tb = glob_tokens(pattern_a), glob_tokens(pattern_b)
    chars = _ALPHABET + "".join(sorted({t for t in ta + tb if len(t) == 1} - set(_ALPHABET)))

    def closure(i: int, j: int) -> set[tuple[int, int]]:
        out, stack = set(), [(i, j)]
        while stack:
            state = stack.pop()
            if state in out:
                continue
            out.add(state)
            a, b = state
            if a < len(ta) and ta[a] == "*":
                stack.append((a + 1, b))
            if b < len(tb) and tb[b] == "*":
                stack.append((a, b + 1))
        return out

    # A state is remembered with whether its text is empty yet: a namespace name is never empty.
    start = closure(0, 0)
    seen = {(state, False) for state in start}
    queue = deque((state, "") for state in sorted(start))
    while queue:
        (a, b), text = queue.popleft()
        if text and a == len(ta) and b == len(tb):
            return text
        for ch in chars:
            if not (a < len(ta) and _token_accepts(ta[a], ch) and b < len(tb) and _token_accepts(tb[b], ch)):
                continue
            next_a = a if ta[a] == "*" else a + 1
            next_b = b if tb[b] == "*" else b + 1
            for state in sorted(closure(next_a, next_b)):
                if (state, True) not in seen:
                    seen.add((state, True))
                    queue.append((state, text + ch))
    return None


# -- pay-per-use price sheet (issue 15: the Optimise view's serverless what-if) --------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PayPerUseSheet:
    """A pay-per-use serverless offer (CCE Autopilot, EKS Fargate, GKE Autopilot style) in the policy's
    currency: prices per vCPU-second and GiB-second of a pod's requests, with the offer's minimums and
    rounding (docs/policy.md). It changes no cost; the Optimise view prices its what-if with it."""

    name: str = "pay-per-use"
    vcpu_second: Decimal
    gib_second: Decimal
    min_vcpu: Decimal = Decimal(0)
    min_gib: Decimal = Decimal(0)
    vcpu_step: Decimal = Decimal(0)
    gib_step: Decimal = Decimal(0)
    min_seconds: Decimal = Decimal(0)
    second_step: Decimal = Decimal(1)


PAY_PER_USE_FIELDS = (
    "name", "vcpu_second", "gib_second", "min_vcpu", "min_gib", "vcpu_step", "gib_step", "min_seconds",
    "second_step",
)  # fmt: skip


def _check_pay_per_use(check: _Checker, sheet: PayPerUseSheet | None):
    if sheet is None:
        return
    if not isinstance(sheet.name, str) or not sheet.name.strip():
        check.error("pay_per_use.name", f"must be a name such as 'CCE Autopilot', not {_text(sheet.name)}")
    for name in PAY_PER_USE_FIELDS[1:]:
        value = getattr(sheet, name)
        if not _is_number(value) or value < 0:
            check.error(f"pay_per_use.{name}", f"must be a number, 0 or more, not {_text(value)}")
    if (
        _is_number(sheet.vcpu_second)
        and _is_number(sheet.gib_second)
        and sheet.vcpu_second == sheet.gib_second == 0
    ):
        check.warning("pay_per_use", "both prices are 0: every workload would look free on pay-per-use")
