"""API /api/v1/recommendations/ on a hand-built history (tests/costing/rightsizing_history.py)."""

# ruff: noqa: F811
from __future__ import annotations

import pytest

from tests.costing import rightsizing_history
from tests.reports.views_fixtures import clients, fixed_today, make_user, prod  # noqa: F401

pytestmark = pytest.mark.django_db
Q = "start=2025-03-10&end=2025-03-11"


def test_rows_sums_and_a_department_viewer_restricted(clients, prod):
    rightsizing_history.build(prod)
    body = clients["admin"].get(f"/api/v1/recommendations/?{Q}").json()
    assert body["day"] == "2025-03-11" and body["count"] == 3
    row = body["results"][0]
    assert row["cpu_request_cores"] == 1.0 and row["cpu_recommended_cores"] == 0.23
    assert row["mem_recommended_bytes"] == 295 * 2**20
    assert row["monthly_cost_now"] == 32.85 and row["monthly_saving"] == round(rightsizing_history.SAVING, 2)
    assert row["backtest_cpu_over_share"] == 0.0 and row["backtest_mem_over"] is False
    assert {d["department"]: d["saving"] for d in body["sums"]["department"]} == {
        "Payments": round(rightsizing_history.SAVING, 2),
        "Search": round(rightsizing_history.SAVING, 2),
    }
    assert body["sums"]["cluster"][0]["over"] == 2 and body["sums"]["cluster"][0]["under"] == 1
    assert body["sums"]["cluster"][0]["risk_cost"] == round(rightsizing_history.RISK_COST, 2)
    risk = body["results"][-1]
    assert (risk["container"], risk["status"], risk["cpu_recommended_cores"]) == (
        "sidecar",
        "under-requested",
        0.575,
    )

    mine = clients["payments"].get(f"/api/v1/recommendations/?{Q}").json()
    assert {r["namespace"] for r in mine["results"]} == {"checkout"} and mine["count"] == 2
    assert clients["payments"].get(f"/api/v1/recommendations/?{Q}&department=Search").status_code == 403
    paged = clients["admin"].get(f"/api/v1/recommendations/?{Q}&page_size=2&page=2").json()
    assert len(paged["results"]) == 1 and paged["previous"]
