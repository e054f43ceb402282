"""Cluster kubeconfigs encrypted at rest: the raw column, key rotation, wrong keys, the migration, sampling."""

from __future__ import annotations

import importlib
import io
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from costing.choices import ConnectionType, SampleStatus
from costing.models import Cluster, SampleSlot
from costing.secrets import DecryptionError
from costing.tasks.sampling import sample_cluster
from finops.settings import _derived_encryption_key
from tests.costing.collectors.conftest import TOKEN, kubeconfig_for
from tests.k8s_api import FakeKubeAPI, make_container, make_namespace, make_node, make_pod, make_pod_metrics

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
KUBECONFIG = kubeconfig_for("https://127.0.0.1:6443")

migration = importlib.import_module("costing.migrations.0009_encrypt_kubeconfig")


def raw_kubeconfig(pk: int) -> str:
    """The column as stored, bypassing the model field."""
    table = connection.ops.quote_name(Cluster._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT kubeconfig FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def set_raw_kubeconfig(pk: int, value: str) -> None:
    table = connection.ops.quote_name(Cluster._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET kubeconfig = %s WHERE id = %s", [value, pk])  # noqa: S608


def make_cluster(name: str = "prod", kubeconfig: str = KUBECONFIG) -> Cluster:
    return Cluster.objects.create(name=name, connection_type=ConnectionType.KUBECONFIG, kubeconfig=kubeconfig)


@pytest.fixture
def keys(settings):
    """Start with OLD_KEY alone; tests change settings.FINOPS_ENCRYPTION_KEYS to rotate."""
    settings.FINOPS_ENCRYPTION_KEYS = [OLD_KEY]
    return settings


@pytest.mark.django_db
def test_round_trip_and_the_raw_column_is_a_fernet_token(keys):
    cluster = make_cluster()
    assert Cluster.objects.get(pk=cluster.pk).kubeconfig == KUBECONFIG
    raw = raw_kubeconfig(cluster.pk)
    assert raw.startswith("gAAAAA")
    assert TOKEN not in raw and "127.0.0.1" not in raw and "current-context" not in raw
    # Decrypted independently of the application code, with the configured key.
    assert Fernet(OLD_KEY).decrypt(raw.encode()).decode() == KUBECONFIG


@pytest.mark.django_db
def test_empty_stays_empty(keys):
    cluster = Cluster.objects.create(name="sim", connection_type=ConnectionType.SIMULATOR)
    assert raw_kubeconfig(cluster.pk) == ""
    assert Cluster.objects.get(pk=cluster.pk).kubeconfig == ""


@pytest.mark.django_db
def test_rotation(keys):
    cluster = make_cluster()
    keys.FINOPS_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    # The old key, second, still decrypts what it wrote.
    assert Cluster.objects.get(pk=cluster.pk).kubeconfig == KUBECONFIG
    Fernet(OLD_KEY).decrypt(raw_kubeconfig(cluster.pk).encode())

    out = io.StringIO()
    call_command("rotate_secrets", stdout=out)
    assert "1 cluster" in out.getvalue()
    raw = raw_kubeconfig(cluster.pk)
    assert Fernet(NEW_KEY).decrypt(raw.encode()).decode() == KUBECONFIG
    with pytest.raises(InvalidToken):
        Fernet(OLD_KEY).decrypt(raw.encode())

    keys.FINOPS_ENCRYPTION_KEYS = [NEW_KEY]
    assert Cluster.objects.get(pk=cluster.pk).kubeconfig == KUBECONFIG
    keys.FINOPS_ENCRYPTION_KEYS = [OLD_KEY]
    with pytest.raises(DecryptionError):
        Cluster.objects.get(pk=cluster.pk)


@pytest.mark.django_db
def test_a_wrong_key_is_a_clear_error_without_the_secret(keys):
    cluster = make_cluster()
    raw = raw_kubeconfig(cluster.pk)
    keys.FINOPS_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(DecryptionError) as caught:
        Cluster.objects.get(pk=cluster.pk)
    message = str(caught.value)
    assert "costing.Cluster.kubeconfig" in message and "FINOPS_ENCRYPTION_KEYS" in message
    assert TOKEN not in message and raw not in message and raw[:20] not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_malformed_key_names_its_position_not_its_value(settings):
    settings.FINOPS_ENCRYPTION_KEYS = [OLD_KEY, "not-a-key-at-all"]
    from costing.secrets import encrypt

    with pytest.raises(ImproperlyConfigured, match="key 2 is not a Fernet key") as caught:
        encrypt("x")
    assert "not-a-key-at-all" not in str(caught.value)


def test_the_default_key_is_derived_from_secret_key():
    key = _derived_encryption_key("one secret")
    token = Fernet(key).encrypt(b"x")  # a valid Fernet key
    assert Fernet(_derived_encryption_key("one secret")).decrypt(token) == b"x"
    assert _derived_encryption_key("another secret") != key


@pytest.mark.django_db
def test_the_migration_encrypts_plaintext_rows_and_leaves_tokens_alone(keys):
    plain = make_cluster("plain", kubeconfig="")
    set_raw_kubeconfig(plain.pk, KUBECONFIG)  # as written before the migration
    already = make_cluster("already")
    already_raw = raw_kubeconfig(already.pk)
    empty = make_cluster("empty", kubeconfig="")

    migration.encrypt_plaintext(apps, SimpleNamespace(connection=connection))
    raw = raw_kubeconfig(plain.pk)
    assert raw.startswith("gAAAAA") and TOKEN not in raw
    assert Fernet(OLD_KEY).decrypt(raw.encode()).decode() == KUBECONFIG
    assert raw_kubeconfig(already.pk) == already_raw
    assert raw_kubeconfig(empty.pk) == ""
    assert Cluster.objects.get(pk=plain.pk).kubeconfig == KUBECONFIG

    # Backwards: plain text again.
    migration.decrypt_to_plaintext(apps, SimpleNamespace(connection=connection))
    assert raw_kubeconfig(plain.pk) == KUBECONFIG == raw_kubeconfig(already.pk)


@pytest.mark.django_db
def test_sampling_builds_its_client_from_the_encrypted_kubeconfig(keys):
    server = FakeKubeAPI(token=TOKEN).start()
    try:
        server.add(
            make_namespace("shop", {"department": "retail"}),
            make_node("node-a", "4", "16Gi"),
            make_pod("shop", "web", "node-a", [make_container("app", "250m", "512Mi")], uid="uid-web"),
            make_pod_metrics("shop", "web", {"app": ("100m", "256Mi")}),
        )
        cluster = make_cluster(kubeconfig=kubeconfig_for(server.url))
        assert TOKEN not in raw_kubeconfig(cluster.pk)
        assert sample_cluster(cluster.pk, "2026-03-02T10:00:42+00:00") == "recorded"
    finally:
        server.stop()
    slot = SampleSlot.objects.get()
    assert (slot.status, slot.nodes, slot.pods) == (SampleStatus.OK, 1, 1)
