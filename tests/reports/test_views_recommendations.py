"""The Recommendations pages on a hand-built history (tests/costing/rightsizing_history.py)."""

# ruff: noqa: F811  (pytest fixtures imported from views_fixtures are redefined as arguments)
from __future__ import annotations

import pytest

from tests.costing import rightsizing_history
from tests.reports.views_fixtures import clients, fixed_today, make_user, prod  # noqa: F401

pytestmark = pytest.mark.django_db
P = "period=2025-03-10"


@pytest.fixture
def history(prod):
    rightsizing_history.build(prod)
    return prod


def test_the_page_ranks_savings_and_a_department_viewer_sees_only_its_own(clients, history):
    page = clients["admin"].get(f"/recommendations/?{P}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Deployment/checkout" in text and "Deployment/search-api" in text
    assert f"{2 * rightsizing_history.SAVING:,.2f}" in text  # 50.16 a month over both

    csv = (
        clients["admin"].get(f"/recommendations/?{P}&_export=csv&_table=savings").content.decode("utf-8-sig")
    )
    lines = csv.strip().splitlines()
    assert len(lines) == 4  # heading, two containers, total
    assert f"{rightsizing_history.SAVING:.2f}" in lines[1] and "32.85" in lines[1]

    mine = clients["payments"].get(f"/recommendations/?{P}").content.decode()
    assert "Deployment/checkout" in mine and "search-api" not in mine
    assert f"{rightsizing_history.SAVING:,.2f}" in mine

    risks = (
        clients["admin"].get(f"/recommendations/?{P}&_export=csv&_table=risks").content.decode("utf-8-sig")
    )
    lines = risks.strip().splitlines()
    assert len(lines) == 2 and "sidecar" in lines[1] and f"{-rightsizing_history.RISK_COST:.2f}" in lines[1]
    by_department = clients["admin"].get(f"/recommendations/?{P}&_export=csv&_table=by_department")
    lines = by_department.content.decode("utf-8-sig").strip().splitlines()
    assert lines[1:] == [
        f"Payments,1,{rightsizing_history.SAVING:.2f},1,{rightsizing_history.RISK_COST:.2f}",
        f"Search,1,{rightsizing_history.SAVING:.2f},0,0.00",
    ]

    only = clients["admin"].get(f"/recommendations/?{P}&namespace=search").content.decode()
    assert "search-api" in only and "Deployment/checkout" not in only


def test_the_workload_page_gives_the_patch_and_a_chart_per_container(clients, history):
    workload = history["workloads"][("checkout", "checkout")].pk
    page = clients["payments"].get(f"/recommendations/{workload}/?{P}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "kubectl -n checkout patch deployment checkout --type=strategic" in text
    assert "&quot;cpu&quot;:&quot;230m&quot;,&quot;memory&quot;:&quot;295Mi&quot;" in text
    assert text.count('data-chart="chart-1-') == 2 and text.count('data-chart="chart-2-') == 2
    assert (
        '{"name":"sidecar","resources":{"requests":{"cpu":"575m","memory":"148Mi"}}}'.replace('"', "&quot;")
        in text
    )
    other = history["workloads"][("search", "search-api")].pk
    assert clients["payments"].get(f"/recommendations/{other}/?{P}").status_code == 404
