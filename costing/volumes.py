"""Persistent volumes: which cloud disk a PersistentVolume is, named as the cloud's bill names it.

A bill line of a disk (Huawei EVS, AWS EBS, Azure managed disk) carries the disk's id in ResourceId; a
PersistentVolume carries it in its CSI volumeHandle or in its in-tree source. disk_id() reads the
PersistentVolume's and normalise_disk_id() brings both sides to one form, so that they compare equal.
"""

from __future__ import annotations

from collections.abc import Mapping

# In-tree sources (deprecated, still found on older clusters): spec key -> the field naming the disk.
IN_TREE_SOURCES = (
    ("awsElasticBlockStore", "volumeID"),  # aws://<zone>/vol-... or vol-...
    ("azureDisk", "diskURI"),  # /subscriptions/.../providers/Microsoft.Compute/disks/<name>
    ("gcePersistentDisk", "pdName"),
    ("cinder", "volumeID"),  # OpenStack, and Huawei Cloud's older EVS volumes
)
# Huawei CCE's older FlexVolume driver keeps the EVS id in its options.
FLEX_VOLUME_ID_OPTIONS = ("volumeID", "volumeId")


def normalise_disk_id(text: str) -> str:
    """One form for a disk id, from a PersistentVolume or from a bill's ResourceId.

    AWS: `aws://eu-west-1a/vol-0ab` and `arn:aws:ec2:...:volume/vol-0ab` are `vol-0ab`. Azure resource
    URIs are case-insensitive, so a URI (`/subscriptions/...`) is lower-cased. Anything else (a Huawei
    EVS uuid, a GCE disk path) is kept as written, without surrounding blanks.
    """
    text = (text or "").strip()
    if text.startswith(("aws://", "arn:aws")):
        return text.rsplit("/", 1)[-1]
    if text.lower().startswith("/subscriptions/"):
        return text.lower()
    return text


def disk_id(spec: Mapping) -> tuple[str, str]:
    """(driver, disk id) of a PersistentVolume's spec: the CSI driver and its volumeHandle, or the in-tree
    source's kind and its disk field; ("", "") for volumes that are no cloud disk (NFS, hostPath, local)."""
    csi = spec.get("csi") or {}
    if csi.get("volumeHandle"):
        return str(csi.get("driver") or ""), normalise_disk_id(str(csi["volumeHandle"]))
    for source, field in IN_TREE_SOURCES:
        value = (spec.get(source) or {}).get(field)
        if value:
            return source, normalise_disk_id(str(value))
    flex = spec.get("flexVolume") or {}
    options = flex.get("options") or {}
    for option in FLEX_VOLUME_ID_OPTIONS:
        if options.get(option):
            return str(flex.get("driver") or "flexVolume"), normalise_disk_id(str(options[option]))
    return "", ""
