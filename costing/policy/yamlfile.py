"""The policy as a YAML file: load with every error located by line and field, dump as commented YAML."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import BinaryIO, NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from costing.policy.spec import (
    OPTIONAL_POOLS,
    PAY_PER_USE_FIELDS,
    POOLS,
    RIGHTSIZING_SETTINGS,
    ClusterRules,
    DepartmentSpec,
    FallbackPrice,
    GpuResource,
    GpuRule,
    GpuSpec,
    PayPerUseSheet,
    PolicySpec,
    PoolSpec,
    RightsizingOverride,
    RightsizingSpec,
    SplitSpec,
    TagRule,
    validate,
)

FORMAT_VERSION = 1
# A real policy is a few kilobytes; a bigger file is a mistake, or a way to make the YAML parser (whose cost
# grows faster than the text) hold a worker. Refused before any parsing (docs/policy.md).
MAX_POLICY_BYTES = 1024 * 1024
# The tags plain YAML data resolves to; anything else (!!python/..., !custom, !!binary) is refused.
_ALLOWED_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
)
_NULL_TAG = "tag:yaml.org,2002:null"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MISSING = object()


class FileError(NamedTuple):
    """One finding located in the file: 1-based line, field path ("" for syntax) and the reason."""

    line: int
    field: str
    message: str


def format_error(source: str, error: FileError) -> str:
    where = f"{source}, line {error.line}"
    if error.field:
        where += f", field {error.field}"
    return f"{where}: {error.message}"


class PolicyFileError(ValueError):
    """The file cannot be imported; `.errors` holds every error of the file, not just the first."""

    def __init__(self, errors: list[FileError], source: str = "<policy>"):
        self.errors = sorted(errors, key=lambda e: e.line)
        self.source = source
        super().__init__("\n".join(format_error(source, e) for e in self.errors))


@dataclass(frozen=True)
class PolicyRead:
    """A policy read without error, with the warnings the admin should still see."""

    spec: PolicySpec
    warnings: list[FileError]


def _too_big(source: str) -> PolicyFileError:
    reason = f"the file is over 1 MiB ({MAX_POLICY_BYTES:,} bytes), the most a policy file may be"
    return PolicyFileError([FileError(1, "", reason)], source)


def read_policy_bytes(stream: BinaryIO, *, source: str = "<policy>") -> str:
    """The text of a policy file read from a binary stream, reading no more than the size limit allows;
    PolicyFileError if it is bigger than MAX_POLICY_BYTES or not UTF-8."""
    raw = stream.read(MAX_POLICY_BYTES + 1)
    if len(raw) > MAX_POLICY_BYTES:
        raise _too_big(source)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise PolicyFileError([FileError(line, "", "not UTF-8 text")], source) from exc


def load_policy(text: str, *, source: str = "<policy>") -> PolicySpec:
    """The policy the YAML text describes; raises PolicyFileError listing every error of the file."""
    return read_policy(text, source=source).spec


def compose_file(text: str, source: str, error: type[PolicyFileError], empty: str) -> Node:
    """The YAML node graph of a file of MAX_POLICY_BYTES at most; `error` (located) for a file too big,
    unreadable or empty (`empty` says what the file needs)."""
    # Four bytes per character at most: only a text that may be too big is encoded to be measured.
    if len(text) * 4 > MAX_POLICY_BYTES and len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise error(_too_big(source).errors, source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "cannot be read"
        raise error([FileError(line, "", f"invalid YAML: {problem}")], source) from exc
    except yaml.YAMLError as exc:
        # ReaderError (a character YAML does not allow) carries a position, not a line.
        position = getattr(exc, "position", 0) or 0
        line = text.count("\n", 0, position) + 1
        reason = str(exc).splitlines()[0]  # the rest names PyYAML's stream, not the file
        raise error([FileError(line, "", f"invalid YAML: {reason}")], source) from exc
    if root is None:
        raise error([FileError(1, "", f"the file is empty; {empty}")], source)

    return root


def read_policy(
    text: str, *, source: str = "<policy>", known_namespaces: Iterable[str] | None = None
) -> PolicyRead:
    """Like load_policy, also returning the warnings (located like errors)."""
    root = compose_file(text, source, PolicyFileError, "a policy needs at least effective_from")
    reader = _Reader()
    spec = reader.policy(root)
    issues = validate(spec, known_namespaces) if spec is not None else []
    errors = list(reader.errors)
    warnings = []
    for issue in issues:
        if reader.is_bad(issue.field):
            continue  # the reader already said what is wrong there
        located = FileError(reader.line_of(issue.field), issue.field, issue.message)
        (errors if issue.level == "error" else warnings).append(located)
    if errors:
        raise PolicyFileError(errors, source)
    return PolicyRead(spec, sorted(warnings, key=lambda e: e.line))


class _Reader:
    """Walks the composed node graph, building the spec and remembering the line of every field."""

    def __init__(self):
        self.errors: list[FileError] = []
        self.lines: dict[str, int] = {}
        self.bad: set[str] = set()

    # -- bookkeeping -----------------------------------------------------------------------------------

    def error(self, node: Node, path: str, message: str):
        self.errors.append(FileError(node.start_mark.line + 1, path, message))
        self.bad.add(path)

    def is_bad(self, path: str) -> bool:
        return any(path == bad or path.startswith((f"{bad}.", f"{bad}[")) for bad in self.bad)

    def line_of(self, path: str) -> int:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", path)
        return self.lines.get("", 1)

    def _tag_ok(self, node: Node, path: str) -> bool:
        if node.tag not in _ALLOWED_TAGS:
            self.error(node, path, f"the YAML tag {node.tag} is not allowed here")
            return False
        return True

    # -- shapes ----------------------------------------------------------------------------------------

    def mapping(self, node: Node, path: str, fields: tuple[str, ...], required: tuple[str, ...] = ()):
        """{key: value node} of a mapping node, reporting unknown, duplicate and missing keys."""
        if not self._tag_ok(node, path):
            return None
        if not isinstance(node, MappingNode):
            self.error(node, path, "must be a mapping of key: value")
            return None
        found: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            key_path = f"{path}.{key}" if path else str(key)
            if key not in fields:
                where = f"in {path}" if path else "at the top level"
                self.errors.append(
                    FileError(
                        key_node.start_mark.line + 1,
                        key_path,
                        f"unknown field {where}; the fields are {', '.join(fields)}",
                    )
                )
                continue
            if key in found:
                self.error(key_node, key_path, f"is given twice (first on line {self.lines[key_path]})")
                continue
            found[key] = value_node
            self.lines[key_path] = key_node.start_mark.line + 1
        for key in required:
            if key not in found:
                key_path = f"{path}.{key}" if path else key
                self.error(node, key_path, "is required")
        return found

    def sequence(self, node: Node | None, path: str) -> list[tuple[str, Node]]:
        """[(item path, item node)] of a sequence node; null or absent is an empty list."""
        if node is None or self._is_null(node):
            return []
        if not self._tag_ok(node, path):
            return []
        if not isinstance(node, SequenceNode):
            self.error(node, path, "must be a list")
            return []
        items = []
        for i, item in enumerate(node.value):
            item_path = f"{path}[{i}]"
            self.lines[item_path] = item.start_mark.line + 1
            items.append((item_path, item))
        return items

    @staticmethod
    def _is_null(node: Node) -> bool:
        return isinstance(node, ScalarNode) and node.tag == _NULL_TAG

    # -- scalars ---------------------------------------------------------------------------------------

    def version(self, top: dict) -> None:
        """The top mapping's optional `version` must be the one of the format this program reads."""
        if "version" in top:
            version = self.text(top["version"], "version")
            if version is not None and version != str(FORMAT_VERSION):
                self.error(
                    top["version"], "version", f"this program reads version {FORMAT_VERSION} of the format"
                )

    def text(self, node: Node | None, path: str, *, default=_MISSING, nullable: bool = False):
        """The scalar's own text: `no`, `0123` or `1.10` stay exactly what was written."""
        if node is None:
            return None if default is _MISSING else default
        if self._is_null(node):
            if nullable:
                return None
            if default is not _MISSING:
                return default
            self.error(node, path, "must not be empty")
            return None
        if not self._tag_ok(node, path):
            return None
        if not isinstance(node, ScalarNode):
            self.error(node, path, "must be a single value, not a list or a mapping")
            return None
        return node.value

    def number(self, node: Node | None, path: str, *, default=_MISSING, nullable: bool = False):
        """A Decimal read from the scalar's text (exact); text that is no number is handed on as is."""
        raw = self.text(node, path, default=default, nullable=nullable)
        if not isinstance(raw, str):
            return raw
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            return raw  # validate() says what the field should be
        return value if value.is_finite() else raw

    def date(self, node: Node | None, path: str):
        raw = self.text(node, path)
        if isinstance(raw, str) and _ISO_DATE.fullmatch(raw.strip()):
            try:
                return date.fromisoformat(raw.strip())
            except ValueError:
                pass
        return raw

    def texts(self, node: Node | None, path: str) -> list:
        return [self.text(item, item_path) for item_path, item in self.sequence(node, path)]

    # -- the policy ------------------------------------------------------------------------------------

    def policy(self, root: Node) -> PolicySpec | None:
        self.lines[""] = root.start_mark.line + 1
        top = self.mapping(
            root,
            "",
            (
                "version",
                "effective_from",
                "currency",
                "namespace_label_key",
                "split",
                "fallback_prices",
                "gpu",
                "clusters",
                "shared_namespaces",
                "departments",
                "pools",
                "pay_per_use",
                "rightsizing",
            ),
            required=("effective_from",),
        )
        if top is None:
            return None
        self.version(top)
        return PolicySpec(
            effective_from=self.date(top.get("effective_from"), "effective_from"),
            currency=self.text(top.get("currency"), "currency", default="EUR"),
            split=self.split(top.get("split")),
            fallback_prices=self.fallback_prices(top.get("fallback_prices")),
            gpu=self.gpu(top.get("gpu")),
            clusters=self.clusters(top.get("clusters")),
            namespace_label_key=self.text(
                top.get("namespace_label_key"), "namespace_label_key", nullable=True
            ),
            shared_namespaces=self.texts(top.get("shared_namespaces"), "shared_namespaces"),
            departments=self.departments(top.get("departments")),
            pools=self.pools(top.get("pools")),
            pay_per_use=self.pay_per_use(top.get("pay_per_use")),
            rightsizing=self.rightsizing(top.get("rightsizing")),
        )

    def pay_per_use(self, node: Node | None) -> PayPerUseSheet | None:
        """The optional serverless price sheet; absent or null: none (files without it load unchanged)."""
        if node is None or self._is_null(node):
            return None
        fields = self.mapping(node, "pay_per_use", PAY_PER_USE_FIELDS, ("vcpu_second", "gib_second"))
        if fields is None:
            return None
        default = PayPerUseSheet(vcpu_second=Decimal(0), gib_second=Decimal(0))
        values = {"name": self.text(fields.get("name"), "pay_per_use.name", default=default.name)}
        for name in PAY_PER_USE_FIELDS[1:]:
            values[name] = self.number(
                fields.get(name), f"pay_per_use.{name}", default=getattr(default, name)
            )
        return PayPerUseSheet(**values)

    def split(self, node: Node | None) -> SplitSpec:
        default = SplitSpec()
        if node is None or self._is_null(node):
            return default
        fields = self.mapping(node, "split", ("method", "cpu_share", "price_ratio"))
        if fields is None:
            return default
        return SplitSpec(
            method=self.text(fields.get("method"), "split.method", default=default.method),
            cpu_share=self.number(fields.get("cpu_share"), "split.cpu_share", default=default.cpu_share),
            price_ratio=self.number(
                fields.get("price_ratio"), "split.price_ratio", default=default.price_ratio
            ),
        )

    def fallback_prices(self, node: Node | None) -> list[FallbackPrice]:
        prices = []
        for path, item in self.sequence(node, "fallback_prices"):
            fields = self.mapping(
                item,
                path,
                ("instance_type", "cpu_core_hour", "mem_gib_hour", "gpu_hour"),
                ("cpu_core_hour", "mem_gib_hour"),
            )
            if fields is None:
                # A placeholder keeps the indexes of the items after it equal to their place in the file.
                prices.append(FallbackPrice(instance_type=None, cpu_core_hour=None, mem_gib_hour=None))
                continue
            prices.append(
                FallbackPrice(
                    instance_type=self.text(fields.get("instance_type"), f"{path}.instance_type", default=""),
                    cpu_core_hour=self.number(fields.get("cpu_core_hour"), f"{path}.cpu_core_hour"),
                    mem_gib_hour=self.number(fields.get("mem_gib_hour"), f"{path}.mem_gib_hour"),
                    gpu_hour=self.number(fields.get("gpu_hour"), f"{path}.gpu_hour", default=None),
                )
            )
        return prices

    def gpu(self, node: Node | None) -> GpuSpec:
        default = GpuSpec()
        if node is None or self._is_null(node):
            return default
        fields = self.mapping(node, "gpu", ("price_ratio", "instance_types", "resources"))
        if fields is None:
            return default
        rules = []
        for path, item in self.sequence(fields.get("instance_types"), "gpu.instance_types"):
            found = self.mapping(item, path, ("instance_type", "share", "price_ratio"), ("instance_type",))
            if found is None:
                rules.append(GpuRule(instance_type=None, share=None, price_ratio=Decimal(0)))
                continue
            rules.append(
                GpuRule(
                    instance_type=self.text(found.get("instance_type"), f"{path}.instance_type"),
                    share=self.number(found.get("share"), f"{path}.share", default=None),
                    price_ratio=self.number(found.get("price_ratio"), f"{path}.price_ratio", default=None),
                )
            )
        resources = []
        for path, item in self.sequence(fields.get("resources"), "gpu.resources"):
            found = self.mapping(item, path, ("name", "devices"), ("name",))
            if found is None:
                resources.append(GpuResource(name=None))
                continue
            resources.append(
                GpuResource(
                    name=self.text(found.get("name"), f"{path}.name"),
                    devices=self.number(found.get("devices"), f"{path}.devices", default=Decimal(1)),
                )
            )
        return GpuSpec(
            price_ratio=self.number(
                fields.get("price_ratio"), "gpu.price_ratio", default=default.price_ratio
            ),
            instance_types=rules,
            resources=resources,
        )

    def clusters(self, node: Node | None) -> list[ClusterRules]:
        clusters = []
        for path, item in self.sequence(node, "clusters"):
            fields = self.mapping(item, path, ("name", "tag_rules"), ("name",))
            if fields is None:
                clusters.append(ClusterRules(name=None))
                continue
            rules = []
            for rule_path, rule_node in self.sequence(fields.get("tag_rules"), f"{path}.tag_rules"):
                rule = self.mapping(rule_node, rule_path, ("key", "value"), ("key",))
                if rule is None:
                    rules.append(TagRule(key=None))
                else:
                    rules.append(
                        TagRule(
                            key=self.text(rule.get("key"), f"{rule_path}.key"),
                            value=self.text(rule.get("value"), f"{rule_path}.value", nullable=True),
                        )
                    )
            clusters.append(ClusterRules(name=self.text(fields.get("name"), f"{path}.name"), tag_rules=rules))
        return clusters

    def departments(self, node: Node | None) -> list[DepartmentSpec]:
        departments = []
        for path, item in self.sequence(node, "departments"):
            fields = self.mapping(
                item, path, ("name", "namespaces", "patterns", "label_value", "weight"), ("name",)
            )
            if fields is None:
                departments.append(DepartmentSpec(name=None))
                continue
            departments.append(
                DepartmentSpec(
                    name=self.text(fields.get("name"), f"{path}.name"),
                    namespaces=self.texts(fields.get("namespaces"), f"{path}.namespaces"),
                    patterns=self.texts(fields.get("patterns"), f"{path}.patterns"),
                    label_value=self.text(fields.get("label_value"), f"{path}.label_value", nullable=True),
                    weight=self.number(fields.get("weight"), f"{path}.weight", nullable=True),
                )
            )
        return departments

    def pools(self, node: Node | None) -> dict[str, PoolSpec]:
        pools = {}
        if node is None or self._is_null(node):
            return pools
        fields = self.mapping(node, "pools", (*POOLS, *OPTIONAL_POOLS))
        for pool, pool_node in (fields or {}).items():
            path = f"pools.{pool}"
            if self._is_null(pool_node):
                continue
            spec = self.mapping(pool_node, path, ("method", "scope"))
            if spec is not None:
                pools[pool] = PoolSpec(
                    method=self.text(spec.get("method"), f"{path}.method", default=PoolSpec().method),
                    scope=self.text(spec.get("scope"), f"{path}.scope", default=PoolSpec().scope),
                )
        return pools

    def rightsizing(self, node: Node | None) -> RightsizingSpec:
        """The right-sizing section; left out or empty: the defaults (files older than the section)."""
        default = RightsizingSpec()
        if node is None or self._is_null(node):
            return default
        fields = self.mapping(node, "rightsizing", (*RIGHTSIZING_SETTINGS, "overrides"))
        if fields is None:
            return default
        overrides = []
        for path, item in self.sequence(fields.get("overrides"), "rightsizing.overrides"):
            found = self.mapping(item, path, ("namespaces", *RIGHTSIZING_SETTINGS), ("namespaces",))
            if found is None:
                overrides.append(RightsizingOverride(namespaces=[None]))
                continue
            overrides.append(
                RightsizingOverride(
                    namespaces=self.texts(found.get("namespaces"), f"{path}.namespaces"),
                    **{
                        n: self.number(found.get(n), f"{path}.{n}", nullable=True)
                        for n in RIGHTSIZING_SETTINGS
                    },
                )
            )
        return RightsizingSpec(
            **{
                n: self.number(fields.get(n), f"rightsizing.{n}", default=getattr(default, n))
                for n in RIGHTSIZING_SETTINGS
            },
            overrides=overrides,
        )


# --- dump ------------------------------------------------------------------------------------------------

_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")


def _emit(value) -> str:
    """PyYAML's own spelling of a value on one line, so that quoting is always right."""
    options = {"allow_unicode": True, "width": 2**30, "default_flow_style": True, "sort_keys": False}
    out = yaml.safe_dump(value, **options)
    out = out.removesuffix("\n...\n").removesuffix("\n")
    if any(br in out for br in _BREAKS):
        out = yaml.safe_dump(value, default_style='"', **options)
        out = out.removesuffix("\n...\n").removesuffix("\n")
    return out


def _str(value: str | None) -> str:
    return "null" if value is None else _emit(str(value))


def _date(value) -> str:
    return value.isoformat() if isinstance(value, date) else _str(value)


def _num(value: Decimal) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _list(values: list[str]) -> str:
    return _emit([str(v) for v in values])


def dump_policy(spec: PolicySpec) -> str:
    """The policy as commented YAML, always in the same order, that load_policy reads back equal."""
    out = [
        "# Apportionment policy: who pays for the Kubernetes clusters. Format: docs/policy.md.",
        f"version: {FORMAT_VERSION}",
        "",
        "# In force from this day (UTC) until the next policy's effective date.",
        f"effective_from: {_date(spec.effective_from)}",
        f"currency: {_str(spec.currency)}",
        "",
        "# Namespace label whose value names a department (see label_value below); null: no label rule.",
        f"namespace_label_key: {_str(spec.namespace_label_key)}",
        "",
        "# How a node's hourly cost is split between CPU and memory.",
        "#   cost_share:  CPU gets cpu_share of the node cost, memory the rest.",
        "#   price_ratio: one core-hour costs price_ratio times one GiB-hour.",
        "split:",
        f"  method: {_str(spec.split.method)}",
        f"  cpu_share: {_num(spec.split.cpu_share)}",
        f"  price_ratio: {_num(spec.split.price_ratio)}",
        "",
        "# Prices for node-hours with no bill line yet (estimates); an empty instance_type is the default.",
        *_dump_fallback_prices(spec.fallback_prices),
        "",
        *_dump_gpu(spec.gpu),
        "# Bill lines carrying one of these tags belong to the cluster (no value: the key alone).",
        *_dump_clusters(spec.clusters),
        "",
        "# Shared namespaces (names or glob patterns): their cost is the shared pool, whoever claims them.",
        f"shared_namespaces: {_list(spec.shared_namespaces)}",
        "",
        "# Departments. A namespace goes to: an explicit name, else the most specific matching pattern,",
        "# else the namespace label's value; else to Unallocated. weight: a percent, for `weights` pools.",
        *_dump_departments(spec.departments),
        "",
        "# How each common pool is divided among the departments.",
        "#   method: proportional (by direct cost), even, weights, separate (own line),",
        "#           per_resource (idle only: idle CPU by CPU cost, idle memory by memory cost).",
        "#   scope:  cluster (a department pays only for the clusters it uses) or global; idle: cluster.",
        *_dump_pools(spec.pools),
        *_dump_pay_per_use(spec.pay_per_use),
        "",
        *_dump_rightsizing(spec.rightsizing),
    ]
    return "\n".join(out) + "\n"


def _dump_fallback_prices(prices: list[FallbackPrice]) -> list[str]:
    if not prices:
        return ["fallback_prices: []"]
    out = ["fallback_prices:"]
    for price in prices:
        out += [
            f"  - instance_type: {_str(price.instance_type)}",
            f"    cpu_core_hour: {_num(price.cpu_core_hour)}",
            f"    mem_gib_hour: {_num(price.mem_gib_hour)}",
        ]
        if price.gpu_hour is not None:
            out.append(f"    gpu_hour: {_num(price.gpu_hour)}")
    return out


def _dump_gpu(gpu: GpuSpec) -> list[str]:
    """The gpu section, only when it differs from the default (a policy without GPUs reads as before)."""
    if gpu == GpuSpec():
        return []
    out = [
        "# GPU nodes: a GPU-hour costs price_ratio core-hours, or per instance type a share of the node cost.",
        "gpu:",
        f"  price_ratio: {_num(gpu.price_ratio)}",
    ]
    if gpu.instance_types:
        out.append("  instance_types:")
        for rule in gpu.instance_types:
            out.append(f"    - instance_type: {_str(rule.instance_type)}")
            if rule.share is not None:
                out.append(f"      share: {_num(rule.share)}")
            if rule.price_ratio is not None:
                out.append(f"      price_ratio: {_num(rule.price_ratio)}")
    if gpu.resources:
        out.append("  resources:")
        for resource in gpu.resources:
            out += [f"    - name: {_str(resource.name)}", f"      devices: {_num(resource.devices)}"]
    return [*out, ""]


def _dump_clusters(clusters: list[ClusterRules]) -> list[str]:
    if not clusters:
        return ["clusters: []"]
    out = ["clusters:"]
    for cluster in clusters:
        out.append(f"  - name: {_str(cluster.name)}")
        if not cluster.tag_rules:
            out.append("    tag_rules: []")
            continue
        out.append("    tag_rules:")
        for rule in cluster.tag_rules:
            out.append(f"      - key: {_str(rule.key)}")
            if rule.value is not None:
                out.append(f"        value: {_str(rule.value)}")
    return out


def _dump_departments(departments: list[DepartmentSpec]) -> list[str]:
    if not departments:
        return ["departments: []"]
    out = ["departments:"]
    for dept in departments:
        out.append(f"  - name: {_str(dept.name)}")
        out.append(f"    namespaces: {_list(dept.namespaces)}")
        out.append(f"    patterns: {_list(dept.patterns)}")
        if dept.label_value is not None:
            out.append(f"    label_value: {_str(dept.label_value)}")
        if dept.weight is not None:
            out.append(f"    weight: {_num(dept.weight)}")
    return out


def _dump_pools(pools: dict[str, PoolSpec]) -> list[str]:
    # The known pools in their usual order, then any unknown one as written (validation names it).
    out = ["pools:"]
    known = (*POOLS, *OPTIONAL_POOLS)
    for pool in (*[p for p in known if p in pools], *[p for p in pools if p not in known]):
        pool_spec = pools[pool]
        out.append(f"  {_str(pool)}: {_emit({'method': pool_spec.method, 'scope': pool_spec.scope})}")
    return out


def _dump_pay_per_use(sheet: PayPerUseSheet | None) -> list[str]:
    # Written only when set, so that the file of a policy without it is what it always was.
    if sheet is None:
        return []
    out = [
        "",
        "# Pay-per-use serverless offer for the Optimise view's what-if: prices per vCPU-second and GiB-second",
        "# of a pod's requests, rounded up to the steps, at least the minimums (docs/optimise.md).",
        "pay_per_use:",
        f"  name: {_str(sheet.name)}",
    ]
    return out + [f"  {name}: {_num(getattr(sheet, name))}" for name in PAY_PER_USE_FIELDS[1:]]


def _dump_rightsizing(spec: RightsizingSpec) -> list[str]:
    out = [
        "# Right-sizing advice (docs/rightsizing.md): CPU at the cpu_percentile of usage x cpu_headroom, memory",
        "# at the peak x mem_headroom, over the last lookback_days; none with fewer than min_days days of usage",
        "# or a collector coverage under min_coverage. overrides: other settings for some namespaces (names",
        "# or glob patterns; a name wins over a pattern, a more specific pattern over a broader one).",
        "rightsizing:",
        *(f"  {name}: {_num(getattr(spec, name))}" for name in RIGHTSIZING_SETTINGS),
    ]
    if not spec.overrides:
        return [*out, "  overrides: []"]
    out.append("  overrides:")
    for override in spec.overrides:
        out.append(f"    - namespaces: {_list(override.namespaces)}")
        out += [
            f"      {name}: {_num(getattr(override, name))}"
            for name in RIGHTSIZING_SETTINGS
            if getattr(override, name) is not None
        ]
    return out
