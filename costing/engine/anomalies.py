"""Anomalous days: a subject's cost far from the median of the same weekday, with the reason when it shows.

Pure: a DataFrame of daily costs in, a list of Anomaly out. The rule (docs/budgets.md): the expected
cost of a day is the median of the same weekday over the previous `weeks` weeks (costs follow the
week); the spread is the median absolute deviation of those days, scaled to a standard deviation
(x 1.4826). A day is anomalous when it departs from the expected cost by more than the largest of
`k` spreads, `min_relative` of the expected cost and `min_amount`: with four weeks of identical days
the spread is zero, and a few cents of rounding must not page anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from django.utils.translation import gettext, gettext_noop

MAD_TO_SIGMA = 1.4826
MIN_BASELINE_DAYS = 2


@dataclass(frozen=True)
class Rule:
    weeks: int = 4
    k: float = 3.5
    min_relative: float = 0.25
    min_amount: float = 1.0
    # How much a count of pods or a unit price must move to be named as the reason.
    pods_ratio: float = 1.2
    price_ratio: float = 1.1


class Reason(str):
    """A reason, equal to its English text; `translated()` writes it in the active language (each
    recipient of an alert gets it in theirs: costing/budgets/evaluate.py)."""

    def __new__(cls, template: str, **params: str) -> Reason:
        reason = super().__new__(cls, template % params)
        reason.template, reason.params = template, params
        return reason

    def translated(self) -> str:
        return gettext(self.template) % self.params


@dataclass(frozen=True)
class Anomaly:
    subject: str
    day: date
    cost: float
    expected: float
    threshold: float
    reasons: tuple[Reason, ...]

    @property
    def deviation(self) -> float:
        return self.cost - self.expected


def find_anomalies(
    frame: pd.DataFrame, day: date, *, history_start: date | None = None, rule: Rule = Rule()
) -> list[Anomaly]:
    """The anomalous subjects of `day`, largest departure first.

    `frame` has a row per subject and day with `subject`, `day` and `cost`, and optionally `pods` (pods
    or replicas that day), `price` (the day's unit price, e.g. per billable core-hour) and `new_cost` (the
    part of the cost from workloads not seen on the baseline days). A subject without a row on a day
    cost nothing that day; days before `history_start` (when costs began to be computed) are unknown
    and left out of the baseline.
    """
    if frame.empty:
        return []
    data = frame.assign(day=pd.to_datetime(frame["day"]).dt.date)
    baseline_days = [day - timedelta(days=7 * w) for w in range(1, rule.weeks + 1)]
    if history_start is not None:
        baseline_days = [d for d in baseline_days if d >= history_start]
    if len(baseline_days) < MIN_BASELINE_DAYS:
        return []
    today = data[data["day"] == day].set_index("subject")
    past = data[data["day"].isin(baseline_days)]
    found = []
    for subject in sorted(set(today.index) | set(past["subject"])):
        rows = past[past["subject"] == subject].set_index("day")
        costs = rows["cost"].reindex(baseline_days, fill_value=0.0).to_numpy(dtype=float)
        expected = float(np.median(costs))
        spread = MAD_TO_SIGMA * float(np.median(np.abs(costs - expected)))
        threshold = max(rule.k * spread, rule.min_relative * expected, rule.min_amount)
        current = today.loc[subject] if subject in today.index else None
        cost = float(current["cost"]) if current is not None else 0.0
        if abs(cost - expected) <= threshold:
            continue
        reasons = _reasons(current, rows, baseline_days, cost - expected, rule)
        found.append(Anomaly(subject, day, cost, expected, threshold, reasons))
    return sorted(found, key=lambda a: -abs(a.deviation))


def _reasons(current, past: pd.DataFrame, baseline_days, deviation: float, rule: Rule) -> tuple[str, ...]:
    """What the data says of the departure: new workloads, more or fewer pods, a higher or lower unit price."""
    if current is None:
        return (Reason(gettext_noop("no cost this day")),)
    if past.empty:
        return (Reason(gettext_noop("new: no cost on the same weekday before")),)
    reasons = []
    new_cost = float(current.get("new_cost", 0) or 0)
    if deviation > 0 and new_cost >= deviation / 2:
        reasons.append(Reason(gettext_noop("new workloads: %(cost)s of the cost"), cost=f"{new_cost:,.2f}"))
    if "pods" in current.index and "pods" in past:
        pods = float(current["pods"])
        before = float(np.median(past["pods"].reindex(baseline_days, fill_value=0.0)))
        if before > 0 and pods >= before * rule.pods_ratio:
            reasons.append(
                Reason(
                    gettext_noop("more pods: %(pods)s against %(before)s"),
                    pods=f"{pods:g}",
                    before=f"{before:g}",
                )
            )
        elif pods > 0 and before >= pods * rule.pods_ratio:
            reasons.append(
                Reason(
                    gettext_noop("fewer pods: %(pods)s against %(before)s"),
                    pods=f"{pods:g}",
                    before=f"{before:g}",
                )
            )
    if "price" in current.index and "price" in past:
        price = float(current["price"]) if pd.notna(current["price"]) else 0.0
        prices = past["price"].dropna()
        before = float(prices.median()) if not prices.empty else 0.0
        if before > 0 and price >= before * rule.price_ratio:
            reasons.append(Reason(gettext_noop("unit price up %(pct)s"), pct=f"{price / before - 1:.0%}"))
        elif price > 0 and before >= price * rule.price_ratio:
            reasons.append(Reason(gettext_noop("unit price down %(pct)s"), pct=f"{1 - price / before:.0%}"))
    return tuple(reasons)
