"""What exists: clusters and what the collectors have seen in them (nodes, namespaces, workloads, pods)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from costing.choices import ConnectionType, OwnerKind
from costing.secrets import EncryptedTextField


class Cluster(models.Model):
    """One Kubernetes cluster that is sampled and costed."""

    name = models.SlugField(max_length=100, unique=True, verbose_name=_("name"))
    connection_type = models.CharField(
        max_length=20, choices=ConnectionType.choices, verbose_name=_("connection type")
    )
    # The kubeconfig is a credential: encrypted at rest, the admin form never renders it back and nothing
    # logs it.
    kubeconfig = EncryptedTextField(blank=True, default="", verbose_name=_("kubeconfig"))
    kubeconfig_context = models.CharField(
        max_length=200, blank=True, default="", verbose_name=_("kubeconfig context")
    )
    sampling_interval = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(10), MaxValueValidator(3600)],
        help_text=_("Seconds between samples. Each sample stands for the interval that follows it."),
        verbose_name=_("sampling interval"),
    )
    node_pool_label = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text=_("Node label that names the node pool, tried before the well-known cloud labels."),
        verbose_name=_("node pool label"),
    )
    simulator_seed = models.PositiveIntegerField(default=42, verbose_name=_("simulator seed"))
    # Connection type Prometheus (docs/prometheus.md): the server's URL, the label matchers that pick this
    # cluster's series, and credentials (a bearer token, or a user and password), encrypted like the kubeconfig.
    prometheus_url = models.CharField(
        max_length=500, blank=True, default="", verbose_name=_("prometheus URL")
    )
    prometheus_selector = models.CharField(
        max_length=500,
        blank=True,
        default="",
        help_text=_(
            'Label matchers that pick this cluster\'s series in a shared Prometheus, e.g. cluster="prod".'
        ),
        verbose_name=_("prometheus selector"),
    )
    prometheus_username = models.CharField(
        max_length=200, blank=True, default="", verbose_name=_("prometheus username")
    )
    prometheus_password = EncryptedTextField(blank=True, default="", verbose_name=_("prometheus password"))
    prometheus_token = EncryptedTextField(blank=True, default="", verbose_name=_("prometheus token"))
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("cluster")
        verbose_name_plural = _("clusters")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:  # never the kubeconfig
        return f"<Cluster {self.name} ({self.connection_type})>"


class NodePool(models.Model):
    """A group of nodes of one cluster (CCE node pool, EKS node group, GKE node pool, AKS agent pool)."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="node_pools", verbose_name=_("cluster")
    )
    name = models.CharField(max_length=253, verbose_name=_("name"))

    class Meta:
        verbose_name = _("node pool")
        verbose_name_plural = _("node pools")
        ordering = ["cluster", "name"]
        constraints = [models.UniqueConstraint(fields=["cluster", "name"], name="nodepool_unique_name")]

    def __str__(self) -> str:
        return f"{self.cluster.name}/{self.name}"


class Node(models.Model):
    """One node of a cluster, as last seen."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="nodes", verbose_name=_("cluster")
    )
    name = models.CharField(max_length=253, verbose_name=_("name"))
    node_pool = models.ForeignKey(
        NodePool, on_delete=models.PROTECT, related_name="nodes", verbose_name=_("node pool")
    )
    provider_id = models.CharField(max_length=500, blank=True, default="", verbose_name=_("provider ID"))
    # The last segment of providerID: what a bill calls the ResourceId of the instance.
    instance_id = models.CharField(
        max_length=253, blank=True, default="", db_index=True, verbose_name=_("instance ID")
    )
    instance_type = models.CharField(max_length=100, blank=True, default="", verbose_name=_("instance type"))
    cpu_capacity_cores = models.FloatField(default=0, verbose_name=_("CPU capacity cores"))
    memory_capacity_bytes = models.BigIntegerField(default=0, verbose_name=_("memory capacity bytes"))
    gpu_capacity_devices = models.FloatField(
        default=0,
        db_default=0,
        help_text=_("GPUs, a MIG slice as its fraction of a device"),
        verbose_name=_("GPU capacity devices"),
    )
    labels = models.JSONField(default=dict, blank=True, verbose_name=_("labels"))
    first_seen = models.DateTimeField(verbose_name=_("first seen"))
    last_seen = models.DateTimeField(verbose_name=_("last seen"))

    class Meta:
        verbose_name = _("node")
        verbose_name_plural = _("nodes")
        ordering = ["cluster", "name"]
        constraints = [models.UniqueConstraint(fields=["cluster", "name"], name="node_unique_name")]

    def __str__(self) -> str:
        return self.name


class NodeInstance(models.Model):
    """A cloud instance a node's name stood for, and when: the bill of an earlier instance stays the node's.

    Clouds that name nodes by private IP (Huawei CCE) give a name to another instance once the IP is free
    again; Node keeps only the latest instance, so its bill lines of earlier days are found through here.
    """

    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="instances", verbose_name=_("node"))
    instance_id = models.CharField(max_length=253, db_index=True, verbose_name=_("instance ID"))
    first_seen = models.DateTimeField(verbose_name=_("first seen"))
    last_seen = models.DateTimeField(verbose_name=_("last seen"))

    class Meta:
        verbose_name = _("node instance")
        verbose_name_plural = _("node instances")
        ordering = ["node", "first_seen"]
        constraints = [
            models.UniqueConstraint(fields=["node", "instance_id"], name="nodeinstance_unique_instance")
        ]

    def __str__(self) -> str:
        return f"{self.node_id}/{self.instance_id}"


class Namespace(models.Model):
    """One namespace of a cluster, with the labels that department rules may read."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="namespaces", verbose_name=_("cluster")
    )
    name = models.CharField(max_length=253, verbose_name=_("name"))
    labels = models.JSONField(default=dict, blank=True, verbose_name=_("labels"))
    first_seen = models.DateTimeField(verbose_name=_("first seen"))
    last_seen = models.DateTimeField(verbose_name=_("last seen"))

    class Meta:
        verbose_name = _("namespace")
        verbose_name_plural = _("namespaces")
        ordering = ["cluster", "name"]
        constraints = [models.UniqueConstraint(fields=["cluster", "name"], name="namespace_unique_name")]

    def __str__(self) -> str:
        return self.name


class Workload(models.Model):
    """A top controller (Deployment, StatefulSet, DaemonSet, CronJob, Job) or a bare pod."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="workloads", verbose_name=_("cluster")
    )
    namespace = models.ForeignKey(
        Namespace, on_delete=models.CASCADE, related_name="workloads", verbose_name=_("namespace")
    )
    kind = models.CharField(max_length=100, choices=OwnerKind.choices, verbose_name=_("kind"))
    name = models.CharField(max_length=253, verbose_name=_("name"))

    class Meta:
        verbose_name = _("workload")
        verbose_name_plural = _("workloads")
        ordering = ["namespace", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["namespace", "kind", "name"], name="workload_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


class Pod(models.Model):
    """One pod over its life: bound to one node, first and last seen by a sample."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="pods", verbose_name=_("cluster")
    )
    namespace = models.ForeignKey(
        Namespace, on_delete=models.CASCADE, related_name="pods", verbose_name=_("namespace")
    )
    workload = models.ForeignKey(
        Workload, on_delete=models.CASCADE, related_name="pods", verbose_name=_("workload")
    )
    node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="pods", verbose_name=_("node"))
    name = models.CharField(max_length=253, verbose_name=_("name"))
    uid = models.CharField(max_length=253, verbose_name=_("uid"))
    labels = models.JSONField(default=dict, blank=True, verbose_name=_("labels"))
    first_seen = models.DateTimeField(verbose_name=_("first seen"))
    last_seen = models.DateTimeField(verbose_name=_("last seen"))

    class Meta:
        verbose_name = _("pod")
        verbose_name_plural = _("pods")
        ordering = ["namespace", "name"]
        constraints = [models.UniqueConstraint(fields=["cluster", "uid"], name="pod_unique_uid")]
        indexes = [models.Index(fields=["cluster", "last_seen"], name="pod_cluster_last_seen")]

    def __str__(self) -> str:
        return self.name


class Volume(models.Model):
    """One PersistentVolume of a cluster, as last seen, with the cloud disk behind it (costing/volumes.py).

    `disk_id` is the disk as the bill names it (normalise_disk_id's form; "" for NFS, hostPath, local): a
    bill line of that disk is this volume's cost. The claim is the PV's spec.claimRef as last seen.
    """

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="volumes", verbose_name=_("cluster")
    )
    name = models.CharField(max_length=253, verbose_name=_("name"))
    disk_id = models.CharField(max_length=1000, blank=True, default="", verbose_name=_("disk ID"))
    driver = models.CharField(max_length=253, blank=True, default="", verbose_name=_("driver"))
    storage_class = models.CharField(max_length=253, blank=True, default="", verbose_name=_("storage class"))
    capacity_bytes = models.BigIntegerField(default=0, verbose_name=_("capacity (bytes)"))
    phase = models.CharField(max_length=20, blank=True, default="", verbose_name=_("phase"))
    claim_namespace = models.CharField(
        max_length=253, blank=True, default="", verbose_name=_("claim namespace")
    )
    claim_name = models.CharField(max_length=253, blank=True, default="", verbose_name=_("claim name"))
    first_seen = models.DateTimeField(verbose_name=_("first seen"))
    last_seen = models.DateTimeField(verbose_name=_("last seen"))

    class Meta:
        verbose_name = _("volume")
        verbose_name_plural = _("volumes")
        ordering = ["cluster", "name"]
        constraints = [models.UniqueConstraint(fields=["cluster", "name"], name="volume_unique_name")]

    def __str__(self) -> str:
        return self.name


class LoadBalancer(models.Model):
    """One Service of type LoadBalancer, with every id of the cloud load balancer behind it ever seen.

    `ids` (costing.load_balancers.normalise_lb_id's form: the ELB id annotation, the ingress hostname's
    load balancer name, the ingress IP) are what a bill line's ResourceId is matched with; they accumulate,
    so the bill of a load balancer the Service had before stays the Service's. cloud_id, hostname and ip
    are those seen last."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="load_balancers", verbose_name=_("cluster")
    )
    namespace = models.ForeignKey(
        Namespace, on_delete=models.CASCADE, related_name="load_balancers", verbose_name=_("namespace")
    )
    name = models.CharField(max_length=253, help_text=_("the Service's name"), verbose_name=_("name"))
    cloud_id = models.CharField(max_length=500, blank=True, default="", verbose_name=_("cloud ID"))
    hostname = models.CharField(max_length=500, blank=True, default="", verbose_name=_("hostname"))
    ip = models.CharField(max_length=100, blank=True, default="", verbose_name=_("IP"))
    ids = models.JSONField(default=list, blank=True, verbose_name=_("IDs"))
    selector = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("the Service's spec.selector, last seen"),
        verbose_name=_("selector"),
    )
    first_seen = models.DateTimeField(verbose_name=_("first seen"))
    last_seen = models.DateTimeField(verbose_name=_("last seen"))

    class Meta:
        verbose_name = _("load balancer")
        verbose_name_plural = _("load balancers")
        ordering = ["cluster", "namespace", "name"]
        constraints = [
            models.UniqueConstraint(fields=["namespace", "name"], name="loadbalancer_unique_service")
        ]

    def __str__(self) -> str:
        return self.name
