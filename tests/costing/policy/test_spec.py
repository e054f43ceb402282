"""Tests of the policy's validation rules and of the glob overlap search."""

import itertools
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from fnmatch import fnmatchcase

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costing.policy.spec import (
    ClusterRules,
    DepartmentSpec,
    FallbackPrice,
    PolicySpec,
    PoolSpec,
    SplitSpec,
    TagRule,
    glob_overlap,
    validate,
)

D = Decimal


def base(**changes) -> PolicySpec:
    """A small policy with no issue at all, changed by keyword."""
    spec = PolicySpec(
        effective_from=date(2025, 1, 1),
        fallback_prices=[FallbackPrice(cpu_core_hour=D("0.03"), mem_gib_hour=D("0.004"))],
        clusters=[ClusterRules("prod", [TagRule("CCE-Cluster-ID", "abc")])],
        namespace_label_key="department",
        shared_namespaces=["kube-system", "monitoring", "istio-*"],
        departments=[
            DepartmentSpec("Payments", ["payments"], ["pay-*"], "payments", D(60)),
            DepartmentSpec("Search", ["search"], ["search-*"], "search", D(40)),
        ],
        pools={
            "shared": PoolSpec(),
            "idle": PoolSpec("per_resource"),
            "overhead": PoolSpec("weights", "global"),
        },
    )
    return replace(spec, **changes)


def issues(spec, level="error", known=None):
    return [(i.field, i.message) for i in validate(spec, known) if i.level == level]


def fields(spec, level="error", known=None):
    return [field for field, _ in issues(spec, level, known)]


def test_the_base_policy_has_no_issue():
    assert validate(base()) == []
    assert (
        validate(
            base(),
            known_namespaces=[
                "payments",
                "search",
                "kube-system",
                "monitoring",
                "istio-system",
                "pay-api",
                "search-ui",
            ],
        )
        == []
    )


def test_missing_pools_take_the_default():
    spec = PolicySpec(date(2025, 1, 1), pools={"idle": PoolSpec("separate")})
    assert spec.pools == {"shared": PoolSpec(), "idle": PoolSpec("separate"), "overhead": PoolSpec()}
    assert spec.pools["shared"] == PoolSpec("proportional", "cluster")


# --- errors ---------------------------------------------------------------------------------------------


def test_unknown_pool_method_and_scope():
    spec = base(pools={"shared": PoolSpec("fair"), "idle": PoolSpec(), "overhead": PoolSpec("even", "world")})
    assert fields(spec) == ["pools.shared.method", "pools.overhead.scope"]
    message = dict(issues(spec))["pools.shared.method"]
    assert "proportional" in message and "per_resource" not in message and "'fair'" in message


def test_unknown_pool_name():
    spec = base(pools={**base().pools, "network": PoolSpec()})
    assert fields(spec) == ["pools.network"]


def test_per_resource_only_for_idle():
    spec = base(
        pools={
            "shared": PoolSpec("per_resource"),
            "idle": PoolSpec("per_resource"),
            "overhead": PoolSpec("per_resource"),
        }
    )
    assert fields(spec) == ["pools.shared.method", "pools.overhead.method"]


def test_idle_scope_must_be_cluster():
    spec = base(pools={**base().pools, "idle": PoolSpec("proportional", "global")})
    assert fields(spec) == ["pools.idle.scope"]
    # global is fine for the other two pools
    assert validate(base(pools={**base().pools, "shared": PoolSpec("even", "global")})) == []


def test_weights_method_needs_a_department_with_a_weight():
    depts = [replace(d, weight=None) for d in base().departments]
    spec = base(
        departments=depts,
        pools={"shared": PoolSpec("weights"), "idle": PoolSpec(), "overhead": PoolSpec("weights")},
    )
    assert fields(spec) == ["pools.shared.method", "pools.overhead.method"]


@pytest.mark.parametrize("weight", [D(-1), D("100.01"), D("NaN"), 0.5, "30", True])
def test_weight_must_be_a_number_between_0_and_100(weight):
    depts = base().departments
    spec = base(departments=[depts[0], replace(depts[1], weight=weight)])
    assert fields(spec) == ["departments[1].weight"]
    assert "between 0 and 100" in dict(issues(spec))["departments[1].weight"]


def test_int_weights_are_numbers_too():
    depts = base().departments
    spec = base(departments=[replace(depts[0], weight=60), replace(depts[1], weight=40)])
    assert validate(spec) == []


def test_weights_not_adding_up_to_100_is_a_warning():
    depts = base().departments
    spec = base(departments=[depts[0], replace(depts[1], weight=D(30))])
    assert fields(spec) == []
    assert issues(spec, "warning") == [
        (
            "departments",
            "the weights add up to 90, not 100; they are normalised over the departments that have one",
        )
    ]
    # within a hundredth of a percent is 100
    close = base(departments=[depts[0], replace(depts[1], weight=D("40.01"))])
    assert validate(close) == []


def test_all_weights_zero_falls_back_to_even():
    spec = base(departments=[replace(d, weight=D(0)) for d in base().departments])
    assert fields(spec) == []
    assert fields(spec, "warning") == ["departments"]
    assert "fall back to even" in issues(spec, "warning")[0][1]


def test_weights_without_a_weights_pool_are_a_warning():
    spec = base(pools={"shared": PoolSpec(), "idle": PoolSpec(), "overhead": PoolSpec()})
    assert issues(spec, "warning") == [
        ("departments", "weights are set but no pool uses the weights method; they have no effect")
    ]


def test_duplicate_department_names():
    spec = base(departments=[*base().departments, DepartmentSpec("Payments", ["payments-2"])])
    assert issues(spec) == [
        ("departments[2].name", "department 'Payments' is already listed at departments[0]")
    ]


@pytest.mark.parametrize("name", ["Unallocated", "Shared", "Idle", "Overhead"])
def test_reserved_department_names(name):
    spec = base(departments=[replace(base().departments[0], name=name), base().departments[1]])
    assert fields(spec) == ["departments[0].name"]
    assert "reserved" in issues(spec)[0][1]


def test_empty_department_name():
    spec = base(departments=[replace(base().departments[0], name=" "), base().departments[1]])
    assert fields(spec) == ["departments[0].name"]


def test_a_namespace_claimed_twice():
    depts = base().departments
    spec = base(departments=[depts[0], replace(depts[1], namespaces=["search", "payments"])])
    assert issues(spec) == [
        (
            "departments[1].namespaces[1]",
            "namespace 'payments' is already claimed by departments[0].namespaces[0]",
        )
    ]


def test_a_namespace_both_shared_and_claimed():
    depts = base().departments
    spec = base(
        departments=[replace(depts[0], namespaces=["payments", "monitoring", "istio-system"]), depts[1]]
    )
    assert issues(spec) == [
        ("departments[0].namespaces[1]", "namespace 'monitoring' is also shared (shared_namespaces[1])"),
        (
            "departments[0].namespaces[2]",
            "namespace 'istio-system' is also shared (shared_namespaces[2] 'istio-*')",
        ),
    ]


def test_explicit_namespaces_must_be_namespace_names():
    depts = base().departments
    spec = base(
        departments=[replace(depts[0], namespaces=["payments", "pay-*", "Payments", "a" * 64]), depts[1]]
    )
    assert fields(spec) == [
        "departments[0].namespaces[1]",
        "departments[0].namespaces[2]",
        "departments[0].namespaces[3]",
    ]
    assert "glob patterns go under patterns" in issues(spec)[0][1]


def test_the_same_pattern_in_two_departments_is_an_error():
    depts = base().departments
    spec = base(departments=[depts[0], replace(depts[1], patterns=["search-*", "pay-*"])])
    assert issues(spec) == [
        ("departments[1].patterns[1]", "pattern 'pay-*' is already used by departments[0].patterns[0]")
    ]


def test_label_values():
    depts = base().departments
    no_key = base(namespace_label_key=None)
    assert fields(no_key) == ["departments[0].label_value", "departments[1].label_value"]
    twice = base(departments=[depts[0], replace(depts[1], label_value="payments")])
    assert issues(twice) == [
        ("departments[1].label_value", "label value 'payments' is already used by departments[0].label_value")
    ]
    assert fields(base(namespace_label_key="")) == [
        "namespace_label_key",
        "departments[0].label_value",
        "departments[1].label_value",
    ]


def test_label_values_must_be_text():
    depts = base().departments
    # An empty value is refused, not recorded: the second empty value is not "already used".
    spec = base(departments=[replace(depts[0], label_value=""), replace(depts[1], label_value="")])
    assert issues(spec) == [
        ("departments[0].label_value", "must be a label value, or left out"),
        ("departments[1].label_value", "must be a label value, or left out"),
    ]
    assert issues(base(departments=[replace(depts[0], label_value=7), depts[1]])) == [
        ("departments[0].label_value", "must be a label value, or left out")
    ]


def test_department_patterns_must_be_glob_patterns():
    depts = base().departments
    # A refused entry takes no part in the overlap checks: the two empty patterns are not "already used".
    spec = base(
        departments=[
            replace(depts[0], patterns=["pay-*", "", 7]),
            replace(depts[1], patterns=["search-*", ""]),
        ]
    )
    assert issues(spec) == [
        ("departments[0].patterns[1]", "must be a glob pattern such as 'pay-*'"),
        ("departments[0].patterns[2]", "must be a glob pattern such as 'pay-*'"),
        ("departments[1].patterns[1]", "must be a glob pattern such as 'pay-*'"),
    ]


@pytest.mark.parametrize(
    ("share", "ok"),
    [(D(0), True), (D(1), True), (D("0.65"), True), (D("-0.01"), False), (D("1.01"), False), (0.5, False)],
)
def test_cpu_share_between_0_and_1(share, ok):
    spec = base(split=SplitSpec("cost_share", cpu_share=share))
    assert fields(spec) == ([] if ok else ["split.cpu_share"])


@pytest.mark.parametrize(
    ("ratio", "ok"), [(D("7.46"), True), (D("0.001"), True), (D(0), False), (D(-9), False)]
)
def test_price_ratio_above_0(ratio, ok):
    spec = base(split=SplitSpec("price_ratio", price_ratio=ratio))
    assert fields(spec) == ([] if ok else ["split.price_ratio"])


def test_unknown_split_method():
    assert fields(base(split=SplitSpec("by_magic"))) == ["split.method"]


def test_fallback_prices():
    spec = base(
        fallback_prices=[
            FallbackPrice(cpu_core_hour=D("0.03"), mem_gib_hour=D("-0.001")),
            FallbackPrice(instance_type="m5.xlarge", cpu_core_hour=D(-1), mem_gib_hour=D(0)),
            FallbackPrice(instance_type="m5.xlarge", cpu_core_hour=D(1), mem_gib_hour=D(1)),
            FallbackPrice(cpu_core_hour=D(1), mem_gib_hour=D(1)),
        ]
    )
    assert issues(spec) == [
        ("fallback_prices[0].mem_gib_hour", "must be a number of 0 or more, not -0.001"),
        ("fallback_prices[1].cpu_core_hour", "must be a number of 0 or more, not -1"),
        ("fallback_prices[2].instance_type", "m5.xlarge is already priced by fallback_prices[1]"),
        ("fallback_prices[3].instance_type", "the default row is already priced by fallback_prices[0]"),
    ]


def test_no_default_fallback_row_is_a_warning():
    spec = base(
        fallback_prices=[FallbackPrice(instance_type="m5.xlarge", cpu_core_hour=D(1), mem_gib_hour=D(1))]
    )
    assert fields(spec, "warning") == ["fallback_prices"]


def test_clusters():
    spec = base(
        clusters=[
            ClusterRules("prod", [TagRule("CCE-Cluster-ID", "abc")]),
            ClusterRules("prod", [TagRule("CCE-Cluster-ID", "def")]),
            ClusterRules("eks", [TagRule("aws:eks:cluster-name", "eks"), TagRule("CCE-Cluster-ID")]),
            ClusterRules("dup", [TagRule("CCE-Cluster-ID", "abc"), TagRule("")]),
            ClusterRules("bare", []),
        ]
    )
    assert issues(spec) == [
        ("clusters[1].name", "cluster 'prod' is already listed at clusters[0]"),
        # a key alone matches every value of the key
        ("clusters[2].tag_rules[1]", "matches the same bill lines as clusters[0].tag_rules[0]"),
        ("clusters[3].tag_rules[0]", "matches the same bill lines as clusters[0].tag_rules[0]"),
        ("clusters[3].tag_rules[1].key", "must be a tag key"),
    ]
    assert fields(spec, "warning") == ["clusters[4].tag_rules"]


@pytest.mark.parametrize("currency", ["eur", "EURO", "", None])
def test_currency_is_a_3_letter_code(currency):
    assert fields(base(currency=currency)) == ["currency"]


@pytest.mark.parametrize("day", ["2025-01-01", datetime(2025, 1, 1), None])
def test_effective_from_is_a_date(day):
    assert fields(base(effective_from=day)) == ["effective_from"]


def test_shared_namespace_entries():
    spec = base(shared_namespaces=["kube-system", "", "Kube", "kube-system"])
    assert fields(spec) == ["shared_namespaces[1]", "shared_namespaces[2]"]
    assert issues(spec, "warning") == [
        ("shared_namespaces[3]", "'kube-system' is already listed at shared_namespaces[0]")
    ]


# --- warnings -------------------------------------------------------------------------------------------


def test_overlapping_patterns_are_a_warning_with_an_example():
    depts = base().departments
    spec = base(departments=[replace(depts[0], patterns=["pay-*"]), replace(depts[1], patterns=["*-jobs"])])
    warnings = issues(spec, "warning")
    assert fields(spec) == []
    assert [f for f, _ in warnings] == ["departments[1].patterns[0]"]
    assert "'pay-jobs'" in warnings[0][1] and "departments[0].patterns[0]" in warnings[0][1]


def test_overlap_example_taken_from_the_known_namespaces():
    depts = base().departments
    spec = base(departments=[replace(depts[0], patterns=["pay-*"]), replace(depts[1], patterns=["*-jobs"])])
    known = ["payments", "search", "kube-system", "monitoring", "istio-x", "pay-nightly-jobs"]
    warnings = issues(spec, "warning", known)
    assert [f for f, _ in warnings] == ["departments[1].patterns[0]"]
    assert "'pay-nightly-jobs'" in warnings[0][1]


def test_patterns_of_one_department_may_overlap():
    depts = base().departments
    spec = base(departments=[replace(depts[0], patterns=["pay-*", "pay-api-*"]), depts[1]])
    assert validate(spec) == []


def test_disjoint_patterns_give_no_warning():
    depts = base().departments
    spec = base(
        departments=[
            replace(depts[0], patterns=["pay-*", "p[0-4]*"]),
            replace(depts[1], patterns=["search-*", "p[5-9]*"]),
        ]
    )
    assert validate(spec) == []


def test_unknown_namespaces_and_patterns_matching_nothing():
    known = ["payments", "kube-system", "istio-system", "pay-api", "search-ui"]
    assert issues(base(), "warning", known) == [
        ("shared_namespaces[1]", "namespace 'monitoring' is not one of the known namespaces"),
        ("departments[1].namespaces[0]", "namespace 'search' is not one of the known namespaces"),
    ]
    known = ["payments", "search", "kube-system", "monitoring"]
    assert fields(base(), "warning", known) == [
        "shared_namespaces[2]",
        "departments[0].patterns[0]",
        "departments[1].patterns[0]",
    ]


def test_a_department_that_can_never_be_charged():
    spec = base(departments=[*base().departments, DepartmentSpec("Ghost")])
    assert issues(spec, "warning") == [
        ("departments[2]", "no namespace, pattern, label value or weight: this department is never charged")
    ]
    # a weight alone is enough: weights pools charge it
    assert validate(base(departments=[*base().departments, DepartmentSpec("Board", weight=D(0))])) == []


# --- glob overlap ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ("pay-*", "*-jobs", True),
        ("pay-*", "search-*", False),
        ("*", "*", True),
        ("team-?", "team-ab", False),
        ("team-??", "team-ab", True),
        ("[!a]*", "a*", False),
        ("[a-c]x", "?x", True),
        ("[a-c]x", "[d-f]x", False),
        ("a*b*c", "*cab*", True),
        ("x[", "x[", True),  # an unclosed '[' is a literal, as in fnmatch
    ],
)
def test_glob_overlap(a, b, overlap):
    found = glob_overlap(a, b)
    assert (found is not None) == overlap
    if found is not None:
        assert found and fnmatchcase(found, a) and fnmatchcase(found, b)


@settings(max_examples=200, deadline=None)
@given(st.text("ab*?", max_size=3), st.text("ab*?", max_size=3))
def test_glob_overlap_agrees_with_brute_force(a, b):
    # Patterns of 3 tokens: a common name needs at most 2 + 2 literal or '?' characters (a pattern without
    # '*' has an exact length of 3 at most), so names of up to 5 characters over {a, b, c} find any overlap.
    names = ("".join(t) for n in range(1, 6) for t in itertools.product("abc", repeat=n))
    brute = any(fnmatchcase(name, a) and fnmatchcase(name, b) for name in names)
    found = glob_overlap(a, b)
    assert (found is not None) == brute
    if found is not None:
        assert fnmatchcase(found, a) and fnmatchcase(found, b)
