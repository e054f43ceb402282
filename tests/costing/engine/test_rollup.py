from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costing.engine._validate import EngineInputError
from costing.engine.allocation import allocate
from costing.engine.pricing import node_unit_prices
from costing.engine.rollup import LINE_COLUMNS, exact_lines, paid_prices, roll_up_day, units

H0 = pd.Timestamp("2025-03-01 00:00", tz="UTC")
H1 = H0 + pd.Timedelta(hours=1)
NAN = float("nan")


def node_hour(node, hour, cpu, mem, cost_units, bill=None, estimated=False, sampled=True, sheet=(NAN, NAN)):
    """A node-hour as compute hands it over: cost in units, its Decimal bill share unless estimated."""
    return {
        "cluster": 1,
        "node": node,
        "node_pool": 7,
        "hour": hour,
        "cpu_core_hours": cpu,
        "mem_gib_hours": mem,
        "cost_units": cost_units,
        "cost": cost_units / 10**8,
        "bill": bill,
        "estimated": estimated,
        "sampled": sampled,
        "sheet_cpu_price": sheet[0],
        "sheet_mem_price": sheet[1],
    }


def pod_hour(pod, node, cpu, mem, hour=H0, namespace=100, workload=1000, samples=60):
    return {
        "cluster": 1,
        "node": node,
        "hour": hour,
        "namespace": namespace,
        "workload_kind": "",
        "workload": workload,
        "pod": pod,
        "samples": samples,
        "cpu_request_core_hours": cpu,
        "cpu_usage_core_hours": cpu / 2,
        "cpu_billable_core_hours": cpu,
        "mem_request_gib_hours": mem,
        "mem_usage_gib_hours": mem / 2,
        "mem_billable_gib_hours": mem,
    }


def frame(rows, template):
    """The rows as a frame; no rows give the template's columns and dtypes."""
    return pd.DataFrame(rows) if rows else pd.DataFrame([template]).iloc[:0]


def roll(nodes, pods, overhead_units=0):
    node_hours = frame(nodes, node_hour(0, H0, 0.0, 0.0, 0, Decimal(0)))
    pod_hours = frame(pods, pod_hour(0, 0, 0.0, 0.0))
    allocation = allocate(pod_hours, node_unit_prices(node_hours, split="cost_share", cpu_share=0.5))
    return roll_up_day(
        pod_hours, node_hours[["node", "hour", "cost_units", "bill"]], allocation, overhead_units
    )


# Node 10 is billed 1.000000004 in each of two hours (1.0 per hour in units, 2.00000001 for the day);
# node 20 is estimated from a sheet of 0.10 per core-hour and 0.01 per GiB-hour on 2 cores and 8 GiB;
# pod 4 runs on node 30, which has no price.
NODES = [
    node_hour(10, H0, 4.0, 16.0, 100_000_000, Decimal("1.000000004")),
    node_hour(10, H1, 4.0, 16.0, 100_000_000, Decimal("1.000000004")),
    node_hour(20, H0, 2.0, 8.0, 28_000_000, estimated=True, sheet=(0.1, 0.01)),
]
PODS = [
    pod_hour(1, 10, 1.0, 4.0),
    pod_hour(1, 10, 1.0, 4.0, hour=H1),
    pod_hour(2, 10, 2.0, 2.0),
    pod_hour(3, 20, 1.0, 4.0, namespace=200, workload=2000),
    pod_hour(4, 30, 0.5, 1.0, namespace=200, workload=2001, samples=30),
]


def rows(frame, key, columns):
    return {k: v for k, *v in frame[[key, *columns]].itertuples(index=False)}


def test_pods_are_rounded_once_per_pod_and_carry_their_first_pod_hour_owners():
    pods = roll(NODES, PODS).pods
    # Node 10: 0.5 / 4 = 0.125 per core-hour, 0.5 / 16 = 0.03125 per GiB-hour; node 20: the sheet's.
    assert rows(pods, "pod", ["cpu_cost", "mem_cost", "cost", "estimated_cost"]) == {
        1: [25_000_000, 25_000_000, 50_000_000, 0],
        2: [25_000_000, 6_250_000, 31_250_000, 0],
        3: [10_000_000, 4_000_000, 14_000_000, 14_000_000],
        4: [0, 0, 0, 0],
    }
    assert rows(pods, "pod", ["node", "namespace", "workload", "samples", "cpu_billable_core_hours"]) == {
        1: [10, 100, 1000, 120, 2.0],
        2: [10, 100, 1000, 60, 2.0],
        3: [20, 200, 2000, 60, 1.0],
        4: [30, 200, 2001, 30, 0.5],
    }
    assert pods["cost"].dtype == np.int64


def test_workloads_and_namespaces_are_exact_sums_of_their_pods():
    result = roll(NODES, PODS)
    assert rows(result.workloads, "workload", ["namespace", "pods", "cost", "estimated_cost"]) == {
        1000: [100, 2, 81_250_000, 0],
        2000: [200, 1, 14_000_000, 14_000_000],
        2001: [200, 1, 0, 0],
    }
    assert rows(
        result.namespaces, "namespace", ["cpu_cost", "mem_cost", "cost", "mem_request_gib_hours"]
    ) == {
        100: [50_000_000, 31_250_000, 81_250_000, 10.0],
        200: [10_000_000, 4_000_000, 14_000_000, 5.0],
    }


def test_node_hours_carry_their_units_the_paid_prices_and_their_idle():
    hours = roll(NODES, PODS).node_hours.set_index(["node", "hour"])
    money = ["cost", "cpu_cost_pool", "mem_cost_pool", "cpu_idle", "mem_idle"]
    assert hours.loc[(10, H0), money].tolist() == [
        100_000_000,
        50_000_000,
        50_000_000,
        12_500_000,
        31_250_000,
    ]
    assert hours.loc[(10, H1), money].tolist() == [
        100_000_000,
        50_000_000,
        50_000_000,
        37_500_000,
        37_500_000,
    ]
    assert hours.loc[(20, H0), money].tolist() == [28_000_000, 20_000_000, 8_000_000, 10_000_000, 4_000_000]
    assert hours.loc[(10, H0), ["cpu_price", "mem_price"]].tolist() == [0.125, 0.03125]
    assert hours.loc[(20, H0), ["cpu_price", "mem_price"]].tolist() == pytest.approx([0.1, 0.01])
    assert hours["estimated"].tolist() == [False, False, True]
    assert hours["sampled"].all()


def test_a_node_day_sums_its_bill_shares_in_decimal_and_its_idle_is_what_its_pods_did_not_pay():
    days = roll(NODES, PODS).node_days
    # 2 x 1.000000004 = 2.000000008 rounds to 2.00000001, one unit more than the two rounded hours.
    assert rows(days, "node", ["cost", "cpu_cost_pool", "mem_cost_pool", "cpu_idle", "mem_idle"]) == {
        10: [200_000_001, 100_000_000, 100_000_001, 50_000_000, 68_750_001],
        20: [28_000_000, 20_000_000, 8_000_000, 10_000_000, 4_000_000],
    }
    assert rows(days, "node", ["estimated_cost", "hours_billed", "hours_estimated", "hours_unsampled"]) == {
        10: [0, 2, 0, 0],
        20: [28_000_000, 0, 1, 0],
    }
    assert rows(days, "node", ["cpu_capacity_core_hours", "mem_capacity_gib_hours"]) == {
        10: [8.0, 32.0],
        20: [2.0, 8.0],
    }


def test_totals_add_up_exactly_and_count_the_unpriced_core_hours():
    totals = roll(NODES, PODS, overhead_units=300_000_000).totals
    assert totals.workload == 95_250_000
    assert totals.idle == 228_000_001 - 95_250_000
    assert totals.overhead == 300_000_000
    assert totals.physical == 528_000_001 == totals.workload + totals.idle + totals.overhead
    assert totals.estimated == 28_000_000
    assert totals.unpriced_core_hours == 0.5


def test_an_unsampled_billed_node_hour_is_all_idle_and_has_no_paid_price():
    result = roll([node_hour(40, H0, 0.0, 0.0, 50_000_000, Decimal("0.5"), sampled=False)], [])
    hour = result.node_hours.iloc[0]
    assert [hour["cost"], hour["cpu_idle"], hour["mem_idle"]] == [50_000_000, 25_000_000, 25_000_000]
    assert np.isnan(hour["cpu_price"]) and np.isnan(hour["mem_price"])
    assert not hour["sampled"]
    day = result.node_days.iloc[0]
    assert [day["cost"], day["cpu_idle"], day["mem_idle"], day["hours_unsampled"]] == [
        50_000_000,
        25_000_000,
        25_000_000,
        1,
    ]
    assert result.totals.idle == 50_000_000 and result.totals.workload == 0


def test_a_pod_that_moves_pays_its_whole_day_to_the_node_of_its_first_hour():
    nodes = [
        node_hour(10, H0, 4.0, 16.0, 100_000_000, Decimal("1")),
        node_hour(11, H1, 4.0, 16.0, 100_000_000, Decimal("1")),
    ]
    result = roll(nodes, [pod_hour(1, 10, 4.0, 16.0), pod_hour(1, 11, 4.0, 16.0, hour=H1)])
    assert rows(result.pods, "pod", ["node", "cost"]) == {1: [10, 200_000_000]}
    # Node 10 is credited with both hours, node 11 keeps its hour as idle; the day still adds up.
    assert rows(result.node_days, "node", ["cpu_idle", "mem_idle"]) == {
        10: [-50_000_000, -50_000_000],
        11: [50_000_000, 50_000_000],
    }
    assert result.totals.idle == 0


def test_an_empty_day_is_only_its_overhead():
    result = roll([], [], overhead_units=7)
    assert result.pods.empty and result.node_days.empty and result.node_hours.empty
    assert result.workloads.empty and result.namespaces.empty
    assert result.totals.physical == 7 and result.totals.workload == 0 and result.totals.idle == 0


def test_a_missing_column_is_named():
    node_hours = pd.DataFrame(NODES)
    pod_hours = pd.DataFrame(PODS)
    allocation = allocate(pod_hours, node_unit_prices(node_hours, split="cost_share"))
    with pytest.raises(EngineInputError, match=r"pod_hours: missing column.*samples"):
        roll_up_day(pod_hours.drop(columns="samples"), node_hours, allocation, 0)
    with pytest.raises(EngineInputError, match=r"node_costs: missing column.*bill"):
        roll_up_day(pod_hours, node_hours.drop(columns="bill"), allocation, 0)


def test_paid_prices_divide_the_pool_by_the_larger_of_capacity_and_billed():
    idle = pd.DataFrame(
        {
            "cpu_core_hours": [4.0, 4.0, 0.0],
            "cpu_billable_core_hours": [2.0, 8.0, 0.0],
            "cpu_cost_pool": [1.0, 1.0, 1.0],
            "mem_gib_hours": [16.0, 16.0, 0.0],
            "mem_billable_gib_hours": [4.0, 4.0, 0.0],
            "mem_cost_pool": [2.0, 2.0, 1.0],
        }
    )
    cpu, mem = paid_prices(idle)
    assert cpu[:2].tolist() == [0.25, 0.125] and np.isnan(cpu[2])
    assert mem[:2].tolist() == [0.125, 0.125] and np.isnan(mem[2])


def test_units_round_half_to_even():
    # 5e-9, 2.5e-8 and 1.25e-7 are exact halves of a unit once scaled.
    assert units([5e-9, 2.5e-8, 1.25e-7, -2.5e-8]).tolist() == [0, 2, 12, -2]
    assert units([1.23456789, 1.234567886, -0.5]).tolist() == [123_456_789, 123_456_789, -50_000_000]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),
            st.integers(0, 1),
            st.floats(0, 8, allow_nan=False),
            st.floats(0, 40, allow_nan=False),
            st.integers(0, 3),
        ),
        max_size=12,
    ),
    st.lists(st.integers(-(10**8), 10**10), min_size=3, max_size=3),
)
def test_every_level_adds_up_to_the_unit(pods, node_costs):
    nodes = [
        node_hour(node, hour, 4.0, 16.0, node_costs[node], Decimal(node_costs[node]).scaleb(-8))
        for node in range(2)
        for hour in (H0, H1)
    ]
    pod_rows = [
        pod_hour(i, node, cpu, mem, hour=(H0, H1)[hour], namespace=owner % 2, workload=owner)
        for i, (node, hour, cpu, mem, owner) in enumerate(pods)
    ]
    if not pod_rows:
        return
    result = roll(nodes, pod_rows, overhead_units=11)
    pods_frame, days, totals = result.pods, result.node_days, result.totals
    assert int(result.workloads["cost"].sum()) == int(result.namespaces["cost"].sum()) == totals.workload
    assert (pods_frame["cost"] == pods_frame["cpu_cost"] + pods_frame["mem_cost"]).all()
    assert (days["cost"] == days["cpu_cost_pool"] + days["mem_cost_pool"]).all()
    paid = pods_frame.loc[pods_frame["node"].isin(days["node"])].groupby("node")["cost"].sum()
    idle = days.set_index("node")[["cpu_idle", "mem_idle"]].sum(axis=1)
    assert (days.set_index("node")["cost"] == idle + paid.reindex(idle.index, fill_value=0)).all()
    assert totals.physical == totals.workload + totals.idle + totals.overhead
    assert totals.physical == int(days["cost"].sum()) + 11


# -- exact department lines ------------------------------------------------------------------------------


def lines(*rows):
    return pd.DataFrame(
        list(rows), columns=["cluster", "department", "kind", "direct", "shared", "idle", "overhead"]
    )


NAMESPACES = pd.DataFrame(
    [
        (1, "A", False, 100),
        (1, "A", False, 23),
        (1, "B", False, 200),
        (1, None, True, 30),
    ],
    columns=["cluster", "department", "shared", "cost"],
)


def test_exact_lines_take_direct_from_the_namespaces_and_give_leftover_units_to_the_largest_holder():
    # Idle 40.4 + 60.4 units round to 100 of the 101 stored: the unit goes to B, which holds most idle.
    engine = lines(
        (1, "A", "department", 1.23e-6, 1e-7, 4.04e-7, 0.0),
        (1, "B", "department", 2e-6, 2e-7, 6.04e-7, 0.0),
    )
    clusters = pd.DataFrame({"cluster": [1], "idle": [101], "overhead": [0]})
    got = exact_lines(engine, NAMESPACES, clusters)
    assert list(got.columns) == LINE_COLUMNS
    assert got.values.tolist() == [
        [1, "A", "department", 123, 10, 40, 0, 0, 173],
        [1, "B", "department", 200, 20, 61, 0, 0, 281],
    ]


def test_exact_lines_put_a_pool_nobody_holds_on_its_own_line():
    engine = lines(
        (1, "A", "department", 1.23e-6, 1e-7, 0.0, 0.0),
        (1, "B", "department", 2e-6, 2e-7, 0.0, 0.0),
        (1, "Idle", "line", 0.0, 0.0, 0.0, 0.0),
    )
    # Cluster 1's 3 units of idle go to its existing Idle line, its 7 of overhead to a new Overhead
    # line; cluster 2 has no line at all and gets an Idle line for its 5 units.
    clusters = pd.DataFrame({"cluster": [1, 2], "idle": [3, 5], "overhead": [7, 0]})
    got = exact_lines(engine, NAMESPACES, clusters)
    assert got.values.tolist() == [
        [1, "A", "department", 123, 10, 0, 0, 0, 133],
        [1, "B", "department", 200, 20, 0, 0, 0, 220],
        [1, "Idle", "line", 0, 0, 3, 0, 0, 3],
        [1, "Overhead", "line", 0, 0, 0, 0, 7, 7],
        [2, "Idle", "line", 0, 0, 5, 0, 0, 5],
    ]
    assert got[["direct", "shared", "idle", "overhead", "total"]].dtypes.eq(np.int64).all()


def test_exact_lines_take_back_units_when_the_floats_round_over_the_target():
    engine = lines(
        (1, "A", "department", 0.0, 0.0, 0.0, 5.06e-7), (1, "B", "department", 0.0, 0.0, 0.0, 5.06e-7)
    )
    clusters = pd.DataFrame({"cluster": [1], "idle": [0], "overhead": [100]})
    got = exact_lines(engine, NAMESPACES.iloc[:0], clusters)
    # 51 + 51 = 102 for 100 stored: the two units come off the first of the two equal holders.
    assert got[["department", "overhead"]].values.tolist() == [["A", 49], ["B", 51]]
