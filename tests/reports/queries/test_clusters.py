"""The Cluster page's query over the scenario's stored days."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reports.queries.clusters import cluster_pools
from tests.reports.queries.conftest import NEXT_DAY, ON_DAY

pytestmark = pytest.mark.django_db
D = Decimal


def test_cluster_pools_and_overhead_add_up_to_the_physical_cost(computed):
    got = cluster_pools(ON_DAY, computed["cluster"].pk)
    (general,) = got["pools"]
    # Nodes cost 24 + 4.32 + 1 = 29.32: pods paid 15.18, idle 14.14; plus overhead 3.60 = 32.92.
    assert (general["node_pool__name"], general["cost"], general["pods"], general["idle_part"]) == (
        "general",
        D("29.32"),
        D("15.18"),
        D("14.14"),
    )
    assert general["idle_share"] == pytest.approx(14.14 / 29.32)
    assert (got["overhead"], got["total"]) == (D("3.60"), D("32.92"))
    assert got["summary"]["physical_cost"] == D("32.92") and got["summary"]["estimated_cost"] == D("4.32")


def test_cluster_pools_of_a_day_with_overhead_only(computed):
    # The next day: the second half of the control plane line, no node cost.
    got = cluster_pools(NEXT_DAY, computed["cluster"].pk)
    assert got["pools"] == [] and (got["overhead"], got["total"]) == (D("2.40"), D("2.40"))
    assert got["summary"]["physical_cost"] == D("2.40") and got["summary"]["coverage"] == 0.0
