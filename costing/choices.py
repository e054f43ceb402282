"""Choices and constants of the cost domain, in one place."""

from django.db import models
from django.utils.translation import gettext_lazy as _

UNALLOCATED = "Unallocated"
SHARED_LINE = "Shared"
IDLE_LINE = "Idle"
IDLE_GPU_LINE = "Idle GPU"
OVERHEAD_LINE = "Overhead"
RESERVED_DEPARTMENT_NAMES = (UNALLOCATED, SHARED_LINE, IDLE_LINE, IDLE_GPU_LINE, OVERHEAD_LINE)

GIB = 2**30
SECONDS_PER_HOUR = 3600


class ConnectionType(models.TextChoices):
    KUBECONFIG = "kubeconfig", _("Kubeconfig file and context")
    IN_CLUSTER = "in_cluster", _("In-cluster service account")
    SIMULATOR = "simulator", _("Demo simulator")
    PROMETHEUS = "prometheus", _("Prometheus (kube-state-metrics and cAdvisor)")


class SampleStatus(models.TextChoices):
    OK = "ok", _("Sampled")
    GAP = "gap", _("Gap")


class SampleSource(models.TextChoices):
    COLLECTOR = "collector", _("Collector")
    IMPORT = "import", _("Bulk import")
    SIMULATOR = "simulator", _("Simulator backfill")
    PROMETHEUS = "prometheus", _("Prometheus")


class OwnerKind(models.TextChoices):
    # Kubernetes kinds are names, shown as they are in every language (as CCE's console shows them).
    DEPLOYMENT = "Deployment", "Deployment"
    STATEFULSET = "StatefulSet", "StatefulSet"
    DAEMONSET = "DaemonSet", "DaemonSet"
    CRONJOB = "CronJob", "CronJob"
    JOB = "Job", "Job"
    REPLICASET = "ReplicaSet", "ReplicaSet"
    POD = "Pod", "Pod"


class BillFormat(models.TextChoices):
    FOCUS = "focus", _("FOCUS 1.x")
    CBC = "cbc", _("Huawei Cloud CBC resource bill")


class RunStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class LineKind(models.TextChoices):
    NODE = "node", _("Node compute")
    VOLUME = "volume", _("Persistent volume disk")
    OVERHEAD = "overhead", _("Cluster overhead")
    LOAD_BALANCER = "load_balancer", _("Load balancer")
    OUTSIDE = "outside", _("Outside Kubernetes")


class SplitMethod(models.TextChoices):
    COST_SHARE = "cost_share", _("Cost share (CPU gets share s of the node cost)")
    PRICE_RATIO = "price_ratio", _("Price ratio (a core-hour costs k GiB-hours)")


class PoolMethod(models.TextChoices):
    PROPORTIONAL = "proportional", _("Proportional to direct cost")
    EVEN = "even", _("Evenly")
    WEIGHTS = "weights", _("Fixed weights")
    SEPARATE = "separate", _("Not divided (own line)")
    PER_RESOURCE = "per_resource", _("Per resource (idle only)")


class Scope(models.TextChoices):
    CLUSTER = "cluster", _("Within each cluster")
    GLOBAL = "global", _("Across all clusters")


class Pool(models.TextChoices):
    SHARED = "shared", _("Shared namespaces")
    IDLE = "idle", _("Idle")
    GPU_IDLE = "gpu_idle", _("Idle GPU")
    OVERHEAD = "overhead", _("Overhead")


class Role(models.TextChoices):
    """Django groups that carry the product's roles."""

    ADMIN = "FinOps admin", _("FinOps admin")
    VIEWER = "Viewer", _("Viewer")
    DEPARTMENT_VIEWER = "Department viewer", _("Department viewer")


class SubjectKind(models.TextChoices):
    """What a budget, a forecast or an alert is about."""

    ORGANISATION = "organisation", _("Organisation")
    DEPARTMENT = "department", _("Department")
    NAMESPACE = "namespace", _("Namespace")
    CLUSTER = "cluster", _("Cluster")
    WORKLOAD = "workload", _("Workload")  # anomalies only: budgets are not set per workload


class BudgetPeriod(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


class AlertKind(models.TextChoices):
    BUDGET = "budget", _("Actual cost crossed a budget threshold")
    FORECAST = "forecast", _("Forecast crossed a budget threshold")
    ANOMALY = "anomaly", _("Anomalous day")


class ChannelKind(models.TextChoices):
    EMAIL = "email", _("E-mail")
    GENERIC = "generic", _("Webhook, generic JSON")
    SLACK = "slack", _("Slack")
    FEISHU = "feishu", _("Feishu / Lark")
    DINGTALK = "dingtalk", _("DingTalk")
    WECOM = "wecom", _("WeCom")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


# Percent of the budget at which actual or forecast cost raises an alert, unless a budget says otherwise.
DEFAULT_THRESHOLDS = (80, 100)
