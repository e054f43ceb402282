"""Alert channels' webhook URLs (and e-mail lists) encrypted at rest, and the signing secret of signed bots."""

from django.db import migrations

import costing.secrets
from costing.secrets import decrypt, encrypt, is_encrypted

FIELD = "costing.AlertChannel.target"


def _rows(apps, schema_editor):
    # The column as stored, whatever field class the model in hand declares: read through the ORM of the
    # historical model, whose target is a plain TextField before the AlterField below.
    model = apps.get_model("costing", "AlertChannel")
    return model, list(model.objects.using(schema_editor.connection.alias).values_list("pk", "target"))


def encrypt_plaintext(apps, schema_editor):
    """Encrypt every target not yet encrypted; a Fernet token is left alone."""
    model, rows = _rows(apps, schema_editor)
    for pk, value in rows:
        if value and not is_encrypted(value):
            model.objects.filter(pk=pk).update(target=encrypt(value))


def decrypt_to_plaintext(apps, schema_editor):
    model, rows = _rows(apps, schema_editor)
    for pk, value in rows:
        if value and is_encrypted(value):
            model.objects.filter(pk=pk).update(target=decrypt(value, field=FIELD))


class Migration(migrations.Migration):
    dependencies = [
        ("costing", "0021_policy_rightsizing"),
    ]

    operations = [
        migrations.RunPython(encrypt_plaintext, decrypt_to_plaintext),
        migrations.AlterField(
            model_name="alertchannel",
            name="target",
            field=costing.secrets.EncryptedTextField(),
        ),
        migrations.AddField(
            model_name="alertchannel",
            name="secret",
            field=costing.secrets.EncryptedTextField(blank=True, default=""),
        ),
    ]
