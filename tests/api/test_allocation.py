"""/allocation (OpenCost-compatible) against the `costs` numbers of the hand-computed scenario."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from costing.choices import GIB
from reports.queries.common import NO_LABEL
from reports.queries.costs import cost_rows
from tests.api.conftest import DAY, NEXT

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod(prod_of_module, db):
    """The scenario built once for this module's tests, which only read it (tests/api/conftest.py)."""
    return prod_of_module


WINDOW = "2025-03-10T00:00:00Z,2025-03-11T00:00:00Z"
# Per pod and day (tests/costing/scenario.py): CPU and memory cost.
CPU = {"pay-1": 3.00, "co-1": 3.00, "ks-1": 1.50, "se-1": 1.08, "ks-2": 0.54}
RAM = {"pay-1": 3.00, "co-1": 1.50, "ks-1": 0.75, "se-1": 0.54, "ks-2": 0.27}
IDLE_CPU = 4.50 + 0.54 + 0.50  # n1, n2, n3
IDLE_RAM = 6.75 + 1.35 + 0.50


def allocation(client, path="/allocation", **params):
    params = {"window": WINDOW, "accumulate": "true", **params}
    response = client.get(f"{path}?{urlencode(params)}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["code"] == 200
    return body["data"]


def totals(data_set):
    return {name: a["totalCost"] for name, a in data_set.items()}


@pytest.mark.parametrize(
    ("aggregate", "by", "key"),
    [("namespace", "namespace", "namespace"), ("node", "node", "node"), ("cluster", "cluster", "cluster")],
)
def test_totals_equal_the_costs_rows(prod, client_as, aggregate, by, key):
    (data,) = allocation(client_as("admin"), aggregate=aggregate)
    rows = [r for r in cost_rows(DAY, NEXT, by) if r["row"] == "group" and r["cost"]]
    assert totals(data) == pytest.approx({r[key]: float(r["cost"]) for r in rows}, abs=1e-6)
    for r in rows:
        a = data[r[key]]
        assert a["cpuCost"] == pytest.approx(float(r["cpu_cost"]), abs=1e-6)
        assert a["ramCost"] == pytest.approx(float(r["mem_cost"]), abs=1e-6)
        assert a["cpuCoreHours"] == pytest.approx(r["cpu_billable_core_hours"])
        assert a["ramByteHours"] == pytest.approx(r["mem_billable_gib_hours"] * GIB)


def test_label_aggregation_matches_costs_by_label(prod, client_as):
    (data,) = allocation(client_as("viewer"), aggregate="label:team")
    rows = {r["label"]: float(r["cost"]) for r in cost_rows(DAY, NEXT, "label:team") if r["row"] == "group"}
    assert totals(data) == pytest.approx(
        {"core": rows["core"], "pay": rows["pay"], "__unallocated__": rows[NO_LABEL]}, abs=1e-6
    )
    assert data["core"]["properties"]["labels"] == {"team": "core"}


def test_controller_and_kind_names_follow_opencost(prod, client_as):
    client = client_as("admin")
    (by_controller,) = allocation(client, aggregate="controller")
    assert totals(by_controller) == pytest.approx(
        {
            "deployment:pay-api": 6.00,
            "deployment:checkout": 4.50,
            "deployment:search-api": 1.62,
            "daemonset:kube-proxy": 2.25 + 0.81,
        }
    )
    (by_kind,) = allocation(client, aggregate="controllerKind")
    assert totals(by_kind) == pytest.approx({"deployment": 6.00 + 4.50 + 1.62, "daemonset": 3.06})
    (multi,) = allocation(client, aggregate="cluster,namespace")
    assert set(multi) == {"prod/payments", "prod/checkout", "prod/kube-system", "prod/search"}
    (by_dept,) = allocation(client, aggregate="department")
    assert totals(by_dept) == pytest.approx({"Payments": 10.50, "Search": 1.62, "__shared__": 3.06})


def test_without_aggregate_one_allocation_per_pod(prod, client_as):
    (data,) = allocation(client_as("admin"))
    assert totals(data) == pytest.approx(
        {
            "prod/n1/payments/pay-1": 6.00,
            "prod/n1/checkout/co-1": 4.50,
            "prod/n1/kube-system/ks-1": 2.25,
            "prod/n2/search/se-1": 1.62,
            "prod/n2/kube-system/ks-2": 0.81,
        }
    )
    pod = data["prod/n1/payments/pay-1"]
    assert pod["properties"] == {
        "cluster": "prod",
        "node": "n1",
        "namespace": "payments",
        "controllerKind": "deployment",
        "controller": "pay-api",
        "pod": "pay-1",
        "department": "Payments",
        "labels": {"team": "pay"},
    }


def test_fields_and_averages_of_one_allocation(prod, client_as):
    (data,) = allocation(client_as("admin"), aggregate="namespace")
    co = data["checkout"]  # request 0.5 core and 2 GiB, usage 1 core and 1 GiB, all day
    assert co["window"] == {"start": "2025-03-10T00:00:00Z", "end": "2025-03-11T00:00:00Z"}
    assert (co["start"], co["end"], co["minutes"]) == ("2025-03-10T00:00:00Z", "2025-03-11T00:00:00Z", 1440.0)
    assert co["cpuCoreHours"] == 24.0 and co["cpuCores"] == 1.0
    assert co["cpuCoreRequestAverage"] == 0.5 and co["cpuCoreUsageAverage"] == 1.0
    assert co["cpuEfficiency"] == 2.0
    assert co["ramByteHours"] == 2 * 24 * GIB
    assert co["ramByteRequestAverage"] == co["ramBytesRequestAverage"] == 2 * GIB
    assert co["ramByteUsageAverage"] == co["ramBytesUsageAverage"] == 1 * GIB
    assert co["ramEfficiency"] == 0.5
    assert co["cpuCost"] == 3.00 and co["ramCost"] == 1.50 and co["totalCost"] == 4.50
    assert co["totalEfficiency"] == pytest.approx((2.0 * 3.00 + 0.5 * 1.50) / 4.50)


def test_include_idle_adds_the_idle_allocation(prod, client_as):
    client = client_as("admin")
    (data,) = allocation(client, aggregate="namespace", includeIdle="true")
    idle = data["__idle__"]
    assert (idle["cpuCost"], idle["ramCost"], idle["totalCost"]) == pytest.approx((IDLE_CPU, IDLE_RAM, 14.14))
    by_cluster = cost_rows(DAY, NEXT, "cluster")[0]
    assert sum(totals(data).values()) == pytest.approx(float(by_cluster["cost"] + by_cluster["idle"]))
    (per_cluster,) = allocation(client, aggregate="cluster", includeIdle="true")
    assert set(per_cluster) == {"prod", "prod/__idle__"}
    assert per_cluster["prod/__idle__"]["properties"] == {"cluster": "prod"}


def test_share_idle_divides_idle_cpu_by_cpu_cost_and_idle_ram_by_ram_cost(prod, client_as):
    (data,) = allocation(client_as("admin"), aggregate="namespace", shareIdle="true", includeIdle="true")
    cpu_total, ram_total = sum(CPU.values()), sum(RAM.values())

    def expected(*pods):
        cpu = sum(CPU[p] for p in pods)
        ram = sum(RAM[p] for p in pods)
        return cpu + IDLE_CPU * cpu / cpu_total + ram + IDLE_RAM * ram / ram_total

    assert "__idle__" not in data  # all of it found pods to share it
    assert totals(data) == pytest.approx(
        {
            "payments": expected("pay-1"),
            "checkout": expected("co-1"),
            "kube-system": expected("ks-1", "ks-2"),
            "search": expected("se-1"),
        },
        abs=1e-5,
    )
    assert sum(totals(data).values()) == pytest.approx(15.18 + 14.14)
    assert data["payments"]["cpuCostIdle"] == pytest.approx(IDLE_CPU * 3.00 / cpu_total, abs=1e-6)


def test_one_set_per_step_unless_accumulated(prod, client_as):
    client = client_as("admin")
    two_days = "2025-03-10T00:00:00Z,2025-03-12T00:00:00Z"
    daily = allocation(client, aggregate="namespace", window=two_days, accumulate="false")
    assert len(daily) == 2 and daily[1] == {}  # no pods on the second day
    assert daily[0]["payments"]["window"]["end"] == "2025-03-11T00:00:00Z"
    (whole,) = allocation(client, aggregate="namespace", window=two_days, accumulate="false", step="2d")
    assert whole["payments"]["window"] == {"start": "2025-03-10T00:00:00Z", "end": "2025-03-12T00:00:00Z"}
    assert whole["payments"]["minutes"] == 1440.0  # it ran on one day of the two
    assert totals(whole) == totals(daily[0])


def test_root_and_versioned_paths_agree(prod, client_as):
    client = client_as("admin")
    expected = allocation(client, aggregate="namespace")
    for path in ("/allocation/compute", "/api/v1/allocation", "/api/v1/allocation/compute"):
        assert allocation(client, path, aggregate="namespace") == expected


def test_department_viewer_sees_their_namespaces_and_no_idle(prod, client_as):
    client = client_as("dept")  # Payments
    (data,) = allocation(client, aggregate="namespace", includeIdle="true")
    assert totals(data) == pytest.approx({"payments": 6.00, "checkout": 4.50})
    (shared,) = allocation(client, aggregate="namespace", shareIdle="true")
    (admin,) = allocation(client_as("admin"), aggregate="namespace", shareIdle="true")
    assert totals(shared) == {k: admin[k]["totalCost"] for k in ("payments", "checkout")}
    (pods,) = allocation(client, aggregate="pod")
    assert set(pods) == {"pay-1", "co-1"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "window"),
        ({"window": "fortnight"}, "window"),
        ({"window": "2020-01-01T00:00:00Z,2020-01-02T00:00:00Z"}, "window"),  # before the kept history
        ({"window": "2026-01-01T00:00:00Z,2026-01-02T00:00:00Z"}, "window"),  # in the future
        ({"window": "7d", "step": "12h"}, "step"),
        ({"window": "7d", "aggregate": "service"}, "aggregate"),
        ({"window": "7d", "accumulate": "maybe"}, "accumulate"),
        ({"window": "7d", "shareIdle": "2"}, "shareIdle"),
        ({"window": "7d", "includeIdle": "yes"}, "includeIdle"),
    ],
)
def test_bad_parameters_are_400_in_opencost_shape(client_as, params, field):
    response = client_as("viewer").get(f"/allocation?{urlencode(params)}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 400 and body["data"] is None
    assert field in body["errors"] and field in body["message"]


def test_roles(client_as, prod):
    assert client_as("nobody").get("/allocation?window=today").json()["code"] == 403
    anonymous = client_as("anonymous").get("/allocation?window=today")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == 401


def _refusal(client, **params):
    response = client.get(f"/allocation?{urlencode({'window': WINDOW, **params})}")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == 400 and body["data"] is None
    return body


def test_filter_on_namespace(prod, client_as):
    client = client_as("admin")
    (data,) = allocation(client, aggregate="namespace", filter='namespace:"checkout"')
    assert totals(data) == {"checkout": 4.50}
    for path in ("/api/v1/allocation", "/allocation/compute"):
        (same,) = allocation(client, path, aggregate="namespace", filter='namespace:"checkout"')
        assert same == data


@pytest.mark.parametrize(
    ("text", "pods"),
    [
        ('namespace:"payments","checkout"', {"pay-1", "co-1"}),
        ('namespace!:"payments","checkout"', {"ks-1", "se-1", "ks-2"}),
        ('namespace:"payments","checkout"+label[team]:"pay"', {"pay-1"}),
        ('node:"n2"', {"se-1", "ks-2"}),
        ('cluster:"prod"+controllerKind:"daemonset"', {"ks-1", "ks-2"}),
        ('controllerName:"search-api"|pod:"co-1"', {"se-1", "co-1"}),
        ('pod<~:"ks-"', {"ks-1", "ks-2"}),
        ('label[team]:"__unallocated__"', {"co-1", "se-1"}),
        ('label:"team"', {"pay-1", "ks-1", "ks-2"}),
        ('department:"Payments"', {"pay-1", "co-1"}),
        ('namespace:"nowhere"', set()),
    ],
)
def test_filters_keep_the_pods_they_name(prod, client_as, text, pods):
    (data,) = allocation(client_as("admin"), aggregate="pod", filter=text)
    assert set(data) == pods
    assert totals(data) == pytest.approx({p: CPU[p] + RAM[p] for p in pods})


def test_a_filtered_idle_keeps_what_the_kept_pods_would_have_received(prod, client_as):
    client = client_as("admin")
    (data,) = allocation(client, aggregate="namespace", includeIdle="true", filter='namespace:"checkout"')
    cpu_total, ram_total = sum(CPU.values()), sum(RAM.values())  # 9.12 and 6.06 on the one cluster-day
    idle = data["__idle__"]
    assert idle["cpuCost"] == pytest.approx(IDLE_CPU * 3.00 / cpu_total, abs=1e-6)  # 1.822368
    assert idle["ramCost"] == pytest.approx(IDLE_RAM * 1.50 / ram_total, abs=1e-6)  # 2.128713
    (shared,) = allocation(client, aggregate="namespace", shareIdle="true", filter='namespace:"checkout"')
    assert totals(shared) == pytest.approx({"checkout": 4.50 + idle["totalCost"]}, abs=1e-5)


def test_a_department_viewer_filters_within_their_namespaces(prod, client_as):
    client = client_as("dept")  # Payments: payments and checkout
    (data,) = allocation(client, aggregate="namespace", filter='namespace:"checkout","search"')
    assert totals(data) == {"checkout": 4.50}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("namespace:cart", "at position 10: expected a value in double quotes"),
        ('namespace:"cart', 'at position 10: the string starting here is never closed with "'),
        ('namespace="cart"', "at position 9: unexpected character '='"),
        ('container:"web"', "at position 0: the field 'container' is not kept here"),
        ('Namespace:"cart"', "at position 0: 'Namespace' is not a filter field"),
        ('namespace:"a"+pod:"b"|pod:"c"', "at position 21: '|' after '+' in the same group"),
        ('(namespace:"a"', "at position 0: '(' without a matching ')'"),
        ('namespace:"a")', "at position 13: ')' without a matching '('"),
        ('namespace:"a" "b"', "at position 14: expected '+' (and) or '|' (or) between two comparisons"),
        ('namespace:"a",', 'at position 14: expected a value in double quotes after ",", found the end'),
        ("label[app", "at position 5: the label key starting here is never closed with ]"),
        ('namespace:"a"+', "at position 14: expected a filter field"),
    ],
)
def test_a_bad_filter_is_400_naming_the_position(client_as, text, words):
    body = _refusal(client_as("viewer"), filter=text)
    assert words in body["errors"]["filter"][0] and body["message"].startswith("filter: ")


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"resolution": "1m"}, "resolution", "a query resolution does not apply here"),
        ({"idleByNode": "true"}, "idleByNode", "idleByNode is not a parameter /allocation supports here"),
        ({"shareNamespaces": "kube-system"}, "shareNamespaces", "not a parameter"),
        ({"filterNamespaces": "cart"}, "filterNamespaces", "use filter= with OpenCost's filter language"),
        ({"sharelabels": "x"}, "sharelabels", "not a parameter"),
        ({"step": "12h"}, "step", "the step must be a whole number of days"),
        ({"step": "36h"}, "step", "the step must be a whole number of days"),
    ],
)
def test_a_parameter_not_honoured_is_400_not_ignored(client_as, params, field, words):
    body = _refusal(client_as("viewer"), **params)
    assert words in body["errors"][field][0]


def test_a_parameter_given_twice_is_400(client_as):
    response = client_as("viewer").get("/allocation?window=today&filter=pod:%22a%22&filter=pod:%22b%22")
    assert response.status_code == 400 and "filter is given 2 times" in response.json()["message"]


def test_parameter_errors_follow_the_request_language(client_as):
    """The field names and the grammar stay as OpenCost has them; the sentence is in the caller's language."""
    client = client_as("viewer")
    query = "/allocation?" + urlencode({"window": WINDOW, "filter": 'namespace="cart"', "step": "12h"})
    english = client.get(query).json()["errors"]
    assert english["filter"] == ["at position 9: unexpected character '='"]
    chinese = client.get(query, HTTP_ACCEPT_LANGUAGE="zh-CN").json()
    assert chinese["errors"]["filter"] == ["位置 9：意外的字符 '='"]
    assert chinese["code"] == 400 and chinese["message"].startswith("filter: 位置 9：")
    window = client.get("/allocation?window=fortnight", HTTP_ACCEPT_LANGUAGE="zh-CN").json()["errors"][
        "window"
    ]
    assert window[0].startswith("'fortnight' 不是时间窗口：请使用 today、yesterday")
    future = "/allocation?window=2026-01-01T00:00:00Z,2026-01-02T00:00:00Z"
    assert "在未来" in client.get(future, HTTP_ACCEPT_LANGUAGE="zh-CN").json()["errors"]["window"][0]


def test_an_empty_filter_is_no_filter(prod, client_as):
    client = client_as("admin")
    assert allocation(client, aggregate="namespace", filter="") == allocation(client, aggregate="namespace")


def test_a_plus_left_unencoded_in_the_url_still_means_and(prod, client_as):
    # A raw '+' in a query string is decoded as a space (as Go's URL parser does for OpenCost).
    response = client_as("admin").get(
        f'/allocation?window={WINDOW}&accumulate=true&aggregate=pod&filter=namespace:"payments","checkout"'
        '+label[team]:"pay"'
    )
    assert response.status_code == 200, response.content
    (data,) = response.json()["data"]
    assert totals(data) == {"pay-1": 6.00}
