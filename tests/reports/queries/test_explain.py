from datetime import timedelta
from decimal import Decimal

import pytest

from costing.compute import recompute_day
from costing.models import DepartmentCostDay, NamespaceCostDay, Pod, PodCostDay
from reports.queries.explain import (
    NotFound,
    explain_department,
    explain_namespace,
    explain_node_hour,
    explain_workload,
)
from tests.costing import scenario
from tests.costing.scenario import DAY, HOURS

pytestmark = pytest.mark.django_db
D = Decimal
NEXT = DAY + timedelta(days=1)


@pytest.fixture
def prod(settings):
    settings.FINOPS_HOURLY_RETENTION_DAYS = 100_000  # the scenario's day is long past
    objects = scenario.build()
    recompute_day(DAY)
    return objects


def close(a, b, tol="0.000001"):
    return abs(D(str(a)) - D(str(b))) <= D(tol)


def test_department_into_namespaces_and_pool_shares(prod):
    got = explain_department("Payments", DAY, NEXT)
    stored = DepartmentCostDay.objects.get(name="Payments", day=DAY)
    assert (got["direct"], got["total"]) == (stored.direct, stored.total)
    assert {(n["namespace"], n["cost"]) for n in got["namespaces"]} == {
        ("checkout", D("4.5")),
        ("payments", D("6")),
    }
    assert sum(n["cost"] for n in got["namespaces"]) == got["direct"]
    by_pool = {}
    for share in got["pools"]:
        by_pool[share["pool"]] = by_pool.get(share["pool"], D(0)) + share["amount"]
    for pool in ("shared", "idle", "overhead"):
        assert close(by_pool[pool], got[pool]), pool
    idle = next(s for s in got["pools"] if s["pool"] == "idle")
    # Payments' direct 10.50 of 12.12 takes that fraction of the 14.14 idle.
    assert idle["method"] == idle["applied"] == "proportional" and idle["basis"] == "direct cost"
    assert idle["fraction"] == pytest.approx(10.5 / 12.12) and close(idle["pool_amount"], "14.14")
    assert got["direct"] + got["shared"] + got["idle"] + got["overhead"] == got["total"]


def test_namespace_into_workloads(prod):
    got = explain_namespace("prod", "kube-system", DAY, NEXT)
    assert got["shared"] and got["departments"] == ["Shared"]
    assert got["cost"] == NamespaceCostDay.objects.get(namespace__name="kube-system").cost
    (proxy,) = got["workloads"]
    assert proxy["name"] == "kube-proxy" and proxy["pods"] == 2 and proxy["cost"] == got["cost"]
    # 2.25 on n1 + 0.81 on n2, of which 0.81 estimated.
    assert close(proxy["cost"], "3.06") and close(proxy["estimated_cost"], "0.81")
    with pytest.raises(NotFound):
        explain_namespace("prod", "nope", DAY, NEXT)


def test_workload_into_pods_and_node_hours(prod):
    wl = prod["workloads"][("checkout", "checkout")]
    got = explain_workload(wl.pk, DAY, NEXT)
    (pod,) = got["pods"]
    assert pod["pod"] == "co-1" and pod["node"] == "n1" and got["note"] == ""
    assert len(pod["hours"]) == 24
    hour = pod["hours"][3]
    # Billable 1 core-hour at 0.125 and 2 GiB-hours at 0.03125.
    assert (hour["cpu_price"], hour["mem_price"], hour["cost"]) == pytest.approx((0.125, 0.03125, 0.1875))
    assert close(sum(h["cost"] for h in pod["hours"]), pod["cost"])
    assert pod["cost"] == PodCostDay.objects.get(pod__name="co-1").cost == got["cost"]


def test_workload_beyond_hourly_retention_gives_daily_figures(prod, settings):
    settings.FINOPS_HOURLY_RETENTION_DAYS = 90
    got = explain_workload(prod["workloads"][("checkout", "checkout")].pk, DAY, NEXT)
    assert got["pods"][0]["hours"] == [] and "kept for 90 days" in got["note"]
    assert close(got["cost"], "4.50")


def test_node_hour_into_bill_lines_or_the_price_sheet(prod):
    billed = explain_node_hour(prod["nodes"]["n1"].pk, HOURS[4])
    (line,) = billed["bill_lines"]
    # 24.00 over 24 hours: 1.00 of it makes this hour.
    assert line["part"] == D("1") and line["resource_id"] == "i-1" and billed["cost"] == line["part"]
    unsampled = explain_node_hour(prod["nodes"]["n3"].pk, HOURS[1])
    assert unsampled["bill_lines"][0]["part"] == D("0.5") and not unsampled["sampled"]
    estimated = explain_node_hour(prod["nodes"]["n2"].pk, HOURS[4])
    sheet = estimated["price_sheet"]
    assert estimated["estimated"] and estimated["bill_lines"] == []
    assert sheet["instance_type"] == "m5.large" and (sheet["cpu_core_hours"], sheet["mem_gib_hours"]) == (
        2,
        8,
    )
    assert close(sheet["cost"], estimated["cost"]) and close(sheet["cost"], "0.18")
    # The sheet's prices are the unit prices, as written: 2 x 0.045 = 0.09 and 8 x 0.01125 = 0.09.
    assert (sheet["cpu_core_hour"], sheet["mem_gib_hour"]) == (D("0.045"), D("0.01125"))
    assert (estimated["cpu_price"], estimated["mem_price"]) == pytest.approx((0.045, 0.01125))
    assert close(sheet["cpu_cost"], "0.09") and close(estimated["cpu_cost_pool"], "0.09")
    assert not sheet["cpu_shared"] and not sheet["mem_shared"]
    with pytest.raises(NotFound):
        explain_node_hour(prod["nodes"]["n3"].pk, HOURS[5])


def test_an_over_committed_estimated_node_hour_says_its_pods_shared_the_sheet_cost(prod):
    # A third pod bills 2 more cores on n2 (2 cores) at 04:00: 3.5 core-hours share the 2 x 0.045 = 0.09
    # CPU part, 0.09 / 3.5 per core-hour; memory (5 of 8 GiB-hours) is still paid at the sheet's 0.01125.
    se1 = prod["pods"]["se-1"]
    extra = Pod.objects.create(
        cluster=se1.cluster,
        namespace=se1.namespace,
        workload=se1.workload,
        node=se1.node,
        name="se-2",
        uid="prod-se-2",
        first_seen=HOURS[4],
        last_seen=HOURS[5],
    )
    scenario.pod_hour(extra, HOURS[4], 2.0, 2.0, 2.0, 2.0).save()
    recompute_day(DAY)
    got = explain_node_hour(prod["nodes"]["n2"].pk, HOURS[4])
    assert got["price_sheet"]["cpu_shared"] and not got["price_sheet"]["mem_shared"]
    assert got["cpu_price"] == pytest.approx(0.09 / 3.5) and got["mem_price"] == pytest.approx(0.01125)
    assert got["cpu_idle"] == 0 and close(got["mem_idle"], 0.09 - 5 * 0.01125)
