"""Staged minutes of the live path (PodMinute, ContainerMinute, NodeMinute) and the beat task that folds them
into their hours (costing.fold_minutes, every 5 minutes)."""

import django.db.models.deletion
from django.db import migrations, models

FOLD_TASK = "costing.fold_minutes"


def register_fold(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every = IntervalSchedule.objects.filter(every=300, period="seconds").order_by("pk").first()
    every = every or IntervalSchedule.objects.create(every=300, period="seconds")
    PeriodicTask.objects.update_or_create(
        name="Fold staged minutes into closed hours",
        defaults={"task": FOLD_TASK, "interval": every, "enabled": True},
    )


def unregister_fold(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=FOLD_TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("costing", "0033_container_days"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="ContainerMinute",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "cpu_request_core_hours",
                    models.FloatField(default=0, verbose_name="CPU request core hours"),
                ),
                ("cpu_usage_core_hours", models.FloatField(default=0, verbose_name="CPU usage core hours")),
                (
                    "cpu_billable_core_hours",
                    models.FloatField(default=0, verbose_name="CPU billable core hours"),
                ),
                (
                    "mem_request_gib_hours",
                    models.FloatField(default=0, verbose_name="memory request GiB hours"),
                ),
                ("mem_usage_gib_hours", models.FloatField(default=0, verbose_name="memory usage GiB hours")),
                (
                    "mem_billable_gib_hours",
                    models.FloatField(default=0, verbose_name="memory billable GiB hours"),
                ),
                ("hour", models.DateTimeField(verbose_name="hour")),
                ("slot", models.DateTimeField(verbose_name="slot")),
                ("samples", models.PositiveIntegerField(default=0, verbose_name="samples")),
                ("container", models.CharField(max_length=63, verbose_name="container")),
                ("init", models.BooleanField(default=False, verbose_name="init")),
                (
                    "samples_without_metrics",
                    models.PositiveIntegerField(default=0, verbose_name="samples without metrics"),
                ),
                ("seconds", models.PositiveIntegerField(default=0, verbose_name="seconds")),
                ("cpu_limit_core_hours", models.FloatField(default=0, verbose_name="CPU limit core hours")),
                ("mem_limit_gib_hours", models.FloatField(default=0, verbose_name="memory limit GiB hours")),
                ("cpu_usage_max_cores", models.FloatField(default=0, verbose_name="CPU usage max cores")),
                ("mem_usage_max_bytes", models.FloatField(default=0, verbose_name="memory usage max bytes")),
                ("cpu_bucket", models.IntegerField(null=True, verbose_name="CPU bucket")),
                ("mem_bucket", models.IntegerField(null=True, verbose_name="memory bucket")),
                (
                    "cluster",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="costing.cluster",
                        verbose_name="cluster",
                    ),
                ),
                (
                    "node",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="costing.node",
                        verbose_name="node",
                    ),
                ),
                (
                    "pod",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="costing.pod",
                        verbose_name="pod",
                    ),
                ),
            ],
            options={
                "verbose_name": "container minute",
                "verbose_name_plural": "container minutes",
                "indexes": [models.Index(fields=["cluster", "hour"], name="containerminute_cluster_hour")],
            },
        ),
        migrations.CreateModel(
            name="NodeMinute",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("hour", models.DateTimeField(verbose_name="hour")),
                ("slot", models.DateTimeField(verbose_name="slot")),
                ("samples", models.PositiveIntegerField(default=0, verbose_name="samples")),
                (
                    "cpu_capacity_core_hours",
                    models.FloatField(default=0, verbose_name="CPU capacity core hours"),
                ),
                (
                    "mem_capacity_gib_hours",
                    models.FloatField(default=0, verbose_name="memory capacity GiB hours"),
                ),
                ("gpu_capacity_hours", models.FloatField(default=0, verbose_name="GPU capacity hours")),
                (
                    "cluster",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="costing.cluster",
                        verbose_name="cluster",
                    ),
                ),
                (
                    "node",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="costing.node",
                        verbose_name="node",
                    ),
                ),
            ],
            options={
                "verbose_name": "node minute",
                "verbose_name_plural": "node minutes",
                "indexes": [models.Index(fields=["cluster", "hour"], name="nodeminute_cluster_hour")],
            },
        ),
        migrations.CreateModel(
            name="PodMinute",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "cpu_request_core_hours",
                    models.FloatField(default=0, verbose_name="CPU request core hours"),
                ),
                ("cpu_usage_core_hours", models.FloatField(default=0, verbose_name="CPU usage core hours")),
                (
                    "cpu_billable_core_hours",
                    models.FloatField(default=0, verbose_name="CPU billable core hours"),
                ),
                (
                    "mem_request_gib_hours",
                    models.FloatField(default=0, verbose_name="memory request GiB hours"),
                ),
                ("mem_usage_gib_hours", models.FloatField(default=0, verbose_name="memory usage GiB hours")),
                (
                    "mem_billable_gib_hours",
                    models.FloatField(default=0, verbose_name="memory billable GiB hours"),
                ),
                (
                    "gpu_request_hours",
                    models.FloatField(db_default=0, default=0, verbose_name="GPU request hours"),
                ),
                (
                    "gpu_usage_hours",
                    models.FloatField(db_default=0, default=0, verbose_name="GPU usage hours"),
                ),
                (
                    "gpu_billable_hours",
                    models.FloatField(db_default=0, default=0, verbose_name="GPU billable hours"),
                ),
                ("hour", models.DateTimeField(verbose_name="hour")),
                ("slot", models.DateTimeField(verbose_name="slot")),
                ("samples", models.PositiveIntegerField(default=0, verbose_name="samples")),
                (
                    "samples_without_metrics",
                    models.PositiveIntegerField(default=0, verbose_name="samples without metrics"),
                ),
                (
                    "cluster",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="costing.cluster",
                        verbose_name="cluster",
                    ),
                ),
                (
                    "node",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="costing.node",
                        verbose_name="node",
                    ),
                ),
                (
                    "pod",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="costing.pod",
                        verbose_name="pod",
                    ),
                ),
            ],
            options={
                "verbose_name": "pod minute",
                "verbose_name_plural": "pod minutes",
                "indexes": [models.Index(fields=["cluster", "hour"], name="podminute_cluster_hour")],
            },
        ),
        migrations.RunPython(register_fold, unregister_fold),
    ]
