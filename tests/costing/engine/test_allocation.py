import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costing.engine._validate import EngineInputError
from costing.engine.allocation import AllocationMismatch, allocate, efficiency, rollup
from costing.engine.pricing import node_unit_prices

H0 = pd.Timestamp("2025-03-01 00:00", tz="UTC")
H1 = H0 + pd.Timedelta(hours=1)


def node_hour(node="n1", hour=H0, cpu=4.0, mem=16.0, cost=2.0, **extra):
    row = {
        "cluster": "prod",
        "node": node,
        "node_pool": "general",
        "hour": hour,
        "cpu_core_hours": cpu,
        "mem_gib_hours": mem,
        "cost": cost,
        "estimated": False,
        "sampled": True,
    }
    row.update(extra)
    return row


def pod_hour(pod, cpu, mem, node="n1", hour=H0, namespace="shop", workload="web", kind="Deployment", **extra):
    """A pod-hour whose request equals its billable quantity unless the caller says otherwise."""
    row = {
        "cluster": "prod",
        "node": node,
        "hour": hour,
        "namespace": namespace,
        "workload_kind": kind,
        "workload": workload,
        "pod": pod,
        "cpu_request_core_hours": cpu,
        "cpu_usage_core_hours": cpu / 2,
        "cpu_billable_core_hours": cpu,
        "mem_request_gib_hours": mem,
        "mem_usage_gib_hours": mem / 2,
        "mem_billable_gib_hours": mem,
    }
    row.update(extra)
    return row


def run(nodes, pods, split="cost_share", **kwargs):
    prices = node_unit_prices(pd.DataFrame(nodes), split=split, **kwargs)
    return allocate(pd.DataFrame(pods), prices)


def by_pod(result):
    return result.pods.set_index("pod")


def test_pods_pay_billable_times_unit_price_and_the_rest_is_idle():
    # cost 2.0 half and half: 1.0 over 4 core-hours = 0.25, 1.0 over 16 GiB-hours = 0.0625.
    result = run([node_hour()], [pod_hour("a", 1.0, 4.0), pod_hour("b", 2.0, 2.0)])
    pods = by_pod(result)
    assert pods.loc["a", "cpu_cost"] == pytest.approx(0.25)
    assert pods.loc["a", "mem_cost"] == pytest.approx(0.25)
    assert pods.loc["a", "cost"] == pytest.approx(0.5)
    assert pods.loc["b", "cost"] == pytest.approx(0.5 + 0.125)
    idle = result.idle.iloc[0]
    assert idle["cpu_idle"] == pytest.approx(0.25)
    assert idle["mem_idle"] == pytest.approx(1.0 - 0.375)
    assert idle["idle"] == pytest.approx(0.875)
    assert not idle["cpu_overcommitted"]
    assert not idle["unsampled"]


def test_overcommitted_cpu_is_divided_by_billable_and_leaves_no_cpu_idle():
    # Pods bill 3 + 5 = 8 core-hours on 4 of capacity: the CPU pool 1.0 goes 3/8 and 5/8.
    result = run([node_hour()], [pod_hour("a", 3.0, 4.0), pod_hour("b", 5.0, 4.0)])
    pods = by_pod(result)
    assert pods.loc["a", "cpu_cost"] == pytest.approx(0.375)
    assert pods.loc["b", "cpu_cost"] == pytest.approx(0.625)
    assert pods.loc["a", "cpu_price"] == pytest.approx(0.125)
    assert pods.loc["a", "mem_cost"] == pytest.approx(0.25)  # memory is not over-committed
    idle = result.idle.iloc[0]
    assert idle["cpu_idle"] == 0.0
    assert bool(idle["cpu_overcommitted"])
    assert idle["mem_idle"] == pytest.approx(0.5)
    assert pods["cpu_cost"].sum() == pytest.approx(idle["cpu_cost_pool"])


def test_nobody_pays_more_than_the_node_costs_under_price_ratio():
    result = run([node_hour(cost=5.2)], [pod_hour("a", 10.0, 40.0)], split="price_ratio", price_ratio=9)
    assert by_pod(result).loc["a", "cost"] == pytest.approx(5.2)
    assert result.idle.iloc[0]["idle"] == 0.0


def test_billed_but_unsampled_node_hour_is_all_idle():
    nodes = [node_hour(), node_hour(node="ghost", cpu=0.0, mem=0.0, cost=3.0, sampled=False)]
    result = run(nodes, [pod_hour("a", 1.0, 1.0)], cpu_share=0.25)
    ghost = result.idle.set_index("node").loc["ghost"]
    assert bool(ghost["unsampled"])
    assert ghost["cpu_idle"] == pytest.approx(0.75)
    assert ghost["mem_idle"] == pytest.approx(2.25)
    assert ghost["idle"] == pytest.approx(3.0)


def test_pods_on_an_unpriced_node_hour_are_returned_not_dropped():
    pods = [
        pod_hour("a", 1.0, 1.0),
        pod_hour("lost", 1.0, 1.0, node="unknown"),
        pod_hour("late", 1.0, 1.0, hour=H1),
    ]
    result = run([node_hour()], pods)
    assert list(result.pods["pod"]) == ["a"]
    assert sorted(result.unpriced["pod"]) == ["late", "lost"]
    assert "cost" not in result.unpriced.columns


def test_estimated_node_hours_mark_their_pods_cost_estimated():
    nodes = [node_hour(), node_hour(node="n2", estimated=True)]
    result = run(nodes, [pod_hour("a", 1.0, 4.0), pod_hour("b", 1.0, 4.0, node="n2")])
    pods = by_pod(result)
    assert pods.loc["a", "estimated_cost"] == 0.0
    assert pods.loc["b", "estimated_cost"] == pytest.approx(0.5)
    assert bool(result.idle.set_index("node").loc["n2", "estimated"])


def test_a_node_hour_priced_from_the_sheet_charges_its_pods_the_sheet_prices():
    # The example: cost share 0.6, sheet 0.04 per core-hour and 0.005 per GiB-hour, a 4-core /
    # 16-GiB node: N = 0.16 + 0.08 = 0.24. A pod of 1 core and 2 GiB pays 0.04 + 0.010 = 0.05 (the
    # split of N would have charged 0.036 + 0.012 = 0.048).
    sheet = {"estimated": True, "sheet_cpu_price": 0.04, "sheet_mem_price": 0.005}
    result = run([node_hour(cost=0.24, **sheet)], [pod_hour("a", 1.0, 2.0)], cpu_share=0.6)
    pod = by_pod(result).loc["a"]
    assert (pod["cpu_price"], pod["mem_price"]) == pytest.approx((0.04, 0.005))
    assert (pod["cpu_cost"], pod["mem_cost"], pod["estimated_cost"]) == pytest.approx((0.04, 0.01, 0.05))
    idle = result.idle.iloc[0]
    # Idle per resource: sheet cost minus what the pod pays, 0.16 - 0.04 and 0.08 - 0.01.
    assert (idle["cpu_idle"], idle["mem_idle"], idle["idle"]) == pytest.approx((0.12, 0.07, 0.19))
    assert idle["node_cost"] == pytest.approx(0.24)


def test_pods_over_committing_a_sheet_priced_node_hour_share_its_pool():
    # Pods bill 5 + 1 core-hours of 4: the 0.16 CPU pool is shared by billable, 0.16 / 6 per core-hour;
    # memory (3 of 16 GiB-hours) is below capacity and paid at the sheet's 0.005.
    sheet = {"estimated": True, "sheet_cpu_price": 0.04, "sheet_mem_price": 0.005}
    result = run([node_hour(cost=0.24, **sheet)], [pod_hour("a", 5.0, 2.0), pod_hour("b", 1.0, 1.0)])
    pods = by_pod(result)
    assert pods.loc["a", "cpu_cost"] == pytest.approx(0.16 * 5 / 6)
    assert pods.loc["b", "cpu_cost"] == pytest.approx(0.16 / 6)
    assert pods.loc["a", "mem_cost"] == pytest.approx(0.01)
    idle = result.idle.iloc[0]
    assert idle["cpu_idle"] == 0.0 and bool(idle["cpu_overcommitted"])
    assert idle["mem_idle"] == pytest.approx(0.08 - 0.015)


def test_check_catches_costs_that_do_not_add_up():
    result = run([node_hour()], [pod_hour("a", 1.0, 4.0)])
    result.check()
    result.pods.loc[result.pods.index[0], "cost"] += 0.01
    with pytest.raises(AllocationMismatch, match="prod/n1"):
        result.check()


def test_bad_pod_quantity_is_named():
    with pytest.raises(EngineInputError, match="row 1, column mem_usage_gib_hours"):
        run([node_hour()], [pod_hour("a", 1.0, 1.0), pod_hour("b", 1.0, 1.0, mem_usage_gib_hours=-2.0)])


def test_efficiency_follows_the_model_for_zero_requests():
    np.testing.assert_allclose(efficiency([1.0, 0.5, 0.0, 3.0], [2.0, 0.0, 0.0, 2.0]), [0.5, 1.0, 0.0, 1.5])


def test_rollup_sums_per_owner_and_day():
    nodes = [node_hour(), node_hour(hour=H1), node_hour(hour=H0 + pd.Timedelta(days=1))]
    pods = [
        pod_hour("a", 1.0, 4.0, workload="web"),
        pod_hour("a", 1.0, 4.0, workload="web", hour=H1),
        pod_hour("b", 2.0, 2.0, workload="api", kind="StatefulSet"),
        pod_hour("c", 1.0, 4.0, workload="web", hour=H0 + pd.Timedelta(days=1), namespace="ops"),
    ]
    result = run(nodes, pods)
    daily = rollup(result.pods, ["namespace"], "day").set_index(["namespace", "day"])
    assert daily.loc[("shop", H0), "cost"] == pytest.approx(0.5 + 0.5 + 0.625)
    assert daily.loc[("shop", H0), "cpu_billable_core_hours"] == pytest.approx(4.0)
    assert daily.loc[("shop", H0), "cpu_efficiency"] == pytest.approx(0.5)
    assert daily.loc[("ops", H0 + pd.Timedelta(days=1)), "cost"] == pytest.approx(0.5)
    hourly = rollup(result.pods, ["workload_kind", "workload"], "hour")
    assert len(hourly) == 4
    web_h0 = hourly.set_index(["workload_kind", "workload", "hour"]).loc[("Deployment", "web", H0)]
    assert web_h0["cost"] == pytest.approx(0.5)
    idle = rollup(result.idle, ["cluster"], "day").set_index("day")
    # Day one: two node-hours of cost 2.0 minus pod costs 0.5 + 0.5 + 0.625.
    assert idle.loc[H0, "idle"] == pytest.approx(4.0 - 1.625)
    assert idle.loc[H0, "node_cost"] == pytest.approx(4.0)


def test_rollup_keeps_pods_without_a_label_as_their_own_group():
    result = run([node_hour()], [pod_hour("a", 1.0, 4.0), pod_hour("b", 1.0, 4.0), pod_hour("c", 1.0, 4.0)])
    labelled = result.pods.assign(team=result.pods["pod"].map({"a": "x", "b": "x"}))
    got = rollup(labelled, ["team"], "day")
    assert len(got) == 2
    assert got["team"].isna().sum() == 1
    assert got.loc[got["team"] == "x", "cost"].item() == pytest.approx(1.0)
    assert got.loc[got["team"].isna(), "cost"].item() == pytest.approx(0.5)


def test_rollup_rejects_an_unknown_period():
    result = run([node_hour()], [pod_hour("a", 1.0, 4.0)])
    with pytest.raises(EngineInputError, match="freq"):
        rollup(result.pods, ["namespace"], "week")


# --- properties over random clusters -------------------------------------------------------------


def random_inputs(seed: int, hours: int = 4, nodes: int = 5, pods: int = 12):
    """Random node-hours (some unsampled, some estimated) and pod-hours (some over-committing)."""
    rng = np.random.default_rng(seed)
    start = H0 + pd.Timedelta(hours=int(rng.integers(0, 48)))
    node_rows, pod_rows = [], []
    cores = rng.choice([2.0, 4.0, 8.0], nodes)
    for h in range(hours):
        hour = start + pd.Timedelta(hours=h)
        for n in range(nodes):
            sampled = rng.random() > 0.1
            coverage = rng.choice([1.0, 0.5]) if sampled else 0.0
            estimated = bool(rng.random() < 0.2)
            row = node_hour(
                node=f"n{n}",
                hour=hour,
                cpu=cores[n] * coverage,
                mem=cores[n] * 4 * coverage,
                cost=float(rng.uniform(0.0, 3.0)),
                estimated=estimated,
                sampled=sampled,
                node_pool=f"pool{n % 2}",
                sheet_cpu_price=np.nan,
                sheet_mem_price=np.nan,
            )
            if estimated and sampled:
                # Priced from a sheet, as compute does for a sampled node-hour without a bill line.
                row["sheet_cpu_price"], row["sheet_mem_price"] = rng.uniform(0.0, 0.1), rng.uniform(0.0, 0.02)
                row["cost"] = row["cpu_core_hours"] * row["sheet_cpu_price"] + (
                    row["mem_gib_hours"] * row["sheet_mem_price"]
                )
            node_rows.append(row)
    for p in range(pods):
        node = int(rng.integers(0, nodes))
        scale = rng.uniform(0.1, 3.0)
        for h in range(hours):
            if rng.random() < 0.2:
                continue
            node_row = node_rows[h * nodes + node]
            if not node_row["sampled"] and rng.random() < 0.8:
                continue
            request = float(scale * rng.uniform(0, 1))
            usage = float(scale * rng.uniform(0, 2))
            pod_rows.append(
                pod_hour(
                    f"p{p}",
                    request,
                    request * 4,
                    node=f"n{node}",
                    hour=node_row["hour"],
                    namespace=f"ns{p % 3}",
                    workload=f"w{p % 5}",
                    cpu_usage_core_hours=usage,
                    cpu_billable_core_hours=max(usage, request),
                    mem_usage_gib_hours=usage * 4,
                    mem_billable_gib_hours=max(usage, request) * 4,
                )
            )
    return pd.DataFrame(node_rows), pd.DataFrame(pod_rows, columns=list(pod_hour("x", 0, 0)))


def naive_costs(node_hours: pd.DataFrame, pods: pd.DataFrame, cpu_share: float) -> dict:
    """The rules 3 to 6 of docs/cost-model.md written row by row, as a second opinion on the vectorised engine."""
    costs = {}
    for _, node in node_hours.iterrows():
        here = pods[(pods["node"] == node["node"]) & (pods["hour"] == node["hour"])]
        for capacity, billable, share, sheet_price in (
            (node["cpu_core_hours"], "cpu_billable_core_hours", cpu_share, node["sheet_cpu_price"]),
            (node["mem_gib_hours"], "mem_billable_gib_hours", 1 - cpu_share, node["sheet_mem_price"]),
        ):
            pool = capacity * sheet_price if np.isfinite(sheet_price) else node["cost"] * share
            total = here[billable].sum()
            for _, pod in here.iterrows():
                if total <= capacity:
                    cost = pod[billable] * pool / capacity if capacity else 0.0
                else:
                    cost = pool * pod[billable] / total
                key = (pod["pod"], pod["hour"])
                costs[key] = costs.get(key, 0.0) + cost
    return costs


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cpu_share=st.floats(0.0, 1.0))
def test_engine_agrees_with_a_row_by_row_reading_of_the_rule(seed, cpu_share):
    node_hours, pods = random_inputs(seed, hours=2, nodes=3, pods=6)
    result = allocate(pods, node_unit_prices(node_hours, split="cost_share", cpu_share=cpu_share))
    expected = naive_costs(node_hours, pods, cpu_share)
    got = result.pods.set_index(["pod", "hour"])["cost"].to_dict()
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), split=st.sampled_from(["cost_share", "price_ratio"]))
def test_pod_costs_plus_idle_equal_node_cost_and_idle_is_never_negative(seed, split):
    node_hours, pods = random_inputs(seed)
    result = allocate(pods, node_unit_prices(node_hours, split=split, cpu_share=0.7))
    rec = result.reconcile()
    np.testing.assert_allclose(rec["pods_cost"] + rec["idle"], node_hours["cost"], rtol=1e-9, atol=1e-12)
    assert (result.idle[["cpu_idle", "mem_idle"]] >= 0).all().all()
    assert result.pods["cost"].sum() + result.idle["idle"].sum() == pytest.approx(node_hours["cost"].sum())


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_two_days_priced_together_equal_each_day_priced_alone(seed):
    node_hours, pods = random_inputs(seed, hours=48, nodes=3, pods=5)
    cut = node_hours["hour"].min() + pd.Timedelta(hours=24)

    def daily(nh, ph):
        result = allocate(ph, node_unit_prices(nh, split="price_ratio"))
        by_ns = rollup(result.pods, ["namespace", "node_pool"], "day")
        by_cluster = rollup(result.idle, ["cluster"], "day")
        return by_ns, by_cluster

    whole_ns, whole_idle = daily(node_hours, pods)
    halves = [
        daily(node_hours[node_hours["hour"] < cut], pods[pods["hour"] < cut]),
        daily(node_hours[node_hours["hour"] >= cut], pods[pods["hour"] >= cut]),
    ]
    for whole, part, keys in (
        (whole_ns, 0, ["namespace", "node_pool", "day"]),
        (whole_idle, 1, ["cluster", "day"]),
    ):
        added = pd.concat([h[part] for h in halves]).groupby(keys).sum(numeric_only=True)
        whole = whole.set_index(keys).sort_index()
        added = added.sort_index()[whole.columns]
        for column in ("cost", "idle", "cpu_billable_core_hours"):
            if column in whole.columns:
                np.testing.assert_allclose(added[column], whole[column], rtol=1e-9, atol=1e-12)


def test_replaying_the_same_inputs_gives_identical_output():
    node_hours, pods = random_inputs(7)
    first = allocate(pods, node_unit_prices(node_hours, split="price_ratio"))
    second = allocate(pods.copy(), node_unit_prices(node_hours.copy(), split="price_ratio"))
    pd.testing.assert_frame_equal(first.pods, second.pods, check_exact=True)
    pd.testing.assert_frame_equal(first.idle, second.idle, check_exact=True)
