from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costing.engine._validate import EngineInputError
from costing.engine.rounding import largest_remainder, round_lines

D = Decimal


def test_thirds_give_the_leftover_cent_to_the_first_of_equal_remainders():
    assert largest_remainder([1 / 3, 1 / 3, 1 / 3]) == [D("0.34"), D("0.33"), D("0.33")]


def test_the_largest_remainder_gets_the_cent_first():
    # Floors 0.33 + 0.33 + 0.33 = 0.99 against a whole of 1.00; remainders .001 .004 .005.
    assert largest_remainder([D("0.331"), D("0.334"), D("0.335")]) == [D("0.33"), D("0.33"), D("0.34")]


def test_a_float_rounds_as_it_reads():
    # 2.675 is 2.67499999... in binary; it is shown as 2.675 and must round to 2.68.
    assert largest_remainder([2.675]) == [D("2.68")]


def test_negative_amounts_round_towards_the_rounded_whole():
    assert largest_remainder([-0.5, -0.5], places=0) == [D("0"), D("-1")]
    got = largest_remainder([D("-1.005"), D("3.333"), D("-0.001")])
    assert got == [D("-1.00"), D("3.33"), D("0.00")]
    assert sum(got) == D("2.33")


def test_a_given_total_is_met_even_when_far_from_the_sum():
    assert largest_remainder([1, 1, 1], total=D("10")) == [D("3.34"), D("3.33"), D("3.33")]
    assert largest_remainder([1, 1, 1], total=D("-1")) == [D("-0.34"), D("-0.33"), D("-0.33")]
    assert sum(largest_remainder([D("0.101"), D("0.205")], total=D("0.30"))) == D("0.30")


def test_places_zero_and_empty_input():
    assert largest_remainder([0.5, 0.5, 1.4], places=0) == [D("1"), D("0"), D("1")]
    assert largest_remainder([]) == []
    with pytest.raises(EngineInputError, match="total"):
        largest_remainder([], total=D("1"))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), D("NaN")])
def test_not_a_number_is_refused(bad):
    with pytest.raises(EngineInputError, match="not a finite number"):
        largest_remainder([1.0, bad])


cents = st.decimals(min_value=-10_000, max_value=10_000, places=6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(cents, st.floats(-1e6, 1e6)), max_size=40), st.sampled_from([0, 2, 4]))
def test_rounded_parts_add_up_to_the_rounded_whole_and_move_less_than_a_unit(amounts, places):
    got = largest_remainder(amounts, places=places)
    unit = D(1).scaleb(-places)
    exact = [D(str(a)) for a in amounts]
    assert sum(got, D(0)) == sum(exact, D(0)).quantize(unit, rounding=ROUND_HALF_UP)
    for part, amount in zip(got, exact, strict=True):
        assert part == part.quantize(unit)
        assert abs(part - amount) < unit


@settings(max_examples=100, deadline=None)
@given(st.lists(cents, min_size=1, max_size=20), cents)
def test_a_given_total_is_always_met(amounts, total):
    got = largest_remainder(amounts, total=total)
    assert sum(got, D(0)) == total.quantize(D("0.01"), rounding=ROUND_HALF_UP)
    assert largest_remainder(amounts, total=total) == got


def test_round_lines_reconciles_rows_and_the_total_column():
    lines = pd.DataFrame(
        {
            "department": ["Sales", "Ops", "Idle"],
            "direct": [1 / 3, 2 / 3, 0.0],
            "shared": [1 / 3, 1 / 6, 0.0],
            "idle": [0.125, 0.005, 10 / 3],
            "overhead": [0.0, 0.0, 0.0],
        }
    )
    lines["total"] = lines[["direct", "shared", "idle", "overhead"]].sum(axis=1)
    # Totals 0.7916.., 0.8383.., 3.3333.. (sum 4.9633..): floors 4.95, the cent goes to Ops (.0083 left).
    got = round_lines(lines, grand_total=D("4.96"))
    assert got["total"].tolist() == [D("0.79"), D("0.84"), D("3.33")]
    for _, row in got.iterrows():
        assert row["direct"] + row["shared"] + row["idle"] + row["overhead"] == row["total"]
    # Sales' parts floor to 0.33 + 0.33 + 0.12 = 0.78; the cent goes to idle (0.125 leaves the most).
    assert got.loc[0, ["direct", "shared", "idle"]].tolist() == [D("0.33"), D("0.33"), D("0.13")]
    assert got.loc[1, ["direct", "shared", "idle"]].tolist() == [D("0.67"), D("0.17"), D("0.00")]
    assert got["department"].tolist() == ["Sales", "Ops", "Idle"]
