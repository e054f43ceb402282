"""The Kubernetes collector: one snapshot of nodes, namespaces, pods' effective requests and usage."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from decimal import Decimal

import urllib3
import yaml
from kubernetes import config as kube_config
from kubernetes.client import ApiClient, AppsV1Api, BatchV1Api, Configuration, CoreV1Api, CustomObjectsApi
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from costing.collectors.snapshot import (
    ClaimSample,
    ContainerSample,
    LoadBalancerSample,
    NamespaceInfo,
    NodeSample,
    PodSample,
    Snapshot,
    SnapshotError,
    VolumeSample,
)
from costing.gpus import gpu_devices
from costing.hotpath import gc_paused
from costing.load_balancers import service_ids
from costing.quantity import QuantityError, parse_quantity
from costing.volumes import disk_id

__all__ = [
    "WELL_KNOWN_POOL_LABELS",
    "KubeconfigError",
    "KubernetesCollector",
    "api_client_from_kubeconfig",
    "in_cluster_api_client",
]

# Checked in this order after the admin's own label; the first present names the node's pool.
WELL_KNOWN_POOL_LABELS = (
    "cce.cloud.com/cce-nodepool",  # Huawei CCE
    "eks.amazonaws.com/nodegroup",  # EKS managed node groups
    "karpenter.sh/nodepool",  # Karpenter (EKS and others)
    "cloud.google.com/gke-nodepool",  # GKE
    "kubernetes.azure.com/agentpool",  # AKS
    "agentpool",  # AKS, older clusters
)
INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
DEFAULT_POOL = "default"
FINISHED_PHASES = frozenset({"Succeeded", "Failed"})
# Kubernetes only lets cpu and memory be set at pod level (spec.resources, KEP-2837).
POD_LEVEL_RESOURCES = ("cpu", "memory")

# A sample is retried by the next one a minute later, so a read is never retried here (it would
# multiply the timeout); only connecting is, since a pooled keep-alive connection may just have closed.
RETRIES = urllib3.Retry(total=2, connect=2, read=0, redirect=0, status=0, other=0, backoff_factor=0.1)

_ZERO = Decimal(0)
_METRICS_ABSENT = frozenset({404, 503})
# A role from before volumes were read (403) samples on without them: the slot is not made a gap.
_VOLUMES_ABSENT = frozenset({403, 404})


class KubeconfigError(ValueError):
    """A kubeconfig that cannot be used; the message says which part and why."""


class KubernetesCollector:
    """Takes snapshots of one cluster through the API server (and metrics.k8s.io for usage).

    Lists are fetched raw (`_preload_content=False`) and parsed with json: the client's model classes
    cost seconds on a 10,000-pod cluster.
    """

    def __init__(
        self,
        api_client: ApiClient,
        *,
        page_size: int = 500,
        node_pool_label: str | None = None,
        timeout: float = 10.0,
        gpu_resources: dict[str, float] | None = None,
    ):
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, not {page_size}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, not {timeout}")
        self.page_size = page_size
        self.timeout = timeout
        self.pool_labels = ((node_pool_label,) if node_pool_label else ()) + WELL_KNOWN_POOL_LABELS
        self._core = CoreV1Api(api_client)
        self._apps = AppsV1Api(api_client)
        self._batch = BatchV1Api(api_client)
        self._custom = CustomObjectsApi(api_client)
        self._quantities: dict[str, Decimal] = {}
        # Extended resources the policy counts as GPUs (name -> devices per unit), beside nvidia.com/gpu
        # and the MIG profiles that costing.gpus always reads.
        self.gpu_resources = dict(gpu_resources or {})

    def snapshot(self, now: datetime) -> Snapshot:
        """Everything the cluster shows at `now` (timezone-aware); SnapshotError if it cannot be seen."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("snapshot(now): now must be timezone-aware")
        with gc_paused():
            return self._snapshot(now)

    def _snapshot(self, now: datetime) -> Snapshot:
        nodes = [self._node(item) for item in self._list("nodes", self._core.list_node)]
        namespaces = [
            NamespaceInfo(name=meta["name"], labels=meta.get("labels") or {})
            for meta in (item["metadata"] for item in self._list("namespaces", self._core.list_namespace))
        ]
        replicaset_owners = self._controllers("replicasets", self._apps.list_replica_set_for_all_namespaces)
        job_owners = self._controllers("jobs", self._batch.list_job_for_all_namespaces)
        # The server-side selector only saves bytes; the same rule is applied again below.
        pod_items = self._list(
            "pods",
            self._core.list_pod_for_all_namespaces,
            field_selector="spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed",
        )
        usage = self._pod_usage()
        pods = []
        for item in pod_items:
            pod = self._pod(item, replicaset_owners, job_owners, usage)
            if pod is not None:
                pods.append(pod)
        volumes, claims = self._volumes()
        return Snapshot(
            taken_at=now.astimezone(UTC),
            nodes=nodes,
            pods=pods,
            namespaces=namespaces,
            volumes=volumes,
            claims=claims,
            load_balancers=self._load_balancers(),
        )

    def _load_balancers(self) -> list[LoadBalancerSample] | None:
        """Services of type LoadBalancer; None when the role may not list Services (a role from before)."""
        items = self._list(
            "services", self._core.list_service_for_all_namespaces, absent_codes=_VOLUMES_ABSENT
        )
        if items is None:
            return None
        found = []
        for item in items:
            if (item.get("spec") or {}).get("type") != "LoadBalancer":
                continue
            meta = item.get("metadata") or {}
            cloud_id, hostname, ip, ids = service_ids(item)
            found.append(
                LoadBalancerSample(
                    namespace=meta.get("namespace", ""),
                    name=meta.get("name", ""),
                    uid=meta.get("uid", ""),
                    cloud_id=cloud_id,
                    hostname=hostname,
                    ip=ip,
                    ids=ids,
                    selector=dict((item.get("spec") or {}).get("selector") or {}),
                )
            )
        return found

    def _volumes(self) -> tuple[list[VolumeSample] | None, list[ClaimSample] | None]:
        """PersistentVolumes and PersistentVolumeClaims; (None, None) when the role may not list them."""
        pv_items = self._list(
            "persistentvolumes", self._core.list_persistent_volume, absent_codes=_VOLUMES_ABSENT
        )
        pvc_items = self._list(
            "persistentvolumeclaims",
            self._core.list_persistent_volume_claim_for_all_namespaces,
            absent_codes=_VOLUMES_ABSENT,
        )
        if pv_items is None or pvc_items is None:
            return None, None
        return [self._volume(item) for item in pv_items], [self._claim(item) for item in pvc_items]

    def _volume(self, item: dict) -> VolumeSample:
        meta, spec = item.get("metadata") or {}, item.get("spec") or {}
        name = meta.get("name", "")
        claim = spec.get("claimRef") or {}
        driver, disk = disk_id(spec)
        storage = (spec.get("capacity") or {}).get("storage", "0")
        return VolumeSample(
            name=name,
            capacity_bytes=int(self._quantity(storage, f"persistentvolume {name}", "spec.capacity.storage")),
            phase=(item.get("status") or {}).get("phase", ""),
            storage_class=spec.get("storageClassName") or "",
            claim_namespace=claim.get("namespace", "") if claim else "",
            claim_name=claim.get("name", "") if claim else "",
            driver=driver,
            disk_id=disk,
        )

    def _claim(self, item: dict) -> ClaimSample:
        meta, spec = item.get("metadata") or {}, item.get("spec") or {}
        namespace, name = meta.get("namespace", ""), meta.get("name", "")
        requested = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "0")
        where = f"persistentvolumeclaim {namespace}/{name}"
        return ClaimSample(
            namespace=namespace,
            name=name,
            volume=spec.get("volumeName") or "",
            phase=(item.get("status") or {}).get("phase", ""),
            requested_bytes=int(self._quantity(requested, where, "spec.resources.requests.storage")),
        )

    # --- objects -------------------------------------------------------------------------------------
    def _node(self, item: dict) -> NodeSample:
        meta = item.get("metadata") or {}
        name = meta.get("name", "")
        labels = meta.get("labels") or {}
        capacity = (item.get("status") or {}).get("capacity") or {}
        where = f"node {name}"
        pool = next((labels[key] for key in self.pool_labels if labels.get(key)), DEFAULT_POOL)
        instance_type = next((labels[key] for key in INSTANCE_TYPE_LABELS if labels.get(key)), "")
        return NodeSample(
            name=name,
            node_pool=pool,
            provider_id=(item.get("spec") or {}).get("providerID", ""),
            cpu_capacity_cores=float(self._quantity(capacity.get("cpu", "0"), where, "status.capacity.cpu")),
            memory_capacity_bytes=int(
                self._quantity(capacity.get("memory", "0"), where, "status.capacity.memory")
            ),
            instance_type=instance_type,
            labels=labels,
            gpu_capacity_devices=float(self._gpus(capacity, where, "status.capacity")),
        )

    def _pod(
        self,
        item: dict,
        replicaset_owners: dict[tuple[str, str], tuple[str, str] | None],
        job_owners: dict[tuple[str, str], tuple[str, str] | None],
        usage: dict[tuple[str, str], dict[str, tuple[Decimal, Decimal]]] | None,
    ) -> PodSample | None:
        spec = item.get("spec") or {}
        node = spec.get("nodeName")
        if not node or (item.get("status") or {}).get("phase") in FINISHED_PHASES:
            return None
        meta = item["metadata"]
        namespace, name = meta.get("namespace", ""), meta["name"]
        cpu_request, memory_request = self._effective_requests(spec, f"pod {namespace}/{name}")
        owner_kind, owner_name = _top_owner(meta, namespace, name, replicaset_owners, job_owners)
        measured = usage.get((namespace, name)) if usage is not None else None
        containers = self._containers(spec, measured, f"pod {namespace}/{name}")
        cpu_usage = sum((c[0] for c in measured.values()), _ZERO) if measured is not None else _ZERO
        memory_usage = sum((c[1] for c in measured.values()), _ZERO) if measured is not None else _ZERO
        return PodSample(
            namespace=namespace,
            name=name,
            uid=meta.get("uid", ""),
            node=node,
            owner_kind=owner_kind,
            owner_name=owner_name,
            cpu_request_cores=float(cpu_request),
            cpu_usage_cores=float(cpu_usage),
            memory_request_bytes=float(memory_request),
            memory_usage_bytes=float(memory_usage),
            labels=meta.get("labels") or {},
            has_metrics=measured is not None,
            containers=containers,
            gpu_request_devices=float(self._effective_gpus(spec, f"pod {namespace}/{name}")),
            claims=_claims_of(spec, name),
        )

    def _containers(
        self, spec: dict, measured: dict[str, tuple[Decimal, Decimal]] | None, where: str
    ) -> tuple[ContainerSample, ...]:
        """The pod's app containers and sidecars, and those init containers the metrics API shows running
        (it lists running containers only; without it, a finished init container cannot be told apart)."""
        out = []
        listed = [(c, False) for c in spec.get("containers") or ()]
        for c in spec.get("initContainers") or ():
            sidecar = c.get("restartPolicy") == "Always"
            if sidecar or (measured is not None and c.get("name") in measured):
                listed.append((c, not sidecar))
        for container, init in listed:
            name = container.get("name", "")
            resources = container.get("resources") or {}
            cpu_request, memory_request = self._container_requests(container, where, "container")
            limits = resources.get("limits") or {}
            field = f"{where} container {name}"
            cpu_limit = (
                self._quantity(limits["cpu"], field, "resources.limits.cpu") if "cpu" in limits else _ZERO
            )
            memory_limit = (
                self._quantity(limits["memory"], field, "resources.limits.memory")
                if "memory" in limits
                else _ZERO
            )
            used = measured.get(name) if measured is not None else None
            cpu_usage, memory_usage = used if used is not None else (_ZERO, _ZERO)
            out.append(
                ContainerSample(
                    name=name,
                    cpu_request_cores=float(cpu_request),
                    cpu_limit_cores=float(cpu_limit),
                    cpu_usage_cores=float(cpu_usage),
                    memory_request_bytes=float(memory_request),
                    memory_limit_bytes=float(memory_limit),
                    memory_usage_bytes=float(memory_usage),
                    init=init,
                    has_metrics=used is not None,
                )
            )
        return tuple(out)

    def _effective_requests(self, spec: dict, where: str) -> tuple[Decimal, Decimal]:
        """The pod's (cpu, memory) requests by the scheduler's rule (component-helpers PodRequests):
        app containers and sidecars (restartable init containers) run together and add up; each other
        init container runs alone beside the sidecars started before it; the pod needs the larger of the
        two. Pod-level requests, where set, replace the containers' figure; spec.overhead adds to it."""
        cpu = memory = _ZERO
        for container in spec.get("containers") or ():
            c, m = self._container_requests(container, where, "container")
            cpu += c
            memory += m
        init_cpu = init_memory = sidecar_cpu = sidecar_memory = _ZERO
        for container in spec.get("initContainers") or ():
            c, m = self._container_requests(container, where, "initContainer")
            if container.get("restartPolicy") == "Always":
                cpu += c
                memory += m
                sidecar_cpu += c
                sidecar_memory += m
                c, m = sidecar_cpu, sidecar_memory
            else:
                c += sidecar_cpu
                m += sidecar_memory
            init_cpu = max(init_cpu, c)
            init_memory = max(init_memory, m)
        cpu = max(cpu, init_cpu)
        memory = max(memory, init_memory)
        pod_requests = (spec.get("resources") or {}).get("requests") or {}
        if "cpu" in pod_requests:
            cpu = self._quantity(pod_requests["cpu"], where, "spec.resources.requests.cpu")
        if "memory" in pod_requests:
            memory = self._quantity(pod_requests["memory"], where, "spec.resources.requests.memory")
        overhead = spec.get("overhead") or {}
        if "cpu" in overhead:
            cpu += self._quantity(overhead["cpu"], where, "spec.overhead.cpu")
        if "memory" in overhead:
            memory += self._quantity(overhead["memory"], where, "spec.overhead.memory")
        return cpu, memory

    def _gpus(self, resources: dict, where: str, field: str) -> Decimal:
        """GPU devices in a resource list (costing.gpus); a bad quantity makes the sample a gap."""
        if not any("/" in name for name in resources):
            return _ZERO  # the hot path: no extended resource at all
        try:
            return gpu_devices(resources, self.gpu_resources, what=f"{where} {field}")
        except QuantityError as error:
            raise SnapshotError(str(error)) from None

    def _effective_gpus(self, spec: dict, where: str) -> Decimal:
        """The pod's GPU request by the scheduler's rule, as for CPU (_effective_requests): containers
        and sidecars add up, each other init container runs alone beside the sidecars before it. An
        extended resource given as a limit only is requested at its limit (the API server's default)."""
        total = sidecars = init = _ZERO
        for container in spec.get("containers") or ():
            total += self._container_gpus(container, where)
        for container in spec.get("initContainers") or ():
            gpus = self._container_gpus(container, where)
            if container.get("restartPolicy") == "Always":
                total += gpus
                sidecars += gpus
                init = max(init, sidecars)
            else:
                init = max(init, gpus + sidecars)
        return max(total, init)

    def _container_gpus(self, container: dict, where: str) -> Decimal:
        resources = container.get("resources") or {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}
        merged = {**{k: v for k, v in limits.items() if "/" in k}, **requests}
        return self._gpus(merged, f"{where} container {container.get('name', '?')}", "resources.requests")

    def _container_requests(self, container: dict, where: str, role: str) -> tuple[Decimal, Decimal]:
        requests = (container.get("resources") or {}).get("requests") or {}
        if not requests:
            return _ZERO, _ZERO
        cpu = requests.get("cpu")
        memory = requests.get("memory")
        known = self._quantities
        # The hot path of a snapshot: a cache hit needs no name for the field, so none is formatted.
        try:
            return (_ZERO if cpu is None else known[cpu], _ZERO if memory is None else known[memory])
        except (KeyError, TypeError):
            field = f"{where} {role} {container.get('name', '?')}"
            return (
                _ZERO if cpu is None else self._quantity(cpu, field, "resources.requests.cpu"),
                _ZERO if memory is None else self._quantity(memory, field, "resources.requests.memory"),
            )

    def _controllers(self, what: str, call) -> dict[tuple[str, str], tuple[str, str] | None]:
        """(namespace, name) -> the controller (kind, name) that owns each listed object, or None."""
        owners = {}
        for item in self._list(what, call):
            meta = item.get("metadata") or {}
            owners[(meta.get("namespace", ""), meta.get("name", ""))] = _controller_of(meta)
        return owners

    def _pod_usage(self) -> dict[tuple[str, str], dict[str, tuple[Decimal, Decimal]]] | None:
        """(namespace, name) -> {container: (cpu cores, working-set bytes)}; None: no metrics API."""
        items = self._list(
            "pod metrics",
            self._custom.list_cluster_custom_object,
            group="metrics.k8s.io",
            version="v1beta1",
            plural="pods",
            absent_ok=True,
        )
        if items is None:
            return None
        usage = {}
        for item in items:
            meta = item.get("metadata") or {}
            namespace, name = meta.get("namespace", ""), meta.get("name", "")
            containers = {}
            for container in item.get("containers") or ():
                measured = container.get("usage") or {}
                where = f"PodMetrics {namespace}/{name} container {container.get('name', '?')}"
                containers[container.get("name", "")] = (
                    self._quantity(measured.get("cpu", "0"), where, "usage.cpu"),
                    self._quantity(measured.get("memory", "0"), where, "usage.memory"),
                )
            usage[(namespace, name)] = containers
        return usage

    def _quantity(self, value, where: str, field: str) -> Decimal:
        try:
            return self._quantities[value]
        except (KeyError, TypeError):  # TypeError: an unhashable value, which parse_quantity rejects
            pass
        try:
            parsed = parse_quantity(value, what=f"{where} {field}")
        except QuantityError as error:
            raise SnapshotError(str(error)) from None
        if isinstance(value, str):
            self._quantities[value] = parsed
        return parsed

    # --- transport -----------------------------------------------------------------------------------
    def _list(
        self,
        what: str,
        call,
        *,
        absent_ok: bool = False,
        absent_codes: frozenset[int] = frozenset(),
        **params,
    ) -> list[dict] | None:
        """Every item of a paged list; None if `absent_ok` and the API group is not served, or if the
        server answers one of `absent_codes`."""
        items: list[dict] = []
        token = None
        absent = (_METRICS_ABSENT if absent_ok else frozenset()) | absent_codes
        while True:
            try:
                body = self._get(call, limit=self.page_size, _continue=token, **params)
            except ApiException as error:
                if error.status in absent:
                    return None
                raise SnapshotError(_http_reason(error.status, what, continued=token is not None)) from None
            except Exception as error:
                reason = _transport_reason(error, self.timeout)
                if reason is None:
                    raise
                raise SnapshotError(f"{reason} while listing {what}") from None
            try:
                page = json.loads(body)
                items.extend(page["items"] or ())
                token = (page.get("metadata") or {}).get("continue")
            except (ValueError, KeyError, TypeError, AttributeError):
                raise SnapshotError(f"malformed JSON from the API server while listing {what}") from None
            if not token:
                return items

    def _get(self, call, **params) -> bytes:
        response = call(**params, _preload_content=False, _request_timeout=self.timeout)
        try:
            return response.data
        finally:
            response.release_conn()


def _claims_of(spec: dict, pod: str) -> tuple[str, ...]:
    """The claims a pod's volumes mount: persistentVolumeClaim.claimName, and for a generic ephemeral
    volume the claim Kubernetes creates for it, named <pod>-<volume>."""
    claims = set()
    for volume in spec.get("volumes") or ():
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim:
            claims.add(claim)
        elif volume.get("ephemeral"):
            claims.add(f"{pod}-{volume.get('name', '')}")
    return tuple(sorted(claims))


def _controller_of(meta: dict) -> tuple[str, str] | None:
    for ref in meta.get("ownerReferences") or ():
        if ref.get("controller"):
            return ref.get("kind", ""), ref.get("name", "")
    return None


def _top_owner(
    meta: dict,
    namespace: str,
    name: str,
    replicaset_owners: dict[tuple[str, str], tuple[str, str] | None],
    job_owners: dict[tuple[str, str], tuple[str, str] | None],
) -> tuple[str, str]:
    """The controller a person manages: ReplicaSet -> Deployment, Job -> CronJob, none -> the pod itself."""
    owner = _controller_of(meta)
    if owner is None:
        return "Pod", name
    kind, owner_name = owner
    if kind == "ReplicaSet":
        return replicaset_owners.get((namespace, owner_name)) or owner
    if kind == "Job":
        return job_owners.get((namespace, owner_name)) or owner
    return owner


def _http_reason(status: int, what: str, *, continued: bool) -> str:
    if status == 401:
        return f"unauthorized: the API server rejected the credentials (HTTP 401) while listing {what}"
    if status == 403:
        return f"forbidden: the credentials may not list {what} (HTTP 403)"
    if status == 410 and continued:
        return (
            f"continue token expired while listing {what} (HTTP 410); the list changed too much while paging"
        )
    if status == 429:
        return f"API server throttled the request (HTTP 429) while listing {what}"
    if status >= 500:
        return f"API server error (HTTP {status}) while listing {what}"
    if status == 0:
        return f"TLS or request error while listing {what}"
    return f"unexpected HTTP {status} while listing {what}"


def _transport_reason(error: BaseException, timeout: float) -> str | None:
    """A short reason for a network failure, or None for an error that is not one (a bug: re-raise)."""
    if isinstance(error, MaxRetryError) and error.reason is not None:
        error = error.reason
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2: test it first.
    if isinstance(error, NameResolutionError):
        return "cannot resolve the API server's host name"
    if isinstance(error, NewConnectionError):
        cause = error.__cause__ or error.__context__
        if isinstance(cause, ConnectionRefusedError) or "refused" in str(error):
            return "connection refused: the API server is down or unreachable"
        return "cannot connect to the API server"
    if isinstance(error, (ReadTimeoutError, ConnectTimeoutError, socket.timeout, TimeoutError)):
        return f"API server timed out (no answer within {timeout:g} s)"
    if isinstance(error, SSLError):
        return "TLS error talking to the API server"
    if isinstance(error, (ProtocolError, ConnectionError)):
        return "connection to the API server was dropped"
    if isinstance(error, (urllib3.exceptions.HTTPError, OSError)):
        return f"network error talking to the API server ({type(error).__name__})"
    return None


# --- clients -----------------------------------------------------------------------------------------

# Anything that makes the kubeconfig read files or run programs on our server is refused: the text comes
# from a web form, so `exec` would be remote code execution and a file path a way to read our secrets.
_FORBIDDEN_USER_KEYS = ("exec", "auth-provider", "tokenFile", "client-certificate", "client-key")
_FORBIDDEN_CLUSTER_KEYS = ("certificate-authority",)


def api_client_from_kubeconfig(kubeconfig_text: str, context: str | None = None) -> ApiClient:
    """An ApiClient for one context of a kubeconfig given as text (inline credentials only)."""
    try:
        document = yaml.safe_load(kubeconfig_text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise KubeconfigError(f"kubeconfig is not valid YAML{where}") from None
    if not isinstance(document, dict):
        raise KubeconfigError("kubeconfig is not a YAML mapping")
    name = context or document.get("current-context")
    if not name:
        raise KubeconfigError("kubeconfig has no current-context and no context was given")
    ctx = _named(document, "contexts", "context", name)
    user = _named(document, "users", "user", ctx.get("user")) if ctx.get("user") else {}
    cluster = _named(document, "clusters", "cluster", ctx.get("cluster"))
    for key in _FORBIDDEN_USER_KEYS:
        if key in user:
            raise KubeconfigError(
                f"kubeconfig user {ctx.get('user')!r}: '{key}' is not supported; use an inline token "
                "(users[].user.token) or client-certificate-data/client-key-data"
            )
    for key in _FORBIDDEN_CLUSTER_KEYS:
        if key in cluster:
            raise KubeconfigError(
                f"kubeconfig cluster {ctx.get('cluster')!r}: '{key}' (a file path) is not supported; "
                "use certificate-authority-data"
            )
    if not cluster.get("server"):
        raise KubeconfigError(f"kubeconfig cluster {ctx.get('cluster')!r} has no server")
    configuration = Configuration()
    try:
        kube_config.load_kube_config_from_dict(
            document, context=name, client_configuration=configuration, persist_config=False
        )
    except (kube_config.ConfigException, ValueError, TypeError) as error:
        raise KubeconfigError(f"kubeconfig context {name!r} cannot be used: {error}") from None
    configuration.retries = RETRIES
    return ApiClient(configuration)


def _named(document: dict, section: str, key: str, name: str) -> dict:
    for entry in document.get(section) or ():
        if isinstance(entry, dict) and entry.get("name") == name:
            value = entry.get(key)
            if not isinstance(value, dict):
                raise KubeconfigError(f"kubeconfig {section} entry {name!r} has no '{key}' mapping")
            return value
    raise KubeconfigError(f"kubeconfig has no {section} entry named {name!r}")


def in_cluster_api_client() -> ApiClient:
    """An ApiClient with the service account of the pod this process runs in."""
    configuration = Configuration()
    try:
        kube_config.load_incluster_config(client_configuration=configuration)
    except kube_config.ConfigException as error:
        raise KubeconfigError(
            f"not running inside a Kubernetes pod with a service account: {error}"
        ) from None
    configuration.retries = RETRIES
    return ApiClient(configuration)
