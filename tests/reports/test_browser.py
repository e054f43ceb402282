"""The dashboard in headless Chromium: drill down and explain as a viewer; a department viewer refused by URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from costing.choices import Role
from tests.reports import views_fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page(scenario_server, monkeypatch):
    # After the scenario: every ORM call of the test is made before Playwright starts, since Playwright's
    # greenlet gets its own context and a database connection opened in it would outlive the test. The
    # browser also closes (ending its keep-alive connections) before the live server stops.
    if not Path(CHROMIUM).exists():
        pytest.skip("no /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs its own loop; the ORM calls of the live server are not inside it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})  # a laptop screen
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            browser.close()


@pytest.fixture
def scenario_server(live_server, monkeypatch, settings, django_user_model):
    monkeypatch.setattr("reports.views_common.today", lambda: views_fixtures.TODAY)
    settings.FINOPS_HOURLY_RETENTION_DAYS = 100_000
    from django.contrib.auth.models import Group

    from costing.compute import recompute_day
    from tests.costing import scenario

    objects = scenario.build()
    recompute_day(views_fixtures.DAY)
    recompute_day(views_fixtures.NEXT)
    from costing.models import Department

    user = django_user_model.objects.create_user("vic", password="a long browser password")
    user.groups.add(Group.objects.get(name=Role.VIEWER))
    pam = django_user_model.objects.create_user("pam", password="a long browser password")
    pam.groups.add(Group.objects.get(name=Role.DEPARTMENT_VIEWER))
    Department.objects.get_or_create(name="Payments")[0].viewers.add(pam)
    return live_server.url, objects


def log_in(page, base, username):
    page.goto(f"{base}/")
    assert "/accounts/login/" in page.url
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill("a long browser password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def test_log_in_change_period_drill_down_and_explain(browser_page, scenario_server):
    page = browser_page
    base, _ = scenario_server
    log_in(page, base, "vic")
    # The current month (March 2025 here): the 10th's 32.92 and the 11th's 2.40.
    assert "35.32 EUR" in page.inner_text("main")

    # Change the period by keyboard: type it and press Enter; the URL carries it.
    page.get_by_label("Period", exact=True).fill("2025-03-10")
    page.get_by_label("Period", exact=True).press("Enter")
    page.wait_for_url("**period=2025-03-10**")
    main = page.inner_text("main")
    assert "32.92 EUR" in main and "2025-03-10 (Monday)" in main
    page.wait_for_selector("#chart-trend[data-drawn='1'] .main-svg")
    shot = Path(settings.VAR_DIR) / "overview.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    # Overview -> Namespaces -> checkout -> its workload -> its pod -> an hour's unit price -> bill line.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Namespaces").click()
    page.get_by_role("link", name="checkout", exact=True).click()
    page.wait_for_url("**/namespaces/prod/checkout/**")
    assert "4.50 EUR" in page.inner_text("main")
    page.get_by_role("link", name="Deployment/checkout").click()
    page.get_by_role("link", name="co-1").click()
    page.wait_for_url("**/pods/**period=2025-03-10**")
    page.get_by_role("link", name="0.12500").first.click()  # the first node-hour's CPU unit price
    page.wait_for_url("**/explain/node-hour/prod/n1/2025-03-10T00/**")
    explained = page.inner_text("main")
    assert "From the bill" in explained and "i-1" in explained and "1.000000" in explained

    # The keyboard reaches the skip link first.
    page.goto(f"{base}/departments/?period=2025-03-10")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert "27.20" in page.inner_text("main")


def test_department_viewer_cannot_reach_another_department_by_url(browser_page, scenario_server):
    page = browser_page
    base, objects = scenario_server
    log_in(page, base, "pam")
    period = "period=2025-03-10"
    own = page.goto(f"{base}/departments/Payments/?{period}")
    # Payments pays 27.20 of the day (direct 10.50 + shared 2.65 + idle 12.25 + overhead 1.80).
    assert own.status == 200 and "27.20" in page.inner_text("main")

    # Search's figures: search-api's 1.62 direct, its 5.72 of the 32.92 (32.92 - 27.20), the cluster's 32.92.
    search_wl = objects["workloads"][("search", "search-api")]
    refused = [
        f"/departments/Search/?{period}",
        f"/namespaces/prod/search/?{period}",
        f"/workloads/{search_wl.pk}/?{period}",
        f"/clusters/prod/nodes/n2/?{period}",
        f"/data-quality/?{period}",
        "/api/v1/costs/?by=department&department=Search&start=2025-03-10&end=2025-03-11",
    ]
    for url in refused:
        response = page.goto(f"{base}{url}")
        assert response.status in (403, 404), url
        body = page.content()
        for figure in ("search-api", "1.62", "5.72", "32.92"):
            assert figure not in body, (url, figure)


def test_sort_filter_and_download_a_table(browser_page, scenario_server):
    page = browser_page
    base, _ = scenario_server
    log_in(page, base, "vic")
    page.goto(f"{base}/namespaces/?period=2025-03-10")
    table = page.locator("#table-namespaces")

    def first_cells():
        return table.locator("tbody tr th").all_inner_texts()

    assert first_cells() == ["payments", "checkout", "kube-system", "search"]  # by cost, as the query gives
    # A click on the cost heading sorts by amount, ascending; a second click, descending.
    table.get_by_role("link", name="Cost (EUR)").click()
    page.wait_for_url("**namespaces-sort=cost**")
    assert first_cells() == ["search", "kube-system", "checkout", "payments"]
    assert table.locator("th[aria-sort=ascending]").inner_text() == "Cost (EUR)"
    table.get_by_role("link", name="Cost (EUR)").click()
    page.wait_for_url("**namespaces-sort=-cost**")
    assert first_cells() == ["payments", "checkout", "kube-system", "search"]

    # Filter by text, by keyboard; the sort and the period are kept, the footer sums the rows shown.
    table.get_by_role("searchbox", name="Filter").fill("pay")
    table.get_by_role("searchbox", name="Filter").press("Enter")
    page.wait_for_url("**namespaces-q=pay**")
    assert "period=2025-03-10" in page.url and "namespaces-sort=-cost" in page.url
    assert first_cells() == ["payments", "checkout"]
    footer = table.locator("tfoot").inner_text()
    assert "Shown rows (2)" in footer and "10.50" in footer
    page.screenshot(path=str(Path(settings.VAR_DIR) / "namespaces-table.png"), full_page=True)

    # The CSV: the rows shown, in the order shown, with the same cents.
    with page.expect_download() as info:
        table.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == "namespaces-namespaces-2025-03-10.csv"
    lines = Path(download.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[1:] == [
        "payments,prod,Payments,100,100,0,6.00,6.00",
        "checkout,prod,Payments,200,50,0,4.50,4.50",
        "Shown rows (2),,,,,,10.50,",
    ]
