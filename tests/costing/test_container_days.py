"""Right-sizing's container-days: stored with a computed day, read back exactly, and the same advice as the
container-hours they fold (docs/rightsizing.md, "Speed"); the steps against the per-hour rules."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from costing import histograms
from costing.choices import ConnectionType, SampleSource
from costing.dirty import mark_days_dirty
from costing.engine.rightsizing import (
    DAY_COLUMNS,
    KEY_COLUMNS,
    STEP_ARRAYS,
    ContainerDays,
    RightsizingPolicy,
    _step_sums,
    container_days,
)
from costing.models import Cluster, ClusterDay, ContainerDay, ContainerHour, Node, NodeCostHour
from costing.recommendations import (
    container_hours,
    read_container_days,
    recommendations,
    store_container_days,
)
from costing.recording import prune_usage, record_samples

DAY = date(2026, 3, 2)
START = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
GIB = 2**30
END = START + timedelta(days=1)
# One day of data: advice from it, no back-test.
ONE_DAY = RightsizingPolicy(lookback_days=1, backtest_days=1, min_days=1, min_coverage=0)


def _sorted(days: ContainerDays) -> ContainerDays:
    order = np.lexsort([days.rows[c].astype(str).to_numpy() for c in reversed(KEY_COLUMNS)])
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    hist = np.lexsort((days.hist_bucket, position[days.hist_row]))
    steps = np.lexsort((days.step_x, position[days.step_row]))
    return ContainerDays(
        days.rows.iloc[order].reset_index(drop=True),
        position[days.hist_row][hist], days.hist_bucket[hist], days.hist_seconds[hist],
        position[days.step_row][steps], *(getattr(days, a)[steps] for a in STEP_ARRAYS),
    )  # fmt: skip


def _recorded_day() -> Cluster:
    """Two pods of a Deployment with an app and a sidecar, sampled every 20 minutes for a day with usage
    that varies, priced per node-hour, the day computed (as compute stores it)."""
    cluster = Cluster.objects.create(name="prod", connection_type=ConnectionType.KUBECONFIG)
    rng = np.random.default_rng(7)
    times = [START + timedelta(minutes=20 * i) for i in range(72)]
    nodes = pd.DataFrame(
        {"timestamp": times, "node": "n1", "node_pool": "p", "cpu_capacity_cores": 8.0,
         "memory_capacity_bytes": 32 * GIB}
    )  # fmt: skip
    rows = [
        {"timestamp": t, "namespace": "shop", "pod": pod, "node": "n1", "owner_kind": "ReplicaSet",
         "owner_name": "web-5d9", "container": name, "init": False, "cpu_request_cores": request,
         "cpu_usage_cores": float(rng.uniform(0.2, 1.2) * request), "memory_request_bytes": GIB,
         "memory_usage_bytes": float(rng.uniform(0.3, 0.9) * GIB)}
        for t in times
        for pod in ("web-5d9-a", "web-5d9-b")
        for name, request in (("app", 0.5), ("istio-proxy", 0.1))
    ]  # fmt: skip
    record_samples(cluster, nodes, pd.DataFrame(rows), interval=1200, source=SampleSource.IMPORT)
    node = Node.objects.get()
    NodeCostHour.objects.bulk_create(
        NodeCostHour(cluster=cluster, node=node, hour=START + timedelta(hours=h), cpu_price=0.03 + h / 1000,
                     mem_price=0.004)
        for h in range(23)  # the last hour unpriced
    )  # fmt: skip
    ClusterDay.objects.update_or_create(cluster=cluster, day=DAY, defaults={"dirty": False})
    store_container_days(cluster.pk, DAY)
    return cluster


@pytest.mark.django_db
def test_a_computed_day_stores_its_container_days_exactly():
    _recorded_day()
    assert ClusterDay.objects.get(day=DAY).container_days
    assert ContainerDay.objects.filter(day=DAY).count() == 2  # app and istio-proxy of the Deployment
    stored = _sorted(read_container_days(START, END))
    folded = _sorted(container_days(container_hours(START, END), START, END))
    assert len(stored) == len(folded) == 2
    for column in DAY_COLUMNS:
        a, b = stored.rows[column], folded.rows[column]
        if column in KEY_COLUMNS:
            assert list(a.astype(str)) == list(b.astype(str)), column
        else:
            np.testing.assert_allclose(
                a.to_numpy(dtype=float), b.to_numpy(dtype=float), rtol=1e-12, err_msg=column
            )
    # The same entries and steps (sums of the same terms, in the order the rows were read).
    for name in ("hist_row", "hist_bucket", "hist_seconds", "step_row", "step_x"):
        np.testing.assert_array_equal(getattr(stored, name), getattr(folded, name), err_msg=name)
    for name in STEP_ARRAYS[1:]:
        np.testing.assert_allclose(getattr(stored, name), getattr(folded, name), rtol=1e-12, atol=1e-15)
    assert len(stored.step_x) > 24  # an hour's peak each, and bucket edges
    # The stored days and the hours give the same advice.
    from_days = recommendations(START, END, policy=ONE_DAY)
    ClusterDay.objects.update(container_days=False)
    from_hours = recommendations(START, END, policy=ONE_DAY)
    assert set(from_days["container"]) == {"app", "istio-proxy"}
    assert from_days["monthly_cost_now"].gt(0).all()
    pd.testing.assert_frame_equal(from_days, from_hours, rtol=1e-12)


@pytest.mark.django_db
def test_a_day_changed_since_it_was_computed_is_read_from_its_hours():
    cluster = _recorded_day()
    before = recommendations(START, END, policy=ONE_DAY).set_index("container")
    # A late change doubles what app billed in an hour: the day is marked dirty, so its hours are read.
    row = ContainerHour.objects.filter(container="app").order_by("hour", "pod_id").first()
    ContainerHour.objects.filter(pk=row.pk).update(cpu_billable_core_hours=row.cpu_billable_core_hours * 2)
    mark_days_dirty([cluster.pk], [DAY], queue=False)
    after = recommendations(START, END, policy=ONE_DAY).set_index("container")
    assert after.loc["app", "monthly_cost_now"] > before.loc["app", "monthly_cost_now"]
    assert after.loc["istio-proxy", "monthly_cost_now"] == before.loc["istio-proxy", "monthly_cost_now"]
    # Stored again (as a recompute does), the stored days say what the hours say.
    store_container_days(cluster.pk, DAY)
    ClusterDay.objects.update(dirty=False)
    again = recommendations(START, END, policy=ONE_DAY).set_index("container")
    pd.testing.assert_frame_equal(again, after, rtol=1e-12)


def _hours(seed: int) -> pd.DataFrame:
    """Random container-hours of one day: replicas, partial hours, seconds without metrics, unpriced hours."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(6):
        for _replica in range(int(rng.integers(1, 4))):
            for h in range(24):
                seconds = 3600 if rng.random() > 0.2 else int(rng.integers(1, 60)) * 60
                without = 0 if rng.random() > 0.2 else int(rng.integers(0, seconds // 60 + 1)) * 60
                usage = rng.uniform(0.05, 1.5) * rng.uniform(0.5, 1.5, size=(seconds - without) // 60)
                buckets, counts = np.unique(histograms.CPU.index(usage), return_counts=True)
                price = np.nan if rng.random() < 0.1 else rng.uniform(0.01, 0.1)
                rows.append({
                    "cluster": "k", "namespace": "ns", "workload_kind": "Deployment", "workload_name": f"w{c}",
                    "container": "app", "init": False, "hour": START + timedelta(hours=h), "seconds": seconds,
                    "cpu_request_core_hours": 0.5 * seconds / 3600,
                    "cpu_usage_core_hours": float(usage.sum() * 60 / 3600),
                    "cpu_billable_core_hours": float(np.maximum(usage, 0.5).sum() * 60 / 3600 + 0.5 * without / 3600),
                    "cpu_usage_max_cores": float(usage.max()) if len(usage) else 0.0,
                    "cpu_histogram": json.dumps({str(b): int(n) * 60 for b, n in zip(buckets, counts, strict=True)}),
                    "mem_request_gib_hours": seconds / 3600, "mem_limit_gib_hours": 0.0, "mem_usage_gib_hours": 0.0,
                    "mem_billable_gib_hours": seconds / 3600, "mem_usage_max_bytes": 0.0,
                    "cpu_price": price, "mem_price": price / 8,
                })  # fmt: skip
    return pd.DataFrame(rows)


def _per_hour(hours: pd.DataFrame, r: float) -> tuple[np.ndarray, np.ndarray]:
    """Per workload, written plainly from docs/rightsizing.md: the CPU cost with request r and the seconds
    above r, hour by hour and bucket by bucket."""
    cost, over = {}, {}
    for row in hours.itertuples():
        price = 0.0 if np.isnan(row.cpu_price) else row.cpu_price
        entries = {int(k): v for k, v in json.loads(row.cpu_histogram).items()}
        metric = sum(entries.values())
        peak = row.cpu_usage_max_cores
        if r >= peak:
            billed = r * row.seconds / 3600
        else:
            billed = row.cpu_usage_core_hours + r * max(row.seconds - metric, 0) / 3600
            for b, s in entries.items():
                start, end = histograms.CPU.start(b), histograms.CPU.end(b)
                middle = max(min((start + end) / 2, peak), start)
                billed += max(r - middle, 0) * s / 3600
        above = 0.0
        for b, s in entries.items():
            lo, hi = histograms.CPU.start(b), min(histograms.CPU.end(b), peak)
            part = (hi - r) / (hi - lo) if hi > lo else float(lo > r)
            above += min(max(part, 0.0), 1.0) * s
        cost[row.workload_name] = cost.get(row.workload_name, 0.0) + billed * price
        over[row.workload_name] = over.get(row.workload_name, 0.0) + above
    names = sorted(cost)
    return np.array([cost[n] for n in names]), np.array([over[n] for n in names])


@pytest.mark.parametrize("seed", range(3))
def test_the_steps_give_the_per_hour_rules_for_any_request(seed):
    hours = _hours(seed)
    days = container_days(hours, START, END)
    names = days.rows["workload_name"].astype(str).to_numpy()
    group = pd.Index(sorted(set(names))).get_indexer(names)
    n = group.max() + 1
    everywhere = np.ones(len(days), dtype=bool)
    # Requests below, inside and above the usage, on bucket edges and on hours' peaks.
    peaks = hours["cpu_usage_max_cores"].to_numpy()
    for r in (0.0, 0.01, 0.2, float(histograms.CPU.start(40)), float(peaks[5]), float(peaks[30]), 0.75, 5.0):
        cost, over = _per_hour(hours, r)
        got_cost = _step_sums(days, group, n, everywhere, np.full(n, r), "cost_a", "cost_b")
        got_over = _step_sums(days, group, n, everywhere, np.full(n, r), "over_a", "over_b")
        np.testing.assert_allclose(got_cost, cost, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got_over, over, rtol=1e-9, atol=1e-6)


@pytest.mark.django_db
def test_retention_drops_container_days_with_the_hours_they_fold():
    _recorded_day()
    kept = prune_usage(now=START + timedelta(days=90, hours=23), retention_days=90)
    assert kept["container_hours"] == kept["container_days"] == 0
    deleted = prune_usage(now=END + timedelta(days=90), retention_days=90)
    assert deleted["container_hours"] == 96 and deleted["container_days"] == 2  # 2 pods x 2 containers x 24 h
    assert not ContainerDay.objects.exists()
