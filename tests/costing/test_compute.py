from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from costing.compute import apportion_day, compute_cluster_day, recompute_day
from costing.dirty import mark_days_dirty
from costing.models import (
    ClusterDay,
    DepartmentCostDay,
    NamespaceCostDay,
    NodeCostDay,
    NodeCostHour,
    PodCostDay,
    PoolShareDay,
    WorkloadCostDay,
)
from costing.policy import FallbackPrice, PoolSpec, SplitSpec
from costing.policy.store import save_spec
from tests.costing import scenario
from tests.costing.scenario import DAY, POLICY

pytestmark = pytest.mark.django_db

D = Decimal


def close(a, b, tol="0.0000001"):
    return abs(D(a) - D(b)) <= D(tol)


@pytest.fixture
def prod():
    objects = scenario.build()
    recompute_day(DAY)
    return objects


def test_cluster_day_totals(prod):
    day = ClusterDay.objects.get(cluster=prod["cluster"], day=DAY)
    # physical 24 + 4.32 + 1 + (2.40 + 1.20); see tests/costing/scenario.py for each figure.
    assert day.physical_cost == D("32.92")
    assert close(day.workload_cost, "15.18")
    assert close(day.idle_cost, "14.14")
    assert day.overhead_cost == D("3.60")
    assert day.workload_cost + day.idle_cost + day.overhead_cost == day.physical_cost
    assert close(day.estimated_cost, "4.32")
    assert day.coverage == pytest.approx((23 * 3600 + 1800) / 86400)
    assert day.policy.effective_from == POLICY.effective_from
    assert day.dirty is False and day.computed_at is not None


def test_node_days(prod):
    n1, n2, n3 = (NodeCostDay.objects.get(node=prod["nodes"][n], day=DAY) for n in ("n1", "n2", "n3"))
    assert n1.cost == D("24") and n1.hours_billed == 24 and n1.hours_estimated == 0
    assert close(n1.cpu_idle, "4.50") and close(n1.mem_idle, "6.75")
    assert close(n1.cpu_cost_pool, "12") and n1.cpu_cost_pool + n1.mem_cost_pool == n1.cost
    # n2 estimated from the m5.large fallback row: 0.18/h.
    assert close(n2.cost, "4.32") and n2.estimated_cost == n2.cost and n2.hours_estimated == 24
    assert close(n2.cpu_idle, "0.54") and close(n2.mem_idle, "1.35")
    # n3 billed 2 hours, never sampled: all idle, split 50/50 by the cost share.
    assert n3.cost == D("1.00") and n3.hours_unsampled == 2 and n3.hours_billed == 2
    assert close(n3.cpu_idle, "0.5") and close(n3.mem_idle, "0.5")
    assert n3.cpu_capacity_core_hours == 0
    for node_day in (n1, n2, n3):
        pods = sum(p.cost for p in PodCostDay.objects.filter(node=node_day.node, day=DAY))
        assert pods + node_day.cpu_idle + node_day.mem_idle == node_day.cost


def test_node_hours_keep_prices(prod):
    hour = NodeCostHour.objects.get(node=prod["nodes"]["n1"], hour=scenario.HOURS[7])
    assert (
        hour.cost == D("1")
        and hour.cpu_price == pytest.approx(0.125)
        and hour.mem_price == pytest.approx(0.03125)
    )
    assert not hour.estimated and hour.sampled
    est = NodeCostHour.objects.get(node=prod["nodes"]["n2"], hour=scenario.HOURS[7])
    assert est.estimated and close(est.cost, "0.18") and est.cpu_price == pytest.approx(0.045)
    unsampled = NodeCostHour.objects.filter(node=prod["nodes"]["n3"])
    assert unsampled.count() == 2 and all(not h.sampled and h.cpu_price is None for h in unsampled)
    assert NodeCostHour.objects.filter(cluster=prod["cluster"]).count() == 24 + 24 + 2


def test_pod_workload_namespace_days(prod):
    expected = {"pay-1": "6.00", "co-1": "4.50", "ks-1": "2.25", "se-1": "1.62", "ks-2": "0.81"}
    for name, cost in expected.items():
        row = PodCostDay.objects.get(pod=prod["pods"][name], day=DAY)
        assert close(row.cost, cost), name
        assert row.cpu_cost + row.mem_cost == row.cost
        assert row.samples == 24 * 60
    co = PodCostDay.objects.get(pod=prod["pods"]["co-1"])
    # Billable is the larger of usage and request: 24 core-hours, 48 GiB-hours.
    assert (
        co.cpu_billable_core_hours == 24
        and co.mem_billable_gib_hours == 48
        and co.cpu_request_core_hours == 12
    )
    assert close(co.cpu_cost, "3.00") and close(co.mem_cost, "1.50") and co.estimated_cost == 0
    se = PodCostDay.objects.get(pod=prod["pods"]["se-1"])
    assert se.estimated_cost == se.cost

    proxy = WorkloadCostDay.objects.get(workload=prod["workloads"][("kube-system", "kube-proxy")], day=DAY)
    assert proxy.pods == 2 and close(proxy.cost, "3.06")
    by_ns = {
        r.namespace.name: r for r in NamespaceCostDay.objects.filter(day=DAY).select_related("namespace")
    }
    assert {n: (r.department, r.shared) for n, r in by_ns.items()} == {
        "payments": ("Payments", False),
        "checkout": ("Payments", False),
        "search": ("Search", False),
        "kube-system": ("Shared", True),
    }
    assert close(by_ns["kube-system"].cost, "3.06") and close(by_ns["search"].estimated_cost, "1.62")
    assert sum(r.cost for r in by_ns.values()) == ClusterDay.objects.get(day=DAY).workload_cost


def test_departments_and_pool_shares(prod):
    rows = {r.name: r for r in DepartmentCostDay.objects.filter(day=DAY)}
    assert set(rows) == {"Payments", "Search"}
    pay, search = rows["Payments"], rows["Search"]
    # Direct 10.50 and 1.62 of 12.12; shared 3.06 and idle 14.14 proportionally; overhead 3.60 evenly.
    assert pay.direct == D("10.5") and search.direct == D("1.62")
    assert close(pay.shared, D("3.06") * D("10.5") / D("12.12"))
    assert close(pay.idle, "12.25") and close(search.idle, "1.89")
    assert pay.overhead == D("1.80") and search.overhead == D("1.80")
    for row in rows.values():
        assert row.direct + row.shared + row.idle + row.overhead == row.total
        assert row.department.name == row.name and not row.is_line
    assert pay.total + search.total == D("32.92")

    shares = PoolShareDay.objects.filter(day=DAY, pool="overhead")
    assert {(s.name, s.method, s.applied, s.fraction) for s in shares} == {
        ("Payments", "even", "even", 0.5),
        ("Search", "even", "even", 0.5),
    }
    idle = PoolShareDay.objects.get(day=DAY, pool="idle", name="Search")
    assert idle.basis == "direct cost" and idle.fraction == pytest.approx(1.62 / 12.12)


def test_a_fallback_is_stored_with_its_reason(prod):
    # Weights of 0 everywhere: overhead falls back to even, and the explanation says why. The reason is
    # longer than a method's name: PostgreSQL refused it when the column held 20 characters.
    new = replace(
        POLICY,
        effective_from=date(2025, 3, 1),
        departments=[replace(d, weight=Decimal(0)) for d in POLICY.departments],
        pools={**POLICY.pools, "overhead": PoolSpec("weights", "cluster")},
    )
    save_spec(new)
    recompute_day(DAY)
    shares = PoolShareDay.objects.filter(day=DAY, pool="overhead")
    assert {(s.name, s.method, s.applied, s.fraction) for s in shares} == {
        ("Payments", "weights", "even (fallback: no policy weights)", 0.5),
        ("Search", "weights", "even (fallback: no policy weights)", 0.5),
    }
    rows = {r.name: r for r in DepartmentCostDay.objects.filter(day=DAY)}
    assert rows["Payments"].overhead == D("1.80") and rows["Search"].overhead == D("1.80")


def test_recompute_replaces_and_clears_dirty(prod):
    before = {
        m: m.objects.count() for m in (PodCostDay, NodeCostDay, NodeCostHour, DepartmentCostDay, PoolShareDay)
    }
    mark_days_dirty([prod["cluster"].pk], [DAY])
    assert ClusterDay.objects.get(day=DAY).dirty
    recompute_day(DAY)
    after = {m: m.objects.count() for m in before}
    assert after == before
    day = ClusterDay.objects.get(day=DAY)
    assert not day.dirty and day.physical_cost == D("32.92")


def test_a_mark_during_the_computation_keeps_the_day_dirty(prod):
    mark_days_dirty([prod["cluster"].pk], [DAY])
    row = ClusterDay.objects.get(day=DAY)
    # What a producer's mark does while a computation runs: bump the version the computation started from.
    from django.db import transaction

    with transaction.atomic():
        compute_cluster_day(prod["cluster"].pk, DAY, clear_dirty=False)
        version = row.dirty_version
        mark_days_dirty([prod["cluster"].pk], [DAY])
        cleared = ClusterDay.objects.filter(pk=row.pk, dirty_version=version).update(dirty=False)
    assert cleared == 0 and ClusterDay.objects.get(pk=row.pk).dirty


def test_policy_change_marks_days_dirty_and_applies_the_new_split(prod):
    new = type(POLICY)(
        effective_from=date(2025, 3, 1),
        fallback_prices=POLICY.fallback_prices,
        clusters=POLICY.clusters,
        shared_namespaces=POLICY.shared_namespaces,
        departments=POLICY.departments,
        pools={
            "shared": PoolSpec("weights", "cluster"),
            "idle": PoolSpec("separate", "cluster"),
            "overhead": PoolSpec("proportional", "cluster"),
        },
    )
    save_spec(new)
    assert ClusterDay.objects.get(day=DAY).dirty
    recompute_day(DAY)
    rows = {r.name: r for r in DepartmentCostDay.objects.filter(day=DAY)}
    assert set(rows) == {"Payments", "Search", "Idle"}
    # Shared 3.06 by weights 75/25; idle 14.14 on its own line; overhead 3.60 by direct 10.50/12.12.
    assert close(rows["Payments"].shared, "2.295") and close(rows["Search"].shared, "0.765")
    assert rows["Idle"].is_line and close(rows["Idle"].total, "14.14") and rows["Idle"].department is None
    assert close(rows["Search"].overhead, D("3.60") * D("1.62") / D("12.12"))
    assert sum(r.total for r in rows.values()) == D("32.92")
    assert ClusterDay.objects.get(day=DAY).policy.effective_from == date(2025, 3, 1)


def test_fallback_sheet_prices_are_charged_as_written_and_billed_hours_are_split(prod):
    """The issue's example: cost share 0.6, default sheet row 0.04 per core-hour and 0.005 per GiB-hour.

    n2 (2 cores, 8 GiB, no bill line, no m5.large row any more) costs 2 x 0.04 + 8 x 0.005 = 0.12/h,
    2.88 for the day. Its pods pay the sheet's prices: se-1 (1 core, 2 GiB) 0.04 + 0.010 = 0.05/h -> 1.20,
    ks-2 (0.5 core, 1 GiB) 0.02 + 0.005 = 0.025/h -> 0.60. Idle per resource: CPU 0.08 x 24 = 1.92 minus
    1.5 x 0.04 x 24 = 1.44 -> 0.48; memory 0.04 x 24 = 0.96 minus 3 x 0.005 x 24 = 0.36 -> 0.60.
    (A split of N by 0.6 would have charged 0.036 per core-hour and 0.006 per GiB-hour.)
    n1 is billed, 1.00/h, and split by 0.6: 0.15 per core-hour, 0.025 per GiB-hour, so co-1 (1 core,
    2 GiB) pays 0.2/h -> 4.80 and ks-1 (0.5 core, 1 GiB) 0.1/h -> 2.40; pay-1 (1 core, 4 GiB) 6.00.
    """
    save_spec(
        replace(
            POLICY,
            effective_from=date(2025, 3, 1),
            split=SplitSpec("cost_share", cpu_share=D("0.6")),
            fallback_prices=[FallbackPrice(cpu_core_hour=D("0.04"), mem_gib_hour=D("0.005"))],
        )
    )
    recompute_day(DAY)
    est = NodeCostHour.objects.get(node=prod["nodes"]["n2"], hour=scenario.HOURS[7])
    assert est.estimated and est.cost == D("0.12")
    assert (est.cpu_price, est.mem_price) == pytest.approx((0.04, 0.005))
    assert (est.cpu_cost_pool, est.mem_cost_pool) == (D("0.08"), D("0.04"))
    billed = NodeCostHour.objects.get(node=prod["nodes"]["n1"], hour=scenario.HOURS[7])
    assert (billed.cpu_price, billed.mem_price) == pytest.approx((0.15, 0.025))

    costs = {p.pod.name: p.cost for p in PodCostDay.objects.filter(day=DAY).select_related("pod")}
    assert costs == {"pay-1": D("6"), "co-1": D("4.8"), "ks-1": D("2.4"), "se-1": D("1.2"), "ks-2": D("0.6")}
    n2 = NodeCostDay.objects.get(node=prod["nodes"]["n2"], day=DAY)
    assert (n2.cost, n2.estimated_cost, n2.cpu_idle, n2.mem_idle) == (
        D("2.88"),
        D("2.88"),
        D("0.48"),
        D("0.6"),
    )
    assert (n2.cpu_cost_pool, n2.mem_cost_pool) == (D("1.92"), D("0.96"))
    day = ClusterDay.objects.get(day=DAY)
    # 24 + 2.88 + 1 + 3.60 = 31.48 = workload 6 + 4.8 + 2.4 + 1.2 + 0.6 = 15.00 + idle 12.88 + 3.60.
    assert (day.physical_cost, day.workload_cost, day.idle_cost) == (D("31.48"), D("15"), D("12.88"))
    assert day.estimated_cost == D("2.88")


def test_a_day_with_only_overhead_keeps_it_on_its_line(prod):
    # The control plane line runs 48 hours: the next day has 2.40 of overhead and nothing else.
    next_day = DAY + timedelta(days=1)
    recompute_day(next_day)
    day = ClusterDay.objects.get(day=next_day)
    assert day.physical_cost == D("2.40") and day.overhead_cost == D("2.40") and day.workload_cost == 0
    rows = list(DepartmentCostDay.objects.filter(day=next_day))
    assert [(r.name, r.is_line, r.total) for r in rows] == [("Overhead", True, D("2.40"))]


def test_without_policy_everything_is_unallocated_and_unbilled_nodes_unpriced():
    objects = scenario.build(policy=None)
    recompute_day(DAY)
    day = ClusterDay.objects.get(day=DAY)
    # No fallback prices: n2's 24 node-hours have no price, its pods are unpriced (1.5 core-hours each hour).
    # No tag rules either: the control plane and load balancer lines belong to no cluster (cost outside
    # Kubernetes); the node lines are the nodes' by instance id: 24.00 + 1.00.
    assert day.physical_cost == D("25.00") and day.estimated_cost == 0 and day.policy is None
    assert day.unpriced_core_hours == pytest.approx(1.5 * 24)
    assert not NodeCostDay.objects.filter(node=objects["nodes"]["n2"]).exists()
    rows = {r.name: r.total for r in DepartmentCostDay.objects.filter(day=DAY)}
    assert set(rows) == {"Unallocated"} and rows["Unallocated"] == D("25.00")


def test_apportion_day_alone_is_idempotent(prod):
    before = list(DepartmentCostDay.objects.values_list("name", "total"))
    apportion_day(DAY)
    assert list(DepartmentCostDay.objects.values_list("name", "total")) == before


@pytest.mark.django_db(transaction=True)
def test_two_recomputes_of_a_day_at_once_queue_and_do_not_double():
    import threading

    from django.db import connection

    scenario.build()
    errors = []

    def run():
        try:
            recompute_day(DAY)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert PodCostDay.objects.count() == 5 and NodeCostHour.objects.count() == 50
    assert sum(r.total for r in DepartmentCostDay.objects.filter(day=DAY)) == D("32.92")
