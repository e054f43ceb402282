"""Register the daily pruning of old slot and hourly usage rows with Celery beat; schedule existing clusters."""

import json

from django.db import migrations

TASK = "costing.prune_usage"
SAMPLE_TASK = "costing.sample_cluster"


def register(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    Cluster = apps.get_model("costing", "Cluster")
    daily = IntervalSchedule.objects.filter(every=1, period="days").order_by("pk").first()
    daily = daily or IntervalSchedule.objects.create(every=1, period="days")
    PeriodicTask.objects.update_or_create(
        name="Prune usage", defaults={"task": TASK, "interval": daily, "enabled": True}
    )
    # Clusters made before sampling was scheduled (costing.collectors.sampling.sync_sampling_schedule).
    for cluster in Cluster.objects.all():
        every = cluster.sampling_interval
        schedule = IntervalSchedule.objects.filter(every=every, period="seconds").order_by("pk").first()
        schedule = schedule or IntervalSchedule.objects.create(every=every, period="seconds")
        PeriodicTask.objects.update_or_create(
            name=f"Sample cluster {cluster.pk}",
            defaults={
                "task": SAMPLE_TASK,
                "interval": schedule,
                "args": json.dumps([cluster.pk]),
                "enabled": cluster.enabled,
                "expire_seconds": every,
                "description": f"Samples cluster {cluster.name} every {every} s.",
            },
        )


def unregister(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task__in=[TASK, SAMPLE_TASK]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("costing", "0003_podhour_node"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(register, unregister)]
