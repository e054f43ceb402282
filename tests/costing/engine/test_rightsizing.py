"""Right-sizing on small known series, every expectation computed by hand (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costing.engine._validate import EngineInputError
from costing.engine.rightsizing import (
    HOUR_COLUMNS,
    NO_RECOMMENDATION,
    OVER_REQUESTED,
    UNDER_REQUESTED,
    RightsizingPolicy,
    recommend,
)
from costing.histograms import CPU

MIB, GIB = 2**20, 2**30
START = datetime(2026, 3, 1, tzinfo=UTC)
END = START + timedelta(days=21)
CPU_PRICE, MEM_PRICE = 0.04, 0.005  # per core-hour, per GiB-hour


def hour_row(
    hour, cpu_use, mem_use, *, cpu_req=1.0, mem_req=GIB, mem_limit=0.0, container="app", seconds=3600
):
    """One container-hour from per-minute usage lists (60 samples of 60 s), as the recorder builds it."""
    cpu_use = np.asarray(cpu_use, dtype=float)
    mem_use = np.asarray(mem_use, dtype=float)
    step = seconds / len(cpu_use)
    w = step / 3600

    def hist(buckets, values):
        idx, counts = np.unique(buckets.index(values), return_counts=True)
        return {str(i): int(c * step) for i, c in zip(idx, counts, strict=True)}

    return {
        "cluster": "prod", "namespace": "shop", "workload_kind": "Deployment", "workload_name": "web",
        "container": container, "init": False, "hour": hour, "seconds": seconds,
        "cpu_request_core_hours": cpu_req * w * len(cpu_use),
        "cpu_usage_core_hours": cpu_use.sum() * w,
        "cpu_billable_core_hours": np.maximum(cpu_use, cpu_req).sum() * w,
        "cpu_usage_max_cores": cpu_use.max(), "cpu_histogram": hist(CPU, cpu_use),
        "mem_request_gib_hours": mem_req / GIB * w * len(mem_use),
        "mem_limit_gib_hours": mem_limit / GIB * w * len(mem_use),
        "mem_usage_gib_hours": mem_use.sum() / GIB * w,
        "mem_billable_gib_hours": np.maximum(mem_use, mem_req).sum() / GIB * w,
        "mem_usage_max_bytes": mem_use.max(),
        "cpu_price": CPU_PRICE, "mem_price": MEM_PRICE,
    }  # fmt: skip


def series(cpu_at, mem_at, days=21, **kw) -> pd.DataFrame:
    """Hourly rows over `days` from START: cpu_at(hour index) and mem_at(hour index) give the minute values."""
    rows = [
        hour_row(START + timedelta(hours=h), [cpu_at(h)] * 60, [mem_at(h)] * 60, **kw)
        for h in range(days * 24)
    ]
    return pd.DataFrame(rows, columns=HOUR_COLUMNS)


def full_coverage(days=21) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cluster": "prod",
            "hour": [START + timedelta(hours=h) for h in range(days * 24)],
            "sampled_seconds": 3600,
        }
    )


def only(result: pd.DataFrame) -> pd.Series:
    assert len(result) == 1
    return result.iloc[0]


def test_flat_usage():
    row = only(recommend(series(lambda h: 0.25, lambda h: 200 * MIB), full_coverage(), start=START, end=END))
    # P95 of a flat 0.25 is 0.25 (its bucket's edge, 0.2584, is above the peak seen): x 1.15 = 0.2875 -> 0.290.
    assert row["cpu_percentile_cores"] == 0.25
    assert row["cpu_recommended_cores"] == pytest.approx(0.290)
    # Memory: the peak 200 MiB x 1.15 = 230 MiB exactly.
    assert row["mem_recommended_bytes"] == 230 * MIB
    assert (row["cpu_request_cores"], row["mem_request_bytes"]) == (1.0, GIB)
    # Per hour today: 1 core x 0.04 + 1 GiB x 0.005 = 0.045; recommended: 0.29 x 0.04 + 230/1024 x 0.005.
    assert row["monthly_cost_now"] == pytest.approx(0.045 * 730)
    assert row["monthly_cost_recommended"] == pytest.approx((0.0116 + 230 / 1024 * 0.005) * 730)
    assert row["monthly_saving"] == pytest.approx(32.85 - 9.28782422, abs=1e-6)
    assert row["status"] == OVER_REQUESTED and row["reason"] is None
    assert row["days"] == 14
    assert row["backtest_cpu_over_share"] == 0.0 and not row["backtest_mem_over"]
    assert row["cpu_over_request_share"] == 0.0


def test_diurnal_usage_whose_peak_hour_is_under_five_percent():
    # One hour a day at 0.6 cores, 23 at 0.1: 1/24 = 4.2% of the seconds, so P95 is in 0.1's bucket,
    # [0.1000, 0.1103): its upper edge 0.110266 x 1.15 = 0.126806 -> 0.130 cores.
    rows = series(lambda h: 0.6 if h % 24 == 12 else 0.1, lambda h: 100 * MIB, cpu_req=0.5)
    row = only(recommend(rows, full_coverage(), start=START, end=END))
    assert row["cpu_percentile_cores"] == pytest.approx(0.01 * (1.05**9 - 1) / 0.05)
    assert row["cpu_recommended_cores"] == pytest.approx(0.130)
    assert row["cpu_usage_max_cores"] == 0.6
    # The back-test window has the same days: usage is above 0.13 in exactly the peak hour, 1/24 of it.
    assert row["backtest_cpu_over_share"] == pytest.approx(1 / 24)
    # Cost with 0.13: 23 hours billed 0.13, the peak hour its usage 0.6 (all of it above the request).
    per_day = (23 * 0.13 + 0.6) * CPU_PRICE + 24 * (115 / 1024) * MEM_PRICE
    assert row["monthly_cost_recommended"] == pytest.approx(per_day / 24 * 730)
    now_per_day = (23 * 0.5 + 0.6) * CPU_PRICE + 24 * 1 * MEM_PRICE
    assert row["monthly_cost_now"] == pytest.approx(now_per_day / 24 * 730)
    # Today the request (0.5) is below usage in that hour too: 1/24 of the seconds.
    assert row["cpu_over_request_share"] == pytest.approx(1 / 24)


def test_bursty_usage_above_request_is_a_risk_not_a_saving():
    # 0.05 cores but 0.5 for 6 minutes of every hour (10% of the seconds): P95 is the burst, capped at 0.5.
    cpu = [0.5] * 6 + [0.05] * 54
    rows = pd.DataFrame(
        [
            hour_row(START + timedelta(hours=h), cpu, [64 * MIB] * 60, cpu_req=0.1, mem_req=128 * MIB)
            for h in range(21 * 24)
        ],
        columns=HOUR_COLUMNS,
    )
    row = only(recommend(rows, full_coverage(), start=START, end=END))
    assert row["cpu_percentile_cores"] == 0.5
    assert row["cpu_recommended_cores"] == pytest.approx(0.575)
    assert row["status"] == UNDER_REQUESTED
    assert row["monthly_saving"] < 0
    assert row["cpu_over_request_share"] == pytest.approx(0.1)
    assert row["backtest_cpu_over_share"] == 0.0
    # Memory 64 MiB x 1.15 = 73.6 MiB -> 74 MiB.
    assert row["mem_recommended_bytes"] == 74 * MIB


def test_memory_growth_is_caught_by_the_backtest():
    # Working set grows 1 MiB an hour from 100 MiB. Trained on days 0-13 (peak 100 + 335 MiB = 435 MiB),
    # recommended 435 x 1.15 = 500.25 -> 501 MiB; the last 7 days reach 100 + 503 = 603 MiB: over, and
    # over the 600 MiB limit too.
    rows = series(lambda h: 0.2, lambda h: (100 + h) * MIB, mem_limit=600 * MIB)
    row = only(recommend(rows, full_coverage(), start=START, end=END))
    assert row["backtest_mem_over"] and row["backtest_mem_over_limit"]
    # Today's recommendation (days 7-20) is from the peak of 603 MiB: 693.45 -> 694 MiB, never below it.
    assert row["mem_peak_bytes"] == 603 * MIB
    assert row["mem_recommended_bytes"] == 694 * MIB


def test_too_few_days_or_too_little_coverage_gives_no_recommendation_and_says_why():
    rows = series(lambda h: 0.25, lambda h: 200 * MIB, days=5)
    row = only(recommend(rows, full_coverage(), start=START, end=START + timedelta(days=5)))
    assert row["status"] == NO_RECOMMENDATION
    assert row["reason"] == "only 5 day(s) of usage in the look-back window (needs 7)"
    assert np.isnan(row["cpu_recommended_cores"]) and np.isnan(row["monthly_saving"])
    assert row["monthly_cost_now"] == pytest.approx(0.045 * 730)

    half = full_coverage().iloc[::2]  # every other hour sampled: 50%
    row = only(recommend(series(lambda h: 0.25, lambda h: 200 * MIB), half, start=START, end=END))
    assert row["reason"] == "collector coverage 50% in the look-back window (needs 80%)"


def test_minimums_rounding_and_policy():
    rows = series(lambda h: 0.001, lambda h: 5 * MIB)
    row = only(recommend(rows, full_coverage(), start=START, end=END))
    assert row["cpu_recommended_cores"] == pytest.approx(0.010)
    assert row["mem_recommended_bytes"] == 16 * MIB
    policy = RightsizingPolicy(cpu_percentile=50, cpu_headroom=1.0, cpu_step_cores=0.001, min_cpu_cores=0)
    row = only(
        recommend(
            series(lambda h: 0.25, lambda h: 200 * MIB), full_coverage(), start=START, end=END, policy=policy
        )
    )
    assert row["cpu_recommended_cores"] == pytest.approx(0.250)
    with pytest.raises(ValueError, match="mem_headroom must be at least 1"):
        RightsizingPolicy(mem_headroom=0.9)


def test_init_containers_are_left_out_and_containers_are_apart():
    app = series(lambda h: 0.25, lambda h: 200 * MIB)
    init = app.assign(container="migrate", init=True)
    proxy = series(
        lambda h: 0.02, lambda h: 40 * MIB, container="istio-proxy", cpu_req=0.1, mem_req=128 * MIB
    )
    result = recommend(pd.concat([app, init, proxy]), full_coverage(), start=START, end=END)
    assert list(result["container"]) == ["app", "istio-proxy"]  # best saving first


def test_bad_input_names_row_and_column():
    rows = series(lambda h: 0.25, lambda h: 200 * MIB, days=1)
    rows.loc[3, "seconds"] = -1
    with pytest.raises(EngineInputError, match="row 3, column seconds"):
        recommend(rows, full_coverage(), start=START, end=START + timedelta(days=1))
    with pytest.raises(EngineInputError, match="missing column"):
        recommend(rows.drop(columns=["cpu_price"]), full_coverage(), start=START, end=END)


@settings(max_examples=40, deadline=None)
@given(
    peaks=st.lists(st.integers(min_value=1, max_value=64 * GIB), min_size=8, max_size=8),
    headroom=st.floats(min_value=1.0, max_value=2.0),
    step=st.sampled_from([1, MIB, 10 * MIB]),
)
def test_no_memory_recommendation_is_below_the_peak_seen(peaks, headroom, step):
    rows = pd.DataFrame(
        [
            hour_row(START + timedelta(days=d, hours=h), [0.1] * 60, [peaks[d]] * 60)
            for d in range(8)
            for h in (0, 12)
        ],
        columns=HOUR_COLUMNS,
    )
    policy = RightsizingPolicy(
        mem_headroom=headroom, mem_step_bytes=step, lookback_days=8, min_days=7, backtest_days=1
    )
    row = only(recommend(rows, full_coverage(8), start=START, end=START + timedelta(days=8), policy=policy))
    assert row["mem_recommended_bytes"] >= max(peaks)


def test_a_container_gone_before_the_look_back_window_is_left_out():
    old = series(lambda h: 0.25, lambda h: 200 * MIB, days=5).assign(workload_name="reindex-20260301")
    kept = series(lambda h: 0.25, lambda h: 200 * MIB)
    result = recommend(pd.concat([old, kept]), full_coverage(), start=START, end=END)
    assert list(result["workload_name"]) == ["web"]


def test_a_namespace_policy_changes_that_namespace_only():
    # The same flat container in two namespaces; only "pay" has a policy of its own.
    shop = series(lambda h: 0.25, lambda h: 200 * MIB)
    pay = shop.assign(namespace="pay")
    own = RightsizingPolicy(cpu_headroom=1.5, mem_headroom=1.5, lookback_days=7, min_days=7)
    result = recommend(
        pd.concat([shop, pay], ignore_index=True),
        full_coverage(),
        start=START,
        end=END,
        namespace_policies={"pay": own},
    )
    rows = {row["namespace"]: row for _, row in result.iterrows()}
    # shop keeps the defaults: 0.25 x 1.15 = 0.2875 -> 0.290 cores, 200 MiB x 1.15 = 230 MiB, 14 days.
    assert rows["shop"]["cpu_recommended_cores"] == pytest.approx(0.290)
    assert rows["shop"]["mem_recommended_bytes"] == 230 * MIB and rows["shop"]["days"] == 14
    # pay: 0.25 x 1.5 = 0.375 cores (on a 5-millicore step), 200 MiB x 1.5 = 300 MiB, over 7 days.
    assert rows["pay"]["cpu_recommended_cores"] == pytest.approx(0.375)
    assert rows["pay"]["mem_recommended_bytes"] == 300 * MIB and rows["pay"]["days"] == 7
    # Its cost per hour: 0.375 x 0.04 + 300/1024 x 0.005 = 0.016464844; today 0.045.
    assert rows["pay"]["monthly_cost_recommended"] == pytest.approx((0.015 + 300 / 1024 * 0.005) * 730)
    assert rows["pay"]["monthly_saving"] == pytest.approx((0.045 - 0.015 - 300 / 1024 * 0.005) * 730)
    # Ranked together, best saving first: shop saves more.
    assert list(result["namespace"]) == ["shop", "pay"]
    # Without its policy, pay is advised exactly as shop.
    same = recommend(pay, full_coverage(), start=START, end=END).iloc[0]
    assert same["cpu_recommended_cores"] == rows["shop"]["cpu_recommended_cores"]
    assert same["mem_recommended_bytes"] == rows["shop"]["mem_recommended_bytes"]
