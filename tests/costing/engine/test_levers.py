"""Capacity levers on small hand-built clusters whose answers are worked out by hand (no database).

Prices: every node is 4 cores and 16 GiB; a node of cost N per hour prices pods at N/2/4 per core-hour
and N/2/16 per GiB-hour (cost share 0.5). Windows start on Monday 2026-03-02 (UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costing.engine.levers import ADVICE_COLUMNS, CronHPAPolicy, PriceSheet, optimise
from costing.engine.levers.packing import bins_needed

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
# A serverless offer: 0.036 per vCPU-hour and 0.0036 per GiB-hour, 0.25 vCPU / 0.5 GiB steps, 60 s minimum.
SHEET = PriceSheet(
    name="test offer", vcpu_second=0.00001, gib_second=0.000001, min_vcpu=0.25, min_gib=0.5,
    vcpu_step=0.25, gib_step=0.5, min_seconds=60, second_step=1,
)  # fmt: skip


def hours(days: int = 1) -> list[datetime]:
    return [MONDAY + timedelta(hours=h) for h in range(24 * days)]


def node_rows(pool: str, names: list[str], cost: float, days: int = 1) -> list[dict]:
    return [
        {"cluster": "prod", "pool": pool, "node": n, "hour": h, "cpu_cores": 4.0, "mem_gib": 16.0, "cost": cost,
         "cpu_price": cost / 2 / 4, "mem_price": cost / 2 / 16}
        for n in names for h in hours(days)
    ]  # fmt: skip


def pod_row(ns, kind, name, pod, node, hour, cpu, mem, cpu_use, mem_use, present=1.0) -> dict:
    return {
        "cluster": "prod", "namespace": ns, "workload_kind": kind, "workload_name": name, "pod": pod,
        "node": node, "hour": hour, "present": present, "cpu_request": cpu * present,
        "mem_request": mem * present, "cpu_usage": cpu_use * present, "mem_usage": mem_use * present,
        "cpu_billable": max(cpu, cpu_use) * present, "mem_billable": max(mem, mem_use) * present,
    }  # fmt: skip


def no_advice() -> pd.DataFrame:
    return pd.DataFrame(
        {
            c: pd.Series(dtype=float if c.endswith(("cores", "gib", "saving")) else object)
            for c in ADVICE_COLUMNS
        }
    )


def run(nodes, pods, advice=None, days=1, sheet=SHEET):
    return optimise(
        pd.DataFrame(nodes), pd.DataFrame(pods), no_advice() if advice is None else advice,
        window_hours=24 * days, sheet=sheet, cronhpa_policy=CronHPAPolicy(min_days=3),
    )  # fmt: skip


# -- packing ---------------------------------------------------------------------------------------------


def test_first_fit_decreasing_by_hand():
    # 0.6 x3 then 0.5 x2 into bins of 1: 0.6 | 0.6 | 0.6 | 0.5+0.5 -> 4 bins.
    assert bins_needed([0.5, 0.6], [0, 0], [2, 3], 1.0, 1.0) == (4, 0)
    # Memory decides: 1 core and 6 GiB items into 4 cores / 16 GiB: two per bin.
    assert bins_needed([1.0], [6.0], [5], 4.0, 16.0) == (3, 0)
    # An item larger than a node is counted apart, one node each.
    assert bins_needed([5.0, 1.0], [1.0, 1.0], [1, 4], 4.0, 16.0) == (2, 1)


def naive_ffd(items, cap_cpu, cap_mem) -> int:
    items = sorted(items, key=lambda x: (-max(x[0] / cap_cpu, x[1] / cap_mem), -x[0], -x[1]))
    bins: list[list[float]] = []
    for c, m in items:
        for b in bins:
            if b[0] + 1e-9 >= c and b[1] + 1e-9 >= m:
                b[0] -= c
                b[1] -= m
                break
        else:
            bins.append([cap_cpu - c, cap_mem - m])
    return len(bins)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 8), st.integers(1, 8), st.integers(1, 6)), min_size=1, max_size=6))
def test_grouped_first_fit_decreasing_equals_item_by_item(sizes):
    cpu = [c / 4 for c, _, _ in sizes]
    mem = [m for _, m, _ in sizes]
    count = [k for _, _, k in sizes]
    items = [(c, m) for c, m, k in zip(cpu, mem, count, strict=True) for _ in range(k)]
    assert bins_needed(cpu, mem, count, 2.0, 8.0)[0] == naive_ffd(items, 2.0, 8.0)


def surplus_cluster():
    """Pool general: 3 nodes at 1.00/h. Deployment web: 4 pods of 1.5 cores, 4 GiB; DaemonSet agent 0.25
    core and 0.5 GiB on each node. A node holds 3.75 cores for web: two pods. 4 pods need 2 nodes: one surplus."""
    nodes = node_rows("general", ["n1", "n2", "n3"], 1.0)
    placement = {"web-0": "n1", "web-1": "n1", "web-2": "n2", "web-3": "n3"}
    pods = [
        pod_row("shop", "Deployment", "web", p, n, h, 1.5, 4.0, 0.5, 2.0) for p, n in placement.items() for h in hours()
    ] + [
        pod_row("kube-system", "DaemonSet", "agent", f"agent-{n}", n, h, 0.25, 0.5, 0.1, 0.3)
        for n in ("n1", "n2", "n3") for h in hours()
    ]  # fmt: skip
    return nodes, pods


def test_a_pool_with_one_surplus_node():
    levers = run(*surplus_cluster())
    pool = levers.packing_pools.iloc[0]
    assert (pool["nodes_max"], pool["needed_peak"], pool["surplus_nodes"]) == (3, 2, 1)
    # One node of 1.00/h removed every hour: 730 a month.
    assert pool["monthly_saving_today"] == pytest.approx(730.0)
    assert pool["monthly_saving"] == pytest.approx(730.0)
    assert pool["peak_hours_of_day"] == list(range(24))
    row = levers.savings.loc[levers.savings["lever"] == "packing"].iloc[0]
    assert row["subject"] == "general" and row["counted_saving"] == pytest.approx(730.0)


def test_packing_with_the_advice_counts_only_what_right_size_does_not():
    nodes, pods = surplus_cluster()
    # Right-sizing advises 1.0 core for web (-0.5 a replica), saving 50 a month: a node then holds three web
    # pods, 4 still need 2 nodes; packing counts 730 - 50.
    advice = pd.DataFrame(
        [{"cluster": "prod", "namespace": "shop", "workload_kind": "Deployment", "workload_name": "web",
          "cpu_delta_cores": -0.5, "mem_delta_gib": 0.0, "monthly_saving": 50.0}]
    )  # fmt: skip
    levers = run(nodes, pods, advice)
    pool = levers.packing_pools.iloc[0]
    assert (pool["needed_peak"], pool["needed_peak_rec"]) == (2, 2)
    rows = levers.savings.set_index("lever")
    assert rows.loc["rightsize", "counted_saving"] == pytest.approx(50.0)
    assert rows.loc["packing", "counted_saving"] == pytest.approx(680.0)
    assert rows.loc["packing", "overlaps"] == "rightsize"


# -- reclaimable capacity ----------------------------------------------------------------------------------


def test_requested_but_unused_capacity_by_hour_of_day():
    levers = run(*surplus_cluster())
    at = levers.capacity_hours.iloc[0]
    # Requested: 4 x 1.5 + 3 x 0.25 = 6.75 cores; used 4 x 0.5 + 3 x 0.1 = 2.3; unused 4.45 cores.
    # Memory: 4 x 4 + 3 x 0.5 = 17.5 GiB requested, 4 x 2 + 3 x 0.3 = 8.9 used, 8.6 unused.
    assert at["allocatable_cores"] == pytest.approx(12.0)
    assert at["requested_cores"] == pytest.approx(6.75)
    assert at["used_cores_p95"] == pytest.approx(2.3)
    assert at["unused_cores"] == pytest.approx(4.45)
    assert at["unused_gib"] == pytest.approx(8.6)
    # At 0.125 per core-hour and 0.03125 per GiB-hour: 0.55625 + 0.26875 = 0.825 an hour.
    assert at["unused_money"] == pytest.approx(0.825)
    pool = levers.capacity_pools.iloc[0]
    assert pool["batch_core_hours"] == pytest.approx(4.45 * 24)
    assert pool["monthly_value"] == pytest.approx(0.825 * 730)


# -- CronHPA -----------------------------------------------------------------------------------------------


def cycle_cluster(days: int = 5):
    """Pool apps: 3 nodes at 0.32/h (0.04 per core-hour, 0.01 per GiB-hour). Deployment api: 4 replicas of
    1 core and 1 GiB all day; together they use 3.2 cores from 08:00 to 20:00 and 0.4 core at night,
    and 0.8 GiB.
    Deployment flat: 2 replicas of 1 core, 1 GiB, using 0.5 core each all day."""
    nodes = node_rows("apps", ["a1", "a2", "a3"], 0.32, days)
    pods = []
    for h in hours(days):
        busy = 8 <= h.hour < 20
        pods += [pod_row("shop", "Deployment", "api", f"api-{i}", "a1" if i < 2 else "a2", h, 1.0, 1.0,
                         0.8 if busy else 0.1, 0.2) for i in range(4)]  # fmt: skip
        pods += [
            pod_row("shop", "Deployment", "flat", f"flat-{i}", "a3", h, 1.0, 1.0, 0.5, 0.5) for i in range(2)
        ]
    return nodes, pods


def test_a_workload_idle_at_night_gets_a_schedule_and_its_saving():
    levers = run(*cycle_cluster(), days=5)
    api = levers.cronhpa.set_index("workload_name").loc["api"]
    assert api["schedule_text"] == "weekdays: 00:00-08:00 min 1, 08:00-20:00 min 4, 20:00-24:00 min 1"
    assert api["schedule"][0]["schedule"] == "0 0 * * 1-5"
    # 3 replicas less for 12 night hours a day; a replica costs 1 x 0.04 + 1 x 0.01 = 0.05 an hour.
    # 5 days x 12 h x 3 x 0.05 = 9.00 over 120 hours -> x 730 / 120 = 54.75 a month.
    assert api["monthly_saving"] == pytest.approx(54.75)
    assert api["reason"] == ""
    flat = levers.cronhpa.set_index("workload_name").loc["flat"]
    assert flat["monthly_saving"] == 0 and flat["schedule"] == []
    assert (
        flat["reason"] == "no stable daily cycle (weekdays: usage varies by 0% over the day, less than 30%)"
    )
    row = levers.savings.loc[levers.savings["lever"] == "cronhpa"].iloc[0]
    assert row["subject"] == "shop/api" and row["counted_saving"] == pytest.approx(54.75)


def test_too_few_days_is_no_cycle():
    levers = run(*cycle_cluster(days=2), days=2)
    api = levers.cronhpa.set_index("workload_name").loc["api"]
    assert api["reason"] == "no stable daily cycle (weekdays: 2 day(s) of data, 3 needed)"


# -- pay-per-use -------------------------------------------------------------------------------------------


def ppu_cluster():
    """Pool batch: one node at 0.16/h that runs the Job report (2 cores, 4 GiB) for one hour a day.
    Pool apps: one node at 0.16/h filled all day by the Deployment svc (4 cores, 16 GiB)."""
    nodes = node_rows("batch", ["b1"], 0.16) + node_rows("apps", ["s1"], 0.16)
    pods = [
        pod_row("jobs", "Job", "report", "report-1", "b1", MONDAY + timedelta(hours=2), 2.0, 4.0, 1.9, 3.0)
    ]
    pods += [pod_row("shop", "Deployment", "svc", "svc-1", "s1", h, 4.0, 16.0, 3.5, 14.0) for h in hours()]
    return nodes, pods


def test_a_bursty_job_is_cheaper_on_pay_per_use_and_a_flat_service_is_not():
    levers = run(*ppu_cluster())
    ppu = levers.pay_per_use.set_index("workload_name")
    report, svc = ppu.loc["report"], ppu.loc["svc"]
    # report: direct 2 x 0.02 + 4 x 0.005 = 0.06; the node's other 0.16 x 24 - 0.06 = 3.78 is idle, all its
    # share: 3.84 a day -> x 730 / 24 = 116.80 a month. On the offer: 3600 s x (2 x 0.00001 + 4 x 0.000001)
    # = 0.0864 -> 2.628 a month.
    assert report["monthly_cost_now"] == pytest.approx(116.8)
    assert report["monthly_idle"] == pytest.approx(3.78 * 730 / 24)
    assert report["monthly_cost_ppu"] == pytest.approx(2.628)
    assert report["monthly_saving"] == pytest.approx(116.8 - 2.628)
    # svc: 0.16 an hour today (no idle); on the offer 3600 x (4 x 0.00001 + 16 x 0.000001) = 0.2016 an hour.
    assert svc["monthly_cost_now"] == pytest.approx(0.16 * 730)
    assert svc["monthly_cost_ppu"] == pytest.approx(0.2016 * 730)
    assert svc["monthly_saving"] < 0 and svc["reason"] == "costs more on pay-per-use than today"
    listed = levers.savings.loc[levers.savings["lever"] == "pay_per_use"]
    assert list(listed["subject"]) == ["jobs/report"]


def test_pay_per_use_minimums_and_rounding():
    nodes = node_rows("batch", ["b1"], 0.16)
    # A 30-second pod asking 0.1 core and 100 MiB: billed 60 s of 0.25 vCPU and 0.5 GiB.
    pods = [
        pod_row("jobs", "Job", "tiny", "tiny-1", "b1", MONDAY, 0.1, 100 / 1024, 0.1, 0.05, present=30 / 3600)
    ]
    tiny = run(nodes, pods).pay_per_use.iloc[0]
    assert (tiny["billed_seconds"], tiny["vcpu"], tiny["gib"]) == (60, 0.25, 0.5)
    assert tiny["monthly_cost_ppu"] == pytest.approx(60 * (0.25 * 0.00001 + 0.5 * 0.000001) * 730 / 24)


def test_without_a_price_sheet_no_pay_per_use_saving():
    levers = run(*ppu_cluster(), sheet=None)
    assert set(levers.pay_per_use["reason"]) == {"no pay-per-use price sheet in the policy"}
    assert "pay_per_use" not in set(levers.savings["lever"])


def test_the_list_is_ranked_and_counts_each_lever_at_most_its_own_saving():
    nodes, pods = surplus_cluster()
    n2, p2 = ppu_cluster()
    levers = run(nodes + n2, pods + p2)
    savings = levers.savings
    assert list(savings["monthly_saving"]) == sorted(savings["monthly_saving"], reverse=True)
    assert (savings["counted_saving"] <= savings["monthly_saving"] + 1e-9).all()
    assert np.isfinite(savings["counted_saving"]).all()


def test_a_cluster_over_all_its_pools():
    nodes, pods = surplus_cluster()
    n2, p2 = ppu_cluster()
    levers = run(nodes + n2, pods + p2)
    at_two = levers.capacity_cluster_hours.set_index("hour_of_day").loc[2]
    # general (4.45 cores unused, 12 allocatable) + batch at 02:00 (report: 2 asked, 1.9 used) + apps (svc:
    # 4 asked, 3.5 used): 4.45 + 0.1 + 0.5 = 5.05 cores unused, 12 + 4 + 4 cores allocatable.
    assert at_two["pool"] == "*" and at_two["allocatable_cores"] == pytest.approx(20.0)
    assert at_two["unused_cores"] == pytest.approx(5.05)
    assert list(levers.capacity_clusters["pool"]) == ["*"]


def test_no_data_is_no_opportunity():
    empty = {
        c: []
        for c in ["cluster", "pool", "node", "hour", "cpu_cores", "mem_gib", "cost", "cpu_price", "mem_price"]
    }
    pods = {c: [] for c in ["cluster", "namespace", "workload_kind", "workload_name", "pod", "node", "hour", "present",
                            "cpu_request", "mem_request", "cpu_usage", "mem_usage", "cpu_billable", "mem_billable"]}  # fmt: skip
    levers = optimise(pd.DataFrame(empty), pd.DataFrame(pods), no_advice(), window_hours=0.0, sheet=SHEET)
    assert levers.savings.empty and levers.packing_pools.empty and levers.cronhpa.empty
