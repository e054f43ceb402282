# PodHour gains the node it ran on (the engine prices per node-hour); existing rows take their pod's node.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("costing", "0002_heartbeat_schedule"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="podhour",
            name="podhour_unique_hour",
        ),
        migrations.AddField(
            model_name="podhour",
            name="node",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="pod_hours",
                to="costing.node",
            ),
        ),
        migrations.RunSQL(
            "UPDATE costing_podhour SET node_id = "
            "(SELECT node_id FROM costing_pod WHERE costing_pod.id = costing_podhour.pod_id)",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="podhour",
            name="node",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="pod_hours", to="costing.node"
            ),
        ),
        migrations.AddConstraint(
            model_name="podhour",
            constraint=models.UniqueConstraint(fields=("pod", "node", "hour"), name="podhour_unique_hour"),
        ),
    ]
