"""The pages' tables on the hand-computed scenario: sorting (money by amount), text filter, CSV of the same
cells through the page's own view and access rules, totals at the bottom, pagination."""

# ruff: noqa: F811  (pytest fixtures imported from views_fixtures are redefined as arguments)
from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest
from django.test import RequestFactory

from reports import tables
from tests.reports.views_fixtures import clients, fixed_today, make_user, prod_of_module  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod(prod_of_module, fixed_today):
    """The scenario built once for this module's tests, which only read it (views_fixtures.prod_of_module)."""
    return prod_of_module


P = "period=2025-03-10"  # the scenario's day


class _Cells(HTMLParser):
    """The text of every cell of one table block (id="table-NAME"), by section: thead, tbody, tfoot."""

    def __init__(self, name):
        super().__init__()
        self.wanted, self.depth, self.section = f"table-{name}", 0, None
        self.rows = {"thead": [], "tbody": [], "tfoot": []}
        self.cell = None

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += tag == "div"
        elif tag == "div" and dict(attrs).get("id") == self.wanted:
            self.depth = 1
        if not self.depth:
            return
        if tag in self.rows:
            self.section = tag
        elif tag == "tr" and self.section:
            self.rows[self.section].append([])
        elif tag in ("td", "th") and self.section:
            self.cell = []

    def handle_endtag(self, tag):
        if not self.depth:
            return
        if tag in ("td", "th") and self.cell is not None:
            self.rows[self.section][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "div":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth and self.cell is not None:
            self.cell.append(data)


def cells(response, name: str) -> dict[str, list[list[str]]]:
    assert response.status_code == 200, response.status_code
    parser = _Cells(name)
    parser.feed(response.content.decode())
    assert parser.rows["thead"], f"no table {name!r} on the page"
    return parser.rows


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def as_csv(cell: str) -> str:
    """A page cell as the CSV writes it: no thousands separator, an ASCII minus, a share without " %"."""
    return cell.replace(",", "").replace("−", "-").removesuffix(" %")


def test_money_sorts_by_amount_not_text_and_the_total_stays_last(clients, prod):
    url = f"/departments/?{P}&departments-sort="
    # Search 5.72 < Payments 27.20 as amounts; as text "27.20" would come first.
    up = cells(clients["admin"].get(url + "total"), "departments")
    assert [r[0] for r in up["tbody"]] == ["Search", "Payments"]
    assert [r[5] for r in up["tbody"]] == ["5.72", "27.20"]
    down = cells(clients["admin"].get(url + "-total"), "departments")
    assert [r[0] for r in down["tbody"]] == ["Payments", "Search"]
    for table in (up, down):
        ((label, direct, shared, idle, overhead, total, _change),) = table["tfoot"]
        # 10.50 + 1.62 direct, 3.06 shared, 14.14 idle, 3.60 overhead: the clusters' 32.92.
        assert (label, direct, shared, idle, overhead, total) == (
            "Total",
            "12.12",
            "3.06",
            "14.14",
            "3.60",
            "32.92",
        )
    page = clients["admin"].get(url + "-total").content.decode()
    assert 'aria-sort="descending"' in page and 'departments-sort=total"' in page  # the next click: ascending


def test_sort_by_text_and_by_the_change(clients, prod):
    by_name = cells(clients["viewer"].get(f"/namespaces/?{P}&namespaces-sort=namespace__name"), "namespaces")
    assert [r[0] for r in by_name["tbody"]] == ["checkout", "kube-system", "payments", "search"]
    # The previous day has no costs: each change is the whole cost, so by change is by cost.
    by_change = cells(clients["viewer"].get(f"/namespaces/?{P}&namespaces-sort=change"), "namespaces")
    assert [r[0] for r in by_change["tbody"]] == ["search", "kube-system", "checkout", "payments"]
    # An unknown column is ignored: the query's own order (by cost, descending).
    unknown = cells(clients["viewer"].get(f"/namespaces/?{P}&namespaces-sort=nonsense"), "namespaces")
    assert [r[0] for r in unknown["tbody"]] == ["payments", "checkout", "kube-system", "search"]


def test_text_filter_and_the_sum_of_the_rows_shown(clients, prod):
    response = clients["admin"].get(f"/namespaces/?{P}&namespaces-q=PAY")
    table = cells(response, "namespaces")
    # "pay" is in the namespace payments and in the department of checkout (Payments), in no other row.
    assert [r[0] for r in table["tbody"]] == ["payments", "checkout"]
    ((label, *_, cost, _change),) = table["tfoot"]
    assert (label, cost) == ("Shown rows (2)", "10.50")  # 6.00 + 4.50
    t = response.content.decode()
    assert "2 of 4 rows" in t and 'value="PAY"' in t
    # The filter form keeps the page's state and the table's sort.
    sorted_filtered = clients["admin"].get(f"/namespaces/?{P}&namespaces-sort=cost&namespaces-q=pay")
    assert [r[0] for r in cells(sorted_filtered, "namespaces")["tbody"]] == ["checkout", "payments"]
    form = sorted_filtered.content.decode()
    assert '<input type="hidden" name="period" value="2025-03-10">' in form
    assert '<input type="hidden" name="namespaces-sort" value="cost">' in form
    # Words must all appear, in any column.
    both = cells(clients["admin"].get(f"/namespaces/?{P}&namespaces-q=pay+checkout"), "namespaces")
    assert [r[0] for r in both["tbody"]] == ["checkout"]
    nothing = cells(clients["admin"].get(f"/namespaces/?{P}&namespaces-q=zzz"), "namespaces")
    assert nothing["tbody"] == [["No row contains “zzz”."]] and nothing["tfoot"][0][0] == "Shown rows (0)"


def test_csv_has_the_cells_of_the_table_sorted_and_filtered_as_shown(clients, prod):
    query = f"/namespaces/?{P}&namespaces-sort=-cost"
    table = cells(clients["admin"].get(query), "namespaces")
    response = clients["admin"].get(query + "&_export=csv")
    assert response["Content-Disposition"] == 'attachment; filename="namespaces-namespaces-2025-03-10.csv"'
    got = csv_rows(response)
    assert got[0] == [
        "Namespace",
        "Cluster",
        "Department",
        "CPU efficiency",
        "Memory efficiency",
        "Estimated",
        "Cost (EUR)",
        "Change",
    ]
    assert got[1:] == [
        # Efficiency = usage / request; checkout uses 1 of 0.5 core and 1 of 2 GiB. Estimated: what ran on
        # n2 (no bill line): ks-2's 0.81 of kube-system's 3.06 (26 %), all of search.
        ["payments", "prod", "Payments", "100", "100", "0", "6.00", "6.00"],
        ["checkout", "prod", "Payments", "200", "50", "0", "4.50", "4.50"],
        ["kube-system", "prod", "Shared", "100", "100", "26", "3.06", "3.06"],
        ["search", "prod", "Search", "100", "100", "100", "1.62", "1.62"],
        ["Total", "", "", "", "", "", "15.18", "15.18"],
    ]
    # The same figures as the page's cells (the change column says it in words on the page).
    shown = table["tbody"] + table["tfoot"]
    assert [[as_csv(c) for c in r[:7]] for r in shown] == [[c or "" for c in r[:7]] for r in got[1:]]
    filtered = csv_rows(clients["admin"].get(f"/namespaces/?{P}&namespaces-q=search&_export=csv"))
    assert filtered[1:] == [
        ["search", "prod", "Search", "100", "100", "100", "1.62", "1.62"],
        ["Shown rows (1)", "", "", "", "", "", "1.62", ""],
    ]


def test_csv_of_a_page_with_several_tables_names_the_table(clients, prod):
    url = f"/departments/Payments/?{P}&_export=csv"
    namespaces = csv_rows(clients["admin"].get(url + "&_table=namespaces"))
    assert namespaces[1:] == [
        ["payments", "prod", "1", "6.00"],
        ["checkout", "prod", "1", "4.50"],
        ["Direct", "", "", "10.50"],
    ]
    pools = csv_rows(clients["admin"].get(url + "&_table=pools"))
    # Shared 2.65 + idle 12.25 + overhead 1.80 = 16.70 of Payments' 27.20.
    assert pools[-1][0] == "Shared + idle + idle GPU + overhead" and pools[-1][-1] == "16.70"
    idle = next(r for r in pools if r[0] == "Idle (all)")
    assert idle[6:] == ["14.14", "86.6", "12.25"]  # 10.50 / 12.12 of the pool
    assert clients["admin"].get(url + "&_table=nope").status_code == 404


def test_a_department_viewer_downloads_only_what_the_page_shows_them(clients, prod):
    got = csv_rows(clients["payments"].get(f"/namespaces/?{P}&_export=csv"))
    assert [r[0] for r in got[1:]] == ["payments", "checkout", "Total"] and got[-1][6] == "10.50"
    search = prod["workloads"][("search", "search-api")].pk
    assert clients["payments"].get(f"/workloads/{search}/?{P}&_export=csv").status_code == 404
    assert clients["payments"].get(f"/data-quality/?{P}&_export=csv").status_code == 403
    assert clients["payments"].get(f"/departments/?{P}&department=Search&_export=csv").status_code == 403
    assert clients["anonymous"].get(f"/namespaces/?{P}&_export=csv").status_code == 302
    assert clients["payments"].get("/bills/?_export=csv").status_code == 403


def test_long_lists_are_paginated_and_the_csv_has_every_page(clients, prod):
    wl = prod["workloads"][("kube-system", "kube-proxy")].pk
    url = f"/workloads/{wl}/?{P}&pods-per_page=1"
    first = cells(clients["viewer"].get(url), "pods")
    assert [r[0] for r in first["tbody"]] == ["ks-1"]
    second = clients["viewer"].get(url + "&pods-page=2")
    assert [r[0] for r in cells(second, "pods")["tbody"]] == ["ks-2"]
    assert "rows 2–2 of 2" in second.content.decode()
    # The total is the workload's on every page: 2.25 + 0.81.
    assert cells(second, "pods")["tfoot"][0][-1] == "3.06"
    everything = csv_rows(clients["viewer"].get(url + "&pods-page=2&_export=csv"))
    assert [r[0] for r in everything[1:]] == ["ks-1", "ks-2", "Workload total"]
    assert [r[-1] for r in everything[1:]] == ["2.25", "0.81", "3.06"]
    # The pod page lists its 24 node-hours a day in pages of 24.
    pod = clients["viewer"].get(f"/pods/{prod['pods']['co-1'].pk}/?{P}")
    hours = cells(pod, "hours")["tbody"]
    assert len(hours) == 24 and hours[3][:2] == ["2025-03-10 03:00", "n1"]
    assert hours[3][2:] == ["1.0000", "0.12500", "2.0000", "0.03125", "0.1875"]  # 1 x 0.125 + 2 x 0.03125


def test_totals_rows_of_several_lines_stay_below_the_sorted_rows(clients, prod):
    table = cells(clients["viewer"].get(f"/clusters/prod/?{P}&pools-sort=-cost"), "pools")
    assert [r[0] for r in table["tbody"]] == ["general"]
    assert [(r[0], r[-1]) for r in table["tfoot"]] == [("Overhead", "3.60"), ("Physical cost", "32.92")]
    top = cells(clients["viewer"].get(f"/?{P}&workloads-sort=cost"), "workloads")
    assert [r[0] for r in top["tbody"]] == [
        "Deployment/search-api",
        "DaemonSet/kube-proxy",
        "Deployment/checkout",
        "Deployment/pay-api",
    ]
    assert [r[-1] for r in top["tbody"]] == ["1.62", "3.06", "4.50", "6.00"]
    assert top["tfoot"] == [["All workloads", "", "", "", "", "15.18"]]


def test_the_csv_stays_within_the_page_query_budget(clients, prod, django_assert_max_num_queries):
    # The same queries as the page (tests/reports/test_views_pages.py's budget of 10, which counts the
    # period's coverage and pending days): no query of its own.
    with django_assert_max_num_queries(10):
        clients["admin"].get(f"/namespaces/?{P}&namespaces-sort=cost&namespaces-q=pay&_export=csv")


def test_csv_cells_are_formula_safe_and_money_exact(fixed_today):
    request = RequestFactory().get("/labels/", {"_export": "csv"})
    rows = [
        {"label": "=HYPERLINK(1)", "pods": 1, "cpu_efficiency": 0.5, "mem_efficiency": None, "cost": -1},
        {"label": "@team", "pods": 1000, "cpu_efficiency": 1.25, "mem_efficiency": 0.125, "cost": 1234.5},
    ]
    table = tables.configure(
        request, "labels", tables.LabelTable(rows, key="team", totals=[{"cost": 1233.5}])
    )
    out = table.csv_rows()
    assert out == [
        ["team", "Pods", "CPU efficiency", "Memory efficiency", "Cost (EUR)"],
        ["'=HYPERLINK(1)", "1", "50", "", "-1.00"],  # a negative amount stays a number
        ["'@team", "1000", "125", "12", "1234.50"],
        ["", "", "", "", "1233.50"],
    ]
    # A cell a render method marked up (a link) is exported as its text, entities decoded.
    linked = tables.configure(
        request,
        "namespaces",
        tables.DepartmentNamespaceTable([{"namespace": "a&b<i>", "cluster": "c", "days": 1, "cost": 1}]),
    )
    assert linked.csv_rows()[1] == ["a&b<i>", "c", "1", "1.00"]
    response = table.csv_response("labels")
    assert response.content.startswith("\ufeff".encode()) and b"\r\n" in response.content


def test_the_reports_page_lists_and_downloads_only_ones_own_exports(clients, prod, django_user_model):
    from reports.models import ExportRun

    pam, vic = (django_user_model.objects.get(username=n) for n in ("pam", "vic"))
    ExportRun.objects.create(requested_by=pam, period_key="2025-03", department="Payments", format="csv")
    ExportRun.objects.create(
        requested_by=vic, period_key="2025-02", format="xlsx", status="failed", error="=boom"
    )
    mine = csv_rows(clients["payments"].get("/reports/?_export=csv&_table=exports"))
    assert mine[0] == [
        "Asked (UTC)",
        "Period",
        "Scope",
        "Format",
        "Status",
        "File",
    ]  # no "By": only their own
    assert [r[1:5] for r in mine[1:]] == [["2025-03", "Payments", "csv", "Pending"]]
    every = csv_rows(clients["admin"].get("/reports/?_export=csv&_table=exports&exports-sort=period_key"))
    assert [(r[1], r[2]) for r in every[1:]] == [("vic", "2025-02"), ("pam", "2025-03")]
    assert every[1][5] == "Failed: =boom"  # starts with F: no quote needed, and none added
    page = cells(clients["admin"].get("/reports/"), "exports")
    assert page["thead"][0][1] == "By" and sorted(r[1] for r in page["tbody"]) == ["pam", "vic"]


def test_data_quality_tables_download_their_gaps_and_estimated_days(clients, prod):
    from datetime import UTC, datetime

    from costing.choices import SampleSource, SampleStatus
    from costing.models import SampleSlot

    SampleSlot.objects.create(
        cluster=prod["cluster"],
        slot=datetime(2025, 3, 10, 5, 30, tzinfo=UTC),
        interval=1800,
        status=SampleStatus.GAP,
        source=SampleSource.COLLECTOR,
        reason="=API server timed out",
    )
    url = f"/data-quality/?{P}&_export=csv&_table="
    reasons = csv_rows(clients["admin"].get(url + "reasons"))
    # One slot of 1,800 s: 30 minutes lost; the reason quoted, as a spreadsheet would run it.
    assert reasons[1:] == [["prod", "'=API server timed out", "1", "30", "2025-03-10 05:30"]]
    estimated = csv_rows(clients["admin"].get(url + "estimated"))
    assert estimated[1:] == [["2025-03-10", "prod", "4.32", "13.1"]]  # n2's 4.32 of the 32.92
    # Sorting the folded list of gaps opens it.
    assert "<details open>" in clients["admin"].get(f"/data-quality/?{P}&gaps-sort=slot").content.decode()


def test_a_filter_too_long_is_said_and_every_row_kept(clients, prod):
    response = clients["admin"].get(f"/namespaces/?{P}&namespaces-q={'x' * 201}")
    assert len(cells(response, "namespaces")["tbody"]) == 4
    assert "Ensure this value has at most 200 characters" in response.content.decode()
