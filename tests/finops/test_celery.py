"""The Celery app routes every task to its queue: sampling, billing and compute apart, the rest to default."""

from __future__ import annotations

import pytest
from django.conf import settings
from django_celery_beat.schedulers import ModelEntry

from costing.choices import ConnectionType
from costing.collectors.sampling import sync_sampling_schedule
from costing.models import Cluster
from finops import devstack
from finops.celery import app

# Every task the product registers, by hand: a new task fails here until someone decides its queue.
QUEUE_OF = {
    "costing.sample_cluster": "sampling",
    "costing.sweep_missed_slots": "sampling",
    "costing.import_bill": "billing",
    "costing.recompute_day": "compute",
    "costing.compute_cluster_day": "compute",
    "costing.evaluate_alerts": "compute",
    "costing.recompute_dirty_days": "compute",
    "costing.fold_minutes": "compute",
    "costing.prune_results": "default",
    "costing.ensure_partitions": "default",
    "costing.prune_usage": "default",
    "costing.worker_heartbeat": "default",
    "reports.build_export": "default",
    "reports.close_period": "default",
    "reports.run_schedule": "default",
}


def registered() -> set[str]:
    app.loader.import_default_modules()
    return set(app.tasks)


def queue_of(name: str, **options) -> str:
    return app.amqp.router.route(options, name)["queue"].name


def test_every_product_task_is_in_the_table_and_nothing_else():
    assert {name for name in registered() if not name.startswith("celery.")} == set(QUEUE_OF)


@pytest.mark.parametrize(("name", "queue"), sorted(QUEUE_OF.items()))
def test_each_task_resolves_to_its_queue(name, queue):
    assert queue_of(name) == queue


def test_celery_own_tasks_go_to_default_not_to_an_unnamed_queue():
    builtins = sorted(name for name in registered() if name.startswith("celery."))
    assert builtins  # chord_unlock, backend_cleanup, ...
    assert {name: queue_of(name) for name in builtins} == dict.fromkeys(builtins, "default")


def test_the_routes_name_only_declared_queues_and_every_queue_is_used():
    assert set(QUEUE_OF.values()) == set(settings.FINOPS_QUEUES)
    assert {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} <= set(settings.FINOPS_QUEUES)
    assert app.conf.task_default_queue == "default"


def test_an_explicit_queue_still_wins_over_the_route():
    # tests/workers.py and reports.run_schedule send to a queue of their choosing.
    assert queue_of("costing.worker_heartbeat", queue="test-abc") == "test-abc"
    assert queue_of("costing.recompute_day", queue="test-abc") == "test-abc"


def test_make_run_worker_consumes_every_queue():
    assert set(devstack.WORKER_QUEUES) == set(settings.FINOPS_QUEUES)


@pytest.mark.django_db
def test_a_cluster_sampling_schedule_is_sent_to_the_sampling_queue():
    cluster = Cluster.objects.create(name="routed", connection_type=ConnectionType.SIMULATOR)
    entry = ModelEntry(sync_sampling_schedule(cluster), app=app)
    assert "queue" not in entry.options  # beat adds no queue of its own: the route decides
    assert queue_of(entry.task, **entry.options) == "sampling"
