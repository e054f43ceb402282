"""cost_rows sums in SQL; its groups equal the row-by-row reading it replaced, for every grouping and filter."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from costing.compute import recompute_day
from costing.models import Cluster, ClusterDay
from costing.policy import DepartmentSpec
from costing.policy.store import save_spec
from reports.queries.costs import KEYS, _grouped, cost_rows
from tests.costing import scenario
from tests.costing.scenario import DAY
from tests.reports.reporting.reference_rows import reference_groups

pytestmark = pytest.mark.django_db
NEXT = DAY + timedelta(days=1)


@pytest.fixture
def two_clusters_and_a_policy_change():
    scenario.build()
    scenario.build(name="stage", policy=None)
    scenario.build(datetime.combine(NEXT, datetime.min.time(), UTC), name="later", policy=None)
    # From the next day on, "search" belongs to Payments: ownership is per day.
    moved = dataclasses.replace(
        scenario.POLICY,
        effective_from=NEXT,
        departments=[DepartmentSpec("Payments", namespaces=["payments", "checkout", "search"])],
    )
    save_spec(moved)
    for day in (DAY, NEXT, NEXT + timedelta(days=1)):
        recompute_day(day)


def cluster_days(start, end, cluster_id):
    qs = ClusterDay.objects.filter(day__gte=start, day__lt=end)
    if cluster_id is not None:
        qs = qs.filter(cluster_id=cluster_id)
    return pd.DataFrame.from_records(
        list(qs.values_list("cluster_id", "cluster__name", "day", "coverage")),
        columns=["cluster_id", "cluster", "day", "coverage"],
    )


def test_sql_groups_equal_the_row_by_row_groups(two_clusters_and_a_policy_change):
    for by in ("cluster", "node_pool", "node", "namespace", "workload", "label:team", "label:none"):
        for department in (None, "Payments", "Search"):
            for cluster in (None, "prod"):
                compare(by, department, cluster)


def compare(by, department, cluster):
    start, end = DAY, NEXT + timedelta(days=2)
    cluster_id = Cluster.objects.get(name=cluster).pk if cluster else None
    label = by.removeprefix("label:") if by.startswith("label:") else None
    keys = ["label"] if label is not None else KEYS[by]
    got = _grouped(by, label, keys, start, end, cluster_id, department)
    want = reference_groups(
        by, label, start, end, cluster_id, department, cluster_days(start, end, cluster_id)
    )
    assert len(want) > 0
    want = want.sort_values(keys, kind="stable").reset_index(drop=True)
    assert [tuple(r) for r in got[keys].itertuples(index=False)] == [
        tuple(r) for r in want[keys].itertuples(index=False)
    ]
    for cost in ("cpu_cost", "mem_cost", "cost", "estimated_cost"):
        assert got[cost].tolist() == [int(v) for v in want[cost]], cost
    for column in ("cpu_request_core_hours", "mem_usage_gib_hours", "coverage"):
        assert got[column].tolist() == pytest.approx(want[column].astype(float).tolist()), column


def test_department_rows_follow_the_owner_of_each_day(two_clusters_and_a_policy_change):
    # On DAY search (1.62 in prod and in stage) is Search's; on NEXT, in cluster "later", it is Payments'.
    period = (DAY, NEXT + timedelta(days=1))
    search = [
        (r["cluster"], r["namespace"], r["cost"])
        for r in cost_rows(*period, "namespace", department="Search")
    ]
    assert search == [
        ("prod", "search", Decimal("1.62")),
        ("stage", "search", Decimal("1.62")),
        ("Total", "", Decimal("3.24")),
    ]
    payments = cost_rows(*period, "namespace", department="Payments")
    assert ("later", "search") in {(r["cluster"], r["namespace"]) for r in payments}
