"""GPUs as the third resource of a node-hour: pools, prices, what pods pay and idle GPU, by hand."""

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from costing.engine._validate import EngineInputError
from costing.engine.allocation import allocate
from costing.engine.apportionment import ApportionInputs, ApportionRules, apportion
from costing.engine.pricing import node_unit_prices
from costing.engine.rollup import roll_up_day
from costing.gpus import gpu_devices, mig_fraction
from tests.costing.engine.test_allocation import H0, node_hour, pod_hour

# A GPU node for one hour: 8 cores, 64 GiB, two GPUs (one whole, one cut into seven MIG 1g.10gb
# slices: 1 + 7 * 1/7 = 2 devices), costing 10.0. Pod "train" asks 2 cores, 8 GiB and one whole GPU;
# pod "infer" asks 1 core, 4 GiB and one MIG slice (1/7 of a GPU).
MIG = 1 / 7


def gpu_node(**extra):
    return {**node_hour(node="g1", cpu=8.0, mem=64.0, cost=10.0, gpu_hours=2.0), **extra}


def gpu_pods():
    return [
        pod_hour(
            "train", 2.0, 8.0, node="g1", gpu_request_hours=1.0, gpu_usage_hours=0.0, gpu_billable_hours=1.0
        ),
        pod_hour(
            "infer", 1.0, 4.0, node="g1", gpu_request_hours=MIG, gpu_usage_hours=0.0, gpu_billable_hours=MIG
        ),
    ]


def test_a_gpu_node_shared_by_a_whole_gpu_and_a_mig_slice_cost_share_and_price_ratio():
    # cost_share 0.5: CPU and GPUs share 5.0, memory 5.0. A GPU-hour costs r = 28 core-hours, so the
    # 5.0 goes 28 * 2 : 8 = 7 : 1, GPUs 4.375 (2.1875 a GPU-hour) and cores 0.625 (0.078125 a
    # core-hour); memory 5.0 / 64 = 0.078125 a GiB-hour.
    prices = node_unit_prices(
        pd.DataFrame([gpu_node()]), split="cost_share", cpu_share=0.5, gpu_price_ratio=28
    )
    row = prices.iloc[0]
    assert (row["gpu_cost_pool"], row["cpu_cost_pool"], row["mem_cost_pool"]) == pytest.approx(
        (4.375, 0.625, 5.0)
    )
    assert (row["gpu_price"], row["cpu_price"], row["mem_price"]) == pytest.approx(
        (2.1875, 0.078125, 0.078125)
    )

    result = allocate(pd.DataFrame(gpu_pods()), prices)
    pods = result.pods.set_index("pod")
    # train: 2 * 0.078125 + 8 * 0.078125 + 1 * 2.1875 = 0.15625 + 0.625 + 2.1875
    assert pods.loc["train", "gpu_cost"] == pytest.approx(2.1875)
    assert pods.loc["train", "cost"] == pytest.approx(2.96875)
    # infer: 0.078125 + 4 * 0.078125 + 2.1875 / 7 = 0.078125 + 0.3125 + 0.3125
    assert pods.loc["infer", "gpu_cost"] == pytest.approx(0.3125)
    assert pods.loc["infer", "cost"] == pytest.approx(0.703125)
    idle = result.idle.iloc[0]
    # Idle GPU is its own figure: 4.375 - 2.1875 - 0.3125; CPU 0.625 - 3 * 0.078125; memory 5 - 12 * 0.078125.
    assert idle["gpu_idle"] == pytest.approx(1.875)
    assert idle["cpu_idle"] == pytest.approx(0.390625)
    assert idle["mem_idle"] == pytest.approx(4.0625)
    assert idle["idle"] == pytest.approx(1.875 + 0.390625 + 4.0625)
    assert 2.96875 + 0.703125 + idle["idle"] == pytest.approx(10.0)


def test_a_gpu_share_per_instance_type_and_the_price_ratio_split():
    # gpu_share 0.6: GPUs 6.0; the rest 4.0 split by cost_share 0.5: 2.0 and 2.0.
    shared = node_unit_prices(pd.DataFrame([gpu_node(gpu_share=0.6)]), split="cost_share", cpu_share=0.5)
    assert shared.iloc[0][["gpu_cost_pool", "cpu_cost_pool", "mem_cost_pool"]].tolist() == pytest.approx(
        [6.0, 2.0, 2.0]
    )
    # price_ratio k = 4 with r = 28 (a row's own gpu_price_ratio beats the argument): N = 10 is
    # divided 4 * 28 * 2 : 4 * 8 : 64 = 224 : 32 : 64, so GPUs 7.0, cores 1.0, memory 2.0.
    ratio = node_unit_prices(
        pd.DataFrame([gpu_node(gpu_price_ratio=28.0)]),
        split="price_ratio",
        price_ratio=4.0,
        gpu_price_ratio=99,
    )
    assert ratio.iloc[0][["gpu_cost_pool", "cpu_cost_pool", "mem_cost_pool"]].tolist() == pytest.approx(
        [7.0, 1.0, 2.0]
    )
    # Under price_ratio with a share, the rest 4.0 goes 4 * 8 : 64, so cores 4 / 3 and memory 8 / 3.
    both = node_unit_prices(pd.DataFrame([gpu_node(gpu_share=0.6)]), split="price_ratio", price_ratio=4.0)
    assert both.iloc[0][["gpu_cost_pool", "cpu_cost_pool", "mem_cost_pool"]].tolist() == pytest.approx(
        [6.0, 4 / 3, 8 / 3]
    )


def test_a_node_without_gpus_is_priced_bit_for_bit_as_without_the_gpu_columns():
    plain = [node_hour(), node_hour(node="n2", cpu=2.0, mem=8.0, cost=0.7)]
    with_columns = [{**row, "gpu_hours": 0.0, "gpu_share": 0.9} for row in plain]
    for split in ("cost_share", "price_ratio"):
        before = node_unit_prices(pd.DataFrame(plain), split=split, cpu_share=0.6)
        after = node_unit_prices(pd.DataFrame(with_columns), split=split, cpu_share=0.6)
        for column in ("cpu_cost_pool", "mem_cost_pool", "cpu_price", "mem_price"):
            assert after[column].tolist() == before[column].tolist()
        assert after["gpu_cost_pool"].tolist() == [0.0, 0.0]
        pods = pd.DataFrame([pod_hour("a", 1.0, 4.0), pod_hour("b", 1.0, 2.0, node="n2")])
        first, second = allocate(pods, before), allocate(pods, after)
        assert second.pods["cost"].tolist() == first.pods["cost"].tolist()
        assert second.idle["idle"].tolist() == first.idle["idle"].tolist()


def test_gpus_on_a_sheet_estimate_cost_the_sheet_price_and_a_bad_share_is_named():
    row = gpu_node(
        estimated=True, cost=np.nan, sheet_cpu_price=0.04, sheet_mem_price=0.005, sheet_gpu_price=2.5
    )
    prices = node_unit_prices(pd.DataFrame([row]), split="cost_share")
    # 8 * 0.04 + 64 * 0.005 + 2 * 2.5 = 0.32 + 0.32 + 5.0
    assert prices.iloc[0]["cost"] == pytest.approx(5.64)
    assert prices.iloc[0]["gpu_cost_pool"] == pytest.approx(5.0)
    with pytest.raises(EngineInputError, match="column gpu_share"):
        node_unit_prices(pd.DataFrame([gpu_node(gpu_share=1.5)]), split="cost_share")


def test_over_committed_gpus_share_the_gpu_pool_by_billable():
    # Two pods bill 2 GPU-hours each on a node of 2: the GPU pool 4.375 is shared 1 : 1, no idle GPU.
    pods = [
        pod_hour(p, 1.0, 4.0, node="g1", gpu_request_hours=2.0, gpu_usage_hours=2.0, gpu_billable_hours=2.0)
        for p in ("a", "b")
    ]
    prices = node_unit_prices(pd.DataFrame([gpu_node()]), split="cost_share", gpu_price_ratio=28)
    result = allocate(pd.DataFrame(pods), prices)
    assert result.pods["gpu_cost"].tolist() == pytest.approx([2.1875, 2.1875])
    assert result.idle.iloc[0]["gpu_idle"] == pytest.approx(0.0)
    assert bool(result.idle.iloc[0]["gpu_overcommitted"])


def test_the_day_rolls_gpu_cost_and_idle_gpu_up_to_the_unit():
    prices = node_unit_prices(pd.DataFrame([gpu_node()]), split="cost_share", gpu_price_ratio=28)
    # compute.py hands the engine ids: pods 1 (train) and 2 (infer), namespace 100, workload 1000.
    pod_hours = pd.DataFrame(gpu_pods()).assign(samples=60, pod=[1, 2], namespace=100, workload=1000)
    result = allocate(pod_hours, prices)
    node_costs = pd.DataFrame(
        {"node": ["g1"], "hour": [H0], "cost_units": [1_000_000_000], "bill": [Decimal(10)]}
    )
    day = roll_up_day(pod_hours, node_costs, result, overhead_units=0)
    pods = day.pods.set_index("pod")
    assert pods.loc[1, "gpu_cost"] == 218_750_000
    assert pods.loc[2, "gpu_cost"] == 31_250_000
    assert pods.loc[2, "gpu_billable_hours"] == pytest.approx(MIG)
    assert day.namespaces.iloc[0]["gpu_cost"] == 250_000_000
    node = day.node_days.iloc[0]
    assert node["gpu_cost_pool"] == 437_500_000
    assert node["gpu_idle"] == 187_500_000
    assert node["gpu_capacity_hours"] == 2.0
    assert node["cpu_idle"] + node["mem_idle"] + node["gpu_idle"] + pods["cost"].sum() == node["cost"]
    assert day.totals.physical == day.totals.workload + day.totals.idle + day.totals.overhead


def test_per_resource_idle_divides_idle_gpu_by_gpu_cost():
    # Idle GPU 3.0 goes by GPU cost 1 : 2 (in its own column: the policy has no rule for idle GPU, so it
    # follows idle's per_resource); idle CPU 1.0 by CPU cost 1 : 1.
    namespaces = pd.DataFrame(
        {
            "cluster": ["c", "c"],
            "namespace": ["ml", "web"],
            "department": ["Research", "Shop"],
            "shared": [False, False],
            "cpu_cost": [1.0, 1.0],
            "mem_cost": [0.0, 0.0],
            "gpu_cost": [1.0, 2.0],
            "cost": [2.0, 3.0],
        }
    )
    idle = pd.DataFrame({"cluster": ["c"], "cpu_idle": [1.0], "mem_idle": [0.0], "gpu_idle": [3.0]})
    overhead = pd.DataFrame({"cluster": ["c"], "cost": [0.0]})
    rules = ApportionRules(idle="per_resource", departments=["Research", "Shop"])
    lines = apportion(ApportionInputs(namespaces, idle, overhead), rules).lines.set_index("department")
    assert lines.loc["Research", ["idle", "gpu_idle"]].tolist() == pytest.approx([0.5, 1.0])
    assert lines.loc["Shop", ["idle", "gpu_idle"]].tolist() == pytest.approx([0.5, 2.0])


def test_gpu_devices_count_whole_gpus_mig_slices_and_named_extended_resources():
    assert mig_fraction("nvidia.com/mig-1g.10gb") == Decimal(1) / 7
    assert mig_fraction("nvidia.com/mig-3g.40gb") == Decimal(3) / 7
    assert mig_fraction("nvidia.com/mig-1c.4g.20gb") == Decimal(1) / 7
    assert mig_fraction("nvidia.com/gpu") is None
    requests = {"cpu": "2", "nvidia.com/gpu": "1", "nvidia.com/mig-2g.20gb": "2", "amd.com/gpu": "1"}
    assert gpu_devices(requests) == 1 + Decimal(4) / 7
    assert gpu_devices(requests, {"amd.com/gpu": 1.0}) == 2 + Decimal(4) / 7
    # An A30 has 4 slices: the policy names its profile, which beats the 7-slice rule.
    assert gpu_devices({"nvidia.com/mig-1g.6gb": "4"}, {"nvidia.com/mig-1g.6gb": 0.25}) == 1


def test_an_unsampled_gpu_node_is_split_by_its_nominal_capacity_and_is_all_idle():
    # Billed 10.0, never sampled; nominal 8 cores, 64 GiB, 2 GPUs: the same split as when sampled.
    row = {
        **gpu_node(),
        "cpu_core_hours": 0.0,
        "mem_gib_hours": 0.0,
        "gpu_hours": 0.0,
        "sampled": False,
        "cpu_capacity_cores": 8.0,
        "mem_capacity_gib": 64.0,
        "gpu_capacity_devices": 2.0,
    }
    prices = node_unit_prices(pd.DataFrame([row]), split="cost_share", gpu_price_ratio=28)
    assert prices.iloc[0][["gpu_cost_pool", "cpu_cost_pool", "mem_cost_pool"]].tolist() == pytest.approx(
        [4.375, 0.625, 5.0]
    )
    idle = allocate(pd.DataFrame(gpu_pods()).iloc[:0], prices).idle.iloc[0]
    assert idle["gpu_idle"] == pytest.approx(4.375) and idle["idle"] == pytest.approx(10.0)
