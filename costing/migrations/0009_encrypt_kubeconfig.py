"""Cluster kubeconfigs encrypted at rest: existing plain-text rows are encrypted in place."""

from django.db import migrations

import costing.secrets
from costing.secrets import decrypt, encrypt, is_encrypted


def _rows(apps, schema_editor):
    # Raw SQL: the column is read as stored, whatever field class the model in hand declares.
    connection = schema_editor.connection
    table = connection.ops.quote_name(apps.get_model("costing", "Cluster")._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, kubeconfig FROM {table}")  # noqa: S608 (a quoted model table name)
        rows = cursor.fetchall()
    return connection, table, rows


def _update(connection, table, changes):
    with connection.cursor() as cursor:
        for pk, value in changes:
            cursor.execute(f"UPDATE {table} SET kubeconfig = %s WHERE id = %s", [value, pk])  # noqa: S608


def encrypt_plaintext(apps, schema_editor):
    """Encrypt every non-empty kubeconfig not yet encrypted; a Fernet token is left alone."""
    connection, table, rows = _rows(apps, schema_editor)
    _update(
        connection, table, [(pk, encrypt(value)) for pk, value in rows if value and not is_encrypted(value)]
    )


def decrypt_to_plaintext(apps, schema_editor):
    connection, table, rows = _rows(apps, schema_editor)
    changes = [
        (pk, decrypt(value, field="costing.Cluster.kubeconfig"))
        for pk, value in rows
        if value and is_encrypted(value)
    ]
    _update(connection, table, changes)


class Migration(migrations.Migration):
    dependencies = [
        ("costing", "0008_node_instances"),
    ]

    operations = [
        migrations.RunPython(encrypt_plaintext, decrypt_to_plaintext),
        migrations.AlterField(
            model_name="cluster",
            name="kubeconfig",
            field=costing.secrets.EncryptedTextField(blank=True, default=""),
        ),
    ]
