"""Which department a namespace belongs to under a policy, and whether it is shared."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase

from costing.policy.spec import GLOB_CHARS, SHARED, UNALLOCATED, PolicySpec, glob_tokens, is_pattern


def pattern_specificity(pattern: str) -> tuple[int, int, int, int]:
    """Sort key of a glob pattern, larger is more specific.

    In order: the longer literal prefix (the characters before the first wildcard), then more
    literal characters in all, then fewer '*', then fewer '?' and '[...]' classes.
    """
    tokens = glob_tokens(pattern)
    prefix = 0
    for token in tokens:
        if token in GLOB_CHARS or len(token) > 1:
            break
        prefix += 1
    literals = sum(1 for t in tokens if len(t) == 1 and t not in GLOB_CHARS)
    stars = tokens.count("*")
    others = len(tokens) - literals - stars
    return (prefix, literals, -stars, -others)


class DepartmentResolver:
    """Resolves namespaces to departments under one policy; build it once per policy, call it per namespace.

    Precedence: a shared namespace (by name or pattern) is shared, whatever the department rules say;
    then an explicit namespace name; then the most specific matching glob pattern; then the namespace
    label; otherwise "Unallocated".
    """

    def __init__(self, spec: PolicySpec):
        self.spec = spec
        self.label_key = spec.namespace_label_key or None
        self._shared_names = {s for s in spec.shared_namespaces if not is_pattern(s)}
        self._shared_patterns = [s for s in spec.shared_namespaces if is_pattern(s)]
        self._explicit: dict[str, str] = {}
        self._by_label: dict[str, str] = {}
        ranked = []
        for order, dept in enumerate(spec.departments):
            for ns in dept.namespaces:
                self._explicit.setdefault(ns, dept.name)  # the first claim wins; validate() flags the second
            for position, pattern in enumerate(dept.patterns):
                ranked.append((pattern_specificity(pattern), -order, -position, pattern, dept.name))
            if dept.label_value is not None:
                self._by_label.setdefault(dept.label_value, dept.name)
        # Most specific first; a tie goes to the department (then the pattern) listed first.
        ranked.sort(reverse=True)
        self._patterns = [(pattern, name) for *_, pattern, name in ranked]
        self._cache: dict[tuple[str, str | None], str] = {}

    def is_shared(self, namespace: str) -> bool:
        return namespace in self._shared_names or any(
            fnmatchcase(namespace, p) for p in self._shared_patterns
        )

    def resolve(self, namespace: str, labels: Mapping[str, str] | None = None) -> str:
        """The department name, "Shared" for a shared namespace, or "Unallocated" when no rule claims it."""
        label_value = labels.get(self.label_key) if labels and self.label_key else None
        key = (namespace, label_value)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._resolve(namespace, label_value)
        return found

    def _resolve(self, namespace: str, label_value: str | None) -> str:
        if self.is_shared(namespace):
            return SHARED
        if namespace in self._explicit:
            return self._explicit[namespace]
        for pattern, name in self._patterns:
            if fnmatchcase(namespace, pattern):
                return name
        if label_value is not None and label_value in self._by_label:
            return self._by_label[label_value]
        return UNALLOCATED

    def rule_of(self, namespace: str, labels: Mapping[str, str] | None = None) -> str:
        """Which rule decided, for explanations: "shared", "namespace", "pattern", "label" or "none"."""
        if self.is_shared(namespace):
            return "shared"
        if namespace in self._explicit:
            return "namespace"
        if any(fnmatchcase(namespace, pattern) for pattern, _ in self._patterns):
            return "pattern"
        label_value = labels.get(self.label_key) if labels and self.label_key else None
        if label_value is not None and label_value in self._by_label:
            return "label"
        return "none"

    def resolve_many(
        self, namespaces: Iterable[str], labels: Mapping[str, Mapping[str, str]] | None = None
    ) -> dict[str, str]:
        """namespace -> department for each distinct namespace; `labels` maps a namespace to its labels.

        Meant for DataFrames, resolving each namespace once:
        `df["department"] = df["namespace"].map(resolver.resolve_many(df["namespace"].unique()))`.
        """
        labels = labels or {}
        return {ns: self.resolve(ns, labels.get(ns)) for ns in dict.fromkeys(namespaces)}


def resolve_department(namespace: str, labels: Mapping[str, str] | None, spec: PolicySpec) -> str:
    """The department of one namespace ("Shared" when shared, "Unallocated" when no rule claims it)."""
    return DepartmentResolver(spec).resolve(namespace, labels)
