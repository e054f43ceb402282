"""Register the sweep of missed sampling slots (every 5 minutes) with beat.

Existing sampling schedules get a start time of now: the sweep expects slots from there on, and does
not report the time before the upgrade (when a cluster may have been paused) as lost.
"""

from django.db import migrations
from django.utils import timezone

TASK = "costing.sweep_missed_slots"
SAMPLE_TASK = "costing.sample_cluster"


def register(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=300, period="seconds")
    PeriodicTask.objects.update_or_create(
        name="Sweep missed sampling slots", defaults={"task": TASK, "interval": every, "enabled": True}
    )
    PeriodicTask.objects.filter(task=SAMPLE_TASK, start_time__isnull=True).update(start_time=timezone.now())


def unregister(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("costing", "0010_sso"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(register, unregister)]
