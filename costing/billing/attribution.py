"""Attributes bill lines to clusters, nodes and volumes: node compute, a persistent volume's disk, cluster
overhead, or cost outside Kubernetes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from costing.load_balancers import SERVICE_NAME_TAG, resource_keys
from costing.volumes import normalise_disk_id

NODE, OVERHEAD, OUTSIDE = "node", "overhead", "outside"
# A persistent volume's disk: produced when volume disk ids are given (costing/billing/attribution_db.py gives
# those of the recorded volumes).
VOLUME = "volume"
# A Service's cloud load balancer (costing/load_balancers.py): charged to the Service's namespace.
LOAD_BALANCER = "load_balancer"


@dataclass(frozen=True, slots=True)
class TagRule:
    """A line with tag `key` (and, unless value is None, that exact value) belongs to `cluster`.

    value None means "the key is present", for keys like kubernetes.io/cluster/NAME whose value is only
    'owned' or 'shared'. Keys and values are compared exactly (FOCUS tag keys are case-sensitive).
    """

    cluster: str
    key: str
    value: str | None = None


def attribute_lines(
    lines: pd.DataFrame,
    tag_rules: Sequence[TagRule],
    node_instance_ids: Mapping[str, tuple[str, str]],
    volume_disk_ids: Mapping[str, tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Add columns cluster, node and volume (None when not applicable) and kind (node, volume, overhead
    or outside).

    node_instance_ids maps an instance id (the last segment of a node's spec.providerID) to (cluster, node).
    A line whose resource_id is that id, or ends with "/" + that id (ARNs, Huawei resource paths), is the
    node's compute cost, with or without tags; the node's cluster wins over any tag. volume_disk_ids maps a
    disk id in costing.volumes.normalise_disk_id's form (a PersistentVolume's CSI volumeHandle or source)
    to (cluster, volume): a line whose resource_id is that disk, in the same form (EVS uuid, vol-... or an
    EBS ARN, Azure disk URI in any case), is that volume's cost, its cluster winning over any tag.
    Otherwise the first tag rule that matches, in the order given, names the cluster and the line is its
    overhead (a disk that matches no volume stays overhead). A line that no rule claims is cost outside
    Kubernetes.
    """
    # Each distinct ResourceId and each distinct tags object looked up once (readers share one dict per
    # distinct Tags text), then spread over the lines by their codes.
    resource_codes, resources = pd.factorize(lines["resource_id"].to_numpy(object), use_na_sentinel=False)
    hits = _nodes_of(resources, node_instance_ids)
    disks = [
        _volume_of(r, volume_disk_ids) if hit is None and volume_disk_ids else None
        for r, hit in zip(resources, hits, strict=True)
    ]
    tags = lines["tags"].to_numpy(object)
    tag_codes, first = pd.factorize(np.fromiter(map(id, tags), dtype=np.int64, count=len(tags)))
    tag_clusters = _tag_clusters(tags, tag_codes, len(first), tag_rules)

    def spread(values: list) -> np.ndarray:
        return np.array([*values, None], dtype=object)[:-1][resource_codes]

    node_hit = spread([h[1] if h is not None else None for h in hits])
    volume_hit = spread([d[1] if d is not None else None for d in disks])
    own_cluster = spread(
        [(h or d)[0] if (h or d) is not None else None for h, d in zip(hits, disks, strict=True)]
    )
    is_node = np.array([h is not None for h in hits], dtype=bool)[resource_codes]
    is_volume = np.array([d is not None for d in disks], dtype=bool)[resource_codes]
    by_tag = tag_clusters[tag_codes]
    owned = is_node | is_volume
    cluster = np.where(owned, own_cluster, by_tag)
    kind = np.where(
        is_node, NODE, np.where(is_volume, VOLUME, np.where(pd.isna(by_tag), OUTSIDE, OVERHEAD))
    ).astype(object)
    result = lines.copy(deep=False)
    result["cluster"] = pd.Series(cluster, index=lines.index, dtype=object)
    result["node"] = pd.Series(node_hit, index=lines.index, dtype=object)
    result["volume"] = pd.Series(volume_hit, index=lines.index, dtype=object)
    result["kind"] = pd.Series(kind, index=lines.index, dtype=object)
    return result


def _tag_clusters(
    tags: np.ndarray, codes: np.ndarray, count: int, tag_rules: Sequence[TagRule]
) -> np.ndarray:
    """The cluster of each distinct tags object (by code), None where no rule claims it."""
    firsts = np.full(count, -1, dtype=np.int64)
    firsts[codes[::-1]] = np.arange(len(codes))[::-1]
    return np.array([*(_cluster_of(tags[i], tag_rules) for i in firsts), None], dtype=object)[:-1]


def _volume_of(resource_id, volume_disk_ids: Mapping[str, tuple[str, str]]) -> tuple[str, str] | None:
    if not isinstance(resource_id, str) or not resource_id:
        return None
    return volume_disk_ids.get(normalise_disk_id(resource_id))


def _nodes_of(resources: np.ndarray, node_instance_ids: Mapping[str, tuple[str, str]]) -> list:
    """(cluster, node) or None for each of `resources`: the instance id whole, or the last segment of a
    path (ARNs, Huawei resource paths), by hash lookups of whole arrays."""
    if not node_instance_ids or not len(resources):
        return [None] * len(resources)
    keys = pd.Index(list(node_instance_ids), dtype=object)
    found = np.array([*node_instance_ids.values(), None], dtype=object)[:-1]
    texts = [r if isinstance(r, str) and r else "\x00" for r in resources]  # "\x00": no instance id
    where = keys.get_indexer(texts)
    tails = [r.rsplit("/", 1)[1] if "/" in r else "\x00" for r in texts]
    where = np.where(where >= 0, where, keys.get_indexer(tails))
    return list(np.where(where >= 0, found[where], None))


def _cluster_of(tags, tag_rules: Sequence[TagRule]) -> str | None:
    if not isinstance(tags, Mapping) or not tags:
        return None
    for rule in tag_rules:
        if rule.key in tags and (rule.value is None or tags[rule.key] == rule.value):
            return rule.cluster
    return None


def attribute_load_balancers(
    lines: pd.DataFrame,
    load_balancer_ids: Mapping[str, tuple[object, object]],
    load_balancer_services: Mapping[tuple[object, str], object],
) -> pd.DataFrame:
    """Add column load_balancer to attribute_lines()'s result and make the lines of a Service's load
    balancer kind load_balancer.

    Only overhead and outside lines are looked at (a node's or a volume's line stays what it is).
    load_balancer_ids maps an id in costing.load_balancers.normalise_lb_id's form (a Huawei ELB id, an AWS
    ELB name, an Azure public IP name, an ingress IP) to (cluster, load balancer): a line whose ResourceId
    is that id (whole, or its last path segment) is that load balancer's, its cluster winning over any tag.
    Otherwise an overhead line tagged `kubernetes.io/service-name: <namespace>/<name>` is the load balancer
    of that Service in the line's cluster, when load_balancer_services ((cluster, "namespace/name") ->
    load balancer) knows it. Any other line is left as it was: a load balancer that matches no Service
    stays overhead.
    """
    result = lines.copy(deep=False)
    found: list[object] = [None] * len(lines)
    if load_balancer_ids or load_balancer_services:
        kinds = result["kind"].to_numpy(object).copy()
        clusters = result["cluster"].to_numpy(object).copy()
        for i, (kind, cluster, resource_id, tags) in enumerate(
            zip(kinds, clusters, lines["resource_id"].to_numpy(), lines["tags"].to_numpy(), strict=True)
        ):
            if kind not in (OVERHEAD, OUTSIDE):
                continue
            hit = next(
                (load_balancer_ids[k] for k in resource_keys(resource_id) if k in load_balancer_ids), None
            )
            if hit is None and kind == OVERHEAD and isinstance(tags, Mapping) and tags.get(SERVICE_NAME_TAG):
                service = load_balancer_services.get((cluster, str(tags[SERVICE_NAME_TAG]).strip()))
                hit = (cluster, service) if service is not None else None
            if hit is not None:
                clusters[i], found[i], kinds[i] = hit[0], hit[1], LOAD_BALANCER
        result["cluster"] = pd.Series(clusters, index=lines.index, dtype=object)
        result["kind"] = pd.Series(kinds, index=lines.index, dtype=object)
    result["load_balancer"] = pd.Series(found, index=lines.index, dtype=object)
    return result
