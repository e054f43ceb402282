"""Tests of the anomaly rule: an injected day found with its reason, ordinary weekly swings left alone."""

from datetime import date, timedelta

import pandas as pd
import pytest

from costing.engine.anomalies import Rule, find_anomalies

START = date(2026, 10, 4)  # a Sunday
PATTERN = [10.0, 10.0, 10.0, 10.0, 10.0, 3.0, 3.0]  # weekdays dear, weekends cheap
DAY = START + timedelta(days=35)  # Sunday 8 November, the sixth week's first day


def frame(subjects: dict[str, list[float]], **extra) -> pd.DataFrame:
    rows = []
    for subject, costs in subjects.items():
        for i, cost in enumerate(costs):
            row = {"subject": subject, "day": START + timedelta(days=i), "cost": cost}
            row.update({name: values[subject][i] for name, values in extra.items() if subject in values})
            rows.append(row)
    return pd.DataFrame(rows)


def weeks(n: int, pattern=PATTERN) -> list[float]:
    return list(pattern) * n


def test_a_normal_weekly_swing_is_not_an_anomaly():
    data = frame({"pay": weeks(6)})
    for offset in range(7):
        assert find_anomalies(data, DAY + timedelta(days=offset)) == []


def test_an_injected_spike_is_found_with_its_expected_cost_and_threshold():
    costs = weeks(6)
    costs[35] = 25.0  # Sunday at 25: the four Sundays before cost 10
    [anomaly] = find_anomalies(frame({"pay": costs, "search": weeks(6)}), DAY)
    assert (anomaly.subject, anomaly.day, anomaly.cost, anomaly.expected) == ("pay", DAY, 25.0, 10.0)
    # The spread of four equal Sundays is 0: the threshold is 25 % of 10.
    assert anomaly.threshold == pytest.approx(2.5)
    assert anomaly.deviation == pytest.approx(15.0)


def test_the_threshold_follows_the_median_absolute_deviation():
    # Sundays 8, 10, 12, 10 before: median 10, deviations 2, 0, 2, 0 -> MAD 1, spread 1.4826;
    # threshold 3.5 * 1.4826 = 5.19. A Sunday at 15 (5 over) stays; one at 15.5 is anomalous.
    costs = weeks(6)
    costs[7], costs[14], costs[21], costs[28] = 10.0, 12.0, 10.0, 8.0
    rule = Rule(min_relative=0.0)
    costs[35] = 15.0
    assert find_anomalies(frame({"pay": costs}), DAY, rule=rule) == []
    costs[35] = 15.5
    [anomaly] = find_anomalies(frame({"pay": costs}), DAY, rule=rule)
    assert anomaly.threshold == pytest.approx(3.5 * 1.4826)


def test_more_pods_and_a_higher_unit_price_are_told():
    costs, pods, prices = weeks(6), [2.0] * 42, [0.5] * 42
    costs[35], pods[35] = 20.0, 4.0  # twice the pods, same price
    [anomaly] = find_anomalies(frame({"pay": costs}, pods={"pay": pods}, price={"pay": prices}), DAY)
    assert anomaly.reasons == ("more pods: 4 against 2",)
    pods[35], prices[35] = 2.0, 1.0  # same pods, twice the price
    [anomaly] = find_anomalies(frame({"pay": costs}, pods={"pay": pods}, price={"pay": prices}), DAY)
    assert anomaly.reasons == ("unit price up 100%",)


def test_a_new_workload_is_named_and_a_subject_gone_quiet_is_found():
    costs, new = weeks(6), [0.0] * 42
    costs[35], new[35] = 18.0, 8.0
    data = frame({"pay": costs, "batch": weeks(5)}, new_cost={"pay": new, "batch": [0.0] * 35})
    found = {a.subject: a for a in find_anomalies(data, DAY)}
    assert found["pay"].reasons == ("new workloads: 8.00 of the cost",)
    assert (found["batch"].cost, found["batch"].expected, found["batch"].reasons) == (
        0.0,
        10.0,
        ("no cost this day",),
    )
    brand_new = frame({"cron": [0.0] * 35 + [5.0]}).query("cost > 0")
    [anomaly] = find_anomalies(brand_new, DAY)
    assert anomaly.reasons == ("new: no cost on the same weekday before",)


def test_without_two_weeks_of_baseline_nothing_is_judged():
    costs = weeks(6)
    costs[35] = 100.0
    assert find_anomalies(frame({"pay": costs}), DAY, history_start=DAY - timedelta(days=7)) == []
    assert len(find_anomalies(frame({"pay": costs}), DAY, history_start=DAY - timedelta(days=14))) == 1
