"""What the engine computed: stored daily (and, for explanations, hourly) costs that pages and reports read.

All amounts are in the organisation's currency, Decimal with 8 places; they are exact sums of the
engine's results, and rounded to cents only where they are shown (largest remainder).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from costing.choices import Pool

from .base import MONEY, AllocatedCost, GpuHours, ResourceHours
from .inventory import Cluster, LoadBalancer, Namespace, Node, NodePool, Pod, Workload
from .policy import Department, Policy


class ClusterDay(models.Model):
    """One cluster's computed day: its physical cost split into workload, idle and overhead.

    Also the unit of recomputation: `dirty` marks a day whose inputs changed since it was computed
    (late samples, a new bill, a policy change); computing it takes a row lock on this row.
    """

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    policy = models.ForeignKey(Policy, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    dirty = models.BooleanField(default=True)
    # Bumped by every mark_days_dirty: a computation clears `dirty` only if no mark came in meanwhile.
    dirty_version = models.PositiveBigIntegerField(default=0)
    # Fan-out across workers (costing/fanout.py): when a compute task for this cluster-day was sent and has
    # not run yet, and whether its cluster part was computed since the day's departments were apportioned.
    queued_at = models.DateTimeField(null=True, blank=True)
    apportion_pending = models.BooleanField(default=False)
    computed_at = models.DateTimeField(null=True, blank=True)
    physical_cost = models.DecimalField(**MONEY)
    workload_cost = models.DecimalField(**MONEY)
    idle_cost = models.DecimalField(**MONEY)
    overhead_cost = models.DecimalField(**MONEY)
    # The part of workload_cost (what is charged) that is load balancers charged to their Services'
    # namespaces rather than pods: workload_cost = the pods' cost + network_cost.
    network_cost = models.DecimalField(**MONEY, db_default=0)
    estimated_cost = models.DecimalField(
        **MONEY, help_text="part of physical_cost priced from the fallback sheet"
    )
    unpriced_core_hours = models.FloatField(default=0, help_text="pod core-hours on node-hours with no price")
    coverage = models.FloatField(default=0, help_text="sampled share of the day's seconds, 0..1")

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

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    cost = models.DecimalField(**MONEY)
    cpu_cost_pool = models.DecimalField(**MONEY)
    mem_cost_pool = models.DecimalField(**MONEY)
    gpu_cost_pool = models.DecimalField(**MONEY, db_default=0)
    # The prices the pods paid: pool / max(capacity, billed), so below capacity the unit price of
    # docs/cost-model.md rule 4 and on an over-committed node-hour the pool divided by what its pods billed.
    cpu_price = models.FloatField(null=True, blank=True, help_text="per core-hour charged to pods")
    mem_price = models.FloatField(null=True, blank=True, help_text="per GiB-hour charged to pods")
    gpu_price = models.FloatField(null=True, blank=True, help_text="per GPU-hour charged to pods")
    cpu_idle = models.DecimalField(**MONEY)
    mem_idle = models.DecimalField(**MONEY)
    gpu_idle = models.DecimalField(**MONEY, db_default=0)
    estimated = models.BooleanField(default=False)
    sampled = models.BooleanField(default=True)

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

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="cost_days")
    node_pool = models.ForeignKey(NodePool, on_delete=models.CASCADE, related_name="cost_days")
    cost = models.DecimalField(**MONEY)
    cpu_cost_pool = models.DecimalField(**MONEY)
    mem_cost_pool = models.DecimalField(**MONEY)
    gpu_cost_pool = models.DecimalField(**MONEY, db_default=0)
    cpu_idle = models.DecimalField(**MONEY)
    mem_idle = models.DecimalField(**MONEY)
    gpu_idle = models.DecimalField(**MONEY, db_default=0)
    estimated_cost = models.DecimalField(**MONEY)
    cpu_capacity_core_hours = models.FloatField(default=0)
    mem_capacity_gib_hours = models.FloatField(default=0)
    gpu_capacity_hours = models.FloatField(default=0, db_default=0)
    hours_billed = models.PositiveSmallIntegerField(default=0)
    hours_estimated = models.PositiveSmallIntegerField(default=0)
    hours_unsampled = models.PositiveSmallIntegerField(default=0)

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

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    pod = models.ForeignKey(Pod, on_delete=models.CASCADE, related_name="cost_days")
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="+")
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="+")
    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="+")
    samples = models.PositiveIntegerField(default=0)

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

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="+")
    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="cost_days")
    pods = models.PositiveIntegerField(default=0)

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

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="its first day")
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="+")
    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="cost_months")
    department = models.CharField(max_length=200, blank=True, default="")
    shared = models.BooleanField(default=False)
    days = models.PositiveSmallIntegerField(default=0)

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


class NamespaceCostDay(ResourceHours, GpuHours, AllocatedCost):
    """One namespace's day, with the department the policy of that day gave it (or shared)."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="cost_days")
    department = models.CharField(max_length=200, help_text="resolved owner; 'Unallocated' when no rule")
    shared = models.BooleanField(default=False)
    # Its Services' load balancers (LoadBalancerCostDay); part of `cost`, not of any pod or workload.
    network_cost = models.DecimalField(**MONEY, db_default=0)

    class Meta:
        verbose_name = _("namespace cost day")
        verbose_name_plural = _("namespace cost days")
        constraints = [
            models.UniqueConstraint(fields=["namespace", "day"], name="namespacecostday_unique_day")
        ]
        indexes = [models.Index(fields=["day", "cluster"], name="namespacecostday_day_cluster")]

    def __str__(self) -> str:
        return f"namespace {self.namespace_id} {self.day:%Y-%m-%d}: {self.cost}"


class LoadBalancerCostDay(models.Model):
    """One load balancer's day: its bill lines' cost in that day, charged to its Service's namespace."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    load_balancer = models.ForeignKey(LoadBalancer, on_delete=models.CASCADE, related_name="cost_days")
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="+")
    cost = models.DecimalField(**MONEY)
    lines = models.PositiveIntegerField(default=0, help_text="bill lines that touch the day")

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

    day = models.DateField()
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200, help_text="department name, or Shared / Idle / Overhead")
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="cost_days"
    )
    is_line = models.BooleanField(default=False, help_text="a pool kept as its own line")
    policy = models.ForeignKey(Policy, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    direct = models.DecimalField(**MONEY)
    shared = models.DecimalField(**MONEY)
    idle = models.DecimalField(**MONEY)
    gpu_idle = models.DecimalField(**MONEY, db_default=0)
    overhead = models.DecimalField(**MONEY)
    total = models.DecimalField(**MONEY)

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

    day = models.DateField()
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    pool = models.CharField(max_length=10, choices=Pool.choices)
    name = models.CharField(max_length=200, help_text="receiving department or line")
    method = models.CharField(max_length=20, help_text="method set by the policy")
    applied = models.CharField(max_length=100, help_text="method applied (after fall-backs), with the reason")
    scope = models.CharField(max_length=10)
    basis = models.CharField(max_length=100, blank=True, default="")
    resource = models.CharField(max_length=10, blank=True, default="")
    via = models.CharField(max_length=20, blank=True, default="")
    pool_amount = models.DecimalField(**MONEY)
    fraction = models.FloatField(default=0)
    amount = models.DecimalField(**MONEY)

    class Meta:
        verbose_name = _("pool share day")
        verbose_name_plural = _("pool share days")
        ordering = ["day", "cluster", "pool", "name"]
        indexes = [models.Index(fields=["day", "name"], name="poolshareday_day_name")]

    def __str__(self) -> str:
        return f"{self.pool} -> {self.name} {self.day:%Y-%m-%d}: {self.amount}"
