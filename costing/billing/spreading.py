"""Spreads each bill line's cost over the hours of its charge period, exactly, to the last decimal."""

from __future__ import annotations

from collections import defaultdict
from decimal import Context, Decimal, localcontext

import numpy as np
import pandas as pd

HOUR_NS = 3_600 * 10**9
# Shares are whole multiples of 10**-9 currency units, or of the line's own last decimal if finer.
MIN_DECIMALS = 9
_EXACT = Context(prec=200)
RESULT_COLUMNS = ("hour", "cluster", "node", "kind", "effective_cost")


def spread_hourly(lines: pd.DataFrame) -> pd.DataFrame:
    """Sum of effective_cost (Decimal) per UTC hour, cluster, node and kind, from attributed lines.

    Each line is spread over the hours that [charge_period_start, charge_period_end) overlaps, in proportion
    to the time of the period inside each hour: a whole-hour-aligned period gets equal shares, a period
    of 20 minutes stays in its hour, 10:30-11:30 gives half to 10:00 and half to 11:00. A period of zero
    length is charged to the hour of its start. The shares are rounded to 10**-9 (or the line's own
    finer last decimal) by largest remainder, so they add up to the line's cost exactly.
    """
    missing = {"charge_period_start", "charge_period_end", "effective_cost", "cluster", "node", "kind"}
    missing -= set(lines.columns)
    if missing:
        raise ValueError(f"spread_hourly needs attributed lines; missing columns: {sorted(missing)}")
    starts = _ns(lines["charge_period_start"])
    ends = _ns(lines["charge_period_end"])
    first_hour = starts - starts % HOUR_NS
    # The last hour touched: the one holding the instant just before the end (or the start, if empty).
    last_hour = np.maximum(ends - 1, starts)
    last_hour -= last_hour % HOUR_NS
    totals: dict[tuple, Decimal] = defaultdict(Decimal)
    columns = zip(
        first_hour,
        last_hour,
        starts,
        ends,
        lines["cluster"].to_numpy(),
        lines["node"].to_numpy(),
        lines["kind"].to_numpy(),
        lines["effective_cost"].to_numpy(),
        strict=True,
    )
    with localcontext(_EXACT):  # sums stay exact whatever the magnitude
        for first, last, start, end, cluster, node, kind, cost in columns:
            key = (_none(cluster), _none(node), kind)
            if first == last:
                totals[(int(first), *key)] += cost
                continue
            for hour, share in split_cost(cost, int(start), int(end)):
                totals[(hour, *key)] += share
    if not totals:
        return pd.DataFrame({name: pd.Series([], dtype=object) for name in RESULT_COLUMNS})
    keys = list(totals)
    result = pd.DataFrame(
        {
            "hour": pd.to_datetime([k[0] for k in keys], unit="ns", utc=True),
            "cluster": pd.Series([k[1] for k in keys], dtype=object),
            "node": pd.Series([k[2] for k in keys], dtype=object),
            "kind": pd.Series([k[3] for k in keys], dtype=object),
            "effective_cost": pd.Series(list(totals.values()), dtype=object),
        }
    )
    return result.sort_values(
        ["hour", "kind", "cluster", "node"], na_position="first", kind="stable"
    ).reset_index(drop=True)


def split_cost(cost: Decimal, start_ns: int, end_ns: int) -> list[tuple[int, Decimal]]:
    """(hour start in ns, share) for each hour [start, end) overlaps; the shares sum to `cost` exactly."""
    first = start_ns - start_ns % HOUR_NS
    if end_ns <= start_ns:
        return [(first, cost)]
    hours = list(range(first, end_ns, HOUR_NS))
    weights = [min(end_ns, hour + HOUR_NS) - max(start_ns, hour) for hour in hours]
    decimals = max(MIN_DECIMALS, -cost.as_tuple().exponent) if cost.is_finite() else MIN_DECIMALS
    units = int(cost.scaleb(decimals, context=_EXACT))
    sign, units = (-1 if units < 0 else 1), abs(units)
    total_weight = sum(weights)
    quotients, remainders = zip(*(divmod(units * w, total_weight) for w in weights), strict=True)
    shares = list(quotients)
    leftover = units - sum(shares)
    # Largest remainder first; ties go to the earlier hour.
    for index in sorted(range(len(hours)), key=lambda i: (-remainders[i], i))[:leftover]:
        shares[index] += 1
    return [
        (hour, Decimal(sign * share).scaleb(-decimals, context=_EXACT))
        for hour, share in zip(hours, shares, strict=True)
    ]


def _ns(values: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(values).as_unit("ns").asi8


def _none(value):
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value
