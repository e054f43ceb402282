"""Tests of namespace-to-department resolution: precedence, pattern specificity, shared namespaces."""

from datetime import date
from pathlib import Path

import pytest

from costing.policy.namespaces import DepartmentResolver, pattern_specificity, resolve_department
from costing.policy.spec import DepartmentSpec, PolicySpec
from costing.policy.yamlfile import load_policy

EXAMPLE = Path(__file__).resolve().parents[3] / "costing" / "policy" / "example.yaml"


def policy(*departments, shared=(), label_key="department") -> PolicySpec:
    return PolicySpec(
        date(2025, 1, 1),
        namespace_label_key=label_key,
        shared_namespaces=list(shared),
        departments=list(departments),
    )


def test_explicit_beats_pattern_beats_label():
    spec = policy(
        DepartmentSpec("Payments", patterns=["pay-*"], label_value="payments"),
        DepartmentSpec("Batch", namespaces=["pay-batch"]),
        DepartmentSpec("Search", label_value="search"),
    )
    resolver = DepartmentResolver(spec)
    assert resolver.resolve("pay-batch", {"department": "search"}) == "Batch"  # explicit
    assert resolver.resolve("pay-api", {"department": "search"}) == "Payments"  # pattern over label
    assert resolver.resolve("misc", {"department": "search"}) == "Search"  # label
    assert resolver.resolve("misc", {"department": "payments"}) == "Payments"
    assert resolver.resolve("misc", {"department": "finance"}) == "Unallocated"  # labels make no department
    assert resolver.resolve("misc", {"team": "search"}) == "Unallocated"
    assert resolver.resolve("misc") == "Unallocated"
    assert [resolver.rule_of(ns, {"department": "search"}) for ns in ("pay-batch", "pay-api", "misc")] == [
        "namespace",
        "pattern",
        "label",
    ]
    assert resolver.rule_of("misc") == "none"


def test_labels_are_ignored_without_a_label_key():
    spec = policy(DepartmentSpec("Search", label_value="search"), label_key=None)
    assert resolve_department("misc", {"department": "search"}, spec) == "Unallocated"


def test_shared_beats_every_department_rule():
    spec = policy(
        DepartmentSpec("Platform", namespaces=["monitoring"], patterns=["k*"], label_value="platform"),
        shared=["monitoring", "kube-*"],
    )
    resolver = DepartmentResolver(spec)
    assert resolver.resolve("monitoring") == "Shared"  # also claimed explicitly (a validation error)
    assert resolver.resolve("kube-system", {"department": "platform"}) == "Shared"
    assert resolver.resolve("kafka") == "Platform"
    assert resolver.is_shared("kube-public") and resolver.is_shared("monitoring")
    assert not resolver.is_shared("kafka") and not resolver.is_shared("kube")
    assert resolver.rule_of("kube-system") == "shared"


@pytest.mark.parametrize(
    ("first", "second", "namespace", "winner"),
    [
        ("team-*", "team-a-*", "team-a-web", "second"),  # longer literal prefix
        ("pay-*", "*-jobs", "pay-jobs", "first"),  # prefix counts before the literal characters elsewhere
        ("ab*", "ab*c", "abxc", "second"),  # same prefix, more literal characters
        ("data-*", "data-??", "data-ab", "second"),  # same literals, fewer '*'
        ("data-?*", "data-[ab]*", "data-ab", "tie"),  # '?' and [..] count alike: the department listed first
        ("a*", "a*", "ab", "tie"),
    ],
)
def test_the_most_specific_pattern_wins(first, second, namespace, winner):
    for order in ((first, second), (second, first)):
        spec = policy(DepartmentSpec("One", patterns=[order[0]]), DepartmentSpec("Two", patterns=[order[1]]))
        found = DepartmentResolver(spec).resolve(namespace)
        if winner == "tie":
            assert found == "One"
        else:
            expected = {"first": first, "second": second}[winner]
            assert found == ("One" if order[0] == expected else "Two")


def test_pattern_specificity_key():
    assert pattern_specificity("team-a-*") == (7, 7, -1, 0)
    assert pattern_specificity("data-??") == (5, 5, 0, -2)
    assert pattern_specificity("*-jobs") == (0, 5, -1, 0)
    assert pattern_specificity("p[0-4]x") == (1, 2, 0, -1)
    assert pattern_specificity("plain") == (5, 5, 0, 0)


def test_patterns_are_case_sensitive_globs():
    spec = policy(DepartmentSpec("Payments", patterns=["pay-*", "ledger-[0-9]"]))
    resolver = DepartmentResolver(spec)
    assert resolver.resolve("pay-x") == "Payments"
    assert resolver.resolve("Pay-x") == "Unallocated"
    assert resolver.resolve("ledger-7") == "Payments"
    assert resolver.resolve("ledger-77") == "Unallocated"


def test_resolve_many_resolves_each_namespace_with_its_labels():
    spec = policy(
        DepartmentSpec("Payments", patterns=["pay-*"]), DepartmentSpec("Search", label_value="search")
    )
    resolver = DepartmentResolver(spec)
    result = resolver.resolve_many(
        ["pay-a", "misc", "pay-a", "other", "kube-system"], {"misc": {"department": "search"}}
    )
    assert result == {
        "pay-a": "Payments",
        "misc": "Search",
        "other": "Unallocated",
        "kube-system": "Unallocated",
    }


def test_the_example_policy():
    resolver = DepartmentResolver(load_policy(EXAMPLE.read_text()))
    cases = {
        ("payments", None): "Payments",
        ("pay-gateway", None): "Payments",
        ("search-indexer", None): "Search",
        ("spark-history", None): "Data Platform",
        ("airflow", None): "Data Platform",
        ("shop-eu", None): "Storefront",
        ("kube-system", None): "Shared",
        ("istio-system", "payments"): "Shared",
        ("legacy-cms", "storefront"): "Storefront",
        ("sandbox", None): "Unallocated",
    }
    for (namespace, label), department in cases.items():
        labels = {"department": label} if label else {}
        assert resolver.resolve(namespace, labels) == department, namespace
