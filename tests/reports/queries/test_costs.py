from datetime import timedelta
from decimal import Decimal

import pytest

from costing.compute import recompute_day
from reports.queries.common import QueryError
from reports.queries.costs import cost_rows
from tests.costing import scenario
from tests.costing.scenario import DAY
from tests.module_rows import rows_of_the_module

pytestmark = pytest.mark.django_db
D = Decimal
NEXT = DAY + timedelta(days=1)


@pytest.fixture(scope="module")
def prod_of_module(django_db_setup, django_db_blocker):
    """The scenario built once for this module's tests, which only read it (tests/module_rows.py)."""
    with rows_of_the_module(django_db_blocker):
        objects = scenario.build()
        recompute_day(DAY)
        recompute_day(NEXT)  # only the second half of the control plane line: 2.40 of overhead
        yield objects


@pytest.fixture
def prod(prod_of_module, db):
    return prod_of_module


def groups(rows, *keys):
    return {
        tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in rows if r["row"] != "total"
    }


def total(rows):
    (row,) = [r for r in rows if r["row"] == "total"]
    return row


def test_by_cluster_splits_physical_cost_into_workload_idle_overhead(prod):
    rows = cost_rows(DAY, NEXT, "cluster")
    prod_row = groups(rows, "cluster")["prod"]
    # See tests/costing/scenario.py: 15.18 + 14.14 + 3.60 = 32.92.
    assert (prod_row["cost"], prod_row["idle"], prod_row["overhead"], prod_row["physical_cost"]) == (
        D("15.18"),
        D("14.14"),
        D("3.60"),
        D("32.92"),
    )
    assert prod_row["estimated_share"] == pytest.approx(2.43 / 15.18)
    assert prod_row["coverage"] == pytest.approx((23 * 3600 + 1800) / 86400)
    assert total(rows)["physical_cost"] == D("32.92")


def test_by_node_shows_idle_of_a_node_without_pods(prod):
    rows = cost_rows(DAY, NEXT, "node")
    by_node = groups(rows, "node")
    assert {n: (r["cost"], r["idle"]) for n, r in by_node.items()} == {
        "n1": (D("12.75"), D("11.25")),
        "n2": (D("2.43"), D("1.89")),
        "n3": (D("0.00"), D("1.00")),
    }
    assert by_node["n2"]["estimated_share"] == 1.0 and by_node["n1"]["node_pool"] == "general"
    t = total(rows)
    assert (t["cost"], t["idle"], t["overhead"], t["physical_cost"]) == (
        D("15.18"),
        D("14.14"),
        D("3.60"),
        D("32.92"),
    )
    assert t["cost"] + t["idle"] + t["overhead"] == t["physical_cost"]


def test_by_namespace_with_quantities_and_efficiency(prod):
    rows = cost_rows(DAY, NEXT, "namespace")
    by_ns = groups(rows, "namespace")
    assert {n: r["cost"] for n, r in by_ns.items()} == {
        "checkout": D("4.50"),
        "kube-system": D("3.06"),
        "payments": D("6.00"),
        "search": D("1.62"),
    }
    co = by_ns["checkout"]
    # Request 0.5 core and 2 GiB, usage 1 core and 1 GiB, 24 hours.
    assert (
        co["cpu_request_core_hours"] == 12
        and co["cpu_usage_core_hours"] == 24
        and co["cpu_billable_core_hours"] == 24
    )
    assert co["cpu_efficiency"] == 2.0 and co["mem_efficiency"] == 0.5
    assert co["cpu_cost"] == D("3.00") and co["mem_cost"] == D("1.50") and co["department"] == "Payments"
    assert by_ns["kube-system"]["department"] == "Shared"
    assert sum(r["cost"] for r in by_ns.values()) == total(rows)["cost"] == D("15.18")


def test_by_workload_node_pool_and_label(prod):
    wl = groups(cost_rows(DAY, NEXT, "workload"), "namespace", "workload")
    assert (
        wl[("kube-system", "kube-proxy")]["cost"] == D("3.06")
        and wl[("kube-system", "kube-proxy")]["workload_kind"] == "DaemonSet"
    )
    pools = groups(cost_rows(DAY, NEXT, "node_pool"), "node_pool")
    assert pools["general"]["cost"] == D("15.18") and pools["general"]["idle"] == D("14.14")
    label_rows = cost_rows(DAY, NEXT, "label:team")
    labels = groups(label_rows, "label")
    # kube-system pods are team=core, payments team=pay, the others have no team label.
    assert {k: r["cost"] for k, r in labels.items()} == {
        "core": D("3.06"),
        "pay": D("6.00"),
        "(none)": D("6.12"),
    }
    assert total(label_rows)["physical_cost"] == D("32.92")


def test_by_department_lines_and_totals_to_the_cent(prod):
    rows = cost_rows(DAY, NEXT, "department")
    depts = groups(rows, "department")
    # Payments 10.50 + 3.06*10.50/12.12 + 12.25 + 1.80 = 27.2009..; Search 1.62 + 0.4090.. + 1.89 + 1.80.
    assert depts["Payments"]["total"] == D("27.20") and depts["Search"]["total"] == D("5.72")
    assert depts["Payments"]["direct"] == D("10.50") and depts["Payments"]["row"] == "department"
    assert sum(r["total"] for r in depts.values()) == total(rows)["total"] == D("32.92")


def test_a_period_of_two_days_is_the_sum_of_its_days(prod):
    two = cost_rows(DAY, NEXT + timedelta(days=1), "department")
    first = cost_rows(DAY, NEXT, "department")
    second = cost_rows(NEXT, NEXT + timedelta(days=1), "department")
    assert groups(second, "department")["Overhead"]["total"] == D("2.40")
    assert groups(two, "department")["Overhead"]["row"] == "line"
    assert total(two)["total"] == total(first)["total"] + total(second)["total"] == D("35.32")
    for name in ("Payments", "Search", "Overhead"):
        parts = [groups(rows, "department").get(name, {}).get("total", D(0)) for rows in (first, second)]
        assert groups(two, "department")[name]["total"] == sum(parts)
    clusters = cost_rows(DAY, NEXT + timedelta(days=1), "cluster")
    assert groups(clusters, "cluster")["prod"]["overhead"] == D("6.00")
    assert total(clusters)["physical_cost"] == D("35.32")


def test_filters(prod):
    rows = cost_rows(DAY, NEXT, "namespace", department="Payments")
    assert set(groups(rows, "namespace")) == {"payments", "checkout"} and total(rows)["cost"] == D("10.50")
    assert "physical_cost" not in total(rows)
    one = cost_rows(DAY, NEXT, "department", department="Search")
    assert [r["department"] for r in one] == ["Search", "Total"]
    assert cost_rows(DAY, NEXT, "cluster", cluster="prod")[0]["cluster"] == "prod"
    with pytest.raises(QueryError, match="no cluster named 'nope'"):
        cost_rows(DAY, NEXT, "cluster", cluster="nope")
    with pytest.raises(QueryError, match="by: 'pods' is not one of"):
        cost_rows(DAY, NEXT, "pods")
    with pytest.raises(QueryError, match="must be after"):
        cost_rows(NEXT, DAY, "cluster")
    with pytest.raises(QueryError, match="label key"):
        cost_rows(DAY, NEXT, "label:")
