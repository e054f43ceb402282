"""Prometheus as a source of samples: kube-state-metrics v2 and cAdvisor series read back as the recorder's
frames (costing/collectors/snapshot.py columns), one slot per step (docs/prometheus.md).

A slot [t, t + step) is what Prometheus saw in it: gauges are the last sample inside the slot
(`last_over_time(x[step])`, evaluated at t + step - 1 ms), CPU usage is `rate()` of the cAdvisor counter over
the rate window ending there. A slot without any kube_node_info sample is a gap, never zeros.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from costing.collectors.kubernetes import DEFAULT_POOL, INSTANCE_TYPE_LABELS, WELL_KNOWN_POOL_LABELS
from costing.collectors.prometheus_client import (
    Matrix,
    PrometheusClient,
    PrometheusError,
    Series,
    TooManySamples,
)
from costing.collectors.snapshot import (
    CONTAINER_COLUMNS,
    NAMESPACE_COLUMNS,
    NODE_COLUMNS,
    NODE_GPU_COLUMNS,
    POD_COLUMNS,
    POD_GPU_COLUMNS,
)
from costing.gpus import MIG_SLICES_PER_DEVICE

__all__ = [
    "DEFAULT_RATE_WINDOW",
    "NO_DATA_REASON",
    "PrometheusSource",
    "SlotFrames",
    "normalise_selector",
    "sanitize_label",
]

# rate() needs two samples of the counter inside its window: two minutes hold at least two scrapes at the
# usual 15-60 s scrape intervals. A window shorter than the step would leave part of the slot unseen.
DEFAULT_RATE_WINDOW = 120
NO_DATA_REASON = (
    "no data in Prometheus for this slot (kube-state-metrics not scraped: kube_node_info is stale)"
)

# What must be there, and the fix when it is not.
KSM_FIX = (
    "install kube-state-metrics v2 and let Prometheus scrape it, or correct --label-selector / the "
    "cluster's label selector"
)
CADVISOR_FIX = (
    "let Prometheus scrape the kubelets' cAdvisor endpoint (/metrics/cadvisor), or correct the label selector"
)
REQUIRED_METRICS = {
    "kube_node_info": KSM_FIX,
    "kube_node_status_capacity": KSM_FIX,
    "kube_pod_info": KSM_FIX,
    "kube_pod_container_resource_requests": KSM_FIX,
    "container_cpu_usage_seconds_total": CADVISOR_FIX,
    "container_memory_working_set_bytes": CADVISOR_FIX,
}
_CONTAINERS = 'container!="",container!="POD",pod!=""'
_FINISHED = 'phase=~"Succeeded|Failed"'
_CPU_MEMORY = 'resource=~"cpu|memory"'
# GPU resources as kube-state-metrics names them (nvidia.com/gpu -> nvidia_com_gpu, nvidia.com/mig-1g.10gb ->
# nvidia_com_mig_1g_10gb); the policy's extended resources are added by name.
_NVIDIA = "nvidia_com_.+"
_KSM_GPU = "nvidia_com_gpu"
_KSM_MIG = re.compile(r"nvidia_com_mig_(?:(?P<c>\d+)c_)?(?P<g>\d+)g_\d+gb(?:_\w+)?")
# NVIDIA dcgm-exporter: the utilisation of each GPU in percent, with the pod using it (its Kubernetes mapping;
# older versions name the labels pod_name, pod_namespace, container_name).
DCGM_UTIL = "DCGM_FI_DEV_GPU_UTIL"
_DCGM_LABELS = ["namespace", "pod", "container", "pod_namespace", "pod_name", "container_name"]
_DCGM_DEVICE = ["UUID", "gpu", "Hostname", "GPU_I_ID"]
_SCHEDULED = 'node!=""'
_NONE = "<none>"
_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")


class MissingMetrics(PrometheusError):
    """Metrics the import needs are not in Prometheus."""


def sanitize_label(name: str) -> str:
    """A Kubernetes label key as kube-state-metrics names it (without its `label_` prefix)."""
    return _INVALID_LABEL_CHARS.sub("_", name)


def normalise_selector(selector: str) -> str:
    """Label matchers as written inside braces: 'cluster="prod"' (braces around them are dropped)."""
    text = (selector or "").strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if "{" in text or "}" in text:
        raise PrometheusError(f'label selector {selector!r}: give matchers only, e.g. cluster="prod"')
    return text.rstrip(",")


@dataclass
class SlotFrames:
    """What Prometheus holds for a run of slots: the recorder's frames and the slots it has no data for."""

    nodes: pd.DataFrame
    pods: pd.DataFrame
    namespaces: pd.DataFrame
    containers: pd.DataFrame
    sampled: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    missing: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))


class PrometheusSource:
    """Reads one cluster's samples from a Prometheus-compatible server."""

    def __init__(
        self,
        client: PrometheusClient,
        *,
        selector: str = "",
        node_pool_label: str | None = None,
        rate_window: int = DEFAULT_RATE_WINDOW,
        on_query: Callable[[], None] | None = None,
        gpu_resources: dict[str, float] | None = None,
    ):
        self.client = client
        self.selector = normalise_selector(selector)
        pools = ((node_pool_label,) if node_pool_label else ()) + WELL_KNOWN_POOL_LABELS
        self.pool_keys = tuple(sanitize_label(key) for key in pools)
        self.instance_type_keys = tuple(sanitize_label(key) for key in INSTANCE_TYPE_LABELS)
        self.rate_window = int(rate_window)
        self.on_query = on_query
        # Extended resources the policy counts as GPUs (name -> devices per unit), by their sanitised names.
        self.gpu_resources = {sanitize_label(k): float(v) for k, v in (gpu_resources or {}).items()}
        names = "|".join(["cpu", "memory", _NVIDIA, *(re.escape(k) for k in self.gpu_resources)])
        self.resources = f'resource=~"{names}"'

    # --- checks ------------------------------------------------------------------------------------------
    def check_metrics(self, start: float, end: float) -> None:
        """MissingMetrics naming every required metric absent in [start, end] for the selector."""
        present = self.client.metric_names([self._sel(name) for name in REQUIRED_METRICS], start, end)
        missing = [name for name in REQUIRED_METRICS if name not in present]
        if not missing:
            return
        where = f" matching {{{self.selector}}}" if self.selector else ""
        fixes = sorted(
            {REQUIRED_METRICS[name] for name in missing}, key=list(REQUIRED_METRICS.values()).index
        )
        raise MissingMetrics(
            f"Prometheus at {self.client.url} has no series of {', '.join(missing)}{where} between the start "
            f"and the end: {'; '.join(fixes)}"
        )

    # --- reading -----------------------------------------------------------------------------------------
    def read(self, first: int, last: int, step: int) -> SlotFrames:
        """The slots first, first + step, ... last (Unix seconds, aligned on step)."""
        if step < 1 or (last - first) % step:
            raise ValueError(f"slots {first}..{last} are not a whole number of {step} s steps")
        slots = np.arange(first, last + step, step, dtype=np.int64)
        window = f"[{step * 1000}ms]"
        node_info = self._range(
            f"last_over_time({self._sel('kube_node_info')}{window})", slots, step, ["node", "provider_id"]
        )
        sampled = np.unique(node_info["slot"].to_numpy()) if len(node_info) else np.empty(0, np.int64)
        missing = np.setdiff1d(slots, sampled)
        if not len(sampled):
            return SlotFrames(*_empty_frames(), sampled=sampled, missing=missing)
        span = (first, last + step, step)  # the chunk, read whole by the instant queries of labels and owners
        nodes = self._nodes(node_info, slots, step, window, span)
        pods, containers = self._pods(slots, step, window, span)
        namespaces = self._labels("kube_namespace_labels", ["namespace"], span)
        # Pods are only recorded in slots where the nodes were seen; the others are gaps.
        keep = np.isin(pods["slot"].to_numpy(), sampled)
        pods = pods[keep]
        containers = containers[np.isin(containers["slot"].to_numpy(), sampled)]
        return SlotFrames(
            nodes=_stamped(nodes, NODE_COLUMNS + NODE_GPU_COLUMNS),
            pods=_stamped(pods, POD_COLUMNS + POD_GPU_COLUMNS),
            namespaces=namespaces.reset_index(drop=True),
            containers=_stamped(containers, CONTAINER_COLUMNS),
            sampled=sampled,
            missing=missing,
        )

    def _nodes(self, info: pd.DataFrame, slots, step, window, span) -> pd.DataFrame:
        capacity = self._range(
            f"last_over_time({self._sel('kube_node_status_capacity', self.resources)}{window})",
            slots,
            step,
            ["node", "resource"],
        )
        wide = _pivot(
            capacity, ["node", "slot"], {"cpu": "cpu_capacity_cores", "memory": "memory_capacity_bytes"}
        )
        nodes = (
            info.drop(columns="value")
            .drop_duplicates(["node", "slot"])
            .merge(wide, on=["node", "slot"], how="inner")
            .merge(
                self._gpus(capacity, ["node", "slot"], "gpu_capacity_devices"),
                on=["node", "slot"],
                how="left",
            )
        )
        nodes["gpu_capacity_devices"] = nodes["gpu_capacity_devices"].fillna(0.0)
        nodes["memory_capacity_bytes"] = nodes["memory_capacity_bytes"].fillna(0).round().astype(np.int64)
        nodes["cpu_capacity_cores"] = nodes["cpu_capacity_cores"].fillna(0.0)
        labels = self._labels("kube_node_labels", ["node"], span)
        known = dict(zip(labels["node"], labels["labels"], strict=True)) if len(labels) else {}
        node_labels = [known.get(name, {}) for name in nodes["node"]]
        nodes["labels"] = node_labels
        nodes["node_pool"] = [_first(lab, self.pool_keys, DEFAULT_POOL) for lab in node_labels]
        nodes["instance_type"] = [_first(lab, self.instance_type_keys, "") for lab in node_labels]
        return nodes

    def _pods(self, slots, step, window, span) -> tuple[pd.DataFrame, pd.DataFrame]:
        pods = self._range(
            f"last_over_time({self._sel('kube_pod_info', _SCHEDULED)}{window})",
            slots,
            step,
            ["namespace", "pod", "uid", "node"],
        ).drop(columns="value")
        finished = self._range(
            f"last_over_time({self._sel('kube_pod_status_phase', _FINISHED)}{window}) > 0",
            slots,
            step,
            ["namespace", "pod"],
        )
        pod_keys = ["namespace", "pod", "slot"]
        if len(finished):
            done = pods[pod_keys].merge(
                finished[pod_keys].drop_duplicates(), on=pod_keys, how="left", indicator=True
            )
            pods = pods[(done["_merge"] == "left_only").to_numpy()]
        pods = pods.drop_duplicates(pod_keys)
        pods["pod_uid"] = np.where(pods["uid"] != "", pods["uid"], pods["namespace"] + "/" + pods["pod"])
        containers, inits = self._containers(pods, slots, step, window, span)
        pods = pods.merge(_pod_figures(containers, inits), on=pod_keys, how="left")
        for column in (
            "cpu_request_cores",
            "memory_request_bytes",
            "cpu_usage_cores",
            "memory_usage_bytes",
            *POD_GPU_COLUMNS,
        ):
            pods[column] = pods[column].fillna(0.0)
        pods["has_metrics"] = pods["has_metrics"].fillna(False).astype(bool)
        owners = self._owners(span)
        pods = pods.merge(owners, on=["namespace", "pod"], how="left")
        bare = pods["owner_kind"].isna()
        pods["owner_kind"] = pods["owner_kind"].where(~bare, "Pod")
        pods["owner_name"] = pods["owner_name"].where(~bare, pods["pod"])
        labels = self._labels("kube_pod_labels", ["namespace", "pod"], span)
        if len(labels):
            pods = pods.merge(labels, on=["namespace", "pod"], how="left")
            pods["labels"] = [lab if isinstance(lab, dict) else {} for lab in pods["labels"]]
        else:
            pods["labels"] = [{} for _ in range(len(pods))]
        containers = containers.merge(pods[[*pod_keys, "pod_uid"]], on=pod_keys, how="inner")
        return pods, containers

    def _containers(self, pods: pd.DataFrame, slots, step, window, span) -> tuple[pd.DataFrame, pd.DataFrame]:
        """One row per container of a present pod and slot: app containers, sidecars, and the init
        containers cAdvisor shows running (as the live collector, which sees what the metrics API lists)."""
        keys = ["namespace", "pod", "container"]
        pod_keys = ["namespace", "pod", "slot"]
        wanted = {"cpu": "cpu", "memory": "memory"}

        def figures(metric: str, prefix: str, gpus: bool) -> pd.DataFrame:
            frame = self._range(
                f"last_over_time({self._sel(metric, self.resources if gpus else _CPU_MEMORY)}{window})",
                slots,
                step,
                [*keys, "resource"],
            )
            wide = _pivot(frame, [*keys, "slot"], {k: f"{prefix}_{v}" for k, v in wanted.items()})
            if not gpus:
                return wide
            gpu = self._gpus(frame, [*keys, "slot"], f"{prefix}_gpu")
            return wide.merge(gpu, on=[*keys, "slot"], how="outer")

        requests = figures("kube_pod_container_resource_requests", "request", True)
        limits = figures("kube_pod_container_resource_limits", "limit", False)
        init_requests = figures("kube_pod_init_container_resource_requests", "request", True)
        # The same cgroup (id) scraped twice (two scrape jobs, two Prometheus replicas) counts once; two cgroups
        # of one container (a restart inside the window) add up.
        cpu = self._range(
            "sum by (namespace, pod, container) (max by (namespace, pod, container, id) (rate("
            f"{self._sel('container_cpu_usage_seconds_total', _CONTAINERS)}[{max(self.rate_window, step) * 1000}ms])))",
            slots,
            step,
            keys,
        ).rename(columns={"value": "usage_cpu"})
        memory = self._range(
            f"max by (namespace, pod, container) (last_over_time("
            f"{self._sel('container_memory_working_set_bytes', _CONTAINERS)}{window}))",
            slots,
            step,
            keys,
        ).rename(columns={"value": "usage_memory"})
        usage = cpu.merge(memory, on=[*keys, "slot"], how="outer")
        usage = usage.merge(self._gpu_usage(slots, step, window), on=[*keys, "slot"], how="left")
        declared = self._chunk("kube_pod_container_info", keys, span)[keys].drop_duplicates()
        sidecars = self._chunk("kube_pod_init_container_info", keys, span, 'restart_policy="Always"')[keys]
        present = pods[pod_keys]
        app = pd.concat(
            [
                present.merge(declared, on=["namespace", "pod"]),
                requests[[*keys, "slot"]].merge(present, on=pod_keys),
                limits[[*keys, "slot"]].merge(present, on=pod_keys),
            ]
        ).drop_duplicates()
        app["init"] = False
        app["sidecar"] = False
        side = present.merge(sidecars.drop_duplicates(), on=["namespace", "pod"])
        side["init"] = False
        side["sidecar"] = True
        # Non-sidecar init containers count in the pod's request (the scheduler's rule) whether running or
        # not; they are containers of the sample only while cAdvisor shows them running.
        inits = init_requests.merge(present, on=pod_keys)
        inits = inits.merge(sidecars.assign(_side=True), on=keys, how="left")
        inits = inits[inits["_side"].isna()].drop(columns="_side")
        running = inits[[*keys, "slot"]].merge(usage[[*keys, "slot"]], on=[*keys, "slot"])
        running["init"] = True
        running["sidecar"] = False
        rows = pd.concat([app, side, running])
        rows = rows.drop_duplicates([*keys, "slot"], keep="first")
        rows = rows.merge(
            pd.concat([requests, init_requests]).drop_duplicates([*keys, "slot"]),
            on=[*keys, "slot"],
            how="left",
        )
        rows = rows.merge(limits, on=[*keys, "slot"], how="left").merge(usage, on=[*keys, "slot"], how="left")
        # Metrics need both figures, as metrics-server gives them: a CPU counter with a single sample in the
        # rate window has no rate yet, and its usage is not a zero.
        measured = (rows["usage_cpu"].notna() & rows["usage_memory"].notna()).to_numpy()
        rows["has_metrics"] = measured
        rows["usage_cpu"] = rows["usage_cpu"].where(measured)
        rows["usage_memory"] = rows["usage_memory"].where(measured)
        rows["usage_gpu"] = rows["usage_gpu"].where(measured)
        out = pd.DataFrame(
            {
                "namespace": rows["namespace"],
                "pod": rows["pod"],
                "container": rows["container"],
                "slot": rows["slot"],
                "init": rows["init"].astype(bool),
                "sidecar": rows["sidecar"].astype(bool),
                "cpu_request_cores": rows["request_cpu"].fillna(0.0),
                "cpu_limit_cores": rows["limit_cpu"].fillna(0.0),
                "cpu_usage_cores": rows["usage_cpu"].fillna(0.0),
                "memory_request_bytes": rows["request_memory"].fillna(0.0),
                "memory_limit_bytes": rows["limit_memory"].fillna(0.0),
                "memory_usage_bytes": rows["usage_memory"].fillna(0.0),
                "has_metrics": rows["has_metrics"].astype(bool),
                "gpu_request_devices": rows["request_gpu"].fillna(0.0),
                "gpu_usage_devices": rows["usage_gpu"].fillna(0.0),
            }
        )
        # Init containers that are not running still set the pod's request: returned apart for _pod_figures.
        return out.reset_index(drop=True), inits

    def _gpus(self, frame: pd.DataFrame, index: list[str], column: str) -> pd.DataFrame:
        """index -> GPU devices of a long frame of resources (kube-state-metrics names): nvidia_com_gpu whole
        devices, a MIG slice its fraction of a device (costing/gpus.py), the policy's resources their devices
        per unit; a series exported twice (two kube-state-metrics replicas) counts once."""
        if not len(frame):
            return pd.DataFrame(columns=[*index, column])
        per_unit = {name: self._devices_per_unit(name) for name in frame["resource"].unique()}
        frame = frame.drop_duplicates([*index, "resource"], keep="last")
        devices = frame["value"].to_numpy(np.float64) * frame["resource"].map(per_unit).to_numpy(np.float64)
        out = frame[index].assign(**{column: devices})[devices > 0]
        return out.groupby(index, as_index=False)[column].sum()

    def _devices_per_unit(self, resource: str) -> float:
        if resource in self.gpu_resources:
            return self.gpu_resources[resource]
        if resource == _KSM_GPU:
            return 1.0
        match = _KSM_MIG.fullmatch(resource)
        if match is None:
            return 0.0
        return int(match.group("c") or match.group("g")) / MIG_SLICES_PER_DEVICE

    def _gpu_usage(self, slots, step, window) -> pd.DataFrame:
        """namespace, pod, container, slot -> usage_gpu: the GPUs' utilisation from dcgm-exporter, in devices
        (the sum over the container's GPUs of util / 100, each the mean of its scrapes in the slot). A GPU
        scraped twice counts once; MIG instances (GPU_I_ID) are left out: their util is the whole GPU's."""
        keys = ["namespace", "pod", "container"]
        frame = self._range(
            f"avg_over_time({self._sel(DCGM_UTIL)}{window})", slots, step, [*_DCGM_LABELS, *_DCGM_DEVICE]
        )
        if not len(frame):
            return pd.DataFrame(columns=[*keys, "slot", "usage_gpu"])
        for new, old in (
            ("namespace", "pod_namespace"),
            ("pod", "pod_name"),
            ("container", "container_name"),
        ):
            frame[new] = frame[new].where(frame[new] != "", frame[old])
        frame = frame[(frame["pod"] != "") & (frame["container"] != "") & (frame["GPU_I_ID"] == "")]
        device = frame["UUID"].where(frame["UUID"] != "", frame["Hostname"] + "/" + frame["gpu"])
        frame = frame.assign(device=device).drop_duplicates([*keys, "device", "slot"], keep="last")
        frame = frame.assign(usage_gpu=frame["value"] / 100.0)
        return frame.groupby([*keys, "slot"], as_index=False)["usage_gpu"].sum()

    def _owners(self, span: tuple[int, int, int]) -> pd.DataFrame:
        """(namespace, pod) -> the top controller: ReplicaSet -> Deployment, Job -> CronJob."""
        columns = ["namespace", "pod", "owner_kind", "owner_name"]
        owners = self._chunk("kube_pod_owner", columns, span, 'owner_is_controller="true"')[columns]
        owners = owners[(owners["owner_kind"] != _NONE) & (owners["owner_kind"] != "")].drop_duplicates(
            ["namespace", "pod"]
        )
        for kind, metric, name_label in (
            ("ReplicaSet", "kube_replicaset_owner", "replicaset"),
            ("Job", "kube_job_owner", "job_name"),
        ):
            if not (owners["owner_kind"] == kind).any():
                continue
            parents = self._chunk(
                metric,
                ["namespace", name_label, "owner_kind", "owner_name"],
                span,
                'owner_is_controller="true"',
            )
            parents = parents[(parents["owner_kind"] != _NONE) & (parents["owner_kind"] != "")]
            parents = parents.drop_duplicates(["namespace", name_label]).rename(
                columns={name_label: "owner_name", "owner_kind": "top_kind", "owner_name": "top_name"}
            )
            parents["owner_kind"] = kind
            merged = owners.merge(
                parents[["namespace", "owner_kind", "owner_name", "top_kind", "top_name"]], how="left"
            )
            has_top = merged["top_kind"].notna()
            merged.loc[has_top, "owner_kind"] = merged.loc[has_top, "top_kind"]
            merged.loc[has_top, "owner_name"] = merged.loc[has_top, "top_name"]
            owners = merged[columns]
        return owners

    def _labels(self, metric: str, keys: list[str], span: tuple[int, int, int]) -> pd.DataFrame:
        """keys -> {label: value} of an info metric of labels (label_* as kube-state-metrics names them)."""
        rows = []
        for series in self._seen(self._sel(metric), span):
            labels = {k[6:]: v for k, v in series.labels.items() if k.startswith("label_")}
            rows.append([series.labels.get(k, "") for k in keys] + [labels])
        frame = pd.DataFrame(rows, columns=[*keys, "labels"])
        return frame.drop_duplicates(keys, keep="last") if len(frame) else frame

    def _chunk(
        self, metric: str, keys: list[str], span: tuple[int, int, int], extra: str = ""
    ) -> pd.DataFrame:
        """keys of the series of `metric` seen in the chunk (one instant query over its whole span)."""
        series = self._seen(self._sel(metric, extra), span)
        return pd.DataFrame([[s.labels.get(k, "") for k in keys] for s in series], columns=keys)

    # --- transport -----------------------------------------------------------------------------------------
    def _sel(self, metric: str, extra: str = "") -> str:
        matchers = ",".join(part for part in (self.selector, extra) if part)
        return f"{metric}{{{matchers}}}" if matchers else metric

    def _seen(self, selector: str, span: tuple[int, int, int]) -> list[Series]:
        """The series of `selector` with a sample in [begin, end) (their last values); the span is split in
        halves (whole steps) while the server refuses it for its size."""
        begin, end, step = span
        if self.on_query:
            self.on_query()
        try:
            return self.client.query(f"last_over_time({selector}[{(end - begin) * 1000}ms])", end - 0.001)
        except TooManySamples as error:
            if end - begin <= step:
                raise self._too_many(selector, error) from None
            middle = begin + (end - begin) // step // 2 * step
            return self._seen(selector, (begin, middle, step)) + self._seen(selector, (middle, end, step))

    def _too_many(self, expr: str, error: Exception) -> TooManySamples:
        return TooManySamples(
            f"Prometheus at {self.client.url} refuses even one slot of {expr!r} for its size ({error}): "
            "raise the server's limit (Prometheus --query.max-samples, VictoriaMetrics "
            "-search.maxSamplesPerQuery) or narrow the label selector to one cluster"
        )

    def _range(self, expr: str, slots: np.ndarray, step: int, keys: list[str]) -> pd.DataFrame:
        """keys, slot, value of `expr` evaluated at the end of each slot (t + step - 1 ms); the range is split
        in halves while the server refuses it for its size."""
        if self.on_query:
            self.on_query()
        try:
            matrix = self.client.query_range(expr, slots[0] + step - 0.001, slots[-1] + step - 0.001, step)
        except TooManySamples as error:
            if len(slots) == 1:
                raise self._too_many(expr, error) from None
            half = len(slots) // 2
            return pd.concat(
                [self._range(expr, slots[:half], step, keys), self._range(expr, slots[half:], step, keys)],
                ignore_index=True,
            )
        frame = _long(matrix, keys, step)
        # Only the slots asked for: a server that moves the evaluation times (VictoriaMetrics aligning a range
        # to its step when nocache is not honoured) must not add a slot outside the chunk.
        return frame[np.isin(frame["slot"].to_numpy(), slots)] if len(frame) else frame


# --- frames ----------------------------------------------------------------------------------------------


def _long(matrix: Matrix, keys: list[str], step: int) -> pd.DataFrame:
    """One row per series and evaluation time: keys (labels), slot (start, Unix seconds), value."""
    columns: dict[str, object] = {}
    for key in keys:
        columns[key] = np.repeat(
            np.array([s.get(key, "") for s in matrix.labels], dtype=object), matrix.counts
        )
    # Evaluated 1 ms before the slot's end: the slot starts step - 0.001 s earlier.
    columns["slot"] = (np.rint(matrix.times * 1000).astype(np.int64) + 1) // 1000 - step
    columns["value"] = matrix.values
    frame = pd.DataFrame(columns)
    return frame[~np.isnan(frame["value"].to_numpy())] if len(frame) else frame


def _pivot(frame: pd.DataFrame, index: list[str], names: dict[str, str]) -> pd.DataFrame:
    """A long frame with a `resource` column as one column per resource (names: resource -> column)."""
    if not len(frame):
        return pd.DataFrame(columns=index + list(names.values()))
    frame = frame[frame["resource"].isin(list(names))]
    wide = frame.pivot_table(index=index, columns="resource", values="value", aggfunc="last").reset_index()
    wide.columns.name = None
    wide = wide.rename(columns=names)
    for column in names.values():
        if column not in wide:
            wide[column] = np.nan
    return wide[index + list(names.values())]


def _pod_figures(containers: pd.DataFrame, inits: pd.DataFrame) -> pd.DataFrame:
    """Per pod and slot: usage (sum of its containers), requests (the scheduler's rule: app containers and
    sidecars add up; each init container runs beside the sidecars; the larger), has_metrics (any)."""
    keys = ["namespace", "pod", "slot"]
    columns = [
        *keys,
        "cpu_request_cores",
        "memory_request_bytes",
        "cpu_usage_cores",
        "memory_usage_bytes",
        "gpu_request_devices",
        "gpu_usage_devices",
        "has_metrics",
    ]
    if not len(containers):
        return pd.DataFrame(columns=columns)
    running = containers[~containers["init"]]
    grouped = running.groupby(keys)
    requested = ["cpu_request_cores", "memory_request_bytes", "gpu_request_devices"]
    out = grouped[requested].sum()
    sidecar = running[running["sidecar"]].groupby(keys)[requested].sum()
    usage = containers.groupby(keys)[["cpu_usage_cores", "memory_usage_bytes", "gpu_usage_devices"]].sum()
    metrics = containers.groupby(keys)["has_metrics"].any()
    if len(inits):
        needs = (
            inits.assign(request_gpu=inits["request_gpu"].fillna(0.0))
            .groupby(keys)[["request_cpu", "request_memory", "request_gpu"]]
            .max()
        )
        needs.columns = requested
        needs = needs.add(sidecar.reindex(needs.index).fillna(0.0))
        out = out.reindex(out.index.union(needs.index)).fillna(0.0)
        out = np.maximum(out, needs.reindex(out.index).fillna(0.0))
    out = out.join(usage, how="outer").join(metrics, how="outer")
    return out.reset_index()[columns]


def _stamped(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    if not len(frame):
        return pd.DataFrame(columns=columns)
    out = frame.copy()
    out["timestamp"] = pd.to_datetime(out["slot"].to_numpy(), unit="s", utc=True)
    return out[columns].reset_index(drop=True)


def _empty_frames() -> tuple[pd.DataFrame, ...]:
    return tuple(
        pd.DataFrame(columns=c) for c in (NODE_COLUMNS, POD_COLUMNS, NAMESPACE_COLUMNS, CONTAINER_COLUMNS)
    )


def _first(labels: dict[str, str], keys: tuple[str, ...], default: str) -> str:
    return next((labels[key] for key in keys if labels.get(key)), default)
