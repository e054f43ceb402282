"""import_samples with volumes.csv and the pods' claims column: volume- and mount-hours, by hand."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from costing.choices import ConnectionType
from costing.models import Cluster, Volume, VolumeHour, VolumeMountHour
from tests.costing.commands.test_import_samples import run, write

NODES = """timestamp,node,node_pool,provider_id,cpu_capacity_cores,memory_capacity_bytes
2026-03-02T10:00:00Z,n1,general,aws:///eu-west-1a/i-0n1,4,16Gi
2026-03-02T10:01:00Z,n1,general,aws:///eu-west-1a/i-0n1,4,16Gi
2026-03-02T10:02:00Z,n1,general,aws:///eu-west-1a/i-0n1,4,16Gi
"""
# db-0 mounts data in the first minute, db-0 and db-1 (a ReadWriteMany claim) in the second, nobody in the third.
PODS = """timestamp,namespace,pod,node,owner_kind,owner_name,cpu_request_cores,cpu_usage_cores,memory_request_bytes,memory_usage_bytes,claims
2026-03-02T10:00:00Z,shop,db-0,n1,StatefulSet,db,1,1,1Gi,1Gi,data
2026-03-02T10:01:00Z,shop,db-0,n1,StatefulSet,db,1,1,1Gi,1Gi,data;cache
2026-03-02T10:01:00Z,shop,db-1,n1,StatefulSet,db,1,1,1Gi,1Gi,data
2026-03-02T10:02:00Z,shop,web,n1,Deployment,web,1,1,1Gi,1Gi,
"""
VOLUMES = """timestamp,volume,phase,capacity_bytes,claim_namespace,claim_name,disk_id,driver
2026-03-02T10:00:00Z,pv-data,Bound,100Gi,shop,data,aws://eu-west-1a/vol-0abc,ebs.csi.aws.com
2026-03-02T10:01:00Z,pv-data,Bound,100Gi,shop,data,aws://eu-west-1a/vol-0abc,ebs.csi.aws.com
2026-03-02T10:02:00Z,pv-data,Bound,100Gi,shop,data,aws://eu-west-1a/vol-0abc,ebs.csi.aws.com
2026-03-02T10:00:00Z,pv-old,Released,10Gi,shop,old,vol-0old,
"""


@pytest.fixture
def cluster(db):
    return Cluster.objects.create(name="prod", connection_type=ConnectionType.KUBECONFIG)


def paths(tmp_path, volumes=VOLUMES):
    out = write(tmp_path, nodes=NODES, pods=PODS)
    (tmp_path / "volumes.csv").write_text(volumes)
    out["volumes"] = str(tmp_path / "volumes.csv")
    return out


def test_volumes_and_the_minutes_each_pod_mounted_them(cluster, tmp_path):
    files = paths(tmp_path)
    run(files, volumes=files["volumes"])
    data = Volume.objects.get(name="pv-data")
    assert (data.disk_id, data.capacity_bytes, data.claim_namespace) == ("vol-0abc", 100 * 2**30, "shop")
    hour = VolumeHour.objects.get(volume=data)
    assert (hour.samples, hour.seconds, hour.bound_seconds, hour.unmounted_seconds) == (3, 180, 180, 60)
    mounts = {m.pod.name: (m.seconds, m.share_seconds) for m in VolumeMountHour.objects.filter(volume=data)}
    assert mounts == {"db-0": (120, 90.0), "db-1": (60, 30.0)}
    old = VolumeHour.objects.get(volume__name="pv-old")
    assert (old.seconds, old.bound_seconds, old.namespace) == (60, 0, None)
    # No PV is bound to claim cache: nothing is recorded of it.
    assert VolumeMountHour.objects.count() == 2


def test_without_volumes_csv_nothing_of_volumes_is_recorded(cluster, tmp_path):
    run(paths(tmp_path))
    assert not Volume.objects.exists() and not VolumeHour.objects.exists()


def test_a_bad_volume_field_names_file_line_and_column(cluster, tmp_path):
    files = paths(tmp_path, VOLUMES.replace("10Gi,shop,old", "10Gi,,old"))
    with pytest.raises(CommandError, match=r"volumes.csv, line 5, column claim_name"):
        run(files, volumes=files["volumes"])
    assert not Volume.objects.exists()
