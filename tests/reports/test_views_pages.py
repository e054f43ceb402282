"""Every page, as an admin and a viewer, with the figures of tests/costing/scenario.py worked out by hand."""

# ruff: noqa: F811  (pytest fixtures imported from views_fixtures are redefined as arguments)
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.reports.views_fixtures import clients, fixed_today, make_user, prod_of_module  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod(prod_of_module, fixed_today):
    """The scenario built once for this module's tests, which only read it (views_fixtures.prod_of_module)."""
    return prod_of_module


D = Decimal
P = "period=2025-03-10"  # the scenario's day


def text(response) -> str:
    """The page as a reader sees it: tags dropped, whitespace collapsed."""
    body = re.sub(r"<script.*?</script>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).replace("&amp;", "&")


def row(page: str, first: str) -> str:
    """The text from a table row heading to the end of that row (up to the next heading-ish 200 chars)."""
    at = page.index(first)
    return page[at : at + 200]


def urls(prod) -> dict[str, str]:
    wl = prod["workloads"][("checkout", "checkout")]
    pod = prod["pods"]["co-1"]
    return {
        "overview": f"/?{P}",
        "clusters": f"/clusters/?{P}",
        "cluster": f"/clusters/prod/?{P}",
        "pool": f"/clusters/prod/pools/general/?{P}",
        "node": f"/clusters/prod/nodes/n1/?{P}&day=2025-03-10",
        "namespaces": f"/namespaces/?{P}",
        "namespace": f"/namespaces/prod/checkout/?{P}",
        "workload": f"/workloads/{wl.pk}/?{P}",
        "pod": f"/pods/{pod.pk}/?{P}",
        "labels": f"/labels/?{P}&key=team",
        "departments": f"/departments/?{P}",
        "department": f"/departments/Payments/?{P}",
        "data_quality": f"/data-quality/?{P}",
        "node_hour": f"/explain/node-hour/prod/n1/2025-03-10T04/?{P}",
    }


def test_overview_figures(clients, prod):
    page = clients["admin"].get(f"/?{P}")
    assert page.status_code == 200
    t = text(page)
    # Physical 32.92 = workloads 15.18 + idle 14.14 + overhead 3.60; n2's 4.32 is estimated, 28.60 billed.
    assert "32.92 EUR" in t and "15.18 EUR" in t and "14.14 EUR" in t and "3.60 EUR" in t
    assert "4.32 EUR estimated" in t and "28.60 EUR from the bill" in t
    assert "43.0 % of the total" in t  # 14.14 / 32.92
    assert "Idle: capacity paid for but requested/used by no pod" in t
    # Efficiency: CPU used 4 of 3.5 requested cores, memory 9 of 10 GiB, over 24 hours.
    assert "CPU 114 %" in t and "memory 90 %" in t
    assert "97.9 %" in t  # coverage: 23.5 of 24 hours
    top = page.context["workloads"]
    assert [(w["workload__name"], w["cost"]) for w in top] == [
        ("pay-api", D("6.00")),
        ("checkout", D("4.50")),
        ("kube-proxy", D("3.06")),
        ("search-api", D("1.62")),
    ]
    assert page.context["workload_total"] == D("15.18")
    assert 'href="/workloads/' in page.content.decode()
    assert "No bill yet" not in t


def test_every_page_renders_for_admin_and_viewer(clients, prod):
    for name, url in urls(prod).items():
        for role in ("admin", "viewer"):
            response = clients[role].get(url)
            assert response.status_code == 200, (name, role, response.status_code)
            assert b"2025" in response.content


def test_clusters_pools_nodes_add_up(clients, prod):
    t = text(clients["viewer"].get(f"/clusters/?{P}"))
    assert "prod 15.18 14.14 3.60 32.92" in t
    cluster = clients["viewer"].get(f"/clusters/prod/?{P}")
    (general,) = cluster.context["pools"]
    # Nodes cost 24 + 4.32 + 1 = 29.32: pods paid 15.18, idle 14.14; plus overhead 3.60 = 32.92.
    assert (general["cost"], general["pods"], general["idle_part"]) == (D("29.32"), D("15.18"), D("14.14"))
    assert cluster.context["overhead"] == D("3.60") and cluster.context["total"] == D("32.92")
    nodes = clients["viewer"].get(f"/clusters/prod/pools/general/?{P}").context["nodes"]
    assert {n["node__name"]: (n["cost"], n["pods"], n["idle_part"]) for n in nodes} == {
        "n1": (D("24.00"), D("12.75"), D("11.25")),
        "n2": (D("4.32"), D("2.43"), D("1.89")),
        "n3": (D("1.00"), D("0.00"), D("1.00")),
    }
    assert {n["node__name"]: n["hours_unsampled"] for n in nodes}["n3"] == 2
    node = clients["viewer"].get(f"/clusters/prod/nodes/n1/?{P}&day=2025-03-10")
    hours = node.context["hours"]
    # n1: 1.00 an hour, half to CPU over 4 cores, half to memory over 16 GiB.
    assert len(hours) == 24 and hours[4]["cpu_price"] == pytest.approx(0.125)
    assert hours[4]["mem_price"] == pytest.approx(0.03125)
    assert 'href="/explain/node-hour/prod/n1/2025-03-10T04/?' in node.content.decode()


def test_namespaces_workloads_pods(clients, prod):
    ns = clients["admin"].get(f"/namespaces/?{P}")
    got = {r["namespace__name"]: (r["cost"], r["department"]) for r in ns.context["rows"]}
    assert got == {
        "payments": (D("6.00"), "Payments"),
        "checkout": (D("4.50"), "Payments"),
        "kube-system": (D("3.06"), "Shared"),
        "search": (D("1.62"), "Search"),
    }
    assert ns.context["total"] == D("15.18")
    co = {r["namespace__name"]: r for r in ns.context["rows"]}["checkout"]
    # Requested 0.5 core, used 1; requested 2 GiB, used 1.
    assert co["cpu_efficiency"] == 2.0 and co["mem_efficiency"] == 0.5
    kube = clients["admin"].get(f"/namespaces/prod/kube-system/?{P}")
    (proxy,) = kube.context["workloads"]
    assert proxy["name"] == "kube-proxy" and proxy["pods"] == 2 and proxy["cost"] == D("3.06")
    assert "shared namespace" in text(kube)
    wl = prod["workloads"][("kube-system", "kube-proxy")]
    workload = clients["admin"].get(f"/workloads/{wl.pk}/?{P}")
    pods = {p["pod__name"]: (p["node__name"], p["cost"]) for p in workload.context["pods"]}
    assert pods == {"ks-1": ("n1", D("2.25")), "ks-2": ("n2", D("0.81"))}
    assert workload.context["total"] == D("3.06")
    pod = clients["admin"].get(f"/pods/{prod['pods']['co-1'].pk}/?{P}")
    (day,) = pod.context["days"]
    assert day["cost"] == D("4.50") and len(day["hours"]) == 24
    hour = day["hours"][3]
    # co-1 bills 1 core-hour at 0.125 and 2 GiB-hours at 0.03125 each hour.
    assert (hour["cpu_price"], hour["mem_price"], hour["cost"]) == pytest.approx((0.125, 0.03125, 0.1875))
    assert 'href="/explain/node-hour/prod/n1/2025-03-10T03/?' in pod.content.decode()


def test_labels_group_by_any_key(clients, prod):
    page = clients["admin"].get(f"/labels/?{P}&key=team")
    assert {r["label"]: r["cost"] for r in page.context["rows"]} == {
        "pay": D("6.00"),
        "(none)": D("6.12"),
        "core": D("3.06"),
    }
    assert page.context["keys"] == ["team"] and page.context["total"] == D("15.18")
    # Without a key the page picks one it has seen.
    assert clients["admin"].get(f"/labels/?{P}").context["key"] == "team"


def test_departments_and_department_explanation(clients, prod):
    page = clients["admin"].get(f"/departments/?{P}")
    rows = {r["name"]: r for r in page.context["rows"]}
    # Payments 10.50 + 3.06 x 10.50/12.12 + 14.14 x 10.50/12.12 + 3.60 / 2 = 27.2009...
    assert rows["Payments"]["total"] == D("27.20") and rows["Search"]["total"] == D("5.72")
    assert (rows["Payments"]["direct"], rows["Payments"]["idle"], rows["Payments"]["overhead"]) == (
        D("10.50"),
        D("12.25"),
        D("1.80"),
    )
    assert page.context["totals"]["total"] == D("32.92") == page.context["grand"].quantize(D("0.01"))
    for r in rows.values():
        assert r["direct"] + r["shared"] + r["idle"] + r["overhead"] == r["total"]
    dept = clients["admin"].get(f"/departments/Payments/?{P}")
    assert dept.context["total"] == D("27.20")
    assert {n["namespace"]: n["cost"] for n in dept.context["namespaces"]} == {
        "payments": D("6.00"),
        "checkout": D("4.50"),
    }
    idle = next(p for p in dept.context["pools"] if p["pool"] == "idle")
    assert idle["method"] == idle["applied"] == "proportional" and idle["basis"] == "direct cost"
    assert idle["fraction"] == pytest.approx(10.5 / 12.12) and idle["amount"] == D("12.25")
    t = text(dept)
    assert "86.6 %" in t and "12.25" in t  # 10.50 / 12.12 of the 14.14 idle
    overhead = next(p for p in dept.context["pools"] if p["pool"] == "overhead")
    assert overhead["method"] == "even" and overhead["fraction"] == pytest.approx(0.5)


def test_node_hour_explanation_bill_line_and_price_sheet(clients, prod):
    billed = clients["viewer"].get(f"/explain/node-hour/prod/n1/2025-03-10T04/?{P}")
    (line,) = billed.context["x"]["bill_lines"]
    assert line["part"] == D("1") and line["resource_id"] == "i-1"
    assert "From the bill" in text(billed)
    estimated = clients["viewer"].get(f"/explain/node-hour/prod/n2/2025-03-10T04/?{P}")
    t = text(estimated)
    # 2 core-hours x 0.045 + 8 GiB-hours x 0.01125 = 0.09 + 0.09 = 0.18 from the m5.large row, whose
    # prices are the unit prices as written (no split).
    assert "Estimated from the price sheet" in t and "0.090000 + 0.090000 = 0.180000" in t
    assert "fallback sheet row m5.large: 0.045 per core-hour" in t
    assert "fallback sheet row m5.large: 0.01125 per GiB-hour" in t and "split into a CPU part" not in t
    # Idle per resource: 0.09 - 1.5 x 0.045 = 0.0225 and 0.09 - 3 x 0.01125 = 0.05625.
    assert "0.045 per core-hour 0.022500" in t and "0.01125 per GiB-hour 0.056250" in t


def test_data_quality(clients, prod):
    from datetime import UTC, datetime

    from costing.choices import SampleSource, SampleStatus
    from costing.models import ClusterDay, SampleSlot, WorkerHeartbeat

    SampleSlot.objects.create(
        cluster=prod["cluster"],
        slot=datetime(2025, 3, 10, 5, 30, tzinfo=UTC),
        interval=1800,
        status=SampleStatus.GAP,
        source=SampleSource.COLLECTOR,
        reason="API server timed out",
    )
    WorkerHeartbeat.objects.create(hostname="worker-1", seen_at=datetime(2020, 1, 1, tzinfo=UTC))
    ClusterDay.objects.filter(day="2025-03-11").update(dirty=True)
    page = clients["admin"].get(f"/data-quality/?{P}")
    t = text(page)
    assert "API server timed out" in t and "30" in row(t, "API server timed out")  # 30 minutes lost
    assert "97.9 %" in t  # the day's coverage
    assert [d["day"].isoformat() for d in page.context["estimated_days"]] == ["2025-03-10"]
    assert page.context["dirty_count"] == 1 and "worker-1" in t and "stale" in t


def test_no_role_anonymous_and_query_counts(clients, prod, django_assert_max_num_queries):
    for name, url in urls(prod).items():
        nobody = clients["nobody"].get(url)
        assert nobody.status_code == 403 and b"no role" in nobody.content, name
        anonymous = clients["anonymous"].get(url)
        assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"], name
    # Pages issue a fixed number of queries, never one per row (the scenario has 4 to 5 rows a table):
    # session, user, groups, the filters' clusters and departments, then the page's own queries.
    # Every page with a period also reads its cluster-days once (coverage, pending days) and, when some day
    # was not collected, the first day ever sampled: 2 more. The Overview and a department also read the
    # last computed day, to know whether the period has a forecast (reports.queries.forecasts). A department
    # viewer's Clusters page also reads every department's totals once (their cents are the organisation's:
    # reports.queries.departments.department_cents). The Namespace and Workload pages also read their
    # persistent volumes (one query; the volumes and their bill lines two more when there are some).
    budget = {
        "overview": 16,
        "clusters": 10,
        "cluster": 9,
        "pool": 9,
        "node": 10,
        "namespaces": 10,
        "namespace": 16,
        "workload": 12,
        "pod": 14,
        "labels": 9,
        "departments": 11,
        "department": 13,
        "data_quality": 13,
        "node_hour": 11,
    }
    for name, url in urls(prod).items():
        for role in ("admin", "payments"):
            with django_assert_max_num_queries(budget[name]):
                clients[role].get(url)


def test_money_carries_the_currency_setting(clients, prod, settings):
    settings.FINOPS_CURRENCY = "CNY"
    assert "32.92 CNY" in text(clients["admin"].get(f"/?{P}"))


def test_empty_states(clients, prod, make_user):
    from costing.models import BillImport

    t = text(clients["admin"].get("/?period=2025-02"))
    assert "No results yet" in t and "python manage.py recompute --start 2025-02-01 --end 2025-03-01" in t
    BillImport.objects.all().delete()  # cascades to the lines: costs stay, but no bill is in
    assert "No bill yet" in text(clients["admin"].get(f"/?{P}"))


def test_small_things_favicon_iso_dates_and_the_viewers_card_titles(clients, prod):
    import re as regex

    from django.contrib.staticfiles import finders

    page = clients["payments"].get(f"/?{P}")
    body = page.content.decode()
    assert 'rel="icon" href="/static/reports/favicon.svg"' in body and finders.find("reports/favicon.svg")
    assert "2025-03-10 (Monday)" in text(page)  # the period, ISO
    # A department viewer's cards say what their figures are: what Payments pays, its direct cost, its
    # shares of idle, overhead and shared namespaces, the estimated part of its direct cost.
    titles = regex.findall(r'<div class="figure card">\s*<h2>(.*?)</h2>', body, flags=regex.S)
    assert titles == [
        "What your departments pay",
        "Direct",
        "Idle",
        "Overhead",
        "Shared namespaces",
        "Efficiency",
        "Estimated part of the direct cost",
        "Coverage",
    ]
    assert "Estimated vs billed" in text(clients["admin"].get(f"/?{P}"))
    week = clients["admin"].get("/?period=2025-W11")
    assert "Week 11 of 2025 (2025-03-10 – 2025-03-16)" in text(week)
    # Dates a template shows without a format of its own (tables too) are ISO as well.
    from datetime import UTC, date, datetime

    from django.utils import formats

    assert formats.date_format(date(2025, 3, 10)) == "2025-03-10"
    assert (
        formats.date_format(datetime(2025, 3, 10, 14, 30, tzinfo=UTC), "DATETIME_FORMAT")
        == "2025-03-10 14:30"
    )


# Dates written any way but ISO: a month name beside a day ("Mar 10", "10 March"), an abbreviated month
# beside a year ("Mar 2025"), a weekday beside a number ("Mon 10"), d/m/Y or m/d/Y or d.m.Y, a 12-hour
# clock ("4 p.m.", "noon"). A whole month name before its year ("March 2025") is a period label, ISO's
# only words.
MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
NOT_ISO = re.compile(
    rf"\b{MONTH} \d{{1,2}}\b"
    rf"|\b\d{{1,2}} {MONTH}"
    r"|\b(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.? \d{4}\b"
    r"|\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?,? \d"
    r"|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b"
    r"|\b\d{1,2}(?::\d{2})? ?(?:a\.m\.|p\.m\.|(?:am|pm)\b)|\bnoon\b|\bmidnight\b"
)


def test_no_page_writes_a_date_other_than_iso(clients, prod):
    from costing.models import BillImport

    BillImport.objects.create(file_name="march.csv", format="focus")  # the Bills table has a "When"
    pages = [*urls(prod).values(), "/bills/", "/reports/"]
    periods = ["2025-03", "2025-Q1", "2025", "2025-W11", "2025-03-01..2025-03-15"]
    pages += [f"{path}?period={key}" for key in periods for path in ("/", "/departments/", "/data-quality/")]
    for role in ("admin", "payments"):
        for url in pages:
            response = clients[role].get(url)
            if role == "payments" and response.status_code == 403:
                continue  # pages of whole clusters: not the viewer's
            assert response.status_code == 200, (role, url)
            body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
            found = NOT_ISO.findall(body)
            assert not found, (role, url, found)
    for other in (
        "Mon 10 Mar 2025",
        "10 March",
        "Mar 10, 2025",
        "10/03/2025",
        "3.10.25",
        "4 p.m.",
        "Mar 2025",
    ):
        assert NOT_ISO.search(other), other
    assert NOT_ISO.findall("March 2025, 2025-03-10 (Monday), 2025-03-10 04:00 UTC, Q1 2025") == []
