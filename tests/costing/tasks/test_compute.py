from datetime import date, timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from costing.dirty import mark_days_dirty
from costing.models import ClusterDay, DepartmentCostDay, NodeCostDay, NodeCostHour, PodCostDay
from costing.tasks.compute import months_before, prune, recompute_day, recompute_dirty_days
from tests.costing import scenario
from tests.costing.scenario import DAY

pytestmark = pytest.mark.django_db


def test_dirty_days_are_computed_oldest_first_in_bounded_batches():
    objects = scenario.build()
    days = [DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)]
    mark_days_dirty([objects["cluster"].pk], days)
    assert recompute_dirty_days(batch=2) == 2
    assert list(ClusterDay.objects.filter(dirty=True).values_list("day", flat=True)) == [days[2]]
    assert ClusterDay.objects.get(day=DAY).physical_cost == scenario.Decimal("32.92")
    assert recompute_dirty_days() == 1 and recompute_dirty_days() == 0
    assert not ClusterDay.objects.filter(dirty=True).exists()
    # Queued after a change, it takes several batches in one go.
    mark_days_dirty([objects["cluster"].pk], days)
    assert recompute_dirty_days(batch=1, rounds=5) == 3


def test_recompute_day_task_and_pruning(settings):
    scenario.build()
    assert recompute_day(DAY.isoformat()) == 1
    settings.FINOPS_HOURLY_RETENTION_DAYS = 90
    settings.FINOPS_DAILY_RETENTION_MONTHS = 25
    # 90 days after the day, hourly rows are still kept; one day later they go, daily rows stay.
    assert prune(DAY + timedelta(days=90))["NodeCostHour"] == 0
    assert prune(DAY + timedelta(days=91))["NodeCostHour"] == 50 and not NodeCostHour.objects.exists()
    assert PodCostDay.objects.exists() and NodeCostDay.objects.exists()
    # 25 months after 2025-03-10 is 2027-04-10: daily rows of 2025-03-10 are kept until then.
    assert prune(date(2027, 4, 10))["ClusterDay"] == 0
    deleted = prune(date(2027, 4, 11))
    assert deleted["ClusterDay"] == 1 and deleted["PodCostDay"] == 5
    assert not DepartmentCostDay.objects.exists()


def test_months_before():
    assert months_before(date(2027, 4, 10), 25) == date(2025, 3, 10)
    assert months_before(date(2025, 3, 31), 1) == date(2025, 2, 28)
    assert months_before(date(2024, 1, 15), 13) == date(2022, 12, 15)


def test_beat_schedule_is_registered_by_migration():
    tasks = dict(PeriodicTask.objects.values_list("task", "interval__every"))
    assert tasks["costing.recompute_dirty_days"] == 300 and tasks["costing.prune_results"] == 86400
    assert tasks["costing.fold_minutes"] == 300  # the staged minutes of closed hours (costing/folding.py)
