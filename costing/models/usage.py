"""What was used: sample slots and the hourly quantities they add up to."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from costing.choices import SampleSource, SampleStatus

from .base import GpuHours, ResourceHours
from .inventory import Cluster, LoadBalancer, Namespace, Node, Pod, Volume


class SampleSlot(models.Model):
    """One sampling slot of a cluster: [slot, slot + interval) was sampled once, or is a gap.

    The unique (cluster, slot) is what makes sampling idempotent: a slot's quantities are added to the
    hourly rows in the same transaction that creates this row, so a second run of the same slot (late,
    retried or concurrent) finds the row and adds nothing.
    """

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="sample_slots", verbose_name=_("cluster")
    )
    slot = models.DateTimeField(verbose_name=_("slot"))
    interval = models.PositiveIntegerField(verbose_name=_("interval"))
    status = models.CharField(max_length=10, choices=SampleStatus.choices, verbose_name=_("status"))
    source = models.CharField(max_length=20, choices=SampleSource.choices, verbose_name=_("source"))
    reason = models.CharField(max_length=500, blank=True, default="", verbose_name=_("reason"))
    nodes = models.PositiveIntegerField(default=0, verbose_name=_("nodes"))
    pods = models.PositiveIntegerField(default=0, verbose_name=_("pods"))
    pods_without_metrics = models.PositiveIntegerField(default=0, verbose_name=_("pods without metrics"))
    recorded_at = models.DateTimeField(auto_now_add=True, verbose_name=_("recorded at"))

    class Meta:
        verbose_name = _("sample slot")
        verbose_name_plural = _("sample slots")
        ordering = ["cluster", "slot"]
        constraints = [models.UniqueConstraint(fields=["cluster", "slot"], name="sampleslot_unique_slot")]

    def __str__(self) -> str:
        return f"{self.cluster_id}@{self.slot:%Y-%m-%d %H:%M:%S} {self.status}"


class PodHour(ResourceHours, GpuHours):
    """One pod's quantities for one hour on one node: resource-hours requested, used and billable.

    Billable is max(usage, request) per sample, summed; it is not max of the sums. A sample stands for
    [t, t + interval): its quantities land in the hours that interval overlaps, in proportion.
    `samples` counts the samples whose interval overlaps the hour. The node is part of the key because
    the engine prices per node-hour (a pod keeps its node for life, but an imported pod name reused on
    another node within an hour must not be priced at the first node's rate).
    """

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    pod = models.ForeignKey(Pod, on_delete=models.CASCADE, related_name="hours", verbose_name=_("pod"))
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="pod_hours", verbose_name=_("node"))
    hour = models.DateTimeField(verbose_name=_("hour"))
    samples = models.PositiveIntegerField(default=0, verbose_name=_("samples"))
    samples_without_metrics = models.PositiveIntegerField(
        default=0, verbose_name=_("samples without metrics")
    )

    class Meta:
        verbose_name = _("pod hour")
        verbose_name_plural = _("pod hours")
        constraints = [models.UniqueConstraint(fields=["pod", "node", "hour"], name="podhour_unique_hour")]
        indexes = [models.Index(fields=["cluster", "hour"], name="podhour_cluster_hour")]

    def __str__(self) -> str:
        return f"pod {self.pod_id} @ {self.hour:%Y-%m-%d %H:00}"


class NodeHour(models.Model):
    """One node's capacity for one hour, in core-hours and GiB-hours of the samples that saw it."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="hours", verbose_name=_("node"))
    hour = models.DateTimeField(verbose_name=_("hour"))
    samples = models.PositiveIntegerField(default=0, verbose_name=_("samples"))
    cpu_capacity_core_hours = models.FloatField(default=0, verbose_name=_("CPU capacity core hours"))
    mem_capacity_gib_hours = models.FloatField(default=0, verbose_name=_("memory capacity GiB hours"))
    gpu_capacity_hours = models.FloatField(
        default=0, db_default=0, help_text=_("GPU device-hours"), verbose_name=_("GPU capacity hours")
    )

    class Meta:
        verbose_name = _("node hour")
        verbose_name_plural = _("node hours")
        constraints = [models.UniqueConstraint(fields=["node", "hour"], name="nodehour_unique_hour")]
        indexes = [models.Index(fields=["cluster", "hour"], name="nodehour_cluster_hour")]

    def __str__(self) -> str:
        return f"node {self.node_id} @ {self.hour:%Y-%m-%d %H:00}"


class CoverageHour(models.Model):
    """How much of one cluster-hour was sampled: seconds sampled and seconds lost to gaps."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="coverage", verbose_name=_("cluster")
    )
    hour = models.DateTimeField(verbose_name=_("hour"))
    sampled_seconds = models.PositiveIntegerField(default=0, verbose_name=_("sampled seconds"))
    gap_seconds = models.PositiveIntegerField(default=0, verbose_name=_("gap seconds"))

    class Meta:
        verbose_name = _("coverage hour")
        verbose_name_plural = _("coverage hours")
        ordering = ["cluster", "hour"]
        constraints = [models.UniqueConstraint(fields=["cluster", "hour"], name="coveragehour_unique_hour")]

    def __str__(self) -> str:
        return f"{self.cluster_id}@{self.hour:%Y-%m-%d %H:00} {self.coverage:.0%}"

    @property
    def coverage(self) -> float:
        """Sampled share of the hour (an hour nobody tried to sample counts as not sampled)."""
        return min(self.sampled_seconds / 3600, 1.0)


class ContainerHour(ResourceHours):
    """One container's quantities for one hour of one pod on one node, with its usage histograms.

    What right-sizing reads: requests and limits (resource-hours; a limit of 0 is no limit), usage and
    billable resource-hours (billable = max(usage, request) per sample, as for pods), the hour's peak
    usage, and per resource the seconds spent in each usage bucket (costing.histograms), which add up
    over hours and replicas so that a percentile over weeks needs no minute kept. Samples without
    metrics add to the hours and to `samples_without_metrics` but not to the peaks and histograms.
    Init containers (not sidecars) are flagged `init`: they count in their pod's request while they run,
    not in the steady state that right-sizing sizes.
    """

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    pod = models.ForeignKey(
        Pod, on_delete=models.CASCADE, related_name="container_hours", verbose_name=_("pod")
    )
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="+", verbose_name=_("node"))
    container = models.CharField(max_length=63, verbose_name=_("container"))
    hour = models.DateTimeField(verbose_name=_("hour"))
    init = models.BooleanField(default=False, verbose_name=_("init"))
    samples = models.PositiveIntegerField(default=0, verbose_name=_("samples"))
    samples_without_metrics = models.PositiveIntegerField(
        default=0, verbose_name=_("samples without metrics")
    )
    seconds = models.PositiveIntegerField(default=0, verbose_name=_("seconds"))
    cpu_limit_core_hours = models.FloatField(default=0, verbose_name=_("CPU limit core hours"))
    mem_limit_gib_hours = models.FloatField(default=0, verbose_name=_("memory limit GiB hours"))
    cpu_usage_max_cores = models.FloatField(default=0, verbose_name=_("CPU usage max cores"))
    mem_usage_max_bytes = models.FloatField(default=0, verbose_name=_("memory usage max bytes"))
    cpu_histogram = models.JSONField(default=dict, verbose_name=_("CPU histogram"))
    mem_histogram = models.JSONField(default=dict, verbose_name=_("memory histogram"))

    class Meta:
        verbose_name = _("container hour")
        verbose_name_plural = _("container hours")
        constraints = [
            models.UniqueConstraint(
                fields=["pod", "node", "container", "hour"], name="containerhour_unique_hour"
            )
        ]
        indexes = [models.Index(fields=["cluster", "hour"], name="containerhour_cluster_hour")]

    def __str__(self) -> str:
        return f"pod {self.pod_id} container {self.container} @ {self.hour:%Y-%m-%d %H:00}"


class VolumeHour(models.Model):
    """One PersistentVolume's hour: the seconds of the samples that saw it, and of those the seconds it was
    bound to its claim and the seconds it was bound but mounted by no pod (what costing/engine/volumes.py
    divides). `namespace` is its claim's namespace (as last seen in the hour); None while unbound."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    volume = models.ForeignKey(
        Volume, on_delete=models.CASCADE, related_name="hours", verbose_name=_("volume")
    )
    hour = models.DateTimeField(verbose_name=_("hour"))
    namespace = models.ForeignKey(
        Namespace,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("namespace"),
    )
    samples = models.PositiveIntegerField(default=0, verbose_name=_("samples"))
    seconds = models.PositiveIntegerField(default=0, verbose_name=_("seconds"))
    bound_seconds = models.PositiveIntegerField(default=0, verbose_name=_("bound seconds"))
    unmounted_seconds = models.PositiveIntegerField(default=0, verbose_name=_("unmounted seconds"))

    class Meta:
        verbose_name = _("volume hour")
        verbose_name_plural = _("volume hours")
        constraints = [models.UniqueConstraint(fields=["volume", "hour"], name="volumehour_unique_hour")]
        indexes = [models.Index(fields=["cluster", "hour"], name="volumehour_cluster_hour")]

    def __str__(self) -> str:
        return f"volume {self.volume_id} @ {self.hour:%Y-%m-%d %H:00}"


class VolumeMountHour(models.Model):
    """One pod's mount of one bound volume for one hour: the seconds it mounted it, and its share of them
    (seconds divided by the number of the claim's pods mounting it in each sample: equal parts)."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    volume = models.ForeignKey(
        Volume, on_delete=models.CASCADE, related_name="mount_hours", verbose_name=_("volume")
    )
    pod = models.ForeignKey(Pod, on_delete=models.CASCADE, related_name="volume_hours", verbose_name=_("pod"))
    hour = models.DateTimeField(verbose_name=_("hour"))
    seconds = models.PositiveIntegerField(default=0, verbose_name=_("seconds"))
    share_seconds = models.FloatField(default=0, verbose_name=_("share seconds"))

    class Meta:
        verbose_name = _("volume mount hour")
        verbose_name_plural = _("volume mount hours")
        constraints = [
            models.UniqueConstraint(fields=["volume", "pod", "hour"], name="volumemounthour_unique_hour")
        ]
        indexes = [models.Index(fields=["cluster", "hour"], name="volumemounthour_cluster_hour")]

    def __str__(self) -> str:
        return f"volume {self.volume_id} pod {self.pod_id} @ {self.hour:%Y-%m-%d %H:00}"


class LoadBalancerHour(models.Model):
    """One load balancer (a Service of type LoadBalancer) in one hour: the seconds the samples saw it."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    load_balancer = models.ForeignKey(
        LoadBalancer, on_delete=models.CASCADE, related_name="hours", verbose_name=_("load balancer")
    )
    hour = models.DateTimeField(verbose_name=_("hour"))
    samples = models.PositiveIntegerField(default=0, verbose_name=_("samples"))
    seconds = models.PositiveIntegerField(default=0, verbose_name=_("seconds"))

    class Meta:
        verbose_name = _("load balancer hour")
        verbose_name_plural = _("load balancer hours")
        ordering = ["cluster", "hour"]
        constraints = [
            models.UniqueConstraint(fields=["load_balancer", "hour"], name="loadbalancerhour_unique_hour")
        ]
        indexes = [models.Index(fields=["cluster", "hour"], name="loadbalancerhour_cluster_hour")]

    def __str__(self) -> str:
        return f"load balancer {self.load_balancer_id} @ {self.hour:%Y-%m-%d %H:00}"


# --- the live path's minutes, before they are folded into their hours (costing/folding.py) ---------------


class _StagedMinute(models.Model):
    """Rows appended by the minute's live sample and folded into the hourly tables later.

    One row per sample and hour it overlaps, with the quantities that sample adds to that hour. No
    foreign-key constraint and no unique key: appending is a plain COPY, and the foreign keys are checked
    once, when the fold inserts the hour rows. Django still cascades a deleted cluster, pod or node here.
    """

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, db_constraint=False, related_name="+", verbose_name=_("cluster")
    )
    hour = models.DateTimeField(verbose_name=_("hour"))
    slot = models.DateTimeField(verbose_name=_("slot"))
    samples = models.PositiveIntegerField(default=0, verbose_name=_("samples"))

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"cluster {self.cluster_id} @ {self.hour:%Y-%m-%d %H:00} (slot {self.slot:%H:%M:%S})"


class PodMinute(_StagedMinute, ResourceHours, GpuHours):
    """A pod sample's share of one pod-hour, waiting to be folded into PodHour."""

    pod = models.ForeignKey(
        Pod, on_delete=models.CASCADE, db_constraint=False, related_name="+", verbose_name=_("pod")
    )
    node = models.ForeignKey(
        Node, on_delete=models.CASCADE, db_constraint=False, related_name="+", verbose_name=_("node")
    )
    samples_without_metrics = models.PositiveIntegerField(
        default=0, verbose_name=_("samples without metrics")
    )

    class Meta:
        verbose_name = _("pod minute")
        verbose_name_plural = _("pod minutes")
        indexes = [models.Index(fields=["cluster", "hour"], name="podminute_cluster_hour")]


class ContainerMinute(_StagedMinute, ResourceHours):
    """A container sample's share of one container-hour, waiting to be folded into ContainerHour. The
    sample's usage buckets (costing.histograms) are kept, NULL for a sample without metrics."""

    pod = models.ForeignKey(
        Pod, on_delete=models.CASCADE, db_constraint=False, related_name="+", verbose_name=_("pod")
    )
    node = models.ForeignKey(
        Node, on_delete=models.CASCADE, db_constraint=False, related_name="+", verbose_name=_("node")
    )
    container = models.CharField(max_length=63, verbose_name=_("container"))
    init = models.BooleanField(default=False, verbose_name=_("init"))
    samples_without_metrics = models.PositiveIntegerField(
        default=0, verbose_name=_("samples without metrics")
    )
    seconds = models.PositiveIntegerField(default=0, verbose_name=_("seconds"))
    cpu_limit_core_hours = models.FloatField(default=0, verbose_name=_("CPU limit core hours"))
    mem_limit_gib_hours = models.FloatField(default=0, verbose_name=_("memory limit GiB hours"))
    cpu_usage_max_cores = models.FloatField(default=0, verbose_name=_("CPU usage max cores"))
    mem_usage_max_bytes = models.FloatField(default=0, verbose_name=_("memory usage max bytes"))
    cpu_bucket = models.IntegerField(null=True, verbose_name=_("CPU bucket"))
    mem_bucket = models.IntegerField(null=True, verbose_name=_("memory bucket"))

    class Meta:
        verbose_name = _("container minute")
        verbose_name_plural = _("container minutes")
        indexes = [models.Index(fields=["cluster", "hour"], name="containerminute_cluster_hour")]


class NodeMinute(_StagedMinute):
    """A node sample's share of one node-hour, waiting to be folded into NodeHour."""

    node = models.ForeignKey(
        Node, on_delete=models.CASCADE, db_constraint=False, related_name="+", verbose_name=_("node")
    )
    cpu_capacity_core_hours = models.FloatField(default=0, verbose_name=_("CPU capacity core hours"))
    mem_capacity_gib_hours = models.FloatField(default=0, verbose_name=_("memory capacity GiB hours"))
    gpu_capacity_hours = models.FloatField(default=0, verbose_name=_("GPU capacity hours"))

    class Meta:
        verbose_name = _("node minute")
        verbose_name_plural = _("node minutes")
        indexes = [models.Index(fields=["cluster", "hour"], name="nodeminute_cluster_hour")]
