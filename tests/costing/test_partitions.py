"""Monthly partitions of pod-hours, node-hours and pod-days on PostgreSQL: same figures, inserts into any
month, retention by dropping whole months. SQLite keeps plain tables (these tests are skipped there)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from costing.compute import recompute_day
from costing.models import ClusterDay, DepartmentCostDay, NodeHour, PodCostDay, PodHour
from costing.partitions import PARTITIONED, default_name, ensure_partitions, months, partition_name
from costing.recording import prune_usage
from costing.tasks.compute import prune
from tests.costing import scenario
from tests.costing.scenario import DAY

pytestmark = pytest.mark.django_db

MARCH, APRIL = date(2025, 3, 1), date(2025, 4, 1)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite keeps plain tables: partitions are PostgreSQL's")


def rows(table: str) -> int:
    from psycopg import sql

    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        return cursor.fetchone()[0]


def figures() -> dict:
    return {
        "clusters": sorted(
            ClusterDay.objects.values_list(
                "day", "physical_cost", "workload_cost", "idle_cost", "overhead_cost"
            )
        ),
        "departments": sorted(DepartmentCostDay.objects.values_list("day", "name", "total")),
        "pods": sorted(PodCostDay.objects.values_list("pod__name", "day", "cost")),
    }


def test_the_tables_are_partitioned_by_month_with_every_constraint_and_index():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_partkeydef(c.oid) FROM pg_partitioned_table p "
            "JOIN pg_class c ON c.oid = p.partrelid"
        )
        keys = dict(cursor.fetchall())
        for model, key in PARTITIONED.items():
            table = model._meta.db_table
            assert keys[table] == f"RANGE ({key})"
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass",
                [table],
            )
            constraints = dict(cursor.fetchall())
            assert constraints[f"{table}_pkey"] == f"PRIMARY KEY (id, {key})"
            for unique in model._meta.constraints:
                assert key in constraints[unique.name]
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
            indexes = {name for (name,) in cursor.fetchall()}
            assert {index.name for index in model._meta.indexes} <= indexes
            # Every foreign key still has its index (Django's, by column).
            for field in model._meta.concrete_fields:
                if field.is_relation:
                    assert any(field.column in name for name in indexes), field.column
    assert months(PodHour)  # this month and the next ones, from the migration


def test_a_month_without_a_partition_takes_its_rows_and_they_move_to_their_own_partition():
    assert MARCH not in months(PodHour)
    scenario.build()  # 2025-03-10: no partition of its own yet
    assert rows(default_name(PodHour)) == 120 and rows(default_name(NodeHour)) == 48
    created = ensure_partitions(today=date(2025, 2, 15), ahead=0)
    assert partition_name(PodHour, MARCH) in created and partition_name(NodeHour, MARCH) in created
    assert partition_name(PodHour, date(2025, 2, 1)) in created  # "this" month, ahead of its rows
    assert rows(default_name(PodHour)) == 0 and rows(partition_name(PodHour, MARCH)) == 120
    assert PodHour.objects.filter(hour__gte=scenario.START).count() == 120
    assert ensure_partitions(today=date(2025, 2, 15), ahead=0) == []  # nothing twice


def test_the_partitioned_tables_give_the_scenario_figures_wherever_the_rows_are():
    scenario.build()
    recompute_day(DAY)
    in_default = figures()
    assert rows(default_name(PodCostDay)) == 5
    ensure_partitions(today=DAY)
    assert rows(default_name(PodCostDay)) == 0 and rows(partition_name(PodCostDay, MARCH)) == 5
    recompute_day(DAY)
    assert figures() == in_default
    day = ClusterDay.objects.get(day=DAY)
    # By hand in tests/costing/scenario.py.
    assert (day.physical_cost, day.workload_cost, day.idle_cost, day.overhead_cost) == (
        Decimal("32.92"),
        Decimal("15.18"),
        Decimal("14.14"),
        Decimal("3.60"),
    )
    assert sum(DepartmentCostDay.objects.values_list("total", flat=True)) == Decimal("32.92")


def test_retention_drops_a_whole_month_and_deletes_the_rows_of_a_month_partly_kept(settings):
    scenario.build()
    recompute_day(DAY)
    ensure_partitions(today=DAY, ahead=1)
    # A cutoff inside March: the month stays, its rows before the cutoff go one by one.
    deleted = prune_usage(now=datetime(2025, 3, 10, 12, tzinfo=UTC), retention_days=0)
    assert deleted["pod_hours"] == 0 and MARCH in months(PodHour)
    deleted = prune_usage(now=datetime(2025, 3, 31, tzinfo=UTC), retention_days=0)
    assert deleted["pod_hours"] == 120 and MARCH in months(PodHour)
    assert rows(partition_name(PodHour, MARCH)) == 0
    # From April 1st on, March is out of retention as a whole: its partitions are dropped.
    scenario_rows = scenario.build(scenario.START + timedelta(days=1), name="again", policy=None)
    assert scenario_rows["cluster"].pk and rows(partition_name(PodHour, MARCH)) == 120
    ClusterDay.objects.update(dirty=False)
    deleted = prune_usage(now=datetime(2025, 4, 2, 9, tzinfo=UTC), retention_days=1)
    assert deleted["pod_hours"] == 120 and deleted["node_hours"] == 48
    assert MARCH not in months(PodHour) and MARCH not in months(NodeHour) and APRIL in months(PodHour)
    # Pod-days: 25 months after April 1st, March's partition goes with its 5 rows.
    settings.FINOPS_DAILY_RETENTION_MONTHS = 25
    assert prune(date(2027, 4, 10))["PodCostDay"] == 0 and MARCH in months(PodCostDay)
    assert prune(date(2027, 5, 1))["PodCostDay"] == 5
    assert MARCH not in months(PodCostDay) and not PodCostDay.objects.exists()


def test_a_dirty_day_keeps_its_month():
    scenario.build()
    ensure_partitions(today=DAY, ahead=1)
    ClusterDay.objects.create(cluster_id=PodHour.objects.first().cluster_id, day=DAY, dirty=True)
    deleted = prune_usage(now=datetime(2025, 5, 2, tzinfo=UTC), retention_days=1)
    assert deleted["pod_hours"] == 0 and MARCH in months(PodHour)
