from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costing.engine._validate import EngineInputError
from costing.engine.apportionment import (
    IDLE_METHODS,
    METHODS,
    POOLS,
    ApportionInputs,
    ApportionRules,
    apportion,
)
from costing.engine.rounding import largest_remainder


def ns(cluster, namespace, department, cpu, mem, shared=False):
    return {
        "cluster": cluster,
        "namespace": namespace,
        "department": None if shared else department,
        "shared": shared,
        "cpu_cost": cpu,
        "mem_cost": mem,
        "cost": cpu + mem,
    }


# Cluster a: Sales 8 (CPU 6), Ops 2 (CPU 1), kube-system 2 (CPU 2, shared); idle 4.5 CPU + 3 memory;
# overhead 10.
CLUSTER_A = [
    ns("a", "web", "Sales", 6.0, 2.0),
    ns("a", "db", "Ops", 1.0, 1.0),
    ns("a", "kube-system", None, 2.0, 0.0, True),
]


def inputs(namespaces=CLUSTER_A, idle=(("a", 4.5, 3.0),), overhead=(("a", 10.0),)):
    return ApportionInputs(
        namespaces=pd.DataFrame(list(namespaces), columns=list(ns("a", "x", "X", 0.0, 0.0))),
        idle=pd.DataFrame(list(idle), columns=["cluster", "cpu_idle", "mem_idle"]),
        overhead=pd.DataFrame(list(overhead), columns=["cluster", "cost"]),
    )


def table(result):
    return result.lines.set_index(["cluster", "department"])


def test_proportional_divides_every_pool_by_direct_cost():
    got = table(apportion(inputs(), ApportionRules()))
    # Sales has 8 of the 10 of direct cost.
    assert got.loc[("a", "Sales"), ["direct", "shared", "idle", "overhead"]].tolist() == pytest.approx(
        [8, 1.6, 6, 8]
    )
    assert got.loc[("a", "Ops"), "total"] == pytest.approx(2 + 0.4 + 1.5 + 2)
    assert got["total"].sum() == pytest.approx(12 + 7.5 + 10)
    assert set(got["kind"]) == {"department"}


def test_even_divides_among_departments_with_direct_cost_unallocated_included():
    namespaces = [*CLUSTER_A, ns("a", "tmp", "Unallocated", 0.5, 0.5), ns("a", "empty", "HR", 0.0, 0.0)]
    got = table(
        apportion(inputs(namespaces), ApportionRules(shared="even", departments=["Sales", "Ops", "HR"]))
    )
    for department in ("Sales", "Ops", "Unallocated"):
        assert got.loc[("a", department), "shared"] == pytest.approx(2 / 3)
    assert got.loc[("a", "HR"), "shared"] == 0.0  # HR ran, but at no cost


def test_weights_charge_a_department_that_did_not_run():
    rules = ApportionRules(
        overhead="weights", weights={"Sales": 50, "Ops": 30, "HR": 20}, departments=["Sales", "Ops", "HR"]
    )
    result = apportion(inputs(), rules)
    got = table(result)
    assert got.loc[("a", "Sales"), "overhead"] == pytest.approx(5.0)
    assert got.loc[("a", "Ops"), "overhead"] == pytest.approx(3.0)
    assert got.loc[("a", "HR"), ["direct", "overhead", "total"]].tolist() == pytest.approx([0.0, 2.0, 2.0])
    hr = result.explain.query("pool == 'overhead' and department == 'HR'").iloc[0]
    assert hr["method"] == "weights"
    assert hr["fraction"] == pytest.approx(0.2)


def test_weights_are_normalised_over_departments_with_a_weight():
    rules = ApportionRules(overhead="weights", weights={"Sales": 1, "Ops": 3})
    got = table(apportion(inputs(), rules))
    assert got.loc[("a", "Sales"), "overhead"] == pytest.approx(2.5)
    assert got.loc[("a", "Ops"), "overhead"] == pytest.approx(7.5)


def test_all_zero_weights_fall_back_to_even():
    result = apportion(inputs(), ApportionRules(overhead="weights", weights={"Sales": 0, "Ops": 0}))
    got = table(result)
    assert got.loc[("a", "Sales"), "overhead"] == pytest.approx(5.0)
    assert got.loc[("a", "Ops"), "overhead"] == pytest.approx(5.0)
    applied = set(result.explain.query("pool == 'overhead'")["applied"])
    assert applied == {"even (fallback: no policy weights)"}


def test_proportional_without_direct_cost_falls_back_to_even_then_to_its_own_line():
    # Cluster b runs only a shared namespace: nobody in b can take b's pools.
    b = [ns("b", "monitoring", None, 2.0, 1.0, True)]
    result = apportion(
        inputs([*CLUSTER_A, *b], idle=[("a", 4.5, 3.0), ("b", 1.0, 0.0)], overhead=[("a", 10.0), ("b", 2.0)]),
        ApportionRules(),
    )
    got = table(result)
    assert got.loc[("b", "Shared"), ["shared", "total"]].tolist() == pytest.approx([3.0, 3.0])
    assert got.loc[("b", "Idle"), "idle"] == pytest.approx(1.0)
    assert got.loc[("b", "Overhead"), "overhead"] == pytest.approx(2.0)
    assert set(got.loc["b", "kind"]) == {"line"}
    assert set(result.explain.query("cluster == 'b'")["applied"]) == {"no taker"}


def test_separate_pools_stay_on_their_own_lines():
    rules = ApportionRules(shared="separate", idle="separate", overhead="separate")
    got = table(apportion(inputs(), rules))
    assert got.loc[("a", "Shared"), "total"] == pytest.approx(2.0)
    assert got.loc[("a", "Idle"), "total"] == pytest.approx(7.5)
    assert got.loc[("a", "Overhead"), "total"] == pytest.approx(10.0)
    assert got.loc[("a", "Sales"), "total"] == pytest.approx(8.0)


def test_per_resource_idle_passes_the_shared_namespaces_part_on_with_the_shared_cost():
    # CPU cost 6 / 1 / 2 (shared) of 9: idle CPU 4.5 -> Sales 3, Ops 0.5, kube-system 1.
    # Memory cost 2 / 1 / 0 of 3: idle memory 3 -> Sales 2, Ops 1.
    # kube-system's idle 1 follows the shared cost, proportionally 0.8 / 0.2.
    result = apportion(inputs(), ApportionRules(idle="per_resource"))
    got = table(result)
    assert got.loc[("a", "Sales"), "idle"] == pytest.approx(3 + 2 + 0.8)
    assert got.loc[("a", "Ops"), "idle"] == pytest.approx(0.5 + 1 + 0.2)
    assert got.loc[("a", "Sales"), "shared"] == pytest.approx(1.6)
    explain = result.explain.set_index(["resource", "via", "department"])
    assert explain.loc[("cpu", "", "(shared namespaces)"), "amount"] == pytest.approx(1.0)
    assert explain.loc[("cpu", "", "Sales"), "fraction"] == pytest.approx(6 / 9)
    assert explain.loc[("all", "shared", "Sales"), "amount"] == pytest.approx(0.8)


def test_per_resource_idle_with_shared_separate_puts_the_passed_on_idle_on_the_shared_line():
    got = table(apportion(inputs(), ApportionRules(idle="per_resource", shared="separate")))
    assert got.loc[("a", "Shared"), ["shared", "idle", "total"]].tolist() == pytest.approx([2.0, 1.0, 3.0])
    assert got.loc[("a", "Sales"), "idle"] == pytest.approx(5.0)


def two_clusters():
    # Cluster b: Research 10 of direct cost, no idle, no overhead, no shared namespace.
    return inputs([*CLUSTER_A, ns("b", "ml", "Research", 8.0, 2.0)], overhead=[("a", 10.0)])


def test_cluster_scope_charges_a_department_only_for_clusters_it_uses():
    got = table(apportion(two_clusters(), ApportionRules()))
    assert ("a", "Research") not in got.index
    assert got.loc[("b", "Research"), "total"] == pytest.approx(10.0)


def test_global_scope_divides_each_cluster_pool_by_global_direct_cost():
    # Global direct: Sales 8, Ops 2, Research 10 -> 0.4 / 0.1 / 0.5, applied to cluster a's pools.
    rules = ApportionRules(shared_scope="global", overhead_scope="global")
    got = table(apportion(two_clusters(), rules))
    assert got.loc[("a", "Research"), ["direct", "shared", "idle", "overhead"]].tolist() == pytest.approx(
        [0.0, 1.0, 0.0, 5.0]
    )
    assert got.loc[("a", "Sales"), ["shared", "idle", "overhead"]].tolist() == pytest.approx([0.8, 6.0, 4.0])
    # Idle is always divided within its own cluster.
    assert got.loc[("a", "Ops"), "idle"] == pytest.approx(1.5)
    assert got.groupby("cluster")["total"].sum().to_dict() == pytest.approx({"a": 29.5, "b": 10.0})


def test_global_even_and_global_weights():
    rules = ApportionRules(
        overhead="even",
        overhead_scope="global",
        shared="weights",
        shared_scope="global",
        weights={"Research": 1, "Legal": 1},
        departments=["Sales", "Ops", "Research", "Legal"],
    )
    got = table(apportion(two_clusters(), rules))
    for department in ("Sales", "Ops", "Research"):
        assert got.loc[("a", department), "overhead"] == pytest.approx(10 / 3)
    assert got.loc[("a", "Legal"), "shared"] == pytest.approx(1.0)  # ran nowhere, has a weight
    assert got.loc[("a", "Research"), "shared"] == pytest.approx(1.0)


def test_no_department_anywhere_leaves_global_pools_on_their_lines():
    only_shared = inputs([ns("a", "kube-system", None, 2.0, 0.0, True)])
    got = table(apportion(only_shared, ApportionRules(overhead_scope="global", shared_scope="global")))
    assert got.loc[("a", "Shared"), "total"] == pytest.approx(2.0)
    assert got.loc[("a", "Overhead"), "total"] == pytest.approx(10.0)
    assert got.loc[("a", "Idle"), "total"] == pytest.approx(7.5)


def test_a_day_without_any_cost_gives_no_lines():
    result = apportion(inputs([], idle=[], overhead=[]), ApportionRules())
    assert result.lines.empty
    assert result.explain.empty


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (ApportionRules(shared="per_resource"), "rules.shared"),
        (ApportionRules(idle="random"), "rules.idle"),
        (ApportionRules(overhead_scope="planet"), "rules.overhead_scope"),
        (ApportionRules(departments=["Idle"]), "reserved"),
        (ApportionRules(weights={"Legal": 1}, departments=["Sales"]), r"rules.weights\['Legal'\]"),
        (ApportionRules(weights={"Sales": -1}), r"rules.weights\['Sales'\]"),
    ],
)
def test_bad_rules_are_named(rules, message):
    with pytest.raises(EngineInputError, match=message):
        apportion(inputs(), rules)


def test_a_namespace_without_department_is_named():
    bad = [*CLUSTER_A, {**ns("a", "x", None, 1.0, 0.0), "department": None}]
    with pytest.raises(EngineInputError, match="row 3, column department"):
        apportion(inputs(bad), ApportionRules())


# --- properties over random clusters and policies --------------------------------------------------

DEPARTMENTS = ["Sales", "Ops", "Research", "Legal"]


@st.composite
def days(draw):
    clusters = [f"c{i}" for i in range(draw(st.integers(1, 3)))]
    money = st.one_of(st.just(0.0), st.floats(0.01, 1000.0))
    namespaces = []
    for cluster in clusters:
        for i in range(draw(st.integers(0, 5))):
            shared = draw(st.booleans())
            department = draw(st.sampled_from([*DEPARTMENTS, "Unallocated"]))
            namespaces.append(ns(cluster, f"ns{i}", department, draw(money), draw(money), shared))
    idle = [(c, draw(money), draw(money)) for c in clusters if draw(st.booleans())]
    overhead = [(c, draw(money)) for c in clusters if draw(st.booleans())]
    return inputs(namespaces, idle, overhead)


@st.composite
def policies(draw):
    departments = draw(st.lists(st.sampled_from(DEPARTMENTS), unique=True))
    weights = {d: draw(st.sampled_from([0.0, 10.0, 25.0, 33.3])) for d in departments if draw(st.booleans())}
    return ApportionRules(
        shared=draw(st.sampled_from(METHODS)),
        idle=draw(st.sampled_from(IDLE_METHODS)),
        overhead=draw(st.sampled_from(METHODS)),
        shared_scope=draw(st.sampled_from(["cluster", "global"])),
        overhead_scope=draw(st.sampled_from(["cluster", "global"])),
        weights=weights,
        departments=departments,
    )


def physical(day: ApportionInputs) -> pd.DataFrame:
    shared = day.namespaces["shared"].astype(bool)
    frames = {
        "direct": day.namespaces.loc[~shared].groupby("cluster")["cost"].sum(),
        "shared": day.namespaces.loc[shared].groupby("cluster")["cost"].sum(),
        "idle": day.idle.set_index("cluster")[["cpu_idle", "mem_idle"]].sum(axis=1),
        "overhead": day.overhead.set_index("cluster")["cost"],
    }
    return pd.DataFrame(frames).fillna(0.0)


@settings(max_examples=150, deadline=None)
@given(day=days(), rules=policies())
def test_departments_and_lines_add_up_to_the_physical_cost_of_every_cluster(day, rules):
    result = apportion(day, rules)
    lines = result.lines
    np.testing.assert_allclose(lines[["direct", "shared", "idle", "overhead"]].sum(axis=1), lines["total"])
    expected = physical(day)
    shared_and_idle = lines.groupby("cluster")[["shared", "idle"]].sum().sum(axis=1)
    for cluster, row in expected.iterrows():
        mine = lines[lines["cluster"] == cluster]
        assert mine["total"].sum() == pytest.approx(row.sum(), rel=1e-9, abs=1e-9)
        assert mine["direct"].sum() == pytest.approx(row["direct"], rel=1e-9, abs=1e-9)
        assert mine["overhead"].sum() == pytest.approx(row["overhead"], rel=1e-9, abs=1e-9)
        # per_resource moves shared namespaces' idle into the shared pool; together they are whole.
        assert shared_and_idle.get(cluster, 0.0) == pytest.approx(
            row["shared"] + row["idle"], rel=1e-9, abs=1e-9
        )
    assert (lines[["shared", "idle", "overhead", "total"]] >= -1e-12).all().all()
    # Rounded to the cent against the rounded physical cost, every line moves by less than a cent.
    whole = sum((Decimal(str(v)) for v in expected.to_numpy().ravel()), Decimal(0))
    cents = largest_remainder(list(lines["total"]), total=whole)
    assert sum(cents, Decimal(0)) == whole.quantize(Decimal("0.01"), ROUND_HALF_UP)
    for part, amount in zip(cents, lines["total"], strict=True):
        assert abs(part - Decimal(str(amount))) < Decimal("0.01") + Decimal("1e-9")


@settings(max_examples=60, deadline=None)
@given(day=days(), rules=policies())
def test_the_order_in_which_pools_are_divided_does_not_change_the_result(day, rules):
    first = apportion(day, rules)
    # Every rotation (each pool first and last once; of any two pools, each before the other in some) and the
    # reverse: a dependency between two pools would show, at 6 orders an example rather than all 120.
    pools = tuple(POOLS)
    orders = [pools[i:] + pools[:i] for i in range(1, len(pools))] + [pools[::-1]]
    for order in orders:
        again = apportion(day, rules, pool_order=order)
        pd.testing.assert_frame_equal(again.lines, first.lines, check_exact=True)
        pd.testing.assert_frame_equal(again.explain, first.explain, check_exact=True)


@settings(max_examples=60, deadline=None)
@given(day=days(), rules=policies())
def test_every_explained_division_hands_out_exactly_its_amount(day, rules):
    explain = apportion(day, rules).explain
    if explain.empty:
        return
    stages = explain.groupby(["cluster", "pool", "resource", "via"])
    np.testing.assert_allclose(stages["fraction"].sum(), 1.0)
    np.testing.assert_allclose(stages["amount"].sum(), stages["pool_amount"].first(), rtol=1e-9, atol=1e-12)


def test_replaying_the_same_day_gives_identical_output():
    rules = ApportionRules(idle="per_resource", overhead="weights", weights={"Sales": 2, "HR": 1})
    first = apportion(two_clusters(), rules)
    second = apportion(two_clusters(), rules)
    pd.testing.assert_frame_equal(first.lines, second.lines, check_exact=True)
    pd.testing.assert_frame_equal(first.explain, second.explain, check_exact=True)


def storage_inputs():
    # Cluster a with storage: Sales' namespace paid 3 for volumes (cost 11), Ops' 1 (cost 3); storage idle 2
    # (a released volume) besides the idle CPU 4.5 and memory 3.
    namespaces = [{**row, "storage_cost": 0.0} for row in CLUSTER_A]
    namespaces[0].update(storage_cost=3.0, cost=11.0)
    namespaces[1].update(storage_cost=1.0, cost=3.0)
    return ApportionInputs(
        namespaces=pd.DataFrame(namespaces),
        idle=pd.DataFrame(
            [("a", 4.5, 3.0, 0.0), ("a", 0.0, 0.0, 2.0)],
            columns=["cluster", "cpu_idle", "mem_idle", "storage_idle"],
        ),
        overhead=pd.DataFrame([("a", 10.0)], columns=["cluster", "cost"]),
    )


def test_storage_idle_is_idle_and_under_per_resource_follows_storage_cost():
    # Proportional: idle 4.5 + 3 + 2 = 9.5 by direct cost 11 : 3.
    got = table(apportion(storage_inputs(), ApportionRules()))
    assert got.loc[("a", "Sales"), "idle"] == pytest.approx(9.5 * 11 / 14)
    assert got["total"].sum() == pytest.approx(11 + 3 + 2 + 9.5 + 10)
    # Per resource: storage idle 2 by storage cost 3 : 1 -> Sales 1.5, Ops 0.5; CPU and memory as in
    # test_per_resource_idle_passes_the_shared_namespaces_part_on_with_the_shared_cost.
    result = apportion(storage_inputs(), ApportionRules(idle="per_resource"))
    got = table(result)
    # kube-system's idle CPU 1 follows the shared cost, by direct cost 11 : 3.
    assert got.loc[("a", "Sales"), "idle"] == pytest.approx(3 + 2 + 1.5 + 11 / 14)
    assert got.loc[("a", "Ops"), "idle"] == pytest.approx(0.5 + 1 + 0.5 + 3 / 14)
    explain = result.explain.set_index(["resource", "via", "department"])
    assert explain.loc[("storage", "", "Sales"), "amount"] == pytest.approx(1.5)
    assert explain.loc[("storage", "", "Ops"), "amount"] == pytest.approx(0.5)


def gpu_inputs():
    """Cluster a with GPUs: Sales web 6 CPU + 2 memory + 3 GPU (direct 11), Ops db 1 + 1 + 1 (direct 3),
    kube-system 2 CPU (shared); idle 4.5 CPU + 3 memory + 6 GPU; overhead 10."""
    namespaces = pd.DataFrame(CLUSTER_A).assign(gpu_cost=[3.0, 1.0, 0.0])
    namespaces["cost"] = namespaces["cpu_cost"] + namespaces["mem_cost"] + namespaces["gpu_cost"]
    return ApportionInputs(
        namespaces=namespaces,
        idle=pd.DataFrame({"cluster": ["a"], "cpu_idle": [4.5], "mem_idle": [3.0], "gpu_idle": [6.0]}),
        overhead=pd.DataFrame({"cluster": ["a"], "cost": [10.0]}),
    )


def test_idle_gpu_is_its_own_column_divided_like_idle_when_the_policy_has_no_rule_for_it():
    got = table(apportion(gpu_inputs(), ApportionRules()))
    # Idle 7.5 and idle GPU 6 each by direct cost, 11 : 3.
    assert got.loc[("a", "Sales"), ["idle", "gpu_idle"]].tolist() == pytest.approx(
        [7.5 * 11 / 14, 6 * 11 / 14]
    )
    assert got.loc[("a", "Ops"), ["idle", "gpu_idle"]].tolist() == pytest.approx([7.5 * 3 / 14, 6 * 3 / 14])
    assert got["total"].sum() == pytest.approx(11 + 3 + 2 + 7.5 + 6 + 10)
    explain = apportion(gpu_inputs(), ApportionRules()).explain
    gpu = explain[explain["pool"] == "gpu_idle"].set_index("department")
    assert gpu.loc["Sales", "method"] == "proportional" and gpu.loc["Sales", "pool_amount"] == 6


def test_idle_gpu_kept_separate_is_the_idle_gpu_line():
    got = table(apportion(gpu_inputs(), ApportionRules(gpu_idle="separate")))
    assert got.loc[("a", "Idle GPU"), ["kind", "gpu_idle", "total"]].tolist() == ["line", 6, 6]
    assert got.loc[("a", "Sales"), "gpu_idle"] == 0
    assert got.loc[("a", "Sales"), "idle"] == pytest.approx(7.5 * 11 / 14)  # idle itself unchanged


def test_idle_gpu_per_resource_follows_gpu_cost_and_idle_per_resource_covers_it_without_a_rule():
    for rules in (ApportionRules(gpu_idle="per_resource"), ApportionRules(idle="per_resource")):
        got = table(apportion(gpu_inputs(), rules))
        # GPU costs 3 : 1 : 0 (kube-system has none, so nothing is passed on with the shared cost).
        assert got.loc[("a", "Sales"), "gpu_idle"] == pytest.approx(4.5)
        assert got.loc[("a", "Ops"), "gpu_idle"] == pytest.approx(1.5)
        assert got["total"].sum() == pytest.approx(39.5)


def test_an_unknown_idle_gpu_method_is_refused():
    with pytest.raises(EngineInputError, match=r"rules\.gpu_idle"):
        apportion(gpu_inputs(), ApportionRules(gpu_idle="random"))
