"""A local Kubernetes API server for tests: real list JSON, paging, bearer auth and injected failures."""

from __future__ import annotations

import base64
import contextlib
import json
import random
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "FakeKubeAPI",
    "build_cluster",
    "make_container",
    "make_job",
    "make_namespace",
    "make_node",
    "make_node_metrics",
    "make_pod",
    "make_pod_metrics",
    "make_pv",
    "make_pvc",
    "make_replicaset",
    "make_service",
]

CREATED = "2025-01-06T08:00:00Z"
METRICS_TIME = "2025-01-06T09:59:42Z"


# kind -> (store, apiVersion, list kind, namespaced)
_KINDS = {
    "Node": ("nodes", "v1", "NodeList", False),
    "Namespace": ("namespaces", "v1", "NamespaceList", False),
    "Pod": ("pods", "v1", "PodList", True),
    "PersistentVolume": ("persistentvolumes", "v1", "PersistentVolumeList", False),
    "PersistentVolumeClaim": ("persistentvolumeclaims", "v1", "PersistentVolumeClaimList", True),
    "Service": ("services", "v1", "ServiceList", True),
    "ReplicaSet": ("replicasets", "apps/v1", "ReplicaSetList", True),
    "Job": ("jobs", "batch/v1", "JobList", True),
    "PodMetrics": ("pods.metrics", "metrics.k8s.io/v1beta1", "PodMetricsList", True),
    "NodeMetrics": ("nodes.metrics", "metrics.k8s.io/v1beta1", "NodeMetricsList", False),
}
# (group/version, plural) as they appear in URLs -> kind
_ROUTES = {
    ("v1", "nodes"): "Node",
    ("v1", "namespaces"): "Namespace",
    ("v1", "pods"): "Pod",
    ("v1", "persistentvolumes"): "PersistentVolume",
    ("v1", "persistentvolumeclaims"): "PersistentVolumeClaim",
    ("v1", "services"): "Service",
    ("apps/v1", "replicasets"): "ReplicaSet",
    ("batch/v1", "jobs"): "Job",
    ("metrics.k8s.io/v1beta1", "pods"): "PodMetrics",
    ("metrics.k8s.io/v1beta1", "nodes"): "NodeMetrics",
}
# Field selectors the real server supports for these kinds (a subset; others get 400 like the real one).
_FIELDS = {
    "metadata.name": ("metadata", "name"),
    "metadata.namespace": ("metadata", "namespace"),
    "spec.nodeName": ("spec", "nodeName"),
    "status.phase": ("status", "phase"),
}
_POD_ONLY_FIELDS = {"spec.nodeName", "status.phase"}
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
_EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new "
    "list without the continue parameter, or use the continue token in this response to retrieve the "
    "remainder of the results. Continuing with the provided token results in an inconsistent list - objects "
    "that were created, modified, or deleted between the time the first chunk was returned and now may show "
    "up in the list."
)


def status_json(code: int, message: str, reason: str | None = None, **extra) -> dict:
    """A metav1.Status failure as the API server writes it."""
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": extra.pop("metadata", {}),
        "status": "Failure",
        "message": message,
        "reason": reason or _REASONS.get(code, ""),
        "code": code,
    }
    body.update(extra)
    return body


class _Failure:
    __slots__ = ("body", "prefix", "status", "times")

    def __init__(self, prefix: str, status: int, times: int, body: bytes | None):
        self.prefix, self.status, self.times, self.body = prefix, status, times, body


class FakeKubeAPI:
    """In-memory Kubernetes objects served over HTTP like kube-apiserver serves them.

    Honoured: limit/continue paging (opaque tokens that expire like etcd compaction), fieldSelector on
    metadata.name, metadata.namespace and, for pods, spec.nodeName and status.phase (=, ==, !=; other
    fields get 400 as on the real server), equality-based labelSelector (k=v, k==v, k!=v, k, !k; set-based
    selectors get 400). Objects are serialized when added: add them again to change them.
    """

    def __init__(self, token: str = "test-token"):  # noqa: S107 - a test credential
        self.token = token
        self.metrics_available = True
        self.delay = 0.0  # seconds to wait before answering a request under delay_path_prefix
        self.delay_path_prefix = ""
        self.requests: list[str] = []  # path?query of every request served, in order
        self._lock = threading.Lock()
        self._stores: dict[str, dict[tuple[str, str], tuple[dict, bytes]]] = {
            store: {} for store, *_ in _KINDS.values()
        }
        self._sorted: dict[str, list[tuple[str, str]]] = {}
        self._rv = 1000
        self._compacted_rv = 0
        self._expire_after_first_page_of: str | None = None
        self._failures: list[_Failure] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # --- objects -------------------------------------------------------------------------------------
    def add(self, *objects: dict) -> None:
        """Create or replace objects (any kind in _KINDS); a pod's namespace is created if missing."""
        with self._lock:
            for obj in objects:
                self._add_locked(obj)

    def _add_locked(self, obj: dict) -> None:
        kind = obj["kind"]
        store, _api_version, _list_kind, namespaced = _KINDS[kind]
        meta = obj["metadata"]
        namespace = meta.get("namespace", "") if namespaced else ""
        if kind == "Pod" and ("", namespace) not in self._stores["namespaces"]:
            self._add_locked(make_namespace(namespace))
        self._rv += 1
        item = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}  # lists omit them
        if not kind.endswith("Metrics"):
            item["metadata"] = {**meta, "resourceVersion": str(self._rv)}
        # Only what selectors read is kept beside the bytes: a heap full of the server's dicts would
        # slow the client's garbage collector and make the benchmark lie.
        selectable = {
            "metadata": {
                "name": meta["name"],
                "namespace": namespace,
                "labels": dict(meta.get("labels") or {}),
            },
            "spec": {"nodeName": (obj.get("spec") or {}).get("nodeName") or ""},
            "status": {"phase": (obj.get("status") or {}).get("phase") or ""},
        }
        self._stores[store][(namespace, meta["name"])] = (selectable, _dump(item))
        self._sorted.pop(store, None)

    def remove(self, kind: str, name: str, namespace: str = "") -> None:
        store = _KINDS[kind][0]
        with self._lock:
            self._stores[store].pop((namespace if _KINDS[kind][3] else "", name))
            self._sorted.pop(store, None)
            self._rv += 1

    def count(self, kind: str) -> int:
        return len(self._stores[_KINDS[kind][0]])

    # --- failure injection ---------------------------------------------------------------------------
    def fail_next(self, path_prefix: str, status: int, times: int = 1, body: bytes | None = None) -> None:
        """The next `times` requests whose path starts with `path_prefix` get `status` (and a Status body,
        or `body` verbatim: with status 200 that is how to serve malformed JSON)."""
        with self._lock:
            self._failures.append(_Failure(path_prefix, status, times, body))

    def expire_continue_tokens(self, *, after_first_page_of: str | None = None) -> None:
        """Expire every continue token issued so far (as etcd compaction does): using one gets 410 Expired.
        With `after_first_page_of` (a path prefix), do it just after that list's first page is served."""
        with self._lock:
            if after_first_page_of is None:
                self._compacted_rv = self._rv
                self._rv += 1
            else:
                self._expire_after_first_page_of = after_first_page_of

    # --- server --------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeKubeAPI:
        api = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def process_request(self, request, client_address):
                with api._lock:
                    api._connections.add(request)
                super().process_request(request, client_address)

            def shutdown_request(self, request):
                with api._lock:
                    api._connections.discard(request)
                super().shutdown_request(request)

        class Handler(_Handler):
            fake = api

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-kube-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop every open connection: clients then see the API server as down."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeKubeAPI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- request handling (called from handler threads) ----------------------------------------------
    def handle(self, path: str, query: str, authorization: str | None) -> tuple[int, bytes]:
        with self._lock:
            self.requests.append(f"{path}?{query}" if query else path)
            delay = self.delay if path.startswith(self.delay_path_prefix) else 0.0
        if delay:
            time.sleep(delay)
        if authorization != f"Bearer {self.token}" and not (authorization is None and path == "/version"):
            return 401, _dump(status_json(401, "Unauthorized"))
        with self._lock:
            for failure in self._failures:
                if failure.times > 0 and path.startswith(failure.prefix):
                    failure.times -= 1
                    if failure.body is not None:
                        return failure.status, failure.body
                    return failure.status, _dump(
                        status_json(failure.status, f"injected failure {failure.status}")
                    )
        if path == "/version":
            return 200, _dump(
                {
                    "major": "1",
                    "minor": "33",
                    "gitVersion": "v1.33.2",
                    "gitCommit": "a57b6f7709f6c2722b92f07b8b4c48210a51fc40",
                    "gitTreeState": "clean",
                    "buildDate": "2025-06-17T18:36:17Z",
                    "goVersion": "go1.24.4",
                    "compiler": "gc",
                    "platform": "linux/amd64",
                }
            )
        route = _route(path)
        if route is None:
            return 404, _dump(status_json(404, "the server could not find the requested resource"))
        kind, namespace = route
        if kind.endswith("Metrics") and not self.metrics_available:
            return 404, _dump(status_json(404, "the server could not find the requested resource"))
        return self._list(path, kind, namespace, parse_qs(query, keep_blank_values=True))

    def _list(self, path: str, kind: str, namespace: str | None, params: dict) -> tuple[int, bytes]:
        store, api_version, list_kind, namespaced = _KINDS[kind]
        try:
            limit = int(params.get("limit", ["0"])[0] or 0)
            matches = _field_matcher(params.get("fieldSelector", [""])[0], kind)
            labels_match = _label_matcher(params.get("labelSelector", [""])[0])
        except ValueError as bad:
            return 400, _dump(status_json(400, str(bad)))
        token = params.get("continue", [""])[0]
        with self._lock:
            rv = self._rv
            start: tuple[str, str] | None = None
            if token:
                try:
                    decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
                    token_rv, start = int(decoded["rv"]), tuple(decoded["start"])
                except (ValueError, KeyError, TypeError):
                    return 400, _dump(status_json(400, "continue key is not valid: malformed token"))
                if token_rv <= self._compacted_rv:
                    fresh = _token(self._rv, start)
                    return 410, _dump(
                        status_json(410, _EXPIRED_MESSAGE, "Expired", metadata={"continue": fresh})
                    )
                rv = token_rv
            keys = self._sorted.get(store)
            if keys is None:
                keys = self._sorted[store] = sorted(self._stores[store])
            objects = self._stores[store]
            begin = 0 if start is None else _bisect(keys, start)
            in_namespace = namespace if namespaced else None
            chunks, next_key, next_index = _page(
                keys, objects, begin, in_namespace, matches, labels_match, limit
            )
            filtered = matches is not None or labels_match is not None
            meta: dict = {"resourceVersion": str(rv)}
            if next_key is not None:
                meta["continue"] = _token(rv, next_key)
                if not filtered and namespace is None:
                    meta["remainingItemCount"] = len(keys) - next_index
            if (
                not token
                and self._expire_after_first_page_of is not None
                and path.startswith(self._expire_after_first_page_of)
            ):
                self._expire_after_first_page_of = None
                self._compacted_rv = self._rv
                self._rv += 1
        head = {"kind": list_kind, "apiVersion": api_version, "metadata": meta}
        body = _dump(head)[:-1] + b',"items":[' + b",".join(chunks) + b"]}"
        return 200, body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as kube-apiserver; the client pools connections
    disable_nagle_algorithm = True  # headers and body are two writes: Nagle would hold the body 40 ms
    fake: FakeKubeAPI

    def do_GET(self):
        parts = urlsplit(self.path)
        try:
            status, body = self.fake.handle(parts.path, parts.query, self.headers.get("Authorization"))
        except Exception as error:  # a bug in the fake: answer as a server would rather than hang
            status, body = 500, _dump(status_json(500, f"fake server error: {error!r}"))
        self._send(status, body)

    def do_POST(self):
        self._send(405, _dump(status_json(405, "the fake API server is read-only")))

    do_PUT = do_PATCH = do_DELETE = do_POST

    def _send(self, status: int, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (a timeout test) or the server was stopped
            self.close_connection = True

    def log_message(self, format, *args):
        pass


def _dump(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _token(rv: int, start: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(_dump({"v": "meta.k8s.io/v1", "rv": rv, "start": list(start)})).decode()


def _bisect(keys: list[tuple[str, str]], start: tuple[str, str]) -> int:
    lo, hi = 0, len(keys)
    while lo < hi:
        mid = (lo + hi) // 2
        if keys[mid] < start:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _route(path: str) -> tuple[str, str | None] | None:
    """(kind, namespace or None) for a collection path, None for anything else."""
    parts = path.strip("/").split("/")
    if parts[0] == "api" and len(parts) >= 2:
        group_version, rest = parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) >= 3:
        group_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    else:
        return None
    namespace = None
    if len(rest) == 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if len(rest) != 1:
        return None
    kind = _ROUTES.get((group_version, rest[0]))
    if kind is None or (namespace is not None and not _KINDS[kind][3]):
        return None
    return kind, namespace


def _field_matcher(selector: str, kind: str):
    if not selector:
        return None
    terms = []
    for term in selector.split(","):
        if "!=" in term:
            field, value = term.split("!=", 1)
            negate = True
        elif "=" in term:
            field, value = term.replace("==", "=", 1).split("=", 1)
            negate = False
        else:
            raise ValueError(f"invalid field selector: {term!r}")
        if field not in _FIELDS or (field in _POD_ONLY_FIELDS and kind != "Pod"):
            raise ValueError(f"field label not supported: {field}")
        terms.append((_FIELDS[field], value, negate))

    def matches(item: dict) -> bool:
        for (section, key), value, negate in terms:
            actual = (item.get(section) or {}).get(key) or ""
            if (actual == value) == negate:
                return False
        return True

    return matches


def _page(keys, objects, begin: int, namespace, matches, labels_match, limit: int):
    """One page of a list from `begin`: the raw items that pass the selectors, and where the next starts."""
    chunks: list[bytes] = []
    for index in range(begin, len(keys)):
        key = keys[index]
        if namespace is not None and key[0] != namespace:
            continue
        item, raw = objects[key]
        if matches is not None and not matches(item):
            continue
        if labels_match is not None and not labels_match(item["metadata"].get("labels") or {}):
            continue
        if limit and len(chunks) == limit:
            return chunks, key, index
        chunks.append(raw)
    return chunks, None, 0


def _label_term(term: str) -> tuple[str, str | None, str]:
    """One equality-based label selector term as (key, value, operator)."""
    if " in " in term or " notin " in term or "(" in term:
        raise ValueError(f"set-based label selectors are not supported by the fake server: {term!r}")
    if "!=" in term:
        key, value = term.split("!=", 1)
        return key, value, "!="
    if "=" in term:
        key, value = term.replace("==", "=", 1).split("=", 1)
        return key, value, "="
    if term.startswith("!"):
        return term[1:], None, "!"
    return term, None, ""


_LABEL_OPS = {
    "=": lambda labels, key, value: labels.get(key) == value,
    "!=": lambda labels, key, value: labels.get(key) != value,
    "!": lambda labels, key, value: key not in labels,
    "": lambda labels, key, value: key in labels,
}


def _label_matcher(selector: str):
    if not selector:
        return None
    terms = [_label_term(term.strip()) for term in selector.split(",")]

    def matches(labels: dict) -> bool:
        return all(_LABEL_OPS[op](labels, key, value) for key, value, op in terms)

    return matches


# --- builders of realistic objects -------------------------------------------------------------------


def _uid(rng: random.Random | None = None) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4)) if rng else str(uuid.uuid4())


def make_namespace(name: str, labels: dict[str, str] | None = None) -> dict:
    return {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "uid": _uid(),
            "creationTimestamp": CREATED,
            "labels": {"kubernetes.io/metadata.name": name, **(labels or {})},
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def make_node(
    name: str,
    cpu: str = "4",
    memory: str = "16Gi",
    *,
    pool_label: tuple[str, str] | None = None,
    provider_id: str | None = None,
    instance_type: str | None = "m5.xlarge",
    instance_type_label: str = "node.kubernetes.io/instance-type",
    labels: dict[str, str] | None = None,
    rng: random.Random | None = None,
    extended: dict[str, str] | None = None,
) -> dict:
    """A node as the kubelet registers it. `pool_label` is (label key, pool name); `extended` adds
    extended resources (GPUs: {"nvidia.com/gpu": "1", "nvidia.com/mig-1g.10gb": "7"}) as a device
    plugin advertises them, in capacity and allocatable."""
    node_labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "topology.kubernetes.io/region": "eu-west-1",
        "topology.kubernetes.io/zone": "eu-west-1a",
    }
    if instance_type:
        node_labels[instance_type_label] = instance_type
    if pool_label:
        node_labels[pool_label[0]] = pool_label[1]
    node_labels.update(labels or {})
    spec: dict = {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]}
    if provider_id is not None:
        spec["providerID"] = provider_id
    return {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "uid": _uid(rng),
            "creationTimestamp": CREATED,
            "labels": node_labels,
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": spec,
        "status": {
            "capacity": {
                "cpu": cpu,
                "ephemeral-storage": "83873772Ki",
                "memory": memory,
                "pods": "110",
                **(extended or {}),
            },
            "allocatable": {
                "cpu": cpu,  # the kubelet reserves some; capacity is what the collector reads
                "ephemeral-storage": "76224326324",
                "memory": memory,
                "pods": "110",
                **(extended or {}),
            },
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "lastHeartbeatTime": "2025-01-06T09:59:00Z",
                    "lastTransitionTime": CREATED,
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": "10.0.1.17"},
                {"type": "Hostname", "address": name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": "0b8c4d1e-4c2a-4c51-a3a4-4b8b0b0e7a11",
                "containerRuntimeVersion": "containerd://1.7.27",
                "kernelVersion": "6.1.134-152.225.amzn2023.x86_64",
                "kubeProxyVersion": "",
                "kubeletVersion": "v1.33.2",
                "machineID": "ec2b5c3e9f1f4b7d8c7a6e5d4c3b2a19",
                "operatingSystem": "linux",
                "osImage": "Amazon Linux 2023.7.20250609",
                "systemUUID": "ec2b5c3e-9f1f-4b7d-8c7a-6e5d4c3b2a19",
            },
        },
    }


def make_container(
    name: str = "app",
    cpu: str | None = None,
    memory: str | None = None,
    *,
    limits: dict[str, str] | None = None,
    restart_policy: str | None = None,
    image: str = "registry.example.com/team/app:1.4.2",
    extended: dict[str, str] | None = None,
) -> dict:
    """A container spec; `restart_policy="Always"` on an init container makes it a sidecar.
    `extended` (e.g. {"nvidia.com/gpu": "1"}) is requested with an equal limit, as Kubernetes requires."""
    requests = {}
    if cpu is not None:
        requests["cpu"] = cpu
    if memory is not None:
        requests["memory"] = memory
    if extended:
        requests.update(extended)
        limits = {**(limits or {}), **extended}
    resources: dict = {}
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    container = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
        "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "PORT", "value": "8080"}],
        "resources": resources,
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "volumeMounts": [
            {
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                "name": "kube-api-access",
                "readOnly": True,
            }
        ],
    }
    if restart_policy is not None:
        container["restartPolicy"] = restart_policy
    return container


_OWNER_API_VERSIONS = {
    "ReplicaSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "Deployment": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "Node": "v1",
}


def owner_reference(kind: str, name: str, api_version: str | None = None, controller: bool = True) -> dict:
    return {
        "apiVersion": api_version or _OWNER_API_VERSIONS.get(kind, "example.com/v1"),
        "kind": kind,
        "name": name,
        "uid": _uid(),
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def make_pod(
    namespace: str,
    name: str,
    node: str | None,
    containers: list[dict] | None = None,
    init_containers: list[dict] | None = None,
    *,
    owner: tuple[str, str] | dict | None = None,
    phase: str = "Running",
    overhead: dict[str, str] | None = None,
    pod_requests: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    uid: str | None = None,
    rng: random.Random | None = None,
    claims: list[str] | None = None,
    ephemeral: list[str] | None = None,
) -> dict:
    """A pod as the API server returns it once scheduled (node=None: still Pending, unscheduled).
    `owner` is (kind, name) or a full ownerReference; `pod_requests` sets pod-level spec.resources;
    `claims` mounts those PersistentVolumeClaims, `ephemeral` adds generic ephemeral volumes so named."""
    containers = containers if containers is not None else [make_container("app", "100m", "128Mi")]
    meta: dict = {
        "name": name,
        "namespace": namespace,
        "uid": uid or _uid(rng),
        "resourceVersion": "1",
        "creationTimestamp": CREATED,
        "labels": labels if labels is not None else {"app.kubernetes.io/name": name.rsplit("-", 1)[0]},
    }
    if owner is not None:
        meta["ownerReferences"] = [owner_reference(*owner) if isinstance(owner, tuple) else owner]
    meta["managedFields"] = [
        {
            "manager": "kube-controller-manager",
            "operation": "Update",
            "apiVersion": "v1",
            "time": CREATED,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:labels": {".": {}}}, "f:spec": {"f:containers": {}}},
        }
    ]
    spec: dict = {
        "containers": containers,
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "serviceAccount": "default",
        "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30,
        "tolerations": [
            {
                "effect": "NoExecute",
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "tolerationSeconds": 300,
            },
            {
                "effect": "NoExecute",
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "tolerationSeconds": 300,
            },
        ],
        "volumes": [
            {
                "name": "kube-api-access",
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {
                            "configMap": {
                                "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                "name": "kube-root-ca.crt",
                            }
                        },
                    ],
                },
            }
        ],
    }
    for i, claim in enumerate(claims or ()):
        spec["volumes"].append({"name": f"data-{i}", "persistentVolumeClaim": {"claimName": claim}})
    for volume in ephemeral or ():
        template = {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
        spec["volumes"].append({"name": volume, "ephemeral": {"volumeClaimTemplate": template}})
    if init_containers:
        spec["initContainers"] = init_containers
    if node is not None:
        spec["nodeName"] = node
    if overhead is not None:
        spec["overhead"] = overhead
    if pod_requests is not None:
        spec["resources"] = {"requests": pod_requests}
    status: dict = {"phase": phase, "qosClass": "Burstable"}
    if node is not None:
        status.update(
            {
                "hostIP": "10.0.1.17",
                "podIP": "10.244.1.23",
                "startTime": CREATED,
                "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": CREATED},
                    {"type": "Initialized", "status": "True", "lastTransitionTime": CREATED},
                    {"type": "ContainersReady", "status": "True", "lastTransitionTime": CREATED},
                    {"type": "Ready", "status": "True", "lastTransitionTime": CREATED},
                ],
                "containerStatuses": [
                    {
                        "name": c["name"],
                        "image": c["image"],
                        "imageID": "registry.example.com/team/app@sha256:" + "ab" * 32,
                        "containerID": "containerd://" + "cd" * 32,
                        "ready": phase == "Running",
                        "restartCount": 0,
                        "started": phase == "Running",
                        "state": {"running": {"startedAt": CREATED}},
                    }
                    for c in containers
                ],
            }
        )
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": status}


def make_pv(
    name: str,
    size: str = "10Gi",
    *,
    claim: tuple[str, str] | None = None,
    phase: str | None = None,
    csi: tuple[str, str] | None = None,
    source: dict | None = None,
    storage_class: str = "csi-disk",
) -> dict:
    """A PersistentVolume: bound to `claim` (namespace, name) or not, backed by a CSI disk (driver,
    volumeHandle) or an in-tree `source` ({"awsElasticBlockStore": {...}}, ...). Phase: Bound when
    claimed, else Available, unless given (Released keeps its claimRef)."""
    spec: dict = {
        "accessModes": ["ReadWriteOnce"],
        "capacity": {"storage": size},
        "persistentVolumeReclaimPolicy": "Delete",
        "storageClassName": storage_class,
        "volumeMode": "Filesystem",
    }
    if csi is not None:
        spec["csi"] = {"driver": csi[0], "volumeHandle": csi[1], "fsType": "ext4"}
    if source is not None:
        spec.update(source)
    if claim is not None:
        spec["claimRef"] = {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "namespace": claim[0],
            "name": claim[1],
            "uid": _uid(),
        }
    meta = {
        "name": name,
        "uid": _uid(),
        "creationTimestamp": CREATED,
        "finalizers": ["kubernetes.io/pv-protection"],
    }
    status = {"phase": phase or ("Bound" if claim is not None else "Available")}
    return {"kind": "PersistentVolume", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": status}


def make_pvc(
    namespace: str, name: str, volume: str | None, size: str = "10Gi", *, phase: str | None = None
) -> dict:
    """A PersistentVolumeClaim bound to PV `volume` (None: still Pending)."""
    spec: dict = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
        "storageClassName": "csi-disk",
        "volumeMode": "Filesystem",
    }
    if volume is not None:
        spec["volumeName"] = volume
    status: dict = {"phase": phase or ("Bound" if volume is not None else "Pending")}
    if volume is not None:
        status.update({"accessModes": ["ReadWriteOnce"], "capacity": {"storage": size}})
    meta = {"name": name, "namespace": namespace, "uid": _uid(), "creationTimestamp": CREATED}
    return {
        "kind": "PersistentVolumeClaim",
        "apiVersion": "v1",
        "metadata": meta,
        "spec": spec,
        "status": status,
    }


def make_service(
    namespace: str,
    name: str,
    *,
    type: str = "LoadBalancer",
    annotations: dict[str, str] | None = None,
    hostname: str | None = None,
    ip: str | None = None,
) -> dict:
    """A Service as the API server returns it: of `type` (LoadBalancer, ClusterIP, NodePort), with the
    cloud's annotations and, once the cloud has provisioned it, status.loadBalancer.ingress."""
    meta: dict = {"name": name, "namespace": namespace, "uid": _uid(), "creationTimestamp": CREATED}
    if annotations:
        meta["annotations"] = dict(annotations)
    spec: dict = {
        "type": type,
        "clusterIP": "10.247.12.34",
        "clusterIPs": ["10.247.12.34"],
        "ipFamilies": ["IPv4"],
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
        "selector": {"app": name},
        "sessionAffinity": "None",
    }
    if type in ("LoadBalancer", "NodePort"):
        spec["ports"][0]["nodePort"] = 31080
        spec["externalTrafficPolicy"] = "Cluster"
    if type == "LoadBalancer":
        spec["allocateLoadBalancerNodePorts"] = True
    ingress = {k: v for k, v in (("hostname", hostname), ("ip", ip)) if v}
    status: dict = {"loadBalancer": {"ingress": [ingress]} if ingress else {}}
    return {"kind": "Service", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": status}


def make_replicaset(
    namespace: str, name: str, deployment: str | None = None, *, owner: dict | None = None
) -> dict:
    """A ReplicaSet, owned by Deployment `deployment` (or by `owner`, or by nobody)."""
    meta: dict = {"name": name, "namespace": namespace, "uid": _uid(), "creationTimestamp": CREATED}
    if owner is not None:
        meta["ownerReferences"] = [owner]
    elif deployment is not None:
        meta["ownerReferences"] = [owner_reference("Deployment", deployment)]
    return {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": meta,
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}},
        "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "observedGeneration": 1},
    }


def make_job(namespace: str, name: str, cronjob: str | None = None) -> dict:
    meta: dict = {"name": name, "namespace": namespace, "uid": _uid(), "creationTimestamp": CREATED}
    if cronjob is not None:
        meta["ownerReferences"] = [owner_reference("CronJob", cronjob)]
    return {
        "kind": "Job",
        "apiVersion": "batch/v1",
        "metadata": meta,
        "spec": {"backoffLimit": 6, "completions": 1, "parallelism": 1},
        "status": {"active": 1, "startTime": CREATED},
    }


def make_pod_metrics(namespace: str, name: str, containers: dict[str, tuple[str, str]]) -> dict:
    """PodMetrics as metrics-server reports them: {container: (cpu, memory working set)}."""
    return {
        "kind": "PodMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": "2025-01-06T10:00:00Z",
            "labels": {"app.kubernetes.io/name": name.rsplit("-", 1)[0]},
        },
        "timestamp": METRICS_TIME,
        "window": "15.011s",
        "containers": [
            {"name": container, "usage": {"cpu": cpu, "memory": memory}}
            for container, (cpu, memory) in containers.items()
        ],
    }


def make_node_metrics(name: str, cpu: str, memory: str) -> dict:
    return {
        "kind": "NodeMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": name, "creationTimestamp": "2025-01-06T10:00:00Z", "labels": {}},
        "timestamp": METRICS_TIME,
        "window": "20.05s",
        "usage": {"cpu": cpu, "memory": memory},
    }


_POOL_SHAPES = [
    ("4", "16Gi", "m5.xlarge"),
    ("8", "32Gi", "m5.2xlarge"),
    ("16", "64Gi", "c5.4xlarge"),
    ("2", "8Gi", "t3.large"),
]
_POOL_LABELS = [
    "cce.cloud.com/cce-nodepool",
    "eks.amazonaws.com/nodegroup",
    "karpenter.sh/nodepool",
    "cloud.google.com/gke-nodepool",
    "kubernetes.azure.com/agentpool",
]


def _owner(kind: str, ns: str, base: str, workload: int, rng, objects: list) -> tuple[str, str] | None:
    """The controller of a workload's pods (adding its ReplicaSets or Job to `objects`); None for bare pods."""
    if kind == "deploy":
        rs = f"{base}-{rng.getrandbits(32):08x}"[:24]
        objects.append(make_replicaset(ns, rs, base))
        # old ReplicaSets of earlier rollouts linger with 0 replicas, as in real clusters
        objects.append(make_replicaset(ns, f"{rs}-old", base))
        return ("ReplicaSet", rs)
    if kind == "cron":
        job = f"{base}-{29000000 + workload}"
        objects.append(make_job(ns, job, base))
        return ("Job", job)
    return {"sts": ("StatefulSet", base), "ds": ("DaemonSet", base)}.get(kind)


def _pod_and_metrics(ns: str, name: str, cpu: str, mem: str, owner, node_names: list, rng) -> list[dict]:
    """One pod (a sidecar or init containers sometimes; sometimes finished or pending) and, for most running
    pods, its metrics. The random draws are in a fixed order: a seed gives the same cluster."""
    containers = [make_container("app", cpu, mem)]
    init = None
    roll = rng.random()
    if roll < 0.15:
        containers.append(make_container("istio-proxy", "100m", "128Mi", image="istio/proxyv2:1.26.1"))
    elif roll < 0.25:
        init = [
            make_container("migrate", "500m", "256Mi"),
            make_container("log-shipper", "50m", "64Mi", restart_policy="Always"),
        ]
    phase = "Running"
    node: str | None = rng.choice(node_names) if node_names else None
    roll = rng.random()
    if roll < 0.03:
        phase = "Succeeded"
    elif roll < 0.04:
        phase = "Failed"
    elif roll < 0.06:
        phase, node = "Pending", None
    out = [make_pod(ns, name, node, containers, init, owner=owner, phase=phase, rng=rng)]
    if phase == "Running" and rng.random() < 0.97:
        running = containers + [c for c in init or () if c.get("restartPolicy") == "Always"]
        usage = {
            c["name"]: (f"{rng.randrange(1, 900000)}n", f"{rng.randrange(1, 500000)}Ki") for c in running
        }
        out.append(make_pod_metrics(ns, name, usage))
    return out


def build_cluster(nodes: int, pods: int, seed: int = 0, api: FakeKubeAPI | None = None) -> FakeKubeAPI:
    """Fill `api` (or a new FakeKubeAPI) with a realistic cluster: pools, Deployments (via ReplicaSets),
    StatefulSets, DaemonSets, CronJob Jobs, bare pods, sidecars, finished and pending pods, and metrics
    for most running pods. Deterministic for a given seed."""
    rng = random.Random(seed)
    api = api or FakeKubeAPI()
    objects: list[dict] = []
    namespaces = [f"team-{i:02d}" for i in range(max(1, min(40, pods // 50 or 1)))]
    for ns in namespaces:
        objects.append(make_namespace(ns, {"cost-center": f"cc-{rng.randrange(100, 120)}"}))
    node_names = []
    for i in range(nodes):
        pool = i % 4
        name = f"ip-10-0-{i // 250}-{i % 250}.eu-west-1.compute.internal"
        node_names.append(name)
        cpu, memory, itype = _POOL_SHAPES[pool]
        objects.append(
            make_node(
                name,
                cpu,
                memory,
                pool_label=(_POOL_LABELS[pool % len(_POOL_LABELS)], f"pool-{pool}"),
                provider_id=f"aws:///eu-west-1a/i-{rng.getrandbits(64):016x}",
                instance_type=itype,
                rng=rng,
            )
        )
    cpus = ["50m", "100m", "250m", "500m", "1", "1500m"]
    mems = ["64Mi", "128Mi", "256Mi", "512Mi", "1Gi", "2Gi"]
    made = 0
    workload = 0
    while made < pods:
        ns = rng.choice(namespaces)
        workload += 1
        kind = rng.choices(["deploy", "sts", "ds", "cron", "bare"], weights=[70, 10, 8, 7, 5])[0]
        replicas = min(
            pods - made, {"deploy": rng.randint(1, 6), "sts": 3, "ds": 1, "cron": 1, "bare": 1}[kind]
        )
        base = f"svc-{workload:05d}"
        owner = _owner(kind, ns, base, workload, rng, objects)
        cpu, mem = rng.choice(cpus), rng.choice(mems)
        for r in range(replicas):
            name = f"{base}-{r}" if kind == "sts" else f"{base}-{rng.getrandbits(24):06x}"
            objects.extend(_pod_and_metrics(ns, name, cpu, mem, owner, node_names, rng))
            made += 1
    for name in node_names:
        objects.append(make_node_metrics(name, f"{rng.randrange(100, 3000)}m", f"{rng.randrange(1, 12)}Gi"))
    api.add(*objects)
    return api
