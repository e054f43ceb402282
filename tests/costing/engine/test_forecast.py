"""Tests of the forecast against hand-computed period totals on short synthetic series."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from costing.engine.forecast import daily_series, forecast_period

NOV = (date(2026, 11, 1), date(2026, 12, 1))


def series(values, first=date(2026, 11, 1)) -> pd.Series:
    return pd.Series(values, index=[first + timedelta(days=i) for i in range(len(values))], dtype=float)


def test_a_constant_cost_ends_the_month_at_thirty_times_the_day():
    # 21 days at 5: 105 spent, 9 days left at 5 = 45, no uncertainty.
    f = forecast_period(series([5.0] * 21), *NOV, as_of=date(2026, 11, 21))
    assert f.method == "ets-weekly"
    assert f.actual == pytest.approx(105)
    assert f.total == pytest.approx(150, abs=1e-6)
    assert (f.low, f.high) == (pytest.approx(150, abs=1e-6), pytest.approx(150, abs=1e-6))


def test_a_weekly_pattern_is_continued_weekday_by_weekday():
    # Sunday 1 November: five days at 10 from Sunday, then Friday and Saturday at 3 (a pattern of 56 a
    # week). Three weeks seen; the 9 days left (22..30 Nov) are Sun..Sat, Sun, Mon: 5*10 + 2*3 + 2*10 = 76.
    pattern = [10, 10, 10, 10, 10, 3, 3]
    f = forecast_period(series(pattern * 3), *NOV, as_of=date(2026, 11, 21))
    assert f.actual == pytest.approx(168)
    assert f.total == pytest.approx(168 + 76, abs=1e-4)
    assert f.high - f.low == pytest.approx(0, abs=1e-4)


def test_a_trend_is_extrapolated():
    # 2, 2.5, 3, ... : day i costs 2 + i/2. Days 21..29 of November cost 12.5 .. 16.5, summing to 130.5.
    values = [2 + 0.5 * i for i in range(21)]
    f = forecast_period(series(values), *NOV, as_of=date(2026, 11, 21))
    assert f.actual == pytest.approx(sum(values))
    assert f.total == pytest.approx(sum(values) + 130.5, abs=1e-3)


def test_a_decline_stops_at_zero():
    # 20, 19, ... 0 over 21 days: the days left would be negative; they cost nothing.
    values = [20.0 - i for i in range(21)]
    f = forecast_period(series(values), *NOV, as_of=date(2026, 11, 21))
    assert f.total == pytest.approx(210, abs=1e-3)


def test_noise_gives_an_interval_around_the_point_that_holds_the_truth():
    rng = np.random.default_rng(7)
    pattern = np.array([10, 10, 10, 10, 10, 3, 3], dtype=float)
    values = np.tile(pattern, 5)[:30] + rng.normal(0, 1, 30)
    f = forecast_period(series(values[:21]), *NOV, as_of=date(2026, 11, 21))
    assert f.low < f.total < f.high
    # Nine noisy days (sigma 1, and a trend fitted to noise) land within a few units of the truth.
    assert f.total == pytest.approx(values.sum(), abs=10)
    # Nine days of a daily sigma of 1: the 80 % interval is of the order of 2 * 1.28 * 3 = 7.7.
    assert 3 < f.high - f.low < 20
    # Seeded: the same forecast twice.
    assert forecast_period(series(values[:21]), *NOV, as_of=date(2026, 11, 21)) == f


def test_under_two_weeks_the_level_is_carried_without_a_pattern():
    f = forecast_period(series([4.0] * 10), *NOV, as_of=date(2026, 11, 10))
    assert f.method == "ets-level"
    assert f.total == pytest.approx(120, abs=1e-6)


def test_two_days_give_their_mean_and_no_day_left_gives_the_actual():
    # 28 and 29 November seen (4 and 6): the 30th is forecast at their mean, 5.
    f = forecast_period(series([4.0, 6.0], first=date(2026, 11, 28)), *NOV, as_of=date(2026, 11, 29))
    assert (f.method, f.actual, f.total, f.low, f.high) == ("mean", 10.0, 15.0, 15.0, 15.0)
    done = forecast_period(series([4.0, 6.0], first=date(2026, 11, 29)), *NOV, as_of=date(2026, 11, 30))
    assert (done.method, done.total) == ("complete", 10.0)
    assert forecast_period(series([]), *NOV, as_of=date(2026, 11, 30)) is None


def test_days_without_a_cost_are_zero_and_history_before_the_period_is_used_not_counted():
    gappy = pd.Series([1.0, 2.0, 7.0], index=[date(2026, 11, 1), date(2026, 11, 3), date(2026, 11, 9)])
    assert daily_series(gappy, date(2026, 11, 4)).tolist() == [1.0, 0.0, 2.0, 0.0]
    # October at 5 a day: November's actual is only its own 3 days, the forecast 30 * 5.
    f = forecast_period(series([5.0] * 34, first=date(2026, 10, 1)), *NOV, as_of=date(2026, 11, 3))
    assert f.actual == pytest.approx(15)
    assert f.total == pytest.approx(150, abs=1e-6)
