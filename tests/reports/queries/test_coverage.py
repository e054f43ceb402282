"""reports.queries.coverage: the whole period counts, days never collected are not sampled, today is in progress."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from costing.choices import ConnectionType
from costing.models import Cluster, ClusterDay
from reports.periods import compared_period, parse_period
from reports.queries.coverage import comparable, comparison_note, coverages

pytestmark = pytest.mark.django_db


def _days(cluster, first: date, count: int, coverage: float = 1.0, dirty: bool = False):
    ClusterDay.objects.bulk_create(
        ClusterDay(cluster=cluster, day=first + timedelta(days=i), coverage=coverage, dirty=dirty)
        for i in range(count)
    )


@pytest.fixture
def cluster():
    return Cluster.objects.create(name="prod", connection_type=ConnectionType.SIMULATOR)


def test_a_year_with_a_month_of_data_is_not_covered(cluster):
    # October 2026 fully sampled, nothing else: the year, as of the end of 31 December, is 31 of 365 days.
    _days(cluster, date(2026, 10, 1), 31)
    year, october = parse_period("2026"), parse_period("2026-10")
    (c, o) = coverages([year, october], [cluster.pk], datetime(2027, 1, 1, tzinfo=UTC))
    assert c.collected_days == 31 and c.elapsed_days == 365
    assert c.sampled == pytest.approx(31 / 365)  # 8.5 %, not the 100 % of the days that have rows
    assert c.started == date(2026, 10, 1) and c.note == "2026: 31 of 365 days collected"
    assert o.sampled == pytest.approx(1.0) and o.complete and o.started is None


def test_a_computed_day_without_samples_is_not_collected(cluster):
    _days(cluster, date(2026, 10, 1), 2)
    _days(cluster, date(2026, 10, 3), 29, coverage=0.0)  # rows exist (a recompute ran), nothing sampled
    (c,) = coverages([parse_period("2026-10")], [cluster.pk], datetime(2026, 12, 1, tzinfo=UTC))
    assert c.collected_days == 2 and c.sampled == pytest.approx(2 / 31) and not c.complete
    assert c.note == "October 2026: 2 of 31 days collected"


def test_today_is_in_progress_not_missing(cluster):
    # Today 2026-11-29 at 18:00 with 18 hours sampled (0.75 of its 24 hours); the 28 days before full.
    _days(cluster, date(2026, 11, 1), 28)
    ClusterDay.objects.create(cluster=cluster, day=date(2026, 11, 29), coverage=0.75)
    now = datetime(2026, 11, 29, 18, tzinfo=UTC)
    (month, day) = coverages([parse_period("2026-11"), parse_period("2026-11-29")], [cluster.pk], now)
    assert day.sampled == pytest.approx(1.0) and day.in_progress_hours == 6
    assert month.sampled == pytest.approx(1.0) and month.elapsed_days == 29 and month.in_progress_hours == 6
    assert not month.complete  # the 30th is still to come


def test_clusters_count_evenly_and_dirty_days_are_pending(cluster):
    other = Cluster.objects.create(name="dev", connection_type=ConnectionType.SIMULATOR)
    _days(cluster, date(2026, 10, 1), 31)
    _days(other, date(2026, 10, 1), 10, dirty=True)  # dev: 10 of 31 days, all waiting for a recompute
    (c,) = coverages([parse_period("2026-10")], [cluster.pk, other.pk], datetime(2026, 12, 1, tzinfo=UTC))
    assert c.per_cluster == {cluster.pk: pytest.approx(1.0), other.pk: pytest.approx(10 / 31)}
    assert c.sampled == pytest.approx((1 + 10 / 31) / 2) and c.pending_days == 10
    assert c.started is None and c.started_by_cluster == {}  # dev began on the 1st too


def test_a_cluster_that_started_late_says_so(cluster):
    other = Cluster.objects.create(name="dev", connection_type=ConnectionType.SIMULATOR)
    _days(cluster, date(2026, 10, 1), 31)
    _days(other, date(2026, 10, 22), 10)  # dev's collection began on the 22nd
    (c,) = coverages([parse_period("2026-10")], [cluster.pk, other.pk], datetime(2026, 12, 1, tzinfo=UTC))
    assert c.collected_days == 31 and c.per_cluster[other.pk] == pytest.approx(10 / 31)
    assert c.started is None and c.started_by_cluster == {"dev": date(2026, 10, 22)}


def test_comparable_only_with_a_complete_previous_period(cluster):
    _days(cluster, date(2026, 10, 30), 2)  # October: 2 of 31 days
    _days(cluster, date(2026, 11, 1), 30)
    now = datetime(2026, 12, 5, tzinfo=UTC)
    october, november = coverages([parse_period("2026-10"), parse_period("2026-11")], [cluster.pk], now)
    assert not comparable(november, october)
    (december,) = coverages([parse_period("2026-12")], [cluster.pk], now)
    assert comparable(december, november)
    assert comparison_note(december, november) == ""
    assert comparison_note(november, october) == (
        "October 2026: 2 of 31 days collected, against 30 in November 2026"
    )


def test_a_running_month_is_comparable_with_the_same_days_before(cluster):
    # October fully collected; November collected so far, 29 of its days begun (today the 29th at 18:00).
    _days(cluster, date(2026, 10, 1), 31)
    _days(cluster, date(2026, 11, 1), 29)
    now = datetime(2026, 11, 29, 18, tzinfo=UTC)
    november = parse_period("2026-11")
    span = compared_period(november, now.date())
    current, previous = coverages([november, span], [cluster.pk], now)
    assert previous.period.key == "2026-10-01..2026-10-30" and previous.complete
    assert comparable(current, previous) and comparison_note(current, previous) == ""


def test_the_running_day_alone_is_not_comparable_with_a_whole_day(cluster):
    # The 29th at 06:00: six hours so far against the whole 28th, both fully sampled.
    _days(cluster, date(2026, 11, 28), 2)
    now = datetime(2026, 11, 29, 6, tzinfo=UTC)
    today, yesterday = coverages([parse_period("2026-11-29"), parse_period("2026-11-28")], [cluster.pk], now)
    assert yesterday.complete and not comparable(today, yesterday)
    assert comparison_note(today, yesterday) == (
        "2026-11-29 (Sunday) is in progress (18 h to come), against the whole of 2026-11-28 (Saturday)"
    )
    # At the day's end it compares.
    end = datetime(2026, 11, 29, 23, 59, 59, 999999, tzinfo=UTC)
    today, yesterday = coverages([parse_period("2026-11-29"), parse_period("2026-11-28")], [cluster.pk], end)
    assert comparable(today, yesterday)
