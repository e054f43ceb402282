import math

import numpy as np
import pandas as pd
import pytest

from costing.engine._validate import EngineInputError
from costing.engine.pricing import fallback_node_cost, node_unit_prices

H0 = pd.Timestamp("2025-03-01 00:00", tz="UTC")


def node_hour(**overrides):
    row = {
        "cluster": "prod",
        "node": "n1",
        "node_pool": "general",
        "hour": H0,
        "cpu_core_hours": 4.0,
        "mem_gib_hours": 16.0,
        "cost": 2.0,
        "estimated": False,
        "sampled": True,
    }
    row.update(overrides)
    return row


def frame(*rows):
    return pd.DataFrame(list(rows))


def test_cost_share_gives_cpu_share_s_of_the_node_cost():
    out = node_unit_prices(frame(node_hour()), split="cost_share", cpu_share=0.6).iloc[0]
    # CPU 0.6 * 2.0 = 1.2 over 4 core-hours; memory 0.8 over 16 GiB-hours.
    assert out["cpu_cost_pool"] == pytest.approx(1.2)
    assert out["mem_cost_pool"] == pytest.approx(0.8)
    assert out["cpu_price"] == pytest.approx(0.3)
    assert out["mem_price"] == pytest.approx(0.05)


def test_price_ratio_with_the_aws_ratio_of_nine():
    out = node_unit_prices(frame(node_hour(cost=5.2)), split="price_ratio", price_ratio=9).iloc[0]
    # k*C + M = 36 + 16 = 52 GiB-hour equivalents, 5.2 / 52 = 0.1 per GiB-hour, 0.9 per core-hour.
    assert out["mem_price"] == pytest.approx(0.1)
    assert out["cpu_price"] == pytest.approx(0.9)
    assert out["cpu_cost_pool"] == pytest.approx(3.6)
    assert out["mem_cost_pool"] == pytest.approx(1.6)


def test_price_ratio_default_is_opencost_ratio():
    out = node_unit_prices(
        frame(node_hour(cpu_core_hours=2.0, mem_gib_hours=8.0, cost=1.0)), split="price_ratio"
    ).iloc[0]
    mem_price = 1.0 / (7.46 * 2 + 8)
    assert out["mem_price"] == pytest.approx(mem_price)
    assert out["cpu_price"] == pytest.approx(7.46 * mem_price)
    assert out["cpu_price"] / out["mem_price"] == pytest.approx(7.46)


def test_pools_add_up_to_the_node_cost_on_every_row():
    rows = [
        node_hour(node=f"n{i}", cost=c, cpu_core_hours=cc)
        for i, (c, cc) in enumerate([(0.1, 3), (7.77, 1.5)])
    ]
    for split in ("cost_share", "price_ratio"):
        out = node_unit_prices(frame(*rows), split=split, cpu_share=1 / 3)
        assert (out["cpu_cost_pool"] + out["mem_cost_pool"] == out["cost"]).all()


SHEET = {"estimated": True, "sheet_cpu_price": 0.04, "sheet_mem_price": 0.005}


@pytest.mark.parametrize("split", ["cost_share", "price_ratio"])
def test_sheet_prices_are_the_unit_prices_whatever_the_split(split):
    # 4 core-hours at 0.04 and 16 GiB-hours at 0.005: pools 0.16 and 0.08, N = 0.24. Split by a cost
    # share of 0.6 it would give 0.144 / 4 = 0.036 and 0.096 / 16 = 0.006 instead.
    rows = frame(node_hour(node="est", cost=0.24, **SHEET), node_hour(node="billed", cost=0.24))
    out = node_unit_prices(rows, split=split, cpu_share=0.6).set_index("node")
    est = out.loc["est"]
    assert (est["cpu_price"], est["mem_price"]) == pytest.approx((0.04, 0.005))
    assert (est["cpu_cost_pool"], est["mem_cost_pool"]) == pytest.approx((0.16, 0.08))
    assert est["cpu_cost_pool"] + est["mem_cost_pool"] == est["cost"]
    # A billed node-hour beside it is still split by the policy.
    if split == "cost_share":
        assert out.loc["billed", "cpu_price"] == pytest.approx(0.036)


def test_the_engine_derives_the_sheet_cost_when_none_is_given():
    out = node_unit_prices(frame(node_hour(cost=np.nan, **SHEET)), split="cost_share").iloc[0]
    assert out["cost"] == pytest.approx(0.24)
    # The sheet cost rounded to the 1e-8 of stored money is accepted and replaced by the exact sum.
    out = node_unit_prices(frame(node_hour(cost=0.240000004, **SHEET)), split="cost_share").iloc[0]
    assert out["cost"] == out["cpu_cost_pool"] + out["mem_cost_pool"] == pytest.approx(0.24, abs=1e-15)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cost": 0.25}, r"row 0, column cost: 0.25 is not the sheet cost .* = 0.24"),
        ({"estimated": False}, "row 0, column sheet_cpu_price: a billed node-hour"),
        ({"sheet_mem_price": np.nan}, "row 0, column sheet_mem_price: nan is not a finite number"),
        ({"sheet_cpu_price": -0.04}, "row 0, column sheet_cpu_price: -0.04 is negative"),
    ],
)
def test_bad_sheet_prices_are_named(change, message):
    with pytest.raises(EngineInputError, match=message):
        node_unit_prices(frame(node_hour(**{"cost": 0.24, **SHEET, **change})), split="cost_share")


def test_a_lone_sheet_price_column_is_named():
    rows = frame(node_hour(cost=0.24, **SHEET)).drop(columns="sheet_mem_price")
    with pytest.raises(EngineInputError, match=r"missing column.*sheet_mem_price"):
        node_unit_prices(rows, split="cost_share")


def test_unsampled_node_hour_under_cost_share_splits_s_and_one_minus_s():
    row = node_hour(cpu_core_hours=0.0, mem_gib_hours=0.0, cost=3.0, sampled=False)
    out = node_unit_prices(frame(row), split="cost_share", cpu_share=0.25).iloc[0]
    assert out["cpu_cost_pool"] == pytest.approx(0.75)
    assert out["mem_cost_pool"] == pytest.approx(2.25)
    assert math.isnan(out["cpu_price"])
    assert math.isnan(out["mem_price"])


def test_unsampled_node_hour_under_price_ratio_uses_nominal_capacity_when_given():
    unsampled = {"cpu_core_hours": 0.0, "mem_gib_hours": 0.0, "cost": 5.2, "sampled": False}
    rows = [
        node_hour(node="known", cpu_capacity_cores=4.0, mem_capacity_gib=16.0, **unsampled),
        node_hour(node="unknown", cpu_capacity_cores=np.nan, mem_capacity_gib=np.nan, **unsampled),
    ]
    out = node_unit_prices(frame(*rows), split="price_ratio", price_ratio=9).set_index("node")
    # 4 cores at 9 against 16 GiB at 1: CPU gets 36/52 of 5.2 = 3.6.
    assert out.loc["known", "cpu_cost_pool"] == pytest.approx(3.6)
    assert out.loc["unknown", "cpu_cost_pool"] == pytest.approx(2.6)
    assert out.loc["unknown", "mem_cost_pool"] == pytest.approx(2.6)


def test_unsampled_node_hour_under_price_ratio_without_nominal_columns_is_half_and_half():
    row = node_hour(cpu_core_hours=0.0, mem_gib_hours=0.0, cost=1.0, sampled=False)
    out = node_unit_prices(frame(row), split="price_ratio").iloc[0]
    assert out["cpu_cost_pool"] == pytest.approx(0.5)
    assert out["mem_cost_pool"] == pytest.approx(0.5)


def test_output_keeps_input_columns_and_rows():
    rows = frame(node_hour(), node_hour(node="n2", estimated=True))
    out = node_unit_prices(rows, split="cost_share")
    pd.testing.assert_frame_equal(out[rows.columns], rows)


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        ({}, {"split": "by_magic"}, "split"),
        ({}, {"split": "cost_share", "cpu_share": 1.5}, "cpu_share"),
        ({}, {"split": "price_ratio", "price_ratio": 0}, "price_ratio"),
        ({"cost": float("nan")}, {"split": "cost_share"}, "row 0, column cost"),
        ({"mem_gib_hours": -1.0}, {"split": "cost_share"}, "row 0, column mem_gib_hours"),
        ({"sampled": False}, {"split": "cost_share"}, "row 0, column sampled"),
        ({"hour": pd.Timestamp("2025-03-01 00:00")}, {"split": "cost_share"}, "UTC"),
        ({"hour": H0 + pd.Timedelta(minutes=5)}, {"split": "cost_share"}, "not on the hour"),
    ],
)
def test_bad_input_is_named(change, kwargs, message):
    with pytest.raises(EngineInputError, match=message):
        node_unit_prices(frame(node_hour(**change)), **kwargs)


def test_duplicate_node_hour_is_rejected():
    with pytest.raises(EngineInputError, match=r"row 1.*more than once"):
        node_unit_prices(frame(node_hour(), node_hour()), split="cost_share")


def test_missing_column_is_named():
    with pytest.raises(EngineInputError, match=r"missing column.*sampled"):
        node_unit_prices(frame(node_hour()).drop(columns="sampled"), split="cost_share")


def test_fallback_node_cost_prices_capacity_from_the_sheet():
    got = fallback_node_cost([4.0, 2.0], [16.0, 0.0], 0.03, [0.004, 0.005])
    np.testing.assert_allclose(got, [4 * 0.03 + 16 * 0.004, 2 * 0.03])
