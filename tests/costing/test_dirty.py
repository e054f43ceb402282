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


@pytest.mark.django_db
def test_a_mark_queues_its_recompute_once_committed(monkeypatch, django_capture_on_commit_callbacks):
    from django.core.cache import cache

    from costing.dirty import QUEUED_KEY, QUEUED_ROUNDS
    from costing.tasks.compute import recompute_dirty_days

    sent = []
    monkeypatch.setattr(recompute_dirty_days, "apply_async", lambda **kw: sent.append(kw))
    cache.delete(QUEUED_KEY)
    a = Cluster.objects.create(name="a", connection_type=ConnectionType.SIMULATOR)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        mark_days_dirty([a.pk], [date(2026, 10, 1)])
        mark_days_dirty([a.pk], [date(2026, 10, 2)])
        assert sent == []  # nothing before the commit: a worker would not see the marks yet
    assert len(callbacks) == 2
    # Two marks in a row share one task, which takes every dirty day (up to QUEUED_ROUNDS batches).
    assert sent == [{"kwargs": {"rounds": QUEUED_ROUNDS}, "retry": False}]
    cache.delete(QUEUED_KEY)


@pytest.mark.django_db
def test_an_unreachable_broker_leaves_the_day_to_the_sweep(monkeypatch, caplog):
    from django.core.cache import cache
    from kombu.exceptions import OperationalError

    from costing.dirty import QUEUED_KEY, queue_recompute
    from costing.tasks.compute import recompute_dirty_days

    def refuse(**kw):
        raise OperationalError("connection refused")

    monkeypatch.setattr(recompute_dirty_days, "apply_async", refuse)
    cache.delete(QUEUED_KEY)
    assert queue_recompute() is False and "the sweep will" in caplog.text
    assert cache.get(QUEUED_KEY) is None  # the next mark tries again


@pytest.mark.django_db
def test_sampling_marks_the_running_day_without_queuing_and_an_import_queues(
    monkeypatch, django_capture_on_commit_callbacks
):
    from datetime import UTC, datetime

    from django.core.cache import cache

    from costing.choices import SampleSource
    from costing.collectors.sampling import give_up
    from costing.dirty import QUEUED_KEY
    from costing.recording import record_gap
    from costing.tasks.compute import recompute_dirty_days

    sent = []
    monkeypatch.setattr(recompute_dirty_days, "apply_async", lambda **kw: sent.append(kw))
    cache.delete(QUEUED_KEY)
    a = Cluster.objects.create(name="a", connection_type=ConnectionType.SIMULATOR)
    slot = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        assert give_up(a.pk, slot, "not sampled: test")  # the live path's gap
    # Marked, not queued: every minute of every cluster would otherwise recompute its day.
    assert ClusterDay.objects.get(cluster=a, day=date(2026, 10, 1)).dirty and sent == []
    with django_capture_on_commit_callbacks(execute=True):
        record_gap(a, slot.replace(hour=11), interval=60, source=SampleSource.IMPORT, reason="imported")
    assert len(sent) == 1
    cache.delete(QUEUED_KEY)
