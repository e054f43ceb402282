"""What one look at a cluster sees: the plain records every collector returns and the recorder stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# The same samples as tables (one row per node or pod and sample): what the simulator's frames(), the
# bulk import and the recorder speak. Timestamps are UTC; labels are dicts.
NODE_COLUMNS = [
    "timestamp",
    "node",
    "node_pool",
    "provider_id",
    "instance_type",
    "cpu_capacity_cores",
    "memory_capacity_bytes",
    "labels",
]
POD_COLUMNS = [
    "timestamp",
    "namespace",
    "pod",
    "pod_uid",
    "node",
    "owner_kind",
    "owner_name",
    "cpu_request_cores",
    "cpu_usage_cores",
    "memory_request_bytes",
    "memory_usage_bytes",
    "labels",
    "has_metrics",
]
# Optional GPU columns (0 where a frame lacks them): GPU devices, a MIG slice as its fraction of one
# (costing/gpus.py); usage from DCGM where an importer has it.
NODE_GPU_COLUMNS = ["gpu_capacity_devices"]
POD_GPU_COLUMNS = ["gpu_request_devices", "gpu_usage_devices"]
NAMESPACE_COLUMNS = ["namespace", "labels"]
# PersistentVolumes, one row per volume and sample (VolumeSample's fields); optional. A collector that
# lists none (the Prometheus importer) passes no frame, and the recorder records no volumes.
VOLUME_COLUMNS = [
    "timestamp",
    "volume",
    "capacity_bytes",
    "phase",
    "claim_namespace",
    "claim_name",
    "disk_id",
    "driver",
    "storage_class",
]
# Optional pods column: the claims a pod mounts (PodSample.claims), a sequence or names joined by ";".
POD_CLAIMS_COLUMN = "claims"
# One row per Service of type LoadBalancer and sample; ids: its normalised ids (a tuple or list).
LOAD_BALANCER_COLUMNS = ["timestamp", "namespace", "service", "cloud_id", "hostname", "ip", "ids", "selector"]
# One row per container of a pod and sample; pod_uid (or namespace/pod) ties it to its pod row. A limit
# of 0 is no limit. `init`: an init container that is not a sidecar (it runs before the others).
CONTAINER_COLUMNS = [
    "timestamp",
    "namespace",
    "pod",
    "pod_uid",
    "container",
    "init",
    "cpu_request_cores",
    "cpu_limit_cores",
    "cpu_usage_cores",
    "memory_request_bytes",
    "memory_limit_bytes",
    "memory_usage_bytes",
    "has_metrics",
]


@dataclass(frozen=True, slots=True)
class NodeSample:
    """One node as seen at one instant."""

    name: str
    node_pool: str
    provider_id: str
    cpu_capacity_cores: float
    memory_capacity_bytes: int
    instance_type: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    gpu_capacity_devices: float = 0.0

    @property
    def instance_id(self) -> str:
        """The cloud's instance id: the last path segment of spec.providerID (what bills call ResourceId)."""
        return self.provider_id.rstrip("/").rsplit("/", 1)[-1] if self.provider_id else ""


@dataclass(frozen=True, slots=True)
class ContainerSample:
    """One container of a pod at one instant: its own requests and limits (0: none) and usage."""

    name: str
    cpu_request_cores: float
    cpu_limit_cores: float
    cpu_usage_cores: float
    memory_request_bytes: float
    memory_limit_bytes: float
    memory_usage_bytes: float
    init: bool = False  # an init container that is not a sidecar
    has_metrics: bool = True


@dataclass(frozen=True, slots=True)
class PodSample:
    """One running pod as seen at one instant, with its effective requests and its measured usage."""

    namespace: str
    name: str
    uid: str
    node: str
    owner_kind: str  # Deployment, StatefulSet, DaemonSet, CronJob, Job or Pod
    owner_name: str
    cpu_request_cores: float
    cpu_usage_cores: float
    memory_request_bytes: float
    memory_usage_bytes: float
    labels: dict[str, str] = field(default_factory=dict)
    has_metrics: bool = True  # False: the metrics API had nothing for it, usage is taken as 0
    # Its containers as sampled; none: the pod is recorded as one container named "main".
    containers: tuple[ContainerSample, ...] = ()
    gpu_request_devices: float = 0.0  # whole GPUs, MIG slices as fractions, policy-named resources
    gpu_usage_devices: float = 0.0
    # The PersistentVolumeClaims (in its namespace) its spec.volumes mount, generic ephemeral volumes
    # as the claim Kubernetes makes for them (<pod>-<volume>); sorted, without repeats.
    claims: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VolumeSample:
    """One PersistentVolume at one instant, with the disk behind it (costing/volumes.py).

    `disk_id` is what the cloud's bill calls the disk (normalised by costing.volumes.disk_id: a Huawei
    EVS volume id, an AWS EBS vol-..., an Azure disk URI in lower case); "" when the PV names none
    (NFS, hostPath, local). `claim_namespace`/`claim_name` come from spec.claimRef ("" when unbound);
    `phase` is status.phase (Bound, Available, Released, Failed, Pending)."""

    name: str
    capacity_bytes: int
    phase: str
    storage_class: str = ""
    claim_namespace: str = ""
    claim_name: str = ""
    driver: str = ""  # the CSI driver, or the in-tree source's kind (awsElasticBlockStore, azureDisk, ...)
    disk_id: str = ""


@dataclass(frozen=True, slots=True)
class ClaimSample:
    """One PersistentVolumeClaim at one instant: the PV it is bound to (spec.volumeName) and its phase."""

    namespace: str
    name: str
    volume: str
    phase: str
    requested_bytes: int = 0


@dataclass(frozen=True, slots=True)
class LoadBalancerSample:
    """One Service of type LoadBalancer at one instant, with the cloud load balancer behind it
    (costing/load_balancers.py): the id annotation, the first ingress hostname and IP, and every id
    normalised (what a bill line's ResourceId is compared with)."""

    namespace: str
    name: str
    uid: str = ""
    cloud_id: str = ""
    hostname: str = ""
    ip: str = ""
    ids: tuple[str, ...] = ()
    # spec.selector: the pods behind it (OpenCost spreads a load balancer over them, /allocation by pod).
    selector: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NamespaceInfo:
    name: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Snapshot:
    """Everything one sample of a cluster saw, at `taken_at` (UTC)."""

    taken_at: datetime
    nodes: list[NodeSample]
    pods: list[PodSample]
    namespaces: list[NamespaceInfo]
    # None: not seen (the collector may not list them, or the source has none); [] when there are none.
    volumes: list[VolumeSample] | None = None
    claims: list[ClaimSample] | None = None
    # Services of type LoadBalancer; None: not seen (a role from before Services were read).
    load_balancers: list[LoadBalancerSample] | None = None


class SnapshotError(Exception):
    """A sample could not be taken; the slot is recorded as a gap with `reason`."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
