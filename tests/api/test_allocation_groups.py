"""/allocation over pod days summed in the database (from the pod days, or from their rollup PodGroupDay)
gives the answer of the pod days one by one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api import opencost
from costing.compute import recompute_day
from costing.models import Node, Pod, PodCostDay, PodGroupDay, Workload
from costing.rollups import refresh_pod_groups
from costing.tasks.compute import prune
from reports.queries.frames import node_idle_frame, pod_cost_frame, pod_cost_groups
from tests.api.conftest import DAY, NEXT

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod(prod_of_module, db):
    """The scenario built once for this module's tests, which only read it (tests/api/conftest.py)."""
    return prod_of_module


@pytest.fixture
def mixed(prod):
    """The scenario, plus a StatefulSet pod in `payments` on n2: a namespace of two kinds and nodes."""
    pay = Pod.objects.get(name="pay-1")
    day = PodCostDay.objects.get(pod=pay, day=DAY)
    workload = Workload.objects.create(
        cluster_id=pay.cluster_id, namespace_id=pay.namespace_id, kind="StatefulSet", name="pay-db"
    )
    node = Node.objects.get(cluster_id=pay.cluster_id, name="n2")
    pod = Pod.objects.create(
        cluster_id=pay.cluster_id,
        namespace_id=pay.namespace_id,
        workload=workload,
        node=node,
        name="pay-db-0",
        uid="uid-pay-db-0",
        labels={"team": "pay", "tier": "db"},
        first_seen=pay.first_seen,
        last_seen=pay.last_seen,
    )
    day.pk, day.pod, day.workload, day.node = None, pod, workload, node
    day.save()
    # A pod day written outside costing.compute: its rollup is refreshed as compute does.
    refresh_pod_groups(pay.cluster_id, DAY)
    return prod


def answer(pods, aggregate, **options):
    windows = opencost.set_windows(DAY, NEXT + (NEXT - DAY), 1, options.pop("accumulate", True))
    idle = node_idle_frame(DAY, NEXT + (NEXT - DAY))
    return opencost.allocation_sets(pods, idle, windows, aggregate, **options)


def same(got, expected):
    assert len(got) == len(expected)
    for got_set, expected_set in zip(got, expected, strict=True):
        assert set(got_set) == set(expected_set)
        for name, allocation in expected_set.items():
            for field, value in allocation.items():
                if isinstance(value, float):
                    assert got_set[name][field] == pytest.approx(value, rel=1e-12, abs=1e-9), (name, field)
                else:
                    assert got_set[name][field] == value, (name, field)


@pytest.mark.parametrize(
    "aggregate",
    [
        ["namespace"],
        ["cluster"],
        ["department"],
        ["label:team"],
        ["node"],
        ["controllerKind"],
        ["controller"],
        ["cluster", "namespace"],
        [],
    ],
)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"accumulate": False},
        {"share_idle": True, "include_idle": True},
        {"pod_filter": 'namespace:"payments","kube-system"', "include_idle": True},
    ],
)
def test_summed_rows_give_the_same_allocations(mixed, aggregate, options):
    options = dict(options)
    if "pod_filter" in options:
        options["pod_filter"] = opencost.parse_filter(options["pod_filter"])
    end = NEXT + (NEXT - DAY)
    every = pod_cost_frame(DAY, end)
    by_day = opencost.by_day(
        options.get("accumulate", True), options.get("share_idle", False), options.get("pod_filter")
    )
    summed = pod_cost_groups(DAY, end, opencost.grouping(aggregate, options.get("pod_filter")), by_day=by_day)
    assert len(summed) < len(every) or aggregate in ([], ["node"], ["controller"])
    same(answer(summed, aggregate, **dict(options)), answer(every, aggregate, **dict(options)))


def test_properties_of_a_namespace_of_two_kinds(mixed):
    summed = pod_cost_groups(DAY, NEXT, opencost.grouping(["namespace"], None), by_day=False)
    (data,) = answer(summed, ["namespace"])
    # payments: a Deployment pod on n1 and a StatefulSet pod on n2: no node, kind or controller in common.
    assert data["payments"]["properties"] == {
        "cluster": "prod",
        "namespace": "payments",
        "department": "Payments",
        "labels": {"team": "pay"},
    }


@pytest.mark.parametrize(
    "aggregate",
    [["namespace"], ["cluster"], ["department"], ["label:team"], ["controllerKind"], ["controller"]],
)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"accumulate": False},
        {"share_idle": True, "include_idle": True},
        {"pod_filter": 'label[team]:"pay"+controllerKind:"statefulset"', "include_idle": True},
    ],
)
def test_the_rollup_gives_the_figures_of_the_pod_days(mixed, aggregate, options):
    options = dict(options)
    if "pod_filter" in options:
        options["pod_filter"] = opencost.parse_filter(options["pod_filter"])
    end = NEXT + (NEXT - DAY)
    by = opencost.grouping(aggregate, options.get("pod_filter"))
    by_day = opencost.by_day(
        options.get("accumulate", True), options.get("share_idle", False), options.get("pod_filter")
    )
    rolled = pod_cost_groups(DAY, end, by, by_day=by_day)
    plain = pod_cost_groups(DAY, end, by, by_day=by_day, rollup=False)
    # The same rows (one per namespace, label set and controller here), exactly the same money.
    assert len(rolled) == len(plain)
    keys = ["day", "cluster", "namespace", "controller_kind", "controller", "node", "pod"]
    ordered = [
        f.sort_values(keys, key=lambda c: c.astype(str)).reset_index(drop=True) for f in (rolled, plain)
    ]
    for column in ("cpu_cost", "mem_cost", "gpu_cost", "storage_cost", "cost", "department", "shared", *keys):
        assert ordered[0][column].tolist() == ordered[1][column].tolist(), column
    assert ordered[0]["labels"].tolist() == ordered[1]["labels"].tolist()
    same(answer(rolled, aggregate, **dict(options)), answer(plain, aggregate, **dict(options)))


def test_the_rollup_sums_each_computed_day_and_goes_with_retention(mixed):
    payments = PodGroupDay.objects.filter(day=DAY, namespace__name="payments")
    # pay-1's Deployment and the StatefulSet pod of the fixture: one group each, names of its one pod.
    by_workload = {g.workload.name: g for g in payments.select_related("workload")}
    assert by_workload["pay-db"].labels == {"team": "pay", "tier": "db"}
    assert (by_workload["pay-db"].pod_first, by_workload["pay-db"].pod_last) == ("pay-db-0", "pay-db-0")
    assert (by_workload["pay-db"].node_first, by_workload["pay-db"].node_last) == ("n2", "n2")
    for group in PodGroupDay.objects.all():
        pod_days = PodCostDay.objects.filter(
            cluster_id=group.cluster_id,
            day=group.day,
            namespace_id=group.namespace_id,
            workload_id=group.workload_id,
            pod__labels=group.labels,
        )
        assert group.pods == pod_days.count()
        for field in ("cost", "cpu_cost", "mem_cost", "storage_cost", "samples"):
            assert getattr(group, field) == sum(getattr(d, field) for d in pod_days), field
    # Computing the day again writes its groups anew from the engine's pod days (the fixture's extra pod
    # day is gone with them).
    recompute_day(DAY)
    assert not PodGroupDay.objects.filter(workload__name="pay-db").exists()
    assert PodGroupDay.objects.filter(day=DAY).count() == (
        PodCostDay.objects.filter(day=DAY).values("namespace", "workload", "pod__labels").distinct().count()
    )
    # Retention takes them with the other day tables.
    prune(today=DAY + timedelta(days=800))
    assert not PodGroupDay.objects.exists()
