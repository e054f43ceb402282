"""The Data quality page's query over the scenario's stored days."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from costing.choices import SampleSource, SampleStatus
from costing.models import ClusterDay, SampleSlot, WorkerHeartbeat
from reports.queries.quality import data_quality
from tests.reports.queries.conftest import DAY, NEXT_DAY, ON_DAY

pytestmark = pytest.mark.django_db


def test_data_quality_gaps_coverage_estimated_and_dirty_days(computed):
    # Two half-hours lost to the API server, one to the network.
    for hour, reason in ((5, "API server timed out"), (7, "API server timed out"), (9, "no route to host")):
        SampleSlot.objects.create(
            cluster=computed["cluster"],
            slot=datetime(2025, 3, 10, hour, 30, tzinfo=UTC),
            interval=1800,
            status=SampleStatus.GAP,
            source=SampleSource.COLLECTOR,
            reason=reason,
        )
    WorkerHeartbeat.objects.create(hostname="worker-1", seen_at=datetime(2020, 1, 1, tzinfo=UTC))
    ClusterDay.objects.filter(day=NEXT_DAY.start).update(dirty=True)

    got = data_quality(ON_DAY, None, datetime.combine(DAY, time.max, UTC))

    assert [(r["reason"], r["count"], r["seconds"]) for r in got["gap_reasons"]] == [
        ("API server timed out", 2, 3600),
        ("no route to host", 1, 1800),
    ]
    assert [g["slot"].hour for g in got["gaps"]] == [9, 7, 5]  # the latest first
    (day,) = got["days"]
    # 23.5 of 24 hours sampled; n2's 4.32 of the 32.92 estimated from the price sheet.
    assert day["coverage"] == pytest.approx(23.5 / 24) and got["low_coverage"] == [day]
    assert got["estimated_days"] == [day] and day["estimated_share"] == pytest.approx(4.32 / 32.92)
    # Dirty days are counted whatever the period.
    assert got["dirty_count"] == 1 and [d["day"] for d in got["dirty"]] == [NEXT_DAY.start]
    (worker,) = got["workers"]
    assert worker["hostname"] == "worker-1" and worker["stale"]


def test_data_quality_counts_the_running_day_so_far(computed):
    # At noon of the day, its 23.5 sampled hours are more than the 12 that have passed.
    got = data_quality(ON_DAY, computed["cluster"].pk, datetime(2025, 3, 10, 12, tzinfo=UTC))
    assert got["days"][0]["coverage"] == 1.0 and got["low_coverage"] == []
    assert got["workers"] == [] and got["dirty_count"] == 0
