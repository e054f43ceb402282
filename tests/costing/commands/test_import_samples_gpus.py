"""import_samples with the optional GPU columns: node GPU capacity, pods' GPU requests and DCGM usage."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from costing.choices import ConnectionType
from costing.models import Cluster, Node, NodeHour, PodHour
from tests.costing.commands.test_import_samples import run, write

NODES = """timestamp,node,node_pool,provider_id,cpu_capacity_cores,memory_capacity_bytes,gpu_capacity_devices
2026-03-02T10:00:00Z,g1,gpu,aws:///eu-west-1a/i-0g1,8,64Gi,2
2026-03-02T10:01:00Z,g1,gpu,aws:///eu-west-1a/i-0g1,8,64Gi,2
"""
PODS = """timestamp,namespace,pod,node,owner_kind,owner_name,cpu_request_cores,cpu_usage_cores,memory_request_bytes,memory_usage_bytes,gpu_request_devices,gpu_usage_devices
2026-03-02T10:00:00Z,shop,train,g1,Job,train,2,1,8Gi,4Gi,1,0.6
2026-03-02T10:01:00Z,shop,train,g1,Job,train,2,1,8Gi,4Gi,1,
2026-03-02T10:00:00Z,shop,infer,g1,Deployment,infer,1,1,4Gi,4Gi,0.142857142857,0.3
"""


@pytest.fixture
def cluster(db):
    return Cluster.objects.create(name="prod", connection_type=ConnectionType.KUBECONFIG)


def test_gpu_columns_are_read_and_billable_is_the_larger_per_sample(cluster, tmp_path):
    run(write(tmp_path, nodes=NODES, pods=PODS))
    assert Node.objects.get(name="g1").gpu_capacity_devices == 2.0
    assert NodeHour.objects.get().gpu_capacity_hours == pytest.approx(2 * 2 / 60)
    train = PodHour.objects.get(pod__name="train")
    # usage 0.6 then empty (0): billable max(0.6, 1) + max(0, 1) = 2 GPU-minutes.
    assert train.gpu_request_hours == pytest.approx(2 / 60)
    assert train.gpu_usage_hours == pytest.approx(0.6 / 60)
    assert train.gpu_billable_hours == pytest.approx(2 / 60)
    infer = PodHour.objects.get(pod__name="infer")
    # A MIG slice of 1/7 used at 0.3 of a device (above its request) pays its usage.
    assert infer.gpu_billable_hours == pytest.approx(0.3 / 60)


def test_old_files_without_gpu_columns_record_no_gpus(cluster, tmp_path):
    run(write(tmp_path))
    assert {p.gpu_billable_hours for p in PodHour.objects.all()} == {0.0}
    assert NodeHour.objects.get().gpu_capacity_hours == 0.0


def test_a_bad_gpu_field_names_file_line_and_column(cluster, tmp_path):
    with pytest.raises(CommandError, match=r"pods.csv, line 3, column gpu_request_devices"):
        run(write(tmp_path, nodes=NODES, pods=PODS.replace(",1,\n", ",-1,\n")))
