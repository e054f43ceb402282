"""A deterministic demo cluster: the records a real cluster sample would give, computed from the clock."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from costing.collectors.snapshot import (
    CONTAINER_COLUMNS,
    LOAD_BALANCER_COLUMNS,
    NODE_COLUMNS,
    NODE_GPU_COLUMNS,
    POD_COLUMNS,
    POD_GPU_COLUMNS,
    VOLUME_COLUMNS,
    ClaimSample,
    ContainerSample,
    LoadBalancerSample,
    NamespaceInfo,
    NodeSample,
    PodSample,
    Snapshot,
    VolumeSample,
)

MINUTE = 60
HOUR = 3600
DAY = 86400
WEEK = 7 * DAY
MIB = 2**20
GIB = 2**30
_SUNDAY = 3  # epoch weeks start on Thursday 1970-01-01, so Sunday is their day 3
_FOREVER = 2**40  # end of a static node's life, in epoch seconds (far beyond any demo)

REGION = "eu-west-101"
ZONES = ("eu-west-101a", "eu-west-101b", "eu-west-101c")
POOL_LABEL = "cce.cloud.com/cce-nodepool"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
CAPACITY_TYPE_LABEL = "finops.demo/capacity-type"
ACCELERATOR_LABEL = "accelerator"  # what CCE's GPU add-on labels GPU nodes with
DEPARTMENT_LABEL = "department"

# The scaling node of the spot pool lives on weekdays from 10:00 to 16:00 UTC.
SCALE_OUT_MINUTE = 10 * 60
SCALE_IN_MINUTE = 16 * 60
# CronHPA pre-scaled window, every evening (minutes of the day, UTC).
EVENING_START_MINUTE = 18 * 60
EVENING_END_MINUTE = 20 * 60


@dataclass(frozen=True)
class InstanceType:
    name: str
    cpu_cores: int
    memory_gib: int
    gpus: int = 0  # whole NVIDIA devices (nvidia.com/gpu in the node's capacity)
    accelerator: str = ""

    @property
    def memory_capacity_bytes(self) -> int:
        # A node reports a little less memory than its flavour (kernel and firmware reservations).
        return (self.memory_gib * GIB * 97 // 100) // 1024 * 1024


INSTANCE_TYPES = {
    t.name: t
    for t in (
        InstanceType("c7.xlarge.2", 4, 8),
        InstanceType("c7.2xlarge.4", 8, 32),
        InstanceType("m7.2xlarge.8", 8, 64),
        InstanceType("c7n.2xlarge.2", 8, 16),
        InstanceType("p2s.4xlarge.8", 16, 128, gpus=2, accelerator="nvidia-v100"),
    )
}


@dataclass(frozen=True)
class NodePool:
    name: str
    instance_type: str
    static_nodes: int
    spot: bool
    subnet: int  # third octet of the nodes' private addresses, which CCE uses as node names
    scaling: bool = False  # one extra node on weekdays 10:00-16:00 UTC


POOLS = (
    NodePool("system-pool", "c7.xlarge.2", 2, spot=False, subnet=0),
    NodePool("general-pool", "c7.2xlarge.4", 4, spot=False, subnet=1),
    NodePool("memory-pool", "m7.2xlarge.8", 2, spot=False, subnet=2),
    NodePool("spot-pool", "c7n.2xlarge.2", 4, spot=True, subnet=3, scaling=True),
    NodePool("gpu-pool", "p2s.4xlarge.8", 2, spot=False, subnet=4),
)

# Load profiles: 0..1 by minute of the week; replica curves and usage follow them.
BUSINESS, FLAT, EVENING, NIGHTLY = range(4)


@dataclass(frozen=True)
class Workload:
    """A Deployment or StatefulSet: replicas between min and max following its load profile (HPA)."""

    namespace: str
    name: str
    kind: str
    pool: str
    min_replicas: int
    max_replicas: int
    cpu_request: float
    memory_request_mib: int
    profile: int
    cpu_base: float  # usage / request at zero load
    cpu_load: float  # added usage / request at full load
    mem_base: float
    mem_load: float
    noise: float = 0.15
    evening_replicas: int = 0  # CronHPA: at least this many replicas 18:00-20:00 UTC
    component: str = "api"
    flaky_replica: int = -1  # this replica's pod sometimes has no metrics
    gpus: int = 0  # nvidia.com/gpu requested by each replica
    gpu_base: float = 0.0  # GPU utilisation (DCGM) at zero load, 0..1 of the devices requested
    gpu_load: float = 0.0  # added at full load


@dataclass(frozen=True)
class Batch:
    """A CronJob (or a daily Job) whose pod starts every `period` seconds and lives a few minutes."""

    namespace: str
    name: str
    kind: str  # CronJob or Job
    pool: str
    period: int
    offset: int
    min_seconds: int
    max_seconds: int
    cpu_request: float
    memory_request_mib: int
    cpu_base: float = 0.9
    mem_base: float = 0.7


@dataclass(frozen=True)
class DaemonSet:
    namespace: str
    name: str
    cpu_request: float
    memory_request_mib: int
    cpu_base: float
    mem_base: float


APP_DEPARTMENTS = {
    "Payments": ("payments", ["payments-api", "payments-ledger", "fraud-detection"]),
    "Search": ("search", ["search-api", "search-indexer"]),
    "Data Platform": ("data-platform", ["data-ingest", "data-warehouse", "kafka"]),
    "Storefront": ("storefront", ["storefront-web", "catalog", "cart"]),
}
SHARED_NAMESPACES = ["kube-system", "monitoring", "ingress-nginx"]
# Left without a department label: data-warehouse is claimed by the demo policy's pattern "data-*",
# sandbox by nothing at all, so it lands in "Unallocated".
UNLABELLED_NAMESPACES = {"data-warehouse", "sandbox"}
ALL_NAMESPACES = [
    *SHARED_NAMESPACES,
    *(ns for _, names in APP_DEPARTMENTS.values() for ns in names),
    "sandbox",
]

D, S = "Deployment", "StatefulSet"
SYS, GEN, MEM, SPOT, GPU = "system-pool", "general-pool", "memory-pool", "spot-pool", "gpu-pool"
# fmt: off
_WORKLOAD_TABLE = [
    # namespace, name, kind, pool, min and max replicas, cpu request, memory request MiB, load profile,
    # cpu use at no load and added at full load, the same for memory (fractions of the request), noise
    ("kube-system", "coredns", D, SYS, 2, 2, 0.1, 128, FLAT, 0.3, 0.3, 0.4, 0.1, 0.15),
    ("kube-system", "metrics-server", D, SYS, 1, 1, 0.1, 200, FLAT, 0.2, 0.1, 0.5, 0.1, 0.15),
    ("kube-system", "cluster-autoscaler", D, SYS, 1, 1, 0.1, 300, FLAT, 0.15, 0.05, 0.6, 0.0, 0.15),
    ("kube-system", "everest-csi-controller", D, SYS, 2, 2, 0.25, 600, FLAT, 0.1, 0.1, 0.5, 0.0, 0.15),
    ("monitoring", "prometheus", S, GEN, 2, 2, 1.0, 4096, FLAT, 0.6, 0.4, 0.8, 0.3, 0.1),
    ("monitoring", "alertmanager", S, SYS, 2, 2, 0.1, 256, FLAT, 0.1, 0.05, 0.3, 0.0, 0.1),
    ("monitoring", "grafana", D, SYS, 1, 1, 0.2, 512, BUSINESS, 0.1, 0.3, 0.4, 0.1, 0.15),
    ("monitoring", "kube-state-metrics", D, SYS, 1, 1, 0.1, 256, FLAT, 0.3, 0.1, 0.5, 0.1, 0.15),
    ("ingress-nginx", "ingress-nginx-controller", D, SYS, 2, 4, 0.5, 512, BUSINESS, 0.45, 0.3, 0.5, 0.2, .15),
    ("payments-api", "payments-api", D, GEN, 3, 10, 0.4, 1024, BUSINESS, 0.55, 0.2, 0.6, 0.15, 0.15),
    ("payments-api", "payments-worker", D, SPOT, 2, 6, 0.25, 512, BUSINESS, 0.5, 0.3, 0.5, 0.2, 0.15),
    ("payments-ledger", "ledger-api", D, GEN, 2, 4, 0.25, 512, BUSINESS, 0.4, 0.3, 0.6, 0.1, 0.15),
    ("payments-ledger", "ledger-db", S, MEM, 2, 2, 1.0, 8192, FLAT, 0.4, 0.3, 1.0, 0.1, 0.1),
    ("fraud-detection", "fraud-scorer", D, GEN, 2, 8, 0.5, 1024, BUSINESS, 0.6, 0.3, 0.7, 0.1, 0.15),
    ("search-api", "search-api", D, SPOT, 3, 12, 0.4, 768, BUSINESS, 0.5, 0.7, 0.6, 0.1, 0.2),
    ("search-api", "search-cache", S, MEM, 2, 2, 0.25, 3072, FLAT, 0.2, 0.2, 0.8, 0.05, 0.1),
    ("search-indexer", "indexer", D, SPOT, 2, 4, 0.5, 1024, BUSINESS, 0.6, 0.3, 0.6, 0.2, 0.15),
    ("search-indexer", "opensearch", S, MEM, 3, 3, 1.0, 8192, FLAT, 0.5, 0.3, 0.85, 0.05, 0.1),
    ("data-ingest", "ingest-gateway", D, GEN, 2, 2, 0.5, 1024, FLAT, 0.4, 0.3, 0.5, 0.1, 0.15),
    ("data-ingest", "stream-processor", D, SPOT, 2, 4, 0.25, 1024, BUSINESS, 0.6, 0.3, 0.6, 0.2, 0.15),
    ("data-warehouse", "trino-coordinator", D, GEN, 1, 1, 1.0, 4096, NIGHTLY, 0.3, 0.3, 0.6, 0.2, 0.15),
    # Usage above request at peak: the engine must bill max(usage, request).
    ("data-warehouse", "trino-worker", D, SPOT, 2, 3, 1.0, 2048, BUSINESS, 0.8, 0.6, 0.9, 0.4, 0.2),
    ("kafka", "kafka", S, MEM, 3, 3, 0.5, 6144, FLAT, 0.4, 0.3, 0.9, 0.05, 0.1),
    ("storefront-web", "storefront-web", D, SPOT, 4, 20, 0.25, 384, EVENING, 0.55, 0.2, 0.6, 0.1, 0.15),
    ("storefront-web", "storefront-bff", D, GEN, 2, 12, 0.4, 512, EVENING, 0.55, 0.2, 0.6, 0.1, 0.15),
    ("storefront-web", "image-resizer", D, SPOT, 1, 5, 0.5, 512, EVENING, 0.4, 0.6, 0.5, 0.3, 0.25),
    ("catalog", "catalog-api", D, GEN, 2, 6, 0.25, 512, EVENING, 0.5, 0.3, 0.6, 0.1, 0.15),
    ("catalog", "catalog-postgres", S, MEM, 2, 2, 0.5, 4096, FLAT, 0.3, 0.4, 0.8, 0.1, 0.1),
    ("cart", "cart-api", D, GEN, 2, 8, 0.25, 256, EVENING, 0.5, 0.3, 0.6, 0.1, 0.15),
    ("cart", "cart-redis", S, MEM, 1, 1, 0.25, 2048, FLAT, 0.2, 0.3, 0.7, 0.1, 0.1),
    ("sandbox", "jupyter", D, GEN, 1, 1, 0.5, 2048, BUSINESS, 0.05, 0.4, 0.5, 0.3, 0.3),
    # GPU pool: model serving around the clock, an embedding encoder that scales with the business day.
    ("fraud-detection", "fraud-model-server", D, GPU, 2, 2, 2.0, 16384, FLAT, 0.3, 0.2, 0.6, 0.1, 0.1),
    ("search-api", "embedding-encoder", D, GPU, 1, 2, 2.0, 12288, BUSINESS, 0.4, 0.3, 0.6, 0.1, 0.15),
]
# fmt: on
_EVENING_REPLICAS = {"storefront-web": 16, "storefront-bff": 10, "cart-api": 6}  # CronHPA floors
_COMPONENTS = {
    "prometheus": "metrics",
    "alertmanager": "alerting",
    "ingress-nginx-controller": "ingress",
    "payments-worker": "worker",
    "ledger-db": "database",
    "search-cache": "cache",
    "indexer": "worker",
    "opensearch": "database",
    "stream-processor": "worker",
    "trino-coordinator": "query",
    "trino-worker": "query",
    "kafka": "broker",
    "storefront-web": "web",
    "image-resizer": "worker",
    "catalog-postgres": "database",
    "cart-redis": "cache",
    "jupyter": "notebook",
}
_FLAKY = {"catalog-postgres": 1}  # catalog-postgres-1 sometimes misses its metrics
# GPUs per replica and utilisation at no load and added at full load (DCGM's share of the devices busy).
_GPUS = {"fraud-model-server": (1, 0.35, 0.3), "embedding-encoder": (1, 0.2, 0.7)}
WORKLOADS = tuple(
    Workload(
        *row,
        evening_replicas=_EVENING_REPLICAS.get(row[1], 0),
        component=_COMPONENTS.get(row[1], "api"),
        flaky_replica=_FLAKY.get(row[1], -1),
        **dict(zip(("gpus", "gpu_base", "gpu_load"), _GPUS.get(row[1], ()), strict=False)),
    )
    for row in _WORKLOAD_TABLE
)
# fmt: off
BATCHES = (
    # namespace, name, kind, pool, period, offset, shortest and longest life (s), cpu, MiB, cpu and mem use
    Batch("data-warehouse", "dbt-run", "CronJob", SPOT, 15 * MINUTE, 0, 120, 300, 1.0, 1024),
    Batch("payments-ledger", "ledger-reconcile", "CronJob", SPOT, HOUR, 5 * MINUTE, 120, 300, 0.5, 512),
    Batch("fraud-detection", "model-refresh", "CronJob", SPOT, 1800, 600, 150, 300, 1.0, 1024, 1.1, 0.8),
    Batch("catalog", "sitemap-builder", "CronJob", SPOT, 20 * MINUTE, 2 * MINUTE, 120, 240, 0.25, 256),
    Batch("search-indexer", "full-reindex", "Job", SPOT, DAY, HOUR, 1800, 2700, 2.0, 2048, 0.8, 0.75),
)
# fmt: on
DAEMONSETS = (
    DaemonSet("kube-system", "kube-proxy", 0.1, 128, 0.2, 0.5),
    DaemonSet("kube-system", "node-local-dns", 0.05, 64, 0.3, 0.6),
    DaemonSet("kube-system", "everest-csi-driver", 0.05, 200, 0.2, 0.4),
    DaemonSet("monitoring", "node-exporter", 0.1, 180, 0.15, 0.3),
)
# A bare pod with no requests at all: BestEffort QoS, it pays for what it uses.
BARE_POD = ("sandbox", "debug-toolbox", "general-pool", 0.02, 48 * MIB)

# Containers. Namespaces in the service mesh get an istio-proxy sidecar (and its istio-init init container)
# in every Deployment and StatefulSet pod; other StatefulSets have an init container that fixes volume
# permissions. An init container runs alone for a pod's first minute, asking what the pod asks.
MESH_NAMESPACES = frozenset({"payments-api", "payments-ledger", "storefront-web", "catalog", "cart"})
SIDECAR = "istio-proxy"
SIDECAR_CPU_REQUEST, SIDECAR_MEM_REQUEST = 0.1, 128 * MIB
SIDECAR_CPU_SHARE = 0.15  # of the pod's CPU use: the proxy carries the app's traffic, so it follows its day
SIDECAR_MEM_BASE, SIDECAR_MEM_SHARE = 40 * MIB, 0.03
INIT_SECONDS = 60
BARE_CONTAINER = "toolbox"

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what Kubernetes uses for generated name suffixes

# Volumes: every StatefulSet replica mounts its claim data-<pod> (an EVS disk through CCE's everest CSI
# driver); besides them a claim nobody mounts and a released volume whose claim is gone, both still billed.
EVS_DRIVER = "disk.csi.everest.io"
STORAGE_CLASS = "csi-disk"
VOLUME_SIZES_GIB = {
    "prometheus": 100,
    "alertmanager": 5,
    "ledger-db": 100,
    "search-cache": 20,
    "opensearch": 200,
    "kafka": 500,
    "catalog-postgres": 50,
    "cart-redis": 20,
}
UNMOUNTED_CLAIM = ("sandbox", "scratch-data", 50)  # (namespace, claim, GiB): bound, mounted by no pod
RELEASED_CLAIM = ("search-indexer", "data-elasticsearch-0", 200)  # its claim was deleted, the PV kept


# -- deterministic hashing: everything random in the demo is a hash of (cluster, seed, what, when) ----


def _key(*parts: object) -> int:
    return int.from_bytes(
        hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest(), "little"
    )


def _key_be(*parts: object) -> int:
    """_key's big-endian twin: the demo bill's resource ids were made with it first."""
    return int.from_bytes(hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


def _splitmix(x: np.ndarray) -> np.ndarray:
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hash of two uint64 arrays (broadcast); always arrays, so wrap-around never warns."""
    a = np.atleast_1d(np.asarray(a)).astype(np.uint64)
    b = np.atleast_1d(np.asarray(b)).astype(np.int64).astype(np.uint64)
    return _splitmix(_splitmix(a) ^ b)


def _uniform(h: np.ndarray) -> np.ndarray:
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)


def _suffix(h: int, length: int) -> str:
    out = []
    for _ in range(length):
        h, r = divmod(h, len(_ALPHABET))
        out.append(_ALPHABET[r])
    return "".join(out)


def _uid(h: int) -> str:
    hi = int(_mix(np.uint64(h), 1)[0])
    lo = int(_mix(np.uint64(h), 2)[0])
    return str(uuid.UUID(int=(hi << 64) | lo, version=4))


def _epoch(t: datetime) -> int:
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() // 1)


def _as_utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _weekday(day: np.ndarray) -> np.ndarray:
    return (day + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0


def _load_tables() -> np.ndarray:
    """Load 0..1 per profile and minute of the week (Monday 00:00 UTC first).

    Computed once: both snapshot() and frames() index the same table, so they agree to the last bit.
    """
    minute = np.arange(7 * 1440)
    h = (minute % 1440) / 60.0
    weekend = (minute // 1440) >= 5
    business = 0.1 + 0.9 * np.exp(-(((h - 13.0) / 3.5) ** 2))
    business = np.where(weekend, business * 0.45, business)
    flat = 0.5 + 0.1 * np.sin(2 * np.pi * (h - 9.0) / 24.0)
    evening = 0.15 + 0.55 * np.exp(-(((h - 12.5) / 4.0) ** 2)) + 0.5 * np.exp(-(((h - 19.5) / 1.5) ** 2))
    evening = np.minimum(np.where(weekend, evening * 0.8, evening), 1.0)
    nightly = 0.2 + 0.7 * np.exp(-(((h - 3.0) / 2.0) ** 2))
    return np.vstack([business, flat, evening, nightly])


_LOAD = _load_tables()


def _minute_of_week(minutes: np.ndarray) -> np.ndarray:
    return _weekday(minutes // 1440) * 1440 + minutes % 1440


@dataclass
class _Runs:
    """Pod lives [start, end) in epoch seconds, with identity and usage parameters, one entry per life."""

    namespace: list[str]
    pod: list[str]
    uid: list[str]
    node: list[str]
    owner_kind: list[str]
    owner_name: list[str]
    labels: list[dict[str, str]]
    start: np.ndarray
    end: np.ndarray
    key: np.ndarray  # uint64: seeds this life's usage noise
    cpu_request: np.ndarray
    mem_request: np.ndarray
    cpu_ref: np.ndarray  # usage = ref * (base + load_factor * load) * noise
    mem_ref: np.ndarray
    cpu_base: np.ndarray
    cpu_load: np.ndarray
    mem_base: np.ndarray
    mem_load: np.ndarray
    noise: np.ndarray
    profile: np.ndarray
    flaky: np.ndarray
    gpu_request: np.ndarray  # whole devices
    gpu_base: np.ndarray  # utilisation of the requested devices = base + load_factor * load, capped at 1
    gpu_load: np.ndarray


class DemoCluster:
    """A CCE-like cluster whose every sample is a pure function of (name, seed, instant).

    Five node pools (system, general, memory, spot, and GPU: two nodes of two NVIDIA V100 each, for
    two model-serving Deployments of one GPU per pod); the spot pool gains a node on weekdays
    10:00-16:00 UTC. Deployments scale with a daily load curve (HPA), some are pre-scaled every
    evening 18:00-20:00 UTC (CronHPA) and all roll out once a day; StatefulSets and DaemonSets roll
    out weekly; CronJob pods live 2-5 minutes; the scaling node's pods are rescheduled when it goes.
    """

    def __init__(self, name: str = "demo", seed: int = 42):
        self.name = name
        self.seed = seed
        self.cluster_id = str(
            uuid.UUID(int=_key(name, seed, "cluster") << 64 | _key(name, seed, "id"), version=4)
        )
        self._pools = {p.name: p for p in POOLS}
        self._label_cache: dict[tuple[str, str, str], dict[str, str]] = {}
        self._scaling_cache: dict[tuple[str, int], dict] = {}
        self._static_nodes = self._build_static_nodes()
        self._build_slots()
        self._ns_labels = self._build_namespace_labels()

    # -- public interface --------------------------------------------------------------------------

    def namespaces(self) -> list[NamespaceInfo]:
        return [NamespaceInfo(ns, dict(self._ns_labels[ns])) for ns in ALL_NAMESPACES]

    @staticmethod
    def departments() -> dict[str, list[str]]:
        """The namespaces the demo means for each department (shared and unallocated ones are not here).

        All but data-warehouse carry the label department=<slug> (see department_label_values());
        data-warehouse is meant for "Data Platform" through the pattern "data-*"; "sandbox" belongs
        to nobody and so to "Unallocated".
        """
        return {dept: list(names) for dept, (_, names) in APP_DEPARTMENTS.items()}

    @staticmethod
    def department_label_values() -> dict[str, str]:
        """Department name -> the value of the namespaces' `department` label."""
        return {dept: slug for dept, (slug, _) in APP_DEPARTMENTS.items()}

    @staticmethod
    def shared_namespaces() -> list[str]:
        return list(SHARED_NAMESPACES)

    def snapshot(self, t: datetime | None = None) -> Snapshot:
        """What a sample taken at `t` (UTC; naive is taken as UTC; default now) sees."""
        taken_at = _as_utc(t if t is not None else datetime.now(UTC)).replace(microsecond=0)
        ts = np.array([_epoch(taken_at)], dtype=np.int64)
        nodes, pods = self._sample(ts)
        c = pods["_containers"]
        by_pod: dict[int, list[ContainerSample]] = {}
        for j, row in enumerate(c["_row"].tolist()):
            by_pod.setdefault(row, []).append(
                ContainerSample(
                    name=c["container"][j],
                    cpu_request_cores=float(c["cpu_request_cores"][j]),
                    cpu_limit_cores=float(c["cpu_limit_cores"][j]),
                    cpu_usage_cores=float(c["cpu_usage_cores"][j]),
                    memory_request_bytes=float(c["memory_request_bytes"][j]),
                    memory_limit_bytes=float(c["memory_limit_bytes"][j]),
                    memory_usage_bytes=float(c["memory_usage_bytes"][j]),
                    init=bool(c["init"][j]),
                    has_metrics=bool(c["has_metrics"][j]),
                )
            )
        volumes, claims = self.volumes()
        return Snapshot(
            taken_at=taken_at,
            volumes=volumes,
            claims=claims,
            load_balancers=self.load_balancers(),
            nodes=[
                NodeSample(
                    name=nodes["node"][i],
                    node_pool=nodes["node_pool"][i],
                    provider_id=nodes["provider_id"][i],
                    cpu_capacity_cores=float(nodes["cpu_capacity_cores"][i]),
                    memory_capacity_bytes=int(nodes["memory_capacity_bytes"][i]),
                    instance_type=nodes["instance_type"][i],
                    labels=dict(nodes["labels"][i]),
                    gpu_capacity_devices=float(nodes["gpu_capacity_devices"][i]),
                )
                for i in range(len(nodes["node"]))
            ],
            pods=[
                PodSample(
                    namespace=pods["namespace"][i],
                    name=pods["pod"][i],
                    uid=pods["pod_uid"][i],
                    node=pods["node"][i],
                    owner_kind=pods["owner_kind"][i],
                    owner_name=pods["owner_name"][i],
                    cpu_request_cores=float(pods["cpu_request_cores"][i]),
                    cpu_usage_cores=float(pods["cpu_usage_cores"][i]),
                    memory_request_bytes=float(pods["memory_request_bytes"][i]),
                    memory_usage_bytes=float(pods["memory_usage_bytes"][i]),
                    labels=dict(pods["labels"][i]),
                    has_metrics=bool(pods["has_metrics"][i]),
                    containers=tuple(by_pod.get(i, ())),
                    gpu_request_devices=float(pods["gpu_request_devices"][i]),
                    gpu_usage_devices=float(pods["gpu_usage_devices"][i]),
                    claims=self.claims_of(pods["owner_kind"][i], pods["pod"][i]),
                )
                for i in range(len(pods["pod"]))
            ],
            namespaces=self.namespaces(),
        )

    def frames(
        self, start: datetime, end: datetime, interval: int = 60, *, containers: bool = False
    ) -> tuple[pd.DataFrame, ...]:
        """The samples of every slot start, start + interval, ... < end, as (nodes, pods) DataFrames,
        and with `containers` a third, the pods' containers (CONTAINER_COLUMNS).

        Row for row what snapshot(t) gives for each slot t, in the bulk-import column format
        (NODE_COLUMNS, POD_COLUMNS; timestamps UTC; `labels` dicts are shared between rows of the
        same node or pod life: do not mutate them). Vectorised; to bound memory when backfilling
        call it one day at a time (see daily_frames()): a day is about 1,440 x 150 pod rows.
        """
        if interval <= 0:
            raise ValueError(f"interval must be a positive number of seconds, got {interval}")
        t0, t1 = _epoch(start), _epoch(end)
        ts = np.arange(t0, t1, interval, dtype=np.int64)
        nodes, pods = self._sample(ts)
        frames = (
            self._frame(nodes, [*NODE_COLUMNS, *NODE_GPU_COLUMNS]),
            self._frame(pods, [*POD_COLUMNS, *POD_GPU_COLUMNS]),
        )
        if containers:
            frames += (self._frame(pods["_containers"], CONTAINER_COLUMNS),)
        return frames

    def daily_frames(
        self, start: date, end: date, interval: int = 60
    ) -> Iterator[tuple[date, pd.DataFrame, pd.DataFrame]]:
        """frames() for each UTC day in [start, end): what a backfill iterates over."""
        day = start
        while day < end:
            t = datetime(day.year, day.month, day.day, tzinfo=UTC)
            nodes, pods = self.frames(t, t + timedelta(days=1), interval)
            yield day, nodes, pods
            day += timedelta(days=1)

    def node_lifetimes(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Every node life that overlaps [start, end), clipped to it: what the demo bill charges for."""
        t0, t1 = _epoch(start), _epoch(end)
        lives = self._node_lives(t0, t1)
        return pd.DataFrame(
            {
                "node": lives["node"],
                "node_pool": lives["node_pool"],
                "provider_id": lives["provider_id"],
                "instance_id": [p.rsplit("/", 1)[-1] for p in lives["provider_id"]],
                "instance_type": lives["instance_type"],
                "spot": [self._pools[p].spot for p in lives["node_pool"]],
                "zone": [lab["topology.kubernetes.io/zone"] for lab in lives["labels"]],
                "start": pd.to_datetime(np.maximum(lives["start"], t0), unit="s", utc=True),
                "end": pd.to_datetime(np.minimum(lives["end"], t1), unit="s", utc=True),
            }
        )

    def persistent_volumes(self) -> list[tuple[str, str, int]]:
        """(namespace, claim name, size GiB) of every volume's disk, the EVS disks of the bill: the
        StatefulSets' claims, the unmounted claim and the released volume's former claim."""
        return [
            *(
                (w.namespace, f"data-{w.name}-{i}", VOLUME_SIZES_GIB[w.name])
                for w in WORKLOADS
                if w.kind == "StatefulSet"
                for i in range(w.max_replicas)
            ),
            UNMOUNTED_CLAIM,
            RELEASED_CLAIM,
        ]

    @staticmethod
    def claims_of(owner_kind: str, pod: str) -> tuple[str, ...]:
        """The claims a demo pod mounts: a StatefulSet replica its data-<pod>, any other pod none."""
        return (f"data-{pod}",) if owner_kind == "StatefulSet" else ()

    def with_claims(self, pods: pd.DataFrame) -> pd.DataFrame:
        """A frames() pods frame with the recorder's `claims` column (the claims each pod mounts, as claims_of:
        the text of names the recorder reads, a column of a day's slots at once)."""
        claim = "data-" + pd.Series(pods["pod"], dtype=object).astype(str)
        return pods.assign(claims=claim.where(pd.Series(pods["owner_kind"]) == "StatefulSet", "").to_numpy())

    def volume_frame(self, start: datetime, end: datetime, interval: int = 60) -> pd.DataFrame:
        """The volumes() of every slot start, start + interval, ... < end (VOLUME_COLUMNS), as snapshot(t)
        gives them for each slot t: what a backfill records beside frames()."""
        stamps = pd.to_datetime(
            np.arange(_epoch(start), _epoch(end), interval, dtype=np.int64), unit="s", utc=True
        )
        volumes, _ = self.volumes()
        rows = [
            (t, v.name, v.capacity_bytes, v.phase, v.claim_namespace, v.claim_name, v.disk_id, v.driver,
             v.storage_class)
            for t in stamps
            for v in volumes
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=VOLUME_COLUMNS)

    def load_balancers(self) -> list[LoadBalancerSample]:
        """The Services of type LoadBalancer: the ingress controller's, on the dedicated ELB the demo bill
        charges (its ResourceId is the kubernetes.io/elb.id annotation, its tag the Service). Static."""
        elb = self.resource_uuid("elb", "ingress")
        ip = f"121.36.{_key_be(self.name, self.seed, 'eip') % 250 + 1}.{_key_be(self.name, 'eip') % 250 + 1}"
        return [
            LoadBalancerSample(
                namespace="ingress-nginx",
                name="ingress-nginx-controller",
                uid=self.resource_uuid("service", "ingress-nginx-controller"),
                cloud_id=elb,
                ip=ip,
                ids=tuple(sorted({elb, ip})),
                selector={"app.kubernetes.io/name": "ingress-nginx-controller"},
            )
        ]

    def load_balancer_frame(self, start: datetime, end: datetime, interval: int = 60) -> pd.DataFrame:
        """load_balancers() at every slot start, start + interval, ... < end (LOAD_BALANCER_COLUMNS), as
        frames() gives the nodes and pods: what a backfill records beside them."""
        ts = np.arange(_epoch(start), _epoch(end), interval, dtype=np.int64)
        stamps = pd.to_datetime(ts, unit="s", utc=True)
        rows = [
            (stamp, lb.namespace, lb.name, lb.cloud_id, lb.hostname, lb.ip, lb.ids, lb.selector)
            for stamp in stamps
            for lb in self.load_balancers()
        ]
        return pd.DataFrame(rows, columns=LOAD_BALANCER_COLUMNS)

    def volume_name(self, claim: str) -> str:
        """The PersistentVolume provisioned for `claim` (pvc-<uuid>, as CSI provisioners name them)."""
        return f"pvc-{self.resource_uuid('pv', claim)}"

    def volumes(self) -> tuple[list[VolumeSample], list[ClaimSample]]:
        """The PersistentVolumes (disk_id = the EVS volume id the bill names) and the claims that exist.
        Static: the demo's volumes neither come nor go."""
        volumes, claims = [], []
        for namespace, claim, size in self.persistent_volumes():
            released = (namespace, claim, size) == RELEASED_CLAIM
            pv = self.volume_name(claim)
            volumes.append(
                VolumeSample(
                    name=pv,
                    capacity_bytes=size * GIB,
                    phase="Released" if released else "Bound",
                    storage_class=STORAGE_CLASS,
                    claim_namespace=namespace,
                    claim_name=claim,
                    driver=EVS_DRIVER,
                    disk_id=self.resource_uuid("evs", claim),
                )
            )
            if not released:
                claims.append(ClaimSample(namespace, claim, pv, "Bound", size * GIB))
        return volumes, claims

    def resource_uuid(self, *parts: object) -> str:
        """A cloud resource's id (instance ids aside): a pure function of (name, seed, parts)."""
        h = _key_be(self.name, self.seed, *parts)
        return str(uuid.UUID(int=(h << 64) | _key_be(h, "lo"), version=4))

    # -- construction --------------------------------------------------------------------------------

    def _build_static_nodes(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for pool in POOLS:
            used: set[int] = set()
            nodes = []
            for i in range(pool.static_nodes):
                h = _key(self.name, self.seed, "node", pool.name, i)
                host = 10 + h % 90
                while host in used:
                    host = 10 + (host - 9) % 90
                used.add(host)
                nodes.append(self._node_record(pool, f"192.168.{pool.subnet}.{host}", h, ZONES[i % 3]))
            out[pool.name] = nodes
        return out

    def _node_record(self, pool: NodePool, name: str, h: int, zone: str) -> dict:
        itype = INSTANCE_TYPES[pool.instance_type]
        instance_id = str(uuid.UUID(int=(h << 64) | _key(h, "instance"), version=4))
        return {
            "node": name,
            "node_pool": pool.name,
            "provider_id": f"huaweicloud:///{instance_id}",
            "instance_type": itype.name,
            "cpu_capacity_cores": float(itype.cpu_cores),
            "memory_capacity_bytes": itype.memory_capacity_bytes,
            "labels": {
                POOL_LABEL: pool.name,
                INSTANCE_TYPE_LABEL: itype.name,
                CAPACITY_TYPE_LABEL: "spot" if pool.spot else "on-demand",
                "topology.kubernetes.io/region": REGION,
                "topology.kubernetes.io/zone": zone,
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                **({ACCELERATOR_LABEL: itype.accelerator} if itype.gpus else {}),
            },
            "gpu_capacity_devices": float(itype.gpus),
        }

    def _scaling_node(self, pool: NodePool, day: int) -> dict:
        """The pool's autoscaled node of `day` (epoch days): a new instance, name and id every day."""
        if (pool.name, day) not in self._scaling_cache:
            h = _key(self.name, self.seed, "scaled-node", pool.name, day)
            node = self._node_record(pool, f"192.168.{pool.subnet}.{100 + h % 150}", h, ZONES[day % 3])
            self._scaling_cache[pool.name, day] = node
        return self._scaling_cache[pool.name, day]

    def _build_slots(self) -> None:
        """One slot per (controller, replica index): the unit the replica curves switch on and off."""
        w_idx, r_idx = [], []
        for wi, w in enumerate(WORKLOADS):
            for i in range(w.max_replicas):
                w_idx.append(wi)
                r_idx.append(i)
        self._slot_w = np.array(w_idx)
        self._slot_i = np.array(r_idx)
        self._w_key = np.array(
            [_key(self.name, self.seed, w.namespace, w.name) for w in WORKLOADS], np.uint64
        )
        self._slot_key = _mix(self._w_key[self._slot_w], self._slot_i)
        pool_index = {p.name: i for i, p in enumerate(POOLS)}
        self._slot_pool = np.array([pool_index[WORKLOADS[w].pool] for w in self._slot_w])
        self._slot_gpu_pool = np.array(
            [INSTANCE_TYPES[POOLS[p].instance_type].gpus > 0 for p in self._slot_pool]
        )
        self._slot_rank = np.zeros(len(self._slot_w), dtype=np.int64)  # position among its pool's slots
        for pi in range(len(POOLS)):
            sel = np.flatnonzero(self._slot_pool == pi)
            self._slot_rank[sel] = np.arange(len(sel))
        self._w_min = np.array([w.min_replicas for w in WORKLOADS])
        self._w_max = np.array([w.max_replicas for w in WORKLOADS])
        self._w_profile = np.array([w.profile for w in WORKLOADS])
        self._w_evening = np.array([w.evening_replicas for w in WORKLOADS])
        # Deployments roll out daily at a minute of their own during office hours, StatefulSets weekly.
        daily = np.array([w.kind == "Deployment" for w in WORKLOADS])
        self._w_period = np.where(daily, 1440, 7 * 1440)
        self._w_offset = np.where(
            daily,
            7 * 60 + (self._w_key % np.uint64(600)).astype(np.int64),
            # weekly, on Sunday between 02:00 and 04:00
            _SUNDAY * 1440 + 120 + (self._w_key % np.uint64(120)).astype(np.int64),
        )
        for w in WORKLOADS:
            # A run's start must lie within one period before the window for the replay in
            # _controller_runs to be exact: so scaling workloads and scaling pools need daily rollouts.
            if (w.kind != "Deployment") and (w.max_replicas > w.min_replicas or self._pools[w.pool].scaling):
                raise ValueError(
                    f"{w.namespace}/{w.name}: only Deployments may scale or run on a scaling pool"
                )

    def _build_namespace_labels(self) -> dict[str, dict[str, str]]:
        labels = {ns: {"kubernetes.io/metadata.name": ns} for ns in ALL_NAMESPACES}
        for slug, names in APP_DEPARTMENTS.values():
            for ns in names:
                if ns not in UNLABELLED_NAMESPACES:
                    labels[ns][DEPARTMENT_LABEL] = slug
        return labels

    # -- nodes ---------------------------------------------------------------------------------------

    def _scaling_present(self, minutes: np.ndarray) -> np.ndarray:
        mod = minutes % 1440
        return (_weekday(minutes // 1440) < 5) & (mod >= SCALE_OUT_MINUTE) & (mod < SCALE_IN_MINUTE)

    def _node_lives(self, t0: int, t1: int) -> dict[str, list]:
        """Node lives overlapping [t0, t1), sorted by node name, with [start, end) in epoch seconds."""
        rows = []
        for pool in POOLS:
            for n in self._static_nodes[pool.name]:
                rows.append({**n, "start": 0, "end": _FOREVER})
            if pool.scaling:
                for day in range(t0 // DAY, (t1 - 1) // DAY + 1):
                    if _weekday(day) < 5:
                        a, b = day * DAY + SCALE_OUT_MINUTE * 60, day * DAY + SCALE_IN_MINUTE * 60
                        if a < t1 and b > t0:
                            rows.append({**self._scaling_node(pool, day), "start": a, "end": b})
        rows.sort(key=lambda r: (r["node"], r["start"]))
        out: dict[str, list] = {k: [r[k] for r in rows] for k in rows[0]} if rows else {}
        out["start"] = np.array(out["start"], dtype=np.int64)
        out["end"] = np.array(out["end"], dtype=np.int64)
        return out

    def _pick_nodes(
        self, pool: NodePool, keys: np.ndarray, start_s: np.ndarray, scaling_ok: np.ndarray
    ) -> tuple[list[str], np.ndarray]:
        """Deterministic scheduling: one of the pool's static nodes, or its scaling node where allowed.

        Returns the node names and whether each pick is the scaling node.
        """
        static = [n["node"] for n in self._static_nodes[pool.name]]
        n_static = len(static)
        extra = scaling_ok & pool.scaling
        choice = (keys % (n_static + extra).astype(np.uint64)).astype(np.int64)
        names = [
            static[c] if c < n_static else self._scaling_node(pool, s // DAY)["node"]
            for c, s in zip(choice.tolist(), start_s.tolist(), strict=True)
        ]
        return names, choice >= n_static

    # -- pods ----------------------------------------------------------------------------------------

    def _replicas(self, minutes: np.ndarray) -> np.ndarray:
        """Replicas per (minute, workload): HPA following the load, CronHPA floor in the evening."""
        mow = _minute_of_week(minutes)
        load = _LOAD[self._w_profile][:, mow].T  # (M, W)
        days = minutes // 1440
        uniq, inv = np.unique(days, return_inverse=True)
        # Day-to-day variation of the peak, so that no two days look the same.
        amp = 0.85 + 0.25 * _uniform(_mix(self._w_key[None, :], uniq[:, None] * 7919))
        demand = np.minimum(load * amp[inv], 1.0)
        r = self._w_min + np.floor((self._w_max - self._w_min) * demand + 0.5).astype(np.int64)
        mod = (minutes % 1440)[:, None]
        evening = (mod >= EVENING_START_MINUTE) & (mod < EVENING_END_MINUTE)
        return np.where(evening, np.maximum(r, self._w_evening), r)

    def _controller_runs(self, t0: int, t1: int) -> _Runs:
        """Pod lives of Deployments and StatefulSets overlapping [t0, t1), replayed minute by minute.

        The replay starts one day before t0: every Deployment has rolled out since, so every pod
        alive at t0 started inside the replay and the result does not depend on where it began.
        StatefulSet pods only start at their weekly rollout, computed directly.
        """
        m0 = t0 // 60 - 1440
        m1 = -(-t1 // 60)
        minutes = np.arange(m0, m1, dtype=np.int64)
        sw = self._slot_w
        active = self._slot_i[None, :] < self._replicas(minutes)[:, sw]  # (M, S)
        period, offset = self._w_period[sw], self._w_offset[sw]
        rollout = ((minutes[:, None] - offset[None, :]) % period[None, :]) == 0
        prev = np.vstack([active[:1], active[:-1]])  # row 0: treated as already running
        starts = active & (~prev | rollout)
        first_start = m0 - (m0 - offset) % period  # last rollout at or before m0

        runs = self._label_runs(active, starts, minutes, first_start)
        # Pods on the scaling node are evicted when it goes at 16:00 and start again elsewhere: the
        # life is cut there and the remainder is a new pod (which can no longer pick that node).
        _, on_scaling = self._controller_nodes(runs["slot"], runs["start_min"])
        cut_min = (runs["start_min"] // 1440) * 1440 + SCALE_IN_MINUTE
        cut = on_scaling & (cut_min < runs["end_min"]) & (cut_min >= m0)
        if cut.any():
            starts[cut_min[cut] - m0, runs["slot"][cut]] = True
            runs = self._label_runs(active, starts, minutes, first_start)

        keep = (runs["end_min"] * 60 > t0) & (runs["start_min"] * 60 < t1)
        slot = runs["slot"][keep]
        start_min, end_min = runs["start_min"][keep], runs["end_min"][keep]
        return self._controller_records(slot, start_min, end_min)

    @staticmethod
    def _label_runs(
        active: np.ndarray, starts: np.ndarray, minutes: np.ndarray, first_start: np.ndarray
    ) -> dict:
        """Split the active cells of each slot into lives: a life begins at a start or after a gap."""
        n_min = active.shape[0]
        cells = np.flatnonzero(active.T)  # slot-major, so each slot's minutes are contiguous
        slot, m = cells // n_min, cells % n_min
        new_life = starts.T.ravel()[cells]
        new_life[1:] |= (slot[1:] != slot[:-1]) | (m[1:] != m[:-1] + 1)
        if len(new_life):
            new_life[0] = True
        begin = np.flatnonzero(new_life)
        last = np.r_[begin[1:] - 1, len(cells) - 1] if len(begin) else begin
        r_slot = slot[begin]
        r_start = minutes[m[begin]]
        # A life already running when the replay begins started at the slot's last rollout.
        carried = (m[begin] == 0) & ~starts.T.ravel()[cells[begin]]
        r_start = np.where(carried, first_start[r_slot], r_start)
        return {"slot": r_slot, "start_min": r_start, "end_min": minutes[m[last]] + 1}

    def _controller_nodes(self, slot: np.ndarray, start_min: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Node of each controller pod life; a pod may land on the scaling node if it is there at its start.

        Replicas are spread round-robin over the pool (as topology spread constraints would), turning
        by one node a day, so that no node is asked for more than it has. On a GPU pool a replica keeps
        its node: with the daily turn a pod not yet rolled out and its successor's neighbour could ask
        one node for more devices than it has.
        """
        turn = np.where(self._slot_gpu_pool[slot], 0, start_min // 1440)
        keys = (self._slot_rank[slot] + turn).astype(np.uint64)
        nodes = np.empty(len(slot), dtype=object)
        on_scaling = np.zeros(len(slot), dtype=bool)
        pool_of_slot = self._slot_pool[slot]
        for pi, pool in enumerate(POOLS):
            sel = np.flatnonzero(pool_of_slot == pi)
            if len(sel):
                names, scaled = self._pick_nodes(
                    pool, keys[sel], start_min[sel] * 60, self._scaling_present(start_min[sel])
                )
                nodes[sel] = names
                on_scaling[sel] = scaled
        return nodes, on_scaling

    def _controller_records(self, slot: np.ndarray, start_min: np.ndarray, end_min: np.ndarray) -> _Runs:
        keys = _mix(self._slot_key[slot], start_min)
        nodes, _ = self._controller_nodes(slot, start_min)
        wl = [WORKLOADS[w] for w in self._slot_w[slot]]
        replica = self._slot_i[slot]
        sw = self._slot_w[slot]
        generation = (start_min - self._w_offset[sw]) // self._w_period[sw]
        names, uids = [], []
        for w, i, g, k, wk in zip(
            wl, replica.tolist(), generation.tolist(), keys.tolist(), self._w_key[sw].tolist(), strict=True
        ):
            if w.kind == "StatefulSet":
                names.append(f"{w.name}-{i}")
            else:
                names.append(f"{w.name}-{_suffix(_key(wk, 'rs', g), 10)}-{_suffix(k, 5)}")
            uids.append(_uid(k))
        n = len(slot)
        return _Runs(
            namespace=[w.namespace for w in wl],
            pod=names,
            uid=uids,
            node=list(nodes),
            owner_kind=[w.kind for w in wl],
            owner_name=[w.name for w in wl],
            labels=[self._pod_labels(w.name, w.component, w.namespace) for w in wl],
            start=start_min * 60,
            end=end_min * 60,
            key=keys,
            cpu_request=np.array([w.cpu_request for w in wl], dtype=float).reshape(n),
            mem_request=np.array([w.memory_request_mib * MIB for w in wl], dtype=float).reshape(n),
            cpu_ref=np.array([w.cpu_request for w in wl], dtype=float).reshape(n),
            mem_ref=np.array([w.memory_request_mib * MIB for w in wl], dtype=float).reshape(n),
            cpu_base=np.array([w.cpu_base for w in wl], dtype=float).reshape(n),
            cpu_load=np.array([w.cpu_load for w in wl], dtype=float).reshape(n),
            mem_base=np.array([w.mem_base for w in wl], dtype=float).reshape(n),
            mem_load=np.array([w.mem_load for w in wl], dtype=float).reshape(n),
            noise=np.array([w.noise for w in wl], dtype=float).reshape(n),
            profile=np.array([w.profile for w in wl], dtype=np.int64).reshape(n),
            flaky=np.array(
                [w.flaky_replica == i for w, i in zip(wl, replica.tolist(), strict=True)], bool
            ).reshape(n),
            gpu_request=np.array([w.gpus for w in wl], dtype=float).reshape(n),
            gpu_base=np.array([w.gpu_base for w in wl], dtype=float).reshape(n),
            gpu_load=np.array([w.gpu_load for w in wl], dtype=float).reshape(n),
        )

    def _pod_labels(self, app: str, component: str, namespace: str) -> dict[str, str]:
        key = (app, component, namespace)
        if key not in self._label_cache:
            labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/component": component}
            dept = self._ns_labels[namespace].get(DEPARTMENT_LABEL)
            if dept:
                labels["cost-center"] = dept
            self._label_cache[key] = labels
        return self._label_cache[key]

    def _batch_runs(self, t0: int, t1: int) -> list[_Runs]:
        out = []
        for b in BATCHES:
            bk = _key(self.name, self.seed, b.namespace, b.name)
            k = np.arange((t0 - b.offset - b.max_seconds - 60) // b.period, (t1 - b.offset) // b.period + 1)
            h = _mix(np.uint64(bk), k)
            # The controller starts the pod a few seconds after the scheduled time.
            scheduled = k * b.period + b.offset
            start = scheduled + 1 + (h % np.uint64(9)).astype(np.int64)
            life = b.min_seconds + (_mix(h, 1) % np.uint64(b.max_seconds - b.min_seconds + 1)).astype(
                np.int64
            )
            end = start + life
            keep = (end > t0) & (start < t1)
            k, h, start, end, scheduled = k[keep], h[keep], start[keep], end[keep], scheduled[keep]
            first, last = start // 60, (end - 1) // 60
            fits = (
                self._scaling_present(first) & self._scaling_present(last) & (first // 1440 == last // 1440)
            )
            nodes, _ = self._pick_nodes(self._pools[b.pool], h, start, fits)
            if b.kind == "CronJob":
                owners = [b.name] * len(k)
                pods = [
                    f"{b.name}-{s // 60}-{_suffix(x, 5)}"
                    for s, x in zip(scheduled.tolist(), h.tolist(), strict=True)
                ]
            else:
                owners = [f"{b.name}-{datetime.fromtimestamp(s, UTC):%Y%m%d}" for s in scheduled.tolist()]
                pods = [f"{o}-{_suffix(x, 5)}" for o, x in zip(owners, h.tolist(), strict=True)]
            usage = _Usage(b.cpu_request, b.memory_request_mib * MIB, b.cpu_base, 0.0, b.mem_base, 0.0, 0.2)
            labels = self._pod_labels(b.name, "batch", b.namespace)
            uids = [_uid(x) for x in h.tolist()]
            runs = _simple_runs(b.namespace, b.kind, pods, uids, nodes, owners, labels, start, end, h, usage)
            out.append(runs)
        return out

    def _daemonset_runs(self, t0: int, t1: int, lives: dict) -> list[_Runs]:
        out = []
        for ds in DAEMONSETS:
            dk = _key(self.name, self.seed, ds.namespace, ds.name)
            offset = _SUNDAY * DAY + 3 * HOUR + int(dk % 3600)  # weekly, Sunday 03:00-04:00
            pods, uids, nodes, starts, ends, keys = [], [], [], [], [], []
            for node, a, b in zip(lives["node"], lives["start"].tolist(), lives["end"].tolist(), strict=True):
                lo, hi = max(a, t0), min(b, t1)
                for g in range((lo - offset) // WEEK, (hi - 1 - offset) // WEEK + 1):
                    s, e = max(a, g * WEEK + offset), min(b, (g + 1) * WEEK + offset)
                    k = int(_mix(np.uint64(dk), _key(node, s) >> 1)[0])
                    pods.append(f"{ds.name}-{_suffix(k, 5)}")
                    uids.append(_uid(k))
                    nodes.append(node)
                    starts.append(s)
                    ends.append(e)
                    keys.append(k)
            mem = ds.memory_request_mib * MIB
            usage = _Usage(ds.cpu_request, mem, ds.cpu_base, 0.2, ds.mem_base, 0.1, 0.15)
            labels = self._pod_labels(ds.name, "node-agent", ds.namespace)
            owners = [ds.name] * len(pods)
            life = (np.array(starts, np.int64), np.array(ends, np.int64), np.array(keys, np.uint64))
            runs = _simple_runs(ds.namespace, "DaemonSet", pods, uids, nodes, owners, labels, *life, usage)
            out.append(runs)
        return out

    def _bare_pod_runs(self, t0: int, t1: int) -> _Runs:
        ns, name, pool, cpu_ref, mem_ref = BARE_POD
        bk = _key(self.name, self.seed, ns, name)
        offset = 9 * HOUR  # someone restarts it every Thursday morning
        g = np.arange((t0 - offset) // WEEK, (t1 - 1 - offset) // WEEK + 1)
        start, end = g * WEEK + offset, (g + 1) * WEEK + offset
        h = _mix(np.uint64(bk), g)
        nodes, _ = self._pick_nodes(self._pools[pool], h, start, np.zeros(len(g), dtype=bool))
        # BestEffort: no requests; usage is sized from a reference instead.
        usage = _Usage(0.0, 0.0, 0.5, 1.0, 0.8, 0.3, 0.5, cpu_ref=cpu_ref, mem_ref=mem_ref, profile=BUSINESS)
        uids = [_uid(x) for x in h.tolist()]
        names = [name] * len(g)
        labels = self._pod_labels(name, "debug", ns)
        return _simple_runs(ns, "Pod", names, uids, nodes, names, labels, start, end, h, usage)

    # -- sampling ------------------------------------------------------------------------------------

    def _sample(self, ts: np.ndarray) -> tuple[dict, dict]:
        """Node and pod columns for the sample instants `ts` (sorted epoch seconds), time-major."""
        if len(ts) == 0:
            empty_containers = {c: np.array([]) for c in [*CONTAINER_COLUMNS, "_row"]}
            return {c: [] for c in NODE_COLUMNS}, {
                **{c: [] for c in POD_COLUMNS},
                "_containers": empty_containers,
            }
        t0, t1 = int(ts[0]), int(ts[-1]) + 1
        lives = self._node_lives(t0, t1)
        node_cols = self._expand_nodes(lives, ts)
        parts = [
            self._controller_runs(t0, t1),
            *self._daemonset_runs(t0, t1, lives),
            *self._batch_runs(t0, t1),
            self._bare_pod_runs(t0, t1),
        ]
        runs = _concat(parts)
        return node_cols, self._expand_pods(runs, ts)

    @staticmethod
    def _rows(start: np.ndarray, end: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(life index, sample index) of every sample that falls in a life, ordered by sample then life."""
        i0 = np.searchsorted(ts, start, "left")
        i1 = np.searchsorted(ts, end, "left")
        counts = np.maximum(i1 - i0, 0)
        life = np.repeat(np.arange(len(start)), counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        sample = np.repeat(i0, counts) + (np.arange(counts.sum()) - first)
        order = np.argsort(sample, kind="stable")
        return life[order], sample[order]

    def _expand_nodes(self, lives: dict, ts: np.ndarray) -> dict:
        life, sample = self._rows(lives["start"], lives["end"], ts)
        cols = {"timestamp": ts[sample]}
        for c in [*NODE_COLUMNS[1:], *NODE_GPU_COLUMNS]:
            cols[c] = _take(lives[c], life)
        cols["cpu_capacity_cores"] = cols["cpu_capacity_cores"].astype(np.float64)
        cols["gpu_capacity_devices"] = cols["gpu_capacity_devices"].astype(np.float64)
        cols["memory_capacity_bytes"] = cols["memory_capacity_bytes"].astype(np.int64)
        return cols

    def _expand_pods(self, runs: _Runs, ts: np.ndarray) -> dict:
        # Lives sorted by (namespace, pod) so that rows come out in that order within each sample.
        order = sorted(range(len(runs.pod)), key=lambda i: (runs.namespace[i], runs.pod[i], runs.start[i]))
        runs = _select(runs, np.array(order, dtype=np.int64))
        life, sample = self._rows(runs.start, runs.end, ts)
        t = ts[sample]
        key = runs.key[life]
        h = _mix(key, t)
        u_cpu, u_mem, u_metrics = _uniform(h), _uniform(_mix(h, 1)), _uniform(_mix(h, 2))
        load = _LOAD[runs.profile[life], _minute_of_week(t // 60)]
        noise = runs.noise[life]
        cpu = (
            runs.cpu_ref[life]
            * (runs.cpu_base[life] + runs.cpu_load[life] * load)
            * (1 + noise * (2 * u_cpu - 1))
        )
        mem = (
            runs.mem_ref[life]
            * (runs.mem_base[life] + runs.mem_load[life] * load)
            * (1 + noise / 3 * (2 * u_mem - 1))
        )
        has_metrics = ~(runs.flaky[life] & (u_metrics < 0.04))
        cpu = np.where(has_metrics, np.round(cpu, 6), 0.0)
        mem = np.where(has_metrics, np.floor(mem / 4096) * 4096, 0.0)
        # DCGM's GPU utilisation: a share of the devices requested, never more than all of them.
        gpus = runs.gpu_request[life]
        busy = (runs.gpu_base[life] + runs.gpu_load[life] * load) * (
            1 + noise * (2 * _uniform(_mix(h, 3)) - 1)
        )
        gpu_use = np.where(has_metrics, np.round(gpus * np.clip(busy, 0.0, 1.0), 4), 0.0)
        pods = {
            "timestamp": t,
            "namespace": _take(runs.namespace, life),
            "pod": _take(runs.pod, life),
            "pod_uid": _take(runs.uid, life),
            "node": _take(runs.node, life),
            "owner_kind": _take(runs.owner_kind, life),
            "owner_name": _take(runs.owner_name, life),
            "cpu_request_cores": runs.cpu_request[life],
            "cpu_usage_cores": cpu,
            "memory_request_bytes": runs.mem_request[life],
            "memory_usage_bytes": mem,
            "labels": _take(runs.labels, life),
            "has_metrics": has_metrics,
            "gpu_request_devices": gpus,
            "gpu_usage_devices": gpu_use,
        }
        pods["_containers"] = _containers(pods, t - runs.start[life])
        return pods

    @staticmethod
    def _frame(cols: dict, columns: list[str]) -> pd.DataFrame:
        data = dict(cols)
        data["timestamp"] = pd.to_datetime(np.asarray(cols["timestamp"], dtype=np.int64), unit="s", utc=True)
        return pd.DataFrame(data, columns=columns)


def _containers(pods: dict, age: np.ndarray) -> dict:
    """The containers of pod rows (CONTAINER_COLUMNS and `_row`, the pod row): they add up to the pod.

    A mesh pod is its app and an istio-proxy sidecar that takes a share of the pod's usage (so it has
    the app's daily cycle, smaller); in its first minute a pod with an init container runs that alone.
    """
    n = len(pods["pod"])
    namespace, kind, owner = pods["namespace"], pods["owner_kind"], pods["owner_name"]
    controller = np.isin(kind, ["Deployment", "StatefulSet"])
    mesh = controller & np.isin(namespace, list(MESH_NAMESPACES))
    has_init = mesh | (kind == "StatefulSet")
    init = has_init & (age < INIT_SECONDS)
    app = np.where(kind == "Pod", BARE_CONTAINER, owner).astype(object)
    init_name = np.where(mesh, "istio-init", "init-permissions").astype(object)
    cpu_req = np.asarray(pods["cpu_request_cores"], dtype=np.float64)
    mem_req = np.asarray(pods["memory_request_bytes"], dtype=np.float64)
    cpu_use = np.asarray(pods["cpu_usage_cores"], dtype=np.float64)
    mem_use = np.asarray(pods["memory_usage_bytes"], dtype=np.float64)
    metrics = np.asarray(pods["has_metrics"], dtype=bool)
    side = mesh & ~init
    side_cpu_req = np.where(side, np.minimum(SIDECAR_CPU_REQUEST, cpu_req / 4), 0.0)
    side_mem_req = np.where(side, np.minimum(SIDECAR_MEM_REQUEST, mem_req / 4), 0.0)
    side_cpu = np.where(side, np.round(cpu_use * SIDECAR_CPU_SHARE, 6), 0.0)
    side_mem = np.where(
        side & metrics,
        np.floor(np.minimum(SIDECAR_MEM_BASE + SIDECAR_MEM_SHARE * mem_use, mem_use) / 4096) * 4096,
        0.0,
    )
    # The app's memory limit: twice its request for controllers, none for the rest (batch, DaemonSets).
    main_mem_req = mem_req - side_mem_req
    main_mem_limit = np.where(controller & ~init, 2 * main_mem_req, np.where(init, mem_req, 0.0))
    rows = np.arange(n)
    columns = {
        "_row": np.concatenate([rows, rows[side]]),
        "timestamp": np.concatenate([pods["timestamp"], np.asarray(pods["timestamp"])[side]]),
        "namespace": np.concatenate([namespace, namespace[side]]),
        "pod": np.concatenate([pods["pod"], pods["pod"][side]]),
        "pod_uid": np.concatenate([pods["pod_uid"], pods["pod_uid"][side]]),
        "container": np.concatenate(
            [np.where(init, init_name, app), np.full(int(side.sum()), SIDECAR, object)]
        ),
        "init": np.concatenate([init, np.zeros(int(side.sum()), bool)]),
        "cpu_request_cores": np.concatenate([cpu_req - side_cpu_req, side_cpu_req[side]]),
        "cpu_limit_cores": np.concatenate([np.where(init, cpu_req, 0.0), 2 * side_cpu_req[side]]),
        "cpu_usage_cores": np.concatenate([cpu_use - side_cpu, side_cpu[side]]),
        "memory_request_bytes": np.concatenate([main_mem_req, side_mem_req[side]]),
        "memory_limit_bytes": np.concatenate([main_mem_limit, 2 * side_mem_req[side]]),
        "memory_usage_bytes": np.concatenate([mem_use - side_mem, side_mem[side]]),
        "has_metrics": np.concatenate([metrics, metrics[side]]),
    }
    order = np.lexsort((columns["init"], columns["_row"]))  # a pod's containers together, app first
    return {k: np.asarray(v)[order] for k, v in columns.items()}


@dataclass(frozen=True)
class _Usage:
    """Requests and usage curve shared by all lives of one DaemonSet, CronJob or bare pod."""

    cpu_request: float
    mem_request: float
    cpu_base: float
    cpu_load: float
    mem_base: float
    mem_load: float
    noise: float
    cpu_ref: float | None = None  # usage is relative to the request unless a reference is given
    mem_ref: float | None = None
    profile: int = FLAT


def _simple_runs(namespace, kind, pods, uids, nodes, owners, labels, start, end, keys, u: _Usage) -> _Runs:
    n = len(pods)

    def full(v, dtype=float):
        return np.full(n, v, dtype=dtype)

    return _Runs(
        namespace=[namespace] * n,
        pod=list(pods),
        uid=list(uids),
        node=list(nodes),
        owner_kind=[kind] * n,
        owner_name=list(owners),
        labels=[labels] * n,
        start=np.asarray(start, np.int64),
        end=np.asarray(end, np.int64),
        key=np.asarray(keys, np.uint64),
        cpu_request=full(u.cpu_request),
        mem_request=full(u.mem_request),
        cpu_ref=full(u.cpu_request if u.cpu_ref is None else u.cpu_ref),
        mem_ref=full(u.mem_request if u.mem_ref is None else u.mem_ref),
        cpu_base=full(u.cpu_base),
        cpu_load=full(u.cpu_load),
        mem_base=full(u.mem_base),
        mem_load=full(u.mem_load),
        noise=full(u.noise),
        profile=full(u.profile, np.int64),
        flaky=full(False, bool),
        gpu_request=full(0.0),
        gpu_base=full(0.0),
        gpu_load=full(0.0),
    )


def _take(values: list, idx: np.ndarray) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr[idx]


def _select(runs: _Runs, idx: np.ndarray) -> _Runs:
    out = {}
    for f in runs.__dataclass_fields__:
        v = getattr(runs, f)
        out[f] = v[idx] if isinstance(v, np.ndarray) else [v[i] for i in idx.tolist()]
    return _Runs(**out)


def _concat(parts: list[_Runs]) -> _Runs:
    out = {}
    for f in _Runs.__dataclass_fields__:
        vals = [getattr(p, f) for p in parts]
        out[f] = np.concatenate(vals) if isinstance(vals[0], np.ndarray) else [x for v in vals for x in v]
    return _Runs(**out)
