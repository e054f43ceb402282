"""A department viewer sees their departments and their share of the rest, and cannot reach the others by URL."""

# ruff: noqa: F811  (pytest fixtures imported from views_fixtures are redefined as arguments)
from __future__ import annotations

from datetime import date

import pytest

from costing.models import NamespaceCostDay
from tests.reports.test_views_pages import text
from tests.reports.views_fixtures import clients, fixed_today, make_user, prod_of_module  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod(prod_of_module, fixed_today):
    """The scenario built once for this module's tests, which only read it (views_fixtures.prod_of_module)."""
    return prod_of_module


D = __import__("decimal").Decimal
P = "period=2025-03-10"


def test_overview_shows_only_what_payments_pays(clients, prod):
    page = clients["payments"].get(f"/?{P}")
    t = text(page)
    # Payments: direct 10.50 + shared 2.65 + idle 12.25 + overhead 1.80 = 27.20 (see test_views_pages).
    assert page.context["totals"]["total"] == D("27.20")
    assert {k: page.context["totals"][k] for k in ("direct", "shared", "idle", "overhead")} == {
        "direct": D("10.50"),
        "shared": D("2.65"),
        "idle": D("12.25"),
        "overhead": D("1.80"),
    }
    assert "27.20 EUR" in t and "32.92" not in t and "15.18" not in t
    assert [w["workload__name"] for w in page.context["workloads"]] == ["pay-api", "checkout"]
    assert "search-api" not in t and "kube-proxy" not in t and "Search" not in t
    assert "Data quality" not in t  # not offered: it is refused below


def test_lists_hold_only_payments(clients, prod):
    namespaces = clients["payments"].get(f"/namespaces/?{P}")
    assert {r["namespace__name"] for r in namespaces.context["rows"]} == {"payments", "checkout"}
    assert namespaces.context["total"] == D("10.50")
    departments = clients["payments"].get(f"/departments/?{P}")
    assert [r["name"] for r in departments.context["rows"]] == ["Payments"]
    assert "Search" not in text(departments)
    labels = clients["payments"].get(f"/labels/?{P}&key=team")
    # Only payments (team=pay) and checkout (no team label) count.
    assert {r["label"]: r["cost"] for r in labels.context["rows"]} == {"pay": D("6.00"), "(none)": D("4.50")}
    clusters = clients["payments"].get(f"/clusters/?{P}")
    (share,) = clusters.context["share_rows"]
    assert share["cluster__name"] == "prod" and share["total"] == D("27.20") and share["idle"] == D("12.25")
    assert "32.92" not in text(clusters)


def test_own_drill_down_works(clients, prod):
    assert clients["payments"].get(f"/departments/Payments/?{P}").status_code == 200
    assert clients["payments"].get(f"/namespaces/prod/checkout/?{P}").status_code == 200
    wl = prod["workloads"][("checkout", "checkout")]
    assert clients["payments"].get(f"/workloads/{wl.pk}/?{P}").status_code == 200
    assert clients["payments"].get(f"/pods/{prod['pods']['co-1'].pk}/?{P}").status_code == 200
    # co-1 ran on n1 at 04:00: its unit price's bill lines are open to Payments.
    assert clients["payments"].get(f"/explain/node-hour/prod/n1/2025-03-10T04/?{P}").status_code == 200


def test_other_departments_are_unreachable_by_url(clients, prod):
    c = clients["payments"]
    search_wl = prod["workloads"][("search", "search-api")]
    proxy = prod["workloads"][("kube-system", "kube-proxy")]
    refused = {
        "/departments/Search/": 403,
        "/departments/Idle/": 403,
        "/namespaces/prod/search/": 404,
        "/namespaces/prod/kube-system/": 404,  # shared: Payments sees only its share, on Departments
        f"/workloads/{search_wl.pk}/": 404,
        f"/workloads/{proxy.pk}/": 404,
        f"/pods/{prod['pods']['se-1'].pk}/": 404,
        f"/pods/{prod['pods']['ks-1'].pk}/": 404,
        "/explain/node-hour/prod/n2/2025-03-10T04/": 403,  # only search and kube-system ran on n2
        "/clusters/prod/": 403,
        "/clusters/prod/pools/general/": 403,
        "/clusters/prod/nodes/n2/": 403,
        "/data-quality/": 403,
        "/?department=Search&": 403,
        "/namespaces/?department=Search&": 403,
        "/departments/?department=Search&": 403,
        "/labels/?department=Search&": 403,
    }
    for url, status in refused.items():
        sep = "" if url.endswith("&") else "?"
        response = c.get(f"{url}{sep}{P}")
        assert response.status_code == status, url
        body = response.content.decode()
        assert "search-api" not in body and "1.62" not in body, url


def test_a_namespace_that_moved_department_is_refused_for_the_whole_period(clients, prod):
    # checkout is Payments' on the 10th; suppose a policy gave it to Search on the 11th.
    ns = prod["namespaces"]["checkout"]
    NamespaceCostDay.objects.create(
        cluster=prod["cluster"], day=date(2025, 3, 11), namespace=ns, department="Search", cost=D("1")
    )
    assert clients["payments"].get(f"/namespaces/prod/checkout/?{P}").status_code == 200
    assert clients["payments"].get("/namespaces/prod/checkout/?period=2025-03").status_code == 403
    assert clients["payments"].get("/namespaces/prod/checkout/?period=2025-03-11").status_code == 404
    assert clients["admin"].get("/namespaces/prod/checkout/?period=2025-03").status_code == 200


def test_a_department_viewer_without_departments_has_no_role(prod, make_user, client):
    from costing.choices import Role

    client.force_login(make_user("empty", Role.DEPARTMENT_VIEWER))
    response = client.get(f"/?{P}")
    assert response.status_code == 403 and b"no role" in response.content


def test_every_refusal_is_a_page_with_the_nav_and_no_traceback(clients, prod, caplog):
    import logging

    caplog.set_level(logging.WARNING, logger="django.request")
    for url in (
        "/bills/",
        "/bills/1/status",
        "/data-quality/",
        "/clusters/prod/",
        f"/departments/Search/?{P}",
    ):
        response = clients["payments"].get(url)
        assert response.status_code == 403, url
        body = response.content.decode()
        assert "Not yours to see" in body and 'aria-label="Main"' in body, url
        assert 'href="/departments/' in body, url  # the nav, with the pages the viewer may open
    assert "Bills are the organisation" in clients["payments"].get("/bills/").content.decode()
    assert [r for r in caplog.records if r.exc_info] == []  # a refusal is no error: no traceback logged
    assert clients["viewer"].post("/bills/", {"format": "focus"}).status_code == 403


def test_a_viewers_nav_shows_only_what_it_may_open(clients, prod):
    def nav(role):
        body = clients[role].get(f"/?{P}").content.decode()
        return body[body.index('aria-label="Main"') : body.index("</nav>")]

    payments, admin = nav("payments"), nav("admin")
    for label in (
        ">Overview<",
        ">Clusters<",
        ">Namespaces<",
        ">Labels<",
        ">Departments<",
        ">Reports<",
        ">API<",
    ):
        assert label in payments and label in admin, label
    for label in (">Data quality<", ">Bills<", ">Admin<"):
        assert label not in payments and label in admin, label
    assert ">Bills<" in nav("viewer") and ">Admin<" not in nav("viewer")
