"""Fan-out: one task per cluster-day, one apportionment per day, the same figures as the serial path.

The tasks are run here in the test process, in the orders a worker pool could run them (the real worker is
tests/finops/test_celery_worker.py); lost and repeated messages are played by hand.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from costing.compute import recompute_day
from costing.fanout import STALE_AFTER, compute_queued, fan_out, fan_out_dirty, fan_out_period, finish_day
from costing.models import BillLine, ClusterDay, DepartmentCostDay, Node, PodCostDay, PoolShareDay
from costing.policy import ClusterRules, PoolSpec, TagRule
from costing.tasks.compute import recompute_dirty
from tests.costing import scenario
from tests.costing.scenario import DAY

pytestmark = pytest.mark.django_db

NEXT = DAY + timedelta(days=1)
# n1's bill of the day per cluster: the clusters differ, and the global overhead pool mixes them.
N1_COST = {"prod": "24.00", "dev": "48.00", "stage": "36.00"}


def build_clusters() -> dict[str, int]:
    """The scenario's cluster-day (and the control plane's second day) in three clusters; overhead shared
    globally, so each day's departments depend on every cluster of the day."""
    policy = replace(
        scenario.POLICY,
        clusters=[ClusterRules(n, [TagRule(f"kubernetes.io/cluster/{n}")]) for n in N1_COST],
        pools={**scenario.POLICY.pools, "overhead": PoolSpec("proportional", "global")},
    )
    ids = {}
    for i, (name, cost) in enumerate(N1_COST.items()):
        objects = scenario.build(name=name, policy=policy if i == 0 else None)
        BillLine.objects.filter(pk=objects["lines"]["n1"].pk).update(
            effective_cost=Decimal(cost), billed_cost=Decimal(cost)
        )
        # Instance ids of their own: a bill line's instance id names one node.
        for node in objects["nodes"].values():
            Node.objects.filter(pk=node.pk).update(instance_id=f"{name}-{node.instance_id}")
            BillLine.objects.filter(node=node).update(resource_id=f"{name}-{node.instance_id}")
        ids[name] = objects["cluster"].pk
    return ids


def figures() -> dict:
    """Every stored result of the days, by names (ids differ between runs)."""
    return {
        "clusters": sorted(
            ClusterDay.objects.values_list(
                "cluster__name", "day", "physical_cost", "workload_cost", "idle_cost", "overhead_cost"
            )
        ),
        "departments": sorted(
            DepartmentCostDay.objects.values_list(
                "cluster__name", "day", "name", "direct", "shared", "idle", "overhead", "total"
            )
        ),
        "pods": sorted(PodCostDay.objects.values_list("pod__uid", "day", "cpu_cost", "mem_cost", "cost")),
        "pools": sorted(
            PoolShareDay.objects.values_list("cluster__name", "day", "pool", "name", "pool_amount", "amount")
        ),
    }


def serial_figures() -> dict:
    recompute_day(DAY)
    recompute_day(NEXT)
    return figures()


def test_the_last_task_of_a_day_apportions_it_and_the_figures_are_the_serial_ones(
    django_capture_on_commit_callbacks,
):
    ids = build_clusters()
    with django_capture_on_commit_callbacks() as callbacks:
        assert fan_out_period(DAY, NEXT + timedelta(days=1)) == 6
    # Each day's tasks go once its marks are committed (attributing the bills again queued the sweep too).
    assert [c.__qualname__ for c in callbacks].count("fan_out.<locals>.<lambda>") == 2
    assert ClusterDay.objects.filter(queued_at__isnull=False).count() == 6
    # prod and dev of the first day done: stage is still queued, so nobody apportions yet.
    assert compute_queued(ids["prod"], DAY) is False
    assert compute_queued(ids["dev"], DAY) is False
    assert not DepartmentCostDay.objects.filter(day=DAY).exists()
    assert ClusterDay.objects.get(cluster_id=ids["prod"], day=DAY).physical_cost == Decimal("32.92")
    assert compute_queued(ids["stage"], DAY) is True  # the last one of its day
    for name in ("stage", "prod", "dev"):
        compute_queued(ids[name], NEXT)
    assert not ClusterDay.objects.filter(apportion_pending=True).exists()
    assert not ClusterDay.objects.filter(queued_at__isnull=False).exists()
    fanned = figures()
    # prod's day by hand (scenario.py): departments and lines add up to 32.92.
    prod = [row for row in fanned["departments"] if row[0] == "prod" and row[1] == DAY]
    assert sum(row[-1] for row in prod) == Decimal("32.92")
    assert fanned == serial_figures()


def test_repeated_and_redelivered_tasks_change_nothing(django_capture_on_commit_callbacks):
    ids = build_clusters()
    expected = serial_figures()
    with django_capture_on_commit_callbacks():
        fan_out([(DAY, c) for c in ids.values()])
    for name in ("prod", "dev", "stage", "dev", "prod"):  # a worker killed after its commit: run again
        compute_queued(ids[name], DAY)
    assert finish_day(DAY) is False  # nothing pending any more
    assert figures() == expected


def test_a_lost_message_is_sent_again_and_a_day_left_unapportioned_is_finished(
    django_capture_on_commit_callbacks,
):
    ids = build_clusters()
    expected = serial_figures()
    ClusterDay.objects.update(dirty=True)
    with django_capture_on_commit_callbacks():
        assert fan_out_dirty(100) == (6, 0)
    # The broker lost stage's message of the first day; everything else ran.
    for name in ("prod", "dev"):
        assert compute_queued(ids[name], DAY) is False
    for name in ids:
        compute_queued(ids[name], NEXT)
    assert ClusterDay.objects.get(cluster_id=ids["stage"], day=DAY).dirty
    with django_capture_on_commit_callbacks():
        assert fan_out_dirty(100) == (0, 0)  # not stale yet: still on its way
    ClusterDay.objects.filter(queued_at__isnull=False).update(queued_at=timezone.now() - STALE_AFTER)
    with django_capture_on_commit_callbacks() as callbacks:
        assert fan_out_dirty(100) == (1, 0)
    assert [c.__qualname__ for c in callbacks].count("fan_out.<locals>.<lambda>") == 1
    assert compute_queued(ids["stage"], DAY) is True
    assert figures() == expected

    # A worker died between a cluster-day's commit and the apportionment: the sweep finishes the day,
    # in fan-out mode and in the serial one.
    DepartmentCostDay.objects.filter(day=DAY).delete()
    ClusterDay.objects.filter(day=DAY, cluster_id=ids["dev"]).update(apportion_pending=True)
    with django_capture_on_commit_callbacks():
        assert fan_out_dirty(100) == (0, 1)
    assert figures() == expected
    DepartmentCostDay.objects.filter(day=NEXT).delete()
    ClusterDay.objects.filter(day=NEXT).update(apportion_pending=True)
    assert recompute_dirty() == [(NEXT, 0)]
    assert figures() == expected


def test_a_mark_during_the_computation_leaves_the_day_dirty(django_capture_on_commit_callbacks):
    ids = build_clusters()
    with django_capture_on_commit_callbacks():
        fan_out([(DAY, ids["prod"])])
    ClusterDay.objects.filter(cluster_id=ids["prod"], day=DAY).update(dirty=True, dirty_version=5)
    compute_queued(ids["prod"], DAY)
    row = ClusterDay.objects.get(cluster_id=ids["prod"], day=DAY)
    assert not row.dirty and row.queued_at is None and not row.apportion_pending
    # A version bumped between the task's start and its end (a late sample) keeps the day dirty.
    from costing import compute

    original = compute.read_inputs

    def mark_meanwhile(cluster_id, day, spec):
        ClusterDay.objects.filter(cluster_id=cluster_id, day=day).update(dirty=True, dirty_version=6)
        return original(cluster_id, day, spec)

    compute.read_inputs = mark_meanwhile
    try:
        compute_queued(ids["prod"], DAY)
    finally:
        compute.read_inputs = original
    assert ClusterDay.objects.get(cluster_id=ids["prod"], day=DAY).dirty


def test_fan_out_marks_nothing_for_days_without_data():
    build_clusters()
    start = datetime(2025, 3, 20, tzinfo=UTC).date()
    assert fan_out_period(start, start + timedelta(days=2)) == 0
