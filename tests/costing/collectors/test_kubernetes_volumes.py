"""Persistent volumes through the collector: PVs with the cloud disk behind them, claims, and the claims
each pod mounts, over HTTP against the local test API server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from costing.collectors.kubernetes import KubernetesCollector
from costing.collectors.snapshot import ClaimSample, SnapshotError, VolumeSample
from costing.volumes import disk_id, normalise_disk_id
from tests.k8s_api import make_node, make_pod, make_pv, make_pvc

NOW = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)
GIB = 2**30
EVS = "5b0c3a64-8f4c-4c1e-9f7d-2b3f1c9e0a11"
AZURE = (
    "/subscriptions/0000-1111/resourceGroups/MC_rg_aks_westeurope/providers/Microsoft.Compute/disks/pvc-db"
)


def snapshot(kube_api):
    return KubernetesCollector(kube_api.client).snapshot(NOW)


def test_volumes_claims_and_the_claims_pods_mount(kube_api):
    kube_api.server.add(
        make_node("n1"),
        make_pv("pvc-a", "100Gi", claim=("shop", "data-db-0"), csi=("disk.csi.everest.io", EVS)),
        make_pv("pvc-b", "20Gi", claim=("shop", "logs"), csi=("ebs.csi.aws.com", "vol-0abc123")),
        make_pv("pvc-c", "5Gi", claim=("old", "gone"), phase="Released", csi=("disk.csi.azure.com", AZURE)),
        make_pv("spare", "1Gi", source={"awsElasticBlockStore": {"volumeID": "aws://eu-west-1a/vol-0fff"}}),
        make_pv("nfs", "1Ti", source={"nfs": {"server": "10.0.0.5", "path": "/export"}}),
        make_pvc("shop", "data-db-0", "pvc-a", "100Gi"),
        make_pvc("shop", "logs", "pvc-b", "20Gi"),
        make_pvc("shop", "waiting", None, "8Gi"),
        make_pod("shop", "db-0", "n1", claims=["data-db-0", "logs", "logs"]),
        make_pod("shop", "batch-x", "n1", ephemeral=["scratch"]),
        make_pod("shop", "web", "n1"),
    )
    snap = snapshot(kube_api)
    volumes = {v.name: v for v in snap.volumes}
    assert volumes["pvc-a"] == VolumeSample(
        name="pvc-a",
        capacity_bytes=100 * GIB,
        phase="Bound",
        storage_class="csi-disk",
        claim_namespace="shop",
        claim_name="data-db-0",
        driver="disk.csi.everest.io",
        disk_id=EVS,
    )
    assert (volumes["pvc-b"].driver, volumes["pvc-b"].disk_id) == ("ebs.csi.aws.com", "vol-0abc123")
    assert volumes["pvc-c"].phase == "Released" and volumes["pvc-c"].disk_id == AZURE.lower()
    assert volumes["pvc-c"].claim_name == "gone"  # a released PV keeps its claimRef
    assert (volumes["spare"].phase, volumes["spare"].claim_name) == ("Available", "")
    assert (volumes["spare"].driver, volumes["spare"].disk_id) == ("awsElasticBlockStore", "vol-0fff")
    assert (volumes["nfs"].driver, volumes["nfs"].disk_id, volumes["nfs"].capacity_bytes) == ("", "", 2**40)
    claims = {c.name: c for c in snap.claims}
    assert claims["data-db-0"] == ClaimSample("shop", "data-db-0", "pvc-a", "Bound", 100 * GIB)
    assert (claims["waiting"].volume, claims["waiting"].phase) == ("", "Pending")
    pods = {p.name: p for p in snap.pods}
    assert pods["db-0"].claims == ("data-db-0", "logs")
    assert pods["batch-x"].claims == ("batch-x-scratch",)  # a generic ephemeral volume's claim
    assert pods["web"].claims == ()


def test_a_role_without_volume_access_still_samples_without_volumes(kube_api):
    kube_api.server.add(make_node("n1"), make_pod("shop", "web", "n1"))
    kube_api.server.fail_next("/api/v1/persistentvolumes", 403)
    snap = snapshot(kube_api)
    assert snap.volumes is None and snap.claims is None
    assert [p.name for p in snap.pods] == ["web"]
    assert snapshot(kube_api).volumes == []  # allowed again: none there


def test_other_failures_listing_volumes_make_the_sample_a_gap(kube_api):
    kube_api.server.add(make_node("n1"))
    kube_api.server.fail_next("/api/v1/persistentvolumeclaims", 500)
    with pytest.raises(SnapshotError, match="persistentvolumeclaims"):
        snapshot(kube_api)


def test_a_bad_volume_size_names_the_volume(kube_api):
    kube_api.server.add(make_pv("pvc-x", "ten gigs"))
    with pytest.raises(SnapshotError, match=r"persistentvolume pvc-x spec\.capacity\.storage"):
        snapshot(kube_api)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": " vol-01 "}}, ("ebs.csi.aws.com", "vol-01")),
        ({"awsElasticBlockStore": {"volumeID": "vol-02"}}, ("awsElasticBlockStore", "vol-02")),
        ({"azureDisk": {"diskURI": "/Subscriptions/S/Disks/D"}}, ("azureDisk", "/subscriptions/s/disks/d")),
        ({"gcePersistentDisk": {"pdName": "pd-1"}}, ("gcePersistentDisk", "pd-1")),
        ({"cinder": {"volumeID": EVS}}, ("cinder", EVS)),
        (
            {"flexVolume": {"driver": "huawei.com/fuxivol", "options": {"volumeID": EVS}}},
            ("huawei.com/fuxivol", EVS),
        ),
        ({"hostPath": {"path": "/data"}}, ("", "")),
    ],
)
def test_the_disk_behind_a_volume(spec, expected):
    assert disk_id(spec) == expected


def test_bill_resource_ids_and_volume_handles_meet_in_one_form():
    assert normalise_disk_id("arn:aws:ec2:eu-west-1:123456789012:volume/vol-0abc") == "vol-0abc"
    assert normalise_disk_id("aws://eu-west-1a/vol-0abc") == "vol-0abc"
    assert normalise_disk_id(AZURE) == normalise_disk_id(AZURE.upper()) == AZURE.lower()
    assert normalise_disk_id(EVS) == EVS


@pytest.mark.django_db
def test_the_live_path_records_the_volumes_and_the_pods_mounting_them(kube_api):
    from costing.choices import ConnectionType, SampleSource
    from costing.models import Cluster, Volume, VolumeHour, VolumeMountHour
    from costing.recording import record_snapshot

    kube_api.server.add(
        make_node("n1"),
        make_pv("pvc-a", "100Gi", claim=("shop", "data-db-0"), csi=("ebs.csi.aws.com", "vol-0abc123")),
        make_pv("pvc-c", "5Gi", claim=("old", "gone"), phase="Released", csi=("disk.csi.azure.com", AZURE)),
        make_pvc("shop", "data-db-0", "pvc-a", "100Gi"),
        make_pod("shop", "db-0", "n1", claims=["data-db-0"]),
    )
    cluster = Cluster.objects.create(name="live", connection_type=ConnectionType.KUBECONFIG)
    record_snapshot(cluster, snapshot(kube_api), slot=NOW, interval=60, source=SampleSource.COLLECTOR)
    assert dict(Volume.objects.values_list("name", "disk_id")) == {
        "pvc-a": "vol-0abc123",
        "pvc-c": AZURE.lower(),
    }
    a = VolumeHour.objects.get(volume__name="pvc-a")
    assert (a.seconds, a.bound_seconds, a.unmounted_seconds, a.namespace.name) == (60, 60, 0, "shop")
    mount = VolumeMountHour.objects.get()
    assert (mount.pod.name, mount.volume.name, mount.seconds, mount.share_seconds) == (
        "db-0",
        "pvc-a",
        60,
        60.0,
    )
    # The released volume is seen, not bound: storage idle. Its claim's namespace is not created for it.
    c = VolumeHour.objects.get(volume__name="pvc-c")
    assert (c.seconds, c.bound_seconds, c.namespace) == (60, 0, None)
