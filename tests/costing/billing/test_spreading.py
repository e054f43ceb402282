from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costing.billing.spreading import HOUR_NS, split_cost, spread_hourly

T0 = pd.Timestamp("2026-09-01 00:00", tz="UTC")


def _line(start, end, cost, cluster="c1", node=None, kind="overhead"):
    return {
        "charge_period_start": pd.Timestamp(start, tz="UTC"),
        "charge_period_end": pd.Timestamp(end, tz="UTC"),
        "effective_cost": Decimal(cost),
        "cluster": cluster,
        "node": node,
        "kind": kind,
    }


def _spread(*lines) -> dict:
    result = spread_hourly(pd.DataFrame(list(lines)))
    return {
        (row.hour.strftime("%d %H:%M"), row.cluster, row.node, row.kind): row.effective_cost
        for row in result.itertuples()
    }


def test_a_day_long_line_gives_each_hour_a_24th_and_rounding_loses_nothing():
    result = _spread(_line("2026-09-01", "2026-09-02", "1.00"))
    assert len(result) == 24
    # 1.00 / 24 = 0.0416666666...: in 10**-9 units 10**9 = 24 * 41666666 + 16, so 16 hours get one unit more
    values = sorted(result.values())
    assert values[0] == Decimal("0.041666666") and values[-1] == Decimal("0.041666667")
    assert values.count(Decimal("0.041666667")) == 16  # 10**9 - 24 * 41666666 = 16 units left to place
    assert sum(values) == Decimal("1.00")


def test_hour_lines_and_sums_per_hour_cluster_node_kind():
    result = _spread(
        _line("2026-09-01 10:00", "2026-09-01 11:00", "0.192", "c1", "n1", "node"),
        _line("2026-09-01 10:00", "2026-09-01 11:00", "0.008", "c1", "n1", "node"),
        _line("2026-09-01 10:00", "2026-09-01 11:00", "5", None, None, "outside"),
    )
    assert result == {
        ("01 10:00", "c1", "n1", "node"): Decimal("0.200"),
        ("01 10:00", None, None, "outside"): Decimal("5"),
    }


def test_periods_not_aligned_to_hours_are_split_by_overlap():
    # 10:30-11:30 -> half each; 12:10-12:30 stays in 12:00; 13:45-15:15 -> 15/90, 60/90, 15/90
    result = _spread(
        _line("2026-09-01 10:30", "2026-09-01 11:30", "3"),
        _line("2026-09-01 12:10", "2026-09-01 12:30", "0.7"),
        _line("2026-09-01 13:45", "2026-09-01 15:15", "-6"),
    )
    assert result == {
        ("01 10:00", "c1", None, "overhead"): Decimal("1.5"),
        ("01 11:00", "c1", None, "overhead"): Decimal("1.5"),
        ("01 12:00", "c1", None, "overhead"): Decimal("0.7"),
        ("01 13:00", "c1", None, "overhead"): Decimal("-1"),
        ("01 14:00", "c1", None, "overhead"): Decimal("-4"),
        ("01 15:00", "c1", None, "overhead"): Decimal("-1"),
    }


def test_a_zero_length_period_is_charged_to_its_hour():
    assert _spread(_line("2026-09-01 10:20", "2026-09-01 10:20", "2")) == {
        ("01 10:00", "c1", None, "overhead"): Decimal("2")
    }


def test_finer_decimals_than_the_default_are_kept():
    shares = split_cost(Decimal("0.00000000603"), T0.value, T0.value + 3 * HOUR_NS)
    assert sum(share for _, share in shares) == Decimal("0.00000000603")
    assert [share for _, share in shares] == [Decimal("2.01E-9")] * 3


def test_missing_attribution_columns_are_refused():
    with pytest.raises(ValueError, match="attributed lines"):
        spread_hourly(pd.DataFrame([{"effective_cost": Decimal(1)}]))


@settings(max_examples=150, deadline=None)
@given(
    cents=st.integers(min_value=-(10**12), max_value=10**12),
    exponent=st.integers(min_value=0, max_value=12),
    start_minutes=st.integers(min_value=0, max_value=60 * 24 * 3),
    length_minutes=st.integers(min_value=0, max_value=60 * 24 * 40),
)
def test_shares_always_add_up_to_the_line_exactly(cents, exponent, start_minutes, length_minutes):
    cost = Decimal(cents).scaleb(-exponent)
    start = T0.value + start_minutes * 60 * 10**9
    end = start + length_minutes * 60 * 10**9
    shares = split_cost(cost, start, end)
    assert sum((share for _, share in shares), Decimal(0)) == cost
    hours = [hour for hour, _ in shares]
    assert hours == sorted(set(hours)) and hours[0] <= start
    assert all(hour < max(end, start + 1) for hour in hours)
    # evenly: no two shares of whole hours differ by more than one unit of the last decimal
    whole = [share for hour, share in shares if hour >= start and hour + HOUR_NS <= end]
    if whole:
        unit = Decimal(1).scaleb(-max(9, exponent))
        assert max(whole) - min(whole) <= unit
