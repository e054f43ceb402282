"""Stored units, cents and the moves between them (costing/money.py)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from costing import money

D = Decimal


def test_units_and_money_round_trip():
    assert D("1e-8") == money.UNIT and money.UNITS_PER_CURRENCY == 100_000_000 and D("0.01") == money.CENT
    assert money.to_units(D("1583.49500000")) == 158_349_500_000
    assert money.to_units(D("0.000000015")) == 2  # half even past 8 places
    assert money.to_units(D("0.000000025")) == 2
    assert money.to_units(0.1) == 10_000_000
    assert money.to_money(158_349_500_000) == D("1583.49500000")
    assert money.sum_units(None) == 0 and money.sum_units(1.5) == 150_000_000


def test_units_array_is_exact_for_decimals_and_vectorised_for_floats():
    decimals = money.units_array([D("0.12345678"), D("-2.00000001")])
    assert decimals.dtype == np.int64 and decimals.tolist() == [12_345_678, -200_000_001]
    assert money.units_array(np.array([0.25, 1e-8])).tolist() == [25_000_000, 1]
    assert money.units_array([]).tolist() == []


def test_cents():
    assert money.round_cents(D("1583.495")) == D("1583.50")  # half up, not half even
    assert money.round_cents(2.675) == D("2.68") and money.round_cents(None) == D("0.00")
    # 1/3 each of 1.00: the first third gets the cent that makes the parts add up to the whole.
    third = D(1) / 3
    assert money.largest_remainder_cents([third, third, third]) == [D("0.34"), D("0.33"), D("0.33")]
    assert money.largest_remainder_cents([D("0.004"), D("0.004")], total=D("0.01")) == [D("0.01"), D("0.00")]


def test_units_text_is_eight_places_of_the_count():
    assert money.units_text(1) == "0.00000001"
    assert money.units_text(-1) == "-0.00000001"
    assert money.units_text(0) == "0.00000000"
    assert money.units_text(np.int64(-150_000_000)) == "-1.50000000"
    assert money.units_text([123_456_789, 10**8]) == ["1.23456789", "1.00000000"]
