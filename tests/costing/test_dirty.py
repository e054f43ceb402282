from datetime import date

import pytest

from costing.choices import ConnectionType
from costing.dirty import mark_days_dirty
from costing.models import Cluster, ClusterDay


@pytest.mark.django_db
def test_marks_existing_clean_days_and_creates_missing_ones():
    a = Cluster.objects.create(name="a", connection_type=ConnectionType.SIMULATOR)
    b = Cluster.objects.create(name="b", connection_type=ConnectionType.SIMULATOR)
    ClusterDay.objects.create(cluster=a, day=date(2026, 10, 1), dirty=False)
    ClusterDay.objects.create(cluster=a, day=date(2026, 10, 3), dirty=False)

    flagged = mark_days_dirty([a.pk, b.pk, a.pk], [date(2026, 10, 1), date(2026, 10, 2)])

    assert flagged == 4
    dirty = set(ClusterDay.objects.filter(dirty=True).values_list("cluster__name", "day"))
    assert dirty == {
        ("a", date(2026, 10, 1)),
        ("a", date(2026, 10, 2)),
        ("b", date(2026, 10, 1)),
        ("b", date(2026, 10, 2)),
    }
    assert ClusterDay.objects.get(cluster=a, day=date(2026, 10, 3)).dirty is False
    assert mark_days_dirty([], [date(2026, 10, 1)]) == 0
