"""The Optimise page and /api/v1/opportunities/ on the pages' scenario (tests/costing/scenario.py).

Pool general of cluster prod on 2025-03-10: n1 (4 cores, 16 GiB, 1.00/h), n2 (2 cores, 8 GiB, 0.18/h) and
n3 (billed 1.00 over 00:00-02:00, 0.50/h, never sampled). The pods' requests (kube-proxy apart, on every node:
0.5 core and 1 GiB) fit in one n1-shaped node: the pool needs 1 node. Each hour saves its other nodes at the
hour's mean node cost: 00-02 (3 - 1) x 1.68 / 3, then (2 - 1) x 1.18 / 2, in all 15.22 a day,
x 730 / 24 = 462.94 a month. Requested 3.5 cores (below the 4 used) and 10 GiB (9 used): 1 GiB unused
at the pool's capacity-weighted memory price (0.03125 x 16 + 0.01125 x 8) / 24 = 0.0245833 an hour:
17.95 a month to oversubscribe.
"""

# ruff: noqa: F811  (pytest fixtures imported from views_fixtures are redefined as arguments)
from __future__ import annotations

import pytest

from tests.reports.views_fixtures import clients, fixed_today, make_user, prod  # noqa: F401

pytestmark = pytest.mark.django_db
P = "period=2025-03-10"
PACKING = (2 * (3 - 1) * 1.68 / 3 + 22 * (2 - 1) * 1.18 / 2) * 730 / 24
OVERSUBSCRIPTION = (0.03125 * 16 + 0.01125 * 8) / 24 * 730


def test_the_page_ranks_the_levers_with_their_evidence(clients):
    page = clients["admin"].get(f"/optimise/?{P}")
    assert page.status_code == 200
    text = page.content.decode()
    assert f"{PACKING + OVERSUBSCRIPTION:,.2f}" in text  # the total
    assert (
        "Node packing" in text and "Reclaimable capacity" in text and 'data-chart="chart-packing-1"' in text
    )
    lines = clients["admin"].get(f"/optimise/?{P}&_export=csv&_table=savings").content.decode("utf-8-sig")
    rows = lines.strip().splitlines()
    assert rows[1].startswith("Remove surplus nodes,general,prod,") and f"{PACKING:.2f}" in rows[1]
    assert (
        rows[2].startswith("Oversubscribe to batch work,general,prod,")
        and f"{OVERSUBSCRIPTION:.2f}" in rows[2]
    )
    # A department viewer has no workload here with a saving, and never sees a node pool's levers.
    mine = clients["payments"].get(f"/optimise/?{P}").content.decode()
    assert "Node packing" not in mine and "general" not in mine


def test_the_api_gives_the_rows_the_total_and_the_counting_order(clients):
    body = clients["admin"].get("/api/v1/opportunities/?start=2025-03-10&end=2025-03-11").json()
    assert body["count"] == 2 and body["total"] == round(PACKING + OVERSUBSCRIPTION, 2)
    assert body["order"] == ["rightsize", "packing", "cronhpa", "oversubscription", "pay_per_use"]
    assert body["overlaps"]["packing"] == ["rightsize"]
    first = body["results"][0]
    assert (first["lever"], first["subject"], first["pool"]) == ("packing", "general", "general")
    assert first["monthly_saving"] == round(PACKING, 2) and first["figures"]["needed_peak"] == 1
    assert body["by_lever"][0] == {
        "lever": "packing",
        "counted": round(PACKING, 2),
        "own": round(PACKING, 2),
        "rows": 1,
    }
    mine = clients["payments"].get("/api/v1/opportunities/?start=2025-03-10&end=2025-03-11").json()
    assert mine["count"] == 0 and mine["total"] == 0
