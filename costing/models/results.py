"""What the engine computed: stored daily (and, for explanations, hourly) costs that pages and reports read.

All amounts are in the organisation's currency, Decimal with 8 places; they are exact sums of the
engine's results, and rounded to cents only where they are shown (largest remainder).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from costing.choices import Pool

from .base import MONEY, AllocatedCost, GpuHours, ResourceHours
from .inventory import Cluster, LoadBalancer, Namespace, Node, NodePool, Pod, Volume, Workload
from .policy import Department, Policy


class ClusterDay(models.Model):
    """One cluster's computed day: its physical cost split into workload, idle and overhead.

    Also the unit of recomputation: `dirty` marks a day whose inputs changed since it was computed
    (late samples, a new bill, a policy change); computing it takes a row lock on this row.
    """

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="days", verbose_name=_("cluster")
    )
    day = models.DateField(verbose_name=_("day"))
    policy = models.ForeignKey(
        Policy, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("policy")
    )
    dirty = models.BooleanField(default=True, verbose_name=_("dirty"))
    # Bumped by every mark_days_dirty: a computation clears `dirty` only if no mark came in meanwhile.
    dirty_version = models.PositiveBigIntegerField(default=0, verbose_name=_("dirty version"))
    # Fan-out across workers (costing/fanout.py): when a compute task for this cluster-day was sent and has
    # not run yet, and whether its cluster part was computed since the day's departments were apportioned.
    queued_at = models.DateTimeField(null=True, blank=True, verbose_name=_("queued at"))
    apportion_pending = models.BooleanField(default=False, verbose_name=_("apportion pending"))
    computed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("computed at"))
    physical_cost = models.DecimalField(**MONEY, verbose_name=_("physical cost"))
    workload_cost = models.DecimalField(**MONEY, verbose_name=_("workload cost"))
    idle_cost = models.DecimalField(**MONEY, verbose_name=_("idle cost"))
    overhead_cost = models.DecimalField(**MONEY, verbose_name=_("overhead cost"))
    # Persistent volumes' disks: the part of workload_cost charged for them (to pods and unmounted claims)
    # and the part of idle_cost that no claim held (released or unbound volumes, hours no sample saw).
    storage_cost = models.DecimalField(**MONEY, db_default=0, verbose_name=_("storage cost"))
    storage_idle_cost = models.DecimalField(**MONEY, db_default=0, verbose_name=_("storage idle cost"))
    # The part of workload_cost (what is charged) that is load balancers charged to their Services'
    # namespaces rather than pods: workload_cost = the pods' cost + network_cost.
    network_cost = models.DecimalField(**MONEY, db_default=0, verbose_name=_("network cost"))
    estimated_cost = models.DecimalField(
        **MONEY,
        help_text=_("part of physical_cost priced from the fallback sheet"),
        verbose_name=_("estimated cost"),
    )
    unpriced_core_hours = models.FloatField(
        default=0,
        help_text=_("pod core-hours on node-hours with no price"),
        verbose_name=_("unpriced core hours"),
    )
    coverage = models.FloatField(
        default=0, help_text=_("sampled share of the day's seconds, 0..1"), verbose_name=_("coverage")
    )
    # Whether its ContainerDay rows (right-sizing) were written with its results; until it is recomputed
    # after the upgrade that added them, right-sizing reads its container-hours.
    container_days = models.BooleanField(
        default=False,
        help_text=_("right-sizing's container-days were stored with the results"),
        verbose_name=_("container days stored"),
    )

    class Meta:
        verbose_name = _("cluster day")
        verbose_name_plural = _("cluster days")
        ordering = ["cluster", "day"]
        constraints = [models.UniqueConstraint(fields=["cluster", "day"], name="clusterday_unique_day")]
        indexes = [models.Index(fields=["dirty", "day"], name="clusterday_dirty")]

    def __str__(self) -> str:
        return f"{self.cluster_id} {self.day:%Y-%m-%d}"


class NodeCostHour(models.Model):
    """One node-hour's cost and unit prices: the bottom of every explanation (hourly retention)."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="+", verbose_name=_("node"))
    hour = models.DateTimeField(verbose_name=_("hour"))
    cost = models.DecimalField(**MONEY, verbose_name=_("cost"))
    cpu_cost_pool = models.DecimalField(**MONEY, verbose_name=_("CPU cost pool"))
    mem_cost_pool = models.DecimalField(**MONEY, verbose_name=_("memory cost pool"))
    gpu_cost_pool = models.DecimalField(**MONEY, db_default=0, verbose_name=_("GPU cost pool"))
    # The prices the pods paid: pool / max(capacity, billed), so below capacity the unit price of
    # docs/cost-model.md rule 4 and on an over-committed node-hour the pool divided by what its pods billed.
    cpu_price = models.FloatField(
        null=True, blank=True, help_text=_("per core-hour charged to pods"), verbose_name=_("CPU price")
    )
    mem_price = models.FloatField(
        null=True, blank=True, help_text=_("per GiB-hour charged to pods"), verbose_name=_("memory price")
    )
    gpu_price = models.FloatField(
        null=True, blank=True, help_text=_("per GPU-hour charged to pods"), verbose_name=_("GPU price")
    )
    cpu_idle = models.DecimalField(**MONEY, verbose_name=_("CPU idle"))
    mem_idle = models.DecimalField(**MONEY, verbose_name=_("memory idle"))
    gpu_idle = models.DecimalField(**MONEY, db_default=0, verbose_name=_("GPU idle"))
    estimated = models.BooleanField(default=False, verbose_name=_("estimated"))
    sampled = models.BooleanField(default=True, verbose_name=_("sampled"))

    class Meta:
        verbose_name = _("node cost hour")
        verbose_name_plural = _("node cost hours")
        constraints = [models.UniqueConstraint(fields=["node", "hour"], name="nodecosthour_unique_hour")]
        indexes = [
            models.Index(fields=["cluster", "hour"], name="nodecosthour_cluster_hour"),
            models.Index(fields=["hour"], name="nodecosthour_hour"),
        ]

    def __str__(self) -> str:
        return f"node {self.node_id} @ {self.hour:%Y-%m-%d %H:00}: {self.cost}"


class NodeCostDay(models.Model):
    """One node's day: what it cost, what its pods paid, and the idle rest."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    day = models.DateField(verbose_name=_("day"))
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="cost_days", verbose_name=_("node"))
    node_pool = models.ForeignKey(
        NodePool, on_delete=models.CASCADE, related_name="cost_days", verbose_name=_("node pool")
    )
    cost = models.DecimalField(**MONEY, verbose_name=_("cost"))
    cpu_cost_pool = models.DecimalField(**MONEY, verbose_name=_("CPU cost pool"))
    mem_cost_pool = models.DecimalField(**MONEY, verbose_name=_("memory cost pool"))
    gpu_cost_pool = models.DecimalField(**MONEY, db_default=0, verbose_name=_("GPU cost pool"))
    cpu_idle = models.DecimalField(**MONEY, verbose_name=_("CPU idle"))
    mem_idle = models.DecimalField(**MONEY, verbose_name=_("memory idle"))
    gpu_idle = models.DecimalField(**MONEY, db_default=0, verbose_name=_("GPU idle"))
    estimated_cost = models.DecimalField(**MONEY, verbose_name=_("estimated cost"))
    cpu_capacity_core_hours = models.FloatField(default=0, verbose_name=_("CPU capacity core hours"))
    mem_capacity_gib_hours = models.FloatField(default=0, verbose_name=_("memory capacity GiB hours"))
    gpu_capacity_hours = models.FloatField(default=0, db_default=0, verbose_name=_("GPU capacity hours"))
    hours_billed = models.PositiveSmallIntegerField(default=0, verbose_name=_("hours billed"))
    hours_estimated = models.PositiveSmallIntegerField(default=0, verbose_name=_("hours estimated"))
    hours_unsampled = models.PositiveSmallIntegerField(default=0, verbose_name=_("hours unsampled"))

    class Meta:
        verbose_name = _("node cost day")
        verbose_name_plural = _("node cost days")
        ordering = ["cluster", "day", "node"]
        constraints = [models.UniqueConstraint(fields=["node", "day"], name="nodecostday_unique_day")]
        indexes = [
            models.Index(fields=["cluster", "day"], name="nodecostday_cluster_day"),
            models.Index(fields=["day", "cluster"], name="nodecostday_day_cluster"),
        ]

    def __str__(self) -> str:
        return f"node {self.node_id} {self.day:%Y-%m-%d}: {self.cost}"


class PodCostDay(ResourceHours, GpuHours, AllocatedCost):
    """One pod's day: its quantities and what it paid for them (the workload cost's finest grain)."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    day = models.DateField(verbose_name=_("day"))
    pod = models.ForeignKey(Pod, on_delete=models.CASCADE, related_name="cost_days", verbose_name=_("pod"))
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="+", verbose_name=_("node"))
    namespace = models.ForeignKey(
        Namespace, on_delete=models.CASCADE, related_name="+", verbose_name=_("namespace")
    )
    workload = models.ForeignKey(
        Workload, on_delete=models.CASCADE, related_name="+", verbose_name=_("workload")
    )
    samples = models.PositiveIntegerField(default=0, verbose_name=_("samples"))

    class Meta:
        verbose_name = _("pod cost day")
        verbose_name_plural = _("pod cost days")
        constraints = [models.UniqueConstraint(fields=["pod", "day"], name="podcostday_unique_day")]
        indexes = [
            models.Index(fields=["cluster", "day"], name="podcostday_cluster_day"),
            models.Index(fields=["workload", "day"], name="podcostday_workload_day"),
            # Pages and /allocation read a period of every cluster: the day first.
            models.Index(fields=["day", "cluster"], name="podcostday_day_cluster"),
        ]

    def __str__(self) -> str:
        return f"pod {self.pod_id} {self.day:%Y-%m-%d}: {self.cost}"


class WorkloadCostDay(ResourceHours, GpuHours, AllocatedCost):
    """One workload's day, summed from its pods (what the pages and reports read)."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    day = models.DateField(verbose_name=_("day"))
    namespace = models.ForeignKey(
        Namespace, on_delete=models.CASCADE, related_name="+", verbose_name=_("namespace")
    )
    workload = models.ForeignKey(
        Workload, on_delete=models.CASCADE, related_name="cost_days", verbose_name=_("workload")
    )
    pods = models.PositiveIntegerField(default=0, verbose_name=_("pods"))

    class Meta:
        verbose_name = _("workload cost day")
        verbose_name_plural = _("workload cost days")
        constraints = [models.UniqueConstraint(fields=["workload", "day"], name="workloadcostday_unique_day")]
        indexes = [models.Index(fields=["day", "cluster"], name="workloadcostday_day_cluster")]

    def __str__(self) -> str:
        return f"workload {self.workload_id} {self.day:%Y-%m-%d}: {self.cost}"


class WorkloadCostMonth(ResourceHours, GpuHours, AllocatedCost):
    """One workload's calendar month under one owner: its WorkloadCostDay rows summed (costing/rollups.py).

    Pages that read whole months (a year: twelve rows a workload instead of 365) sum these; the days of
    a period outside whole months come from WorkloadCostDay. `department` and `shared` are the stored
    namespace day's owner of each day summed ("" and False when the namespace has no stored day), so a
    department's view keeps exactly its days. Refreshed with every computed day of the month.
    """

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    month = models.DateField(help_text=_("its first day"), verbose_name=_("month"))
    namespace = models.ForeignKey(
        Namespace, on_delete=models.CASCADE, related_name="+", verbose_name=_("namespace")
    )
    workload = models.ForeignKey(
        Workload, on_delete=models.CASCADE, related_name="cost_months", verbose_name=_("workload")
    )
    department = models.CharField(max_length=200, blank=True, default="", verbose_name=_("department"))
    shared = models.BooleanField(default=False, verbose_name=_("shared"))
    days = models.PositiveSmallIntegerField(default=0, verbose_name=_("days"))

    class Meta:
        verbose_name = _("workload cost month")
        verbose_name_plural = _("workload cost months")
        constraints = [
            models.UniqueConstraint(
                fields=["workload", "month", "department", "shared"], name="workloadcostmonth_unique"
            )
        ]
        indexes = [models.Index(fields=["month", "cluster"], name="workloadmonth_month_cluster")]

    def __str__(self) -> str:
        return f"workload {self.workload_id} {self.month:%Y-%m}: {self.cost}"


class PodGroupDay(ResourceHours, GpuHours, AllocatedCost):
    """A cluster-day's pod days summed per namespace, workload and label set (costing/rollups.py).

    What /allocation reads when it does not group by node or pod (aggregate=namespace, controller, label,
    department, cluster): a few rows a workload and day instead of every pod day and a join to every pod
    for its labels. `labels` are the pods' labels when the day was computed; node_* and pod_* are the
    least and greatest node and pod names of the group (one name when they are equal). Written with the
    cluster-day's results (costing.compute) and pruned with them, so it always sums their PodCostDay rows.
    """

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    day = models.DateField(verbose_name=_("day"))
    namespace = models.ForeignKey(
        Namespace, on_delete=models.CASCADE, related_name="+", verbose_name=_("namespace")
    )
    workload = models.ForeignKey(
        Workload, on_delete=models.CASCADE, related_name="+", verbose_name=_("workload")
    )
    labels = models.JSONField(default=dict, blank=True, verbose_name=_("labels"))
    pods = models.PositiveIntegerField(default=0, verbose_name=_("pods"))
    samples = models.PositiveBigIntegerField(default=0, verbose_name=_("samples"))
    node_first = models.CharField(max_length=253, blank=True, default="", verbose_name=_("first node"))
    node_last = models.CharField(max_length=253, blank=True, default="", verbose_name=_("last node"))
    pod_first = models.CharField(max_length=253, blank=True, default="", verbose_name=_("first pod"))
    pod_last = models.CharField(max_length=253, blank=True, default="", verbose_name=_("last pod"))

    class Meta:
        verbose_name = _("pod group day")
        verbose_name_plural = _("pod group days")
        indexes = [models.Index(fields=["day", "cluster"], name="podgroupday_day_cluster")]

    def __str__(self) -> str:
        return f"pods of workload {self.workload_id} {self.day:%Y-%m-%d}: {self.cost}"


class NamespaceCostDay(ResourceHours, GpuHours, AllocatedCost):
    """One namespace's day, with the department the policy of that day gave it (or shared)."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    day = models.DateField(verbose_name=_("day"))
    namespace = models.ForeignKey(
        Namespace, on_delete=models.CASCADE, related_name="cost_days", verbose_name=_("namespace")
    )
    department = models.CharField(
        max_length=200,
        help_text=_("resolved owner; 'Unallocated' when no rule"),
        verbose_name=_("department"),
    )
    shared = models.BooleanField(default=False, verbose_name=_("shared"))
    # The part of storage_cost for claims no pod mounted ("unmounted storage").
    unmounted_storage_cost = models.DecimalField(
        **MONEY, db_default=0, verbose_name=_("unmounted storage cost")
    )
    # Its Services' load balancers (LoadBalancerCostDay); part of `cost`, not of any pod or workload.
    network_cost = models.DecimalField(**MONEY, db_default=0, verbose_name=_("network cost"))

    class Meta:
        verbose_name = _("namespace cost day")
        verbose_name_plural = _("namespace cost days")
        constraints = [
            models.UniqueConstraint(fields=["namespace", "day"], name="namespacecostday_unique_day")
        ]
        indexes = [models.Index(fields=["day", "cluster"], name="namespacecostday_day_cluster")]

    def __str__(self) -> str:
        return f"namespace {self.namespace_id} {self.day:%Y-%m-%d}: {self.cost}"


class VolumeCostDay(models.Model):
    """One PersistentVolume's day: its disk's bill lines and who paid them (costing/engine/volumes.py).

    cost = pods_cost + unmounted_cost + idle_cost exactly; `namespace` is its claim's namespace (as last
    seen that day), None when it was never bound that day."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    day = models.DateField(verbose_name=_("day"))
    volume = models.ForeignKey(
        Volume, on_delete=models.CASCADE, related_name="cost_days", verbose_name=_("volume")
    )
    namespace = models.ForeignKey(
        Namespace,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("namespace"),
    )
    cost = models.DecimalField(**MONEY, verbose_name=_("cost"))
    pods_cost = models.DecimalField(**MONEY, verbose_name=_("pods cost"))
    unmounted_cost = models.DecimalField(**MONEY, verbose_name=_("unmounted cost"))
    idle_cost = models.DecimalField(**MONEY, verbose_name=_("idle cost"))
    hours_seen = models.PositiveSmallIntegerField(default=0, verbose_name=_("hours seen"))

    class Meta:
        verbose_name = _("volume cost day")
        verbose_name_plural = _("volume cost days")
        ordering = ["cluster", "day", "volume"]
        constraints = [models.UniqueConstraint(fields=["volume", "day"], name="volumecostday_unique_day")]
        indexes = [models.Index(fields=["cluster", "day"], name="volumecostday_cluster_day")]

    def __str__(self) -> str:
        return f"volume {self.volume_id} {self.day:%Y-%m-%d}: {self.cost}"


class LoadBalancerCostDay(models.Model):
    """One load balancer's day: its bill lines' cost in that day, charged to its Service's namespace."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    day = models.DateField(verbose_name=_("day"))
    load_balancer = models.ForeignKey(
        LoadBalancer, on_delete=models.CASCADE, related_name="cost_days", verbose_name=_("load balancer")
    )
    namespace = models.ForeignKey(
        Namespace, on_delete=models.CASCADE, related_name="+", verbose_name=_("namespace")
    )
    cost = models.DecimalField(**MONEY, verbose_name=_("cost"))
    lines = models.PositiveIntegerField(
        default=0, help_text=_("bill lines that touch the day"), verbose_name=_("lines")
    )

    class Meta:
        verbose_name = _("load balancer cost day")
        verbose_name_plural = _("load balancer cost days")
        ordering = ["cluster", "day", "load_balancer"]
        constraints = [
            models.UniqueConstraint(fields=["load_balancer", "day"], name="loadbalancercostday_unique_day")
        ]
        indexes = [models.Index(fields=["day", "cluster"], name="lbcostday_day_cluster")]

    def __str__(self) -> str:
        return f"load balancer {self.load_balancer_id} {self.day:%Y-%m-%d}: {self.cost}"


class DepartmentCostDay(models.Model):
    """One department's (or one `separate` pool line's) day in one cluster: direct + pool shares."""

    day = models.DateField(verbose_name=_("day"))
    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    name = models.CharField(
        max_length=200, help_text=_("department name, or Shared / Idle / Overhead"), verbose_name=_("name")
    )
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cost_days",
        verbose_name=_("department"),
    )
    is_line = models.BooleanField(
        default=False, help_text=_("a pool kept as its own line"), verbose_name=_("is line")
    )
    policy = models.ForeignKey(
        Policy, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("policy")
    )
    direct = models.DecimalField(**MONEY, verbose_name=_("direct"))
    shared = models.DecimalField(**MONEY, verbose_name=_("shared"))
    idle = models.DecimalField(**MONEY, verbose_name=_("idle"))
    gpu_idle = models.DecimalField(**MONEY, db_default=0, verbose_name=_("idle GPU"))
    overhead = models.DecimalField(**MONEY, verbose_name=_("overhead"))
    total = models.DecimalField(**MONEY, verbose_name=_("total"))

    class Meta:
        verbose_name = _("department cost day")
        verbose_name_plural = _("department cost days")
        ordering = ["day", "cluster", "name"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "day", "name"], name="departmentcostday_unique_day")
        ]
        indexes = [models.Index(fields=["day", "name"], name="departmentcostday_day_name")]

    def __str__(self) -> str:
        return f"{self.name} in cluster {self.cluster_id} {self.day:%Y-%m-%d}: {self.total}"


class PoolShareDay(models.Model):
    """How one pool of one cluster-day was divided: who got what fraction, by which method and basis."""

    day = models.DateField(verbose_name=_("day"))
    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    pool = models.CharField(max_length=10, choices=Pool.choices, verbose_name=_("pool"))
    name = models.CharField(
        max_length=200, help_text=_("receiving department or line"), verbose_name=_("name")
    )
    method = models.CharField(
        max_length=20, help_text=_("method set by the policy"), verbose_name=_("method")
    )
    applied = models.CharField(
        max_length=100,
        help_text=_("method applied (after fall-backs), with the reason"),
        verbose_name=_("applied"),
    )
    scope = models.CharField(max_length=10, verbose_name=_("scope"))
    basis = models.CharField(max_length=100, blank=True, default="", verbose_name=_("basis"))
    resource = models.CharField(max_length=10, blank=True, default="", verbose_name=_("resource"))
    via = models.CharField(max_length=20, blank=True, default="", verbose_name=_("via"))
    pool_amount = models.DecimalField(**MONEY, verbose_name=_("pool amount"))
    fraction = models.FloatField(default=0, verbose_name=_("fraction"))
    amount = models.DecimalField(**MONEY, verbose_name=_("amount"))

    class Meta:
        verbose_name = _("pool share day")
        verbose_name_plural = _("pool share days")
        ordering = ["day", "cluster", "pool", "name"]
        indexes = [models.Index(fields=["day", "name"], name="poolshareday_day_name")]

    def __str__(self) -> str:
        return f"{self.pool} -> {self.name} {self.day:%Y-%m-%d}: {self.amount}"


class ContainerDay(models.Model):
    """One container of a workload on one day: what right-sizing needs of its container-hours, written with
    the cluster-day's results (costing.recommendations.store_container_days), read instead of 24 times as
    many hour rows. Exact: the fields and the two packed arrays are costing.engine.rightsizing.ContainerDays.
    """

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster")
    )
    day = models.DateField(verbose_name=_("day"))
    workload = models.ForeignKey(
        Workload, on_delete=models.CASCADE, related_name="container_days", verbose_name=_("workload")
    )
    container = models.CharField(max_length=63, verbose_name=_("container"))
    cpu_peak_cores = models.FloatField(
        null=True,
        blank=True,
        help_text=_("highest CPU usage of its hours with metrics"),
        verbose_name=_("CPU peak cores"),
    )
    mem_peak_bytes = models.FloatField(
        null=True,
        blank=True,
        help_text=_("highest working set of its hours with metrics"),
        verbose_name=_("memory peak bytes"),
    )
    mem_top_bytes = models.FloatField(
        default=0, help_text=_("highest working set of all its hours"), verbose_name=_("memory top bytes")
    )
    mem_limit_bytes = models.FloatField(
        default=0,
        help_text=_("highest memory limit per replica (0: none)"),
        verbose_name=_("memory limit bytes"),
    )
    last_hour = models.DateTimeField(verbose_name=_("last hour"))
    last_seconds = models.FloatField(default=0, verbose_name=_("seconds of the last hour"))
    last_cpu_request_core_hours = models.FloatField(
        default=0, verbose_name=_("CPU request core hours of the last hour")
    )
    last_mem_request_gib_hours = models.FloatField(
        default=0, verbose_name=_("memory request GiB hours of the last hour")
    )
    last_mem_limit_gib_hours = models.FloatField(
        default=0, verbose_name=_("memory limit GiB hours of the last hour")
    )
    cpu_cost = models.FloatField(
        default=0, help_text=_("CPU billed at its node-hours' unit prices"), verbose_name=_("CPU cost")
    )
    mem_cost = models.FloatField(
        default=0, help_text=_("memory billed at its node-hours' unit prices"), verbose_name=_("memory cost")
    )
    mem_price_hours = models.FloatField(
        default=0,
        help_text=_("its hours times their price per GiB-hour"),
        verbose_name=_("memory price hours"),
    )
    histogram = models.BinaryField(
        default=bytes,
        help_text=_("CPU histogram: float64 (bucket, seconds) pairs"),
        verbose_name=_("histogram"),
    )
    steps = models.BinaryField(
        default=bytes,
        help_text=_(
            "cost and seconds above a request, as steps: float64 (x, cost a, cost b, over a, over b)"
        ),
        verbose_name=_("steps"),
    )

    class Meta:
        verbose_name = _("container day")
        verbose_name_plural = _("container days")
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "day", "workload", "container"], name="containerday_unique_day"
            )
        ]

    def __str__(self) -> str:
        return f"workload {self.workload_id} container {self.container} {self.day:%Y-%m-%d}"
