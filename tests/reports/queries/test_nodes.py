"""The Node pool and Node pages' queries over the scenario's stored day."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from reports.queries.nodes import node_breakdown, pool_nodes
from tests.reports.queries.conftest import DAY, ON_DAY

pytestmark = pytest.mark.django_db
D = Decimal


def test_pool_nodes_split_into_pods_and_idle(computed):
    pool = computed["nodes"]["n1"].node_pool
    got = pool_nodes(ON_DAY, computed["cluster"].pk, pool.pk)
    nodes = {n["node__name"]: n for n in got["nodes"]}
    # n1 24.00 = pods 12.75 + idle 11.25; n2 4.32 = 2.43 + 1.89; n3, never sampled, all idle.
    assert {name: (n["cost"], n["pods"], n["idle_part"]) for name, n in nodes.items()} == {
        "n1": (D("24.00"), D("12.75"), D("11.25")),
        "n2": (D("4.32"), D("2.43"), D("1.89")),
        "n3": (D("1.00"), D("0.00"), D("1.00")),
    }
    assert got["total"] == D("29.32") and nodes["n3"]["hours_unsampled"] == 2


def test_node_breakdown_days_and_the_hours_of_a_day(computed, settings):
    n1 = computed["nodes"]["n1"]
    got = node_breakdown(n1.pk, ON_DAY, DAY)
    (day,) = got["days"]
    assert (day["cost"], day["pods"], day["idle_part"]) == (D("24.00"), D("12.75"), D("11.25"))
    assert got["total"] == D("24.00") and len(got["hours"]) == 24
    # 1.00 an hour, half to CPU over 4 cores, half to memory over 16 GiB.
    assert (got["hours"][4]["cpu_price"], got["hours"][4]["mem_price"]) == pytest.approx((0.125, 0.03125))
    assert got["cutoff"] == timezone.now().date() - timedelta(days=settings.FINOPS_HOURLY_RETENTION_DAYS)
    assert node_breakdown(n1.pk, ON_DAY)["hours"] == []
