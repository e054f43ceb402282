"""Register the recompute of dirty days (every 5 minutes) and the pruning of old results (daily) with beat."""

from django.db import migrations

TASKS = {
    "costing.recompute_dirty_days": ("Recompute dirty days", 300),
    "costing.prune_results": ("Prune old results", 86400),
}


def register(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for task, (name, seconds) in TASKS.items():
        every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "interval": every, "enabled": True}
        )


def unregister(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task__in=list(TASKS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("costing", "0005_result_versions_and_policy_order"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(register, unregister)]
