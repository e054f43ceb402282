"""`manage.py recompute --workers` sends the period's cluster-days to the compute queue instead of computing."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from costing.models import ClusterDay, PodCostDay
from tests.costing import scenario
from tests.costing.scenario import DAY

pytestmark = pytest.mark.django_db


def test_workers_sends_one_task_per_cluster_day_and_computes_nothing_here(django_capture_on_commit_callbacks):
    scenario.build()
    out = StringIO()
    end = DAY + timedelta(days=3)
    with django_capture_on_commit_callbacks() as callbacks:
        call_command(
            "recompute", "--start", DAY.isoformat(), "--end", end.isoformat(), "--workers", stdout=out
        )
    # The scenario has data on its day and the next (the control plane's second half).
    assert out.getvalue() == "sent 2 cluster-day(s) to the compute queue\n"
    assert [c.__qualname__ for c in callbacks].count("fan_out.<locals>.<lambda>") == 2
    assert sorted(ClusterDay.objects.filter(queued_at__isnull=False).values_list("day", flat=True)) == [
        DAY,
        DAY + timedelta(days=1),
    ]
    assert not PodCostDay.objects.exists()
