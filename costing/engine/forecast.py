"""Where a period's cost will end: exponential smoothing of the daily costs, with a weekly pattern.

Pure: a Series of daily costs in, a Forecast out; no database. The model (docs/budgets.md):
- 14 days of history or more: statsmodels' ETS with additive error, additive trend and an additive
  weekly season (ETS(A,A,A), period 7), the weekday pattern of a cluster's costs (batch jobs, office
  hours) being the strongest thing in them;
- 3 to 13 days: ETS(A,N,N), simple exponential smoothing (a level, no trend, no season), since
  a weekly pattern cannot be told from less than two weeks;
- 1 or 2 days: their mean, with no interval.
The interval of the period's total is read off simulated futures (the sum of correlated daily errors
is not the sum of daily intervals); the simulation is seeded, so that a forecast is reproducible.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

SEASONAL_MIN_DAYS = 14
LEVEL_MIN_DAYS = 3
# The recent past says more about the period's end than last year does, and keeps the fit quick.
MAX_HISTORY_DAYS = 91
WEEK = 7


@dataclass(frozen=True)
class Forecast:
    """A period's expected total cost: `actual` so far plus the forecast of the days left, and its interval."""

    actual: float
    total: float
    low: float
    high: float
    method: str  # ets-weekly, ets-level, mean, or complete (no day left)
    history_days: int
    # Per day left (as_of + 1 to the period's last day): the forecast cost accumulated since as_of, and the
    # interval of that sum; the last values are total - actual, low - actual, high - actual. The line that
    # continues the actual costs on the pages.
    cumulative: tuple[float, ...] = field(default=(), compare=False)
    cumulative_low: tuple[float, ...] = field(default=(), compare=False)
    cumulative_high: tuple[float, ...] = field(default=(), compare=False)


def daily_series(history: pd.Series, as_of: date) -> pd.Series:
    """The daily costs up to `as_of` as a float Series with a row per day from the first one: a day
    with no stored cost after the first is a day that cost nothing."""
    if history.empty:
        return pd.Series(dtype=float)
    index = pd.to_datetime(pd.Index(history.index))
    series = pd.Series(np.asarray(history, dtype=float), index=index).groupby(level=0).sum()
    series = series[series.index <= pd.Timestamp(as_of)]
    if series.empty:
        return series
    days = pd.date_range(series.index.min(), pd.Timestamp(as_of), freq="D")
    return series.reindex(days, fill_value=0.0)


def forecast_period(
    history: pd.Series,
    start: date,
    end: date,
    as_of: date,
    *,
    level: float = 0.8,
    repetitions: int = 2000,
    seed: int = 0,
) -> Forecast | None:
    """The forecast of the period [start, end) as of the end of day `as_of`, from the daily `history`
    (a Series indexed by day); None when there is no history at all."""
    series = daily_series(history, as_of)
    if series.empty:
        return None
    actual = float(series[series.index >= pd.Timestamp(start)].sum())
    horizon = max((end - (as_of + timedelta(days=1))).days, 0)
    fit_on = series.iloc[-MAX_HISTORY_DAYS:]
    days = len(fit_on)
    if horizon == 0:
        return Forecast(actual, actual, actual, actual, "complete", days)
    if days < LEVEL_MIN_DAYS:
        rest = float(fit_on.mean()) * horizon
        total = actual + rest
        steps = tuple(float(fit_on.mean()) * (i + 1) for i in range(horizon))
        return Forecast(actual, total, total, total, "mean", days, steps, steps, steps)
    seasonal = days >= SEASONAL_MIN_DAYS
    path, futures = _simulate(fit_on, horizon, seasonal, repetitions, seed)
    # A cost is never negative: a trend running below zero stops there.
    rest = float(np.clip(path, 0, None).sum())
    totals = np.clip(futures, 0, None).sum(axis=0)
    tail = (1 - level) / 2
    low, high = np.quantile(totals, [tail, 1 - tail])
    # The interval of each running sum, kept around the point line (as the total's is).
    line = np.cumsum(np.clip(path, 0, None))
    sums = np.quantile(np.cumsum(np.clip(futures, 0, None), axis=0), [tail, 1 - tail], axis=1)
    return Forecast(
        actual=actual,
        total=actual + rest,
        low=actual + min(float(low), rest),
        high=actual + max(float(high), rest),
        method="ets-weekly" if seasonal else "ets-level",
        history_days=days,
        cumulative=tuple(line.tolist()),
        cumulative_low=tuple(np.minimum(sums[0], line).tolist()),
        cumulative_high=tuple(np.maximum(sums[1], line).tolist()),
    )


def _simulate(series: pd.Series, horizon: int, seasonal: bool, repetitions: int, seed: int):
    """The point forecast of the next `horizon` days and `repetitions` simulated futures (days x runs)."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel  # slow import: only when forecasting

    options = {"trend": "add", "seasonal": "add", "seasonal_periods": WEEK} if seasonal else {}
    model = ETSModel(series.asfreq("D"), error="add", **options)
    with warnings.catch_warnings():
        # A perfect fit (a constant series) makes the optimiser warn about a zero variance; it is right.
        warnings.simplefilter("ignore")
        fitted = model.fit(disp=False)
        path = np.asarray(fitted.forecast(horizon), dtype=float)
        futures = np.asarray(
            fitted.simulate(horizon, anchor="end", repetitions=repetitions, rng=np.random.default_rng(seed)),
            dtype=float,
        ).reshape(horizon, -1)
    return path, futures
