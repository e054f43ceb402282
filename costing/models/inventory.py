"""What exists: clusters and what the collectors have seen in them (nodes, namespaces, workloads, pods)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from costing.choices import ConnectionType, OwnerKind
from costing.secrets import EncryptedTextField


class Cluster(models.Model):
    """One Kubernetes cluster that is sampled and costed."""

    name = models.SlugField(max_length=100, unique=True)
    connection_type = models.CharField(max_length=20, choices=ConnectionType.choices)
    # The kubeconfig is a credential: encrypted at rest, the admin form never renders it back and nothing
    # logs it.
    kubeconfig = EncryptedTextField(blank=True, default="")
    kubeconfig_context = models.CharField(max_length=200, blank=True, default="")
    sampling_interval = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(10), MaxValueValidator(3600)],
        help_text="Seconds between samples. Each sample stands for the interval that follows it.",
    )
    node_pool_label = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="Node label that names the node pool, tried before the well-known cloud labels.",
    )
    simulator_seed = models.PositiveIntegerField(default=42)
    # Connection type Prometheus (docs/prometheus.md): the server's URL, the label matchers that pick this
    # cluster's series, and credentials (a bearer token, or a user and password), encrypted like the kubeconfig.
    prometheus_url = models.CharField(max_length=500, blank=True, default="")
    prometheus_selector = models.CharField(
        max_length=500,
        blank=True,
        default="",
        help_text='Label matchers that pick this cluster\'s series in a shared Prometheus, e.g. cluster="prod".',
    )
    prometheus_username = models.CharField(max_length=200, blank=True, default="")
    prometheus_password = EncryptedTextField(blank=True, default="")
    prometheus_token = EncryptedTextField(blank=True, default="")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

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

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="node_pools")
    name = models.CharField(max_length=253)

    class Meta:
        verbose_name = _("node pool")
        verbose_name_plural = _("node pools")
        ordering = ["cluster", "name"]
        constraints = [models.UniqueConstraint(fields=["cluster", "name"], name="nodepool_unique_name")]

    def __str__(self) -> str:
        return f"{self.cluster.name}/{self.name}"


class Node(models.Model):
    """One node of a cluster, as last seen."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="nodes")
    name = models.CharField(max_length=253)
    node_pool = models.ForeignKey(NodePool, on_delete=models.PROTECT, related_name="nodes")
    provider_id = models.CharField(max_length=500, blank=True, default="")
    # The last segment of providerID: what a bill calls the ResourceId of the instance.
    instance_id = models.CharField(max_length=253, blank=True, default="", db_index=True)
    instance_type = models.CharField(max_length=100, blank=True, default="")
    cpu_capacity_cores = models.FloatField(default=0)
    memory_capacity_bytes = models.BigIntegerField(default=0)
    gpu_capacity_devices = models.FloatField(
        default=0, db_default=0, help_text="GPUs, a MIG slice as its fraction of a device"
    )
    labels = models.JSONField(default=dict, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

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

    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="instances")
    instance_id = models.CharField(max_length=253, db_index=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

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

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="namespaces")
    name = models.CharField(max_length=253)
    labels = models.JSONField(default=dict, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        verbose_name = _("namespace")
        verbose_name_plural = _("namespaces")
        ordering = ["cluster", "name"]
        constraints = [models.UniqueConstraint(fields=["cluster", "name"], name="namespace_unique_name")]

    def __str__(self) -> str:
        return self.name


class Workload(models.Model):
    """A top controller (Deployment, StatefulSet, DaemonSet, CronJob, Job) or a bare pod."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="workloads")
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="workloads")
    kind = models.CharField(max_length=100, choices=OwnerKind.choices)
    name = models.CharField(max_length=253)

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

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="pods")
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="pods")
    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="pods")
    node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="pods")
    name = models.CharField(max_length=253)
    uid = models.CharField(max_length=253)
    labels = models.JSONField(default=dict, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        verbose_name = _("pod")
        verbose_name_plural = _("pods")
        ordering = ["namespace", "name"]
        constraints = [models.UniqueConstraint(fields=["cluster", "uid"], name="pod_unique_uid")]
        indexes = [models.Index(fields=["cluster", "last_seen"], name="pod_cluster_last_seen")]

    def __str__(self) -> str:
        return self.name


class LoadBalancer(models.Model):
    """One Service of type LoadBalancer, with every id of the cloud load balancer behind it ever seen.

    `ids` (costing.load_balancers.normalise_lb_id's form: the ELB id annotation, the ingress hostname's
    load balancer name, the ingress IP) are what a bill line's ResourceId is matched with; they accumulate,
    so the bill of a load balancer the Service had before stays the Service's. cloud_id, hostname and ip
    are those seen last."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="load_balancers")
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="load_balancers")
    name = models.CharField(max_length=253, help_text="the Service's name")
    cloud_id = models.CharField(max_length=500, blank=True, default="")
    hostname = models.CharField(max_length=500, blank=True, default="")
    ip = models.CharField(max_length=100, blank=True, default="")
    ids = models.JSONField(default=list, blank=True)
    selector = models.JSONField(default=dict, blank=True, help_text="the Service's spec.selector, last seen")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        verbose_name = _("load balancer")
        verbose_name_plural = _("load balancers")
        ordering = ["cluster", "namespace", "name"]
        constraints = [
            models.UniqueConstraint(fields=["namespace", "name"], name="loadbalancer_unique_service")
        ]

    def __str__(self) -> str:
        return self.name
