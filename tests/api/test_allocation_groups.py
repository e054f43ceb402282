"""/allocation over pod days summed in the database gives the answer of the pod days one by one."""

from __future__ import annotations

import pytest

from api import opencost
from costing.models import Node, Pod, PodCostDay, Workload
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
