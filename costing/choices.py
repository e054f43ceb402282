"""Choices and constants of the cost domain, in one place."""

from django.db import models

UNALLOCATED = "Unallocated"
SHARED_LINE = "Shared"
IDLE_LINE = "Idle"
OVERHEAD_LINE = "Overhead"
RESERVED_DEPARTMENT_NAMES = (UNALLOCATED, SHARED_LINE, IDLE_LINE, OVERHEAD_LINE)

GIB = 2**30
SECONDS_PER_HOUR = 3600


class ConnectionType(models.TextChoices):
    KUBECONFIG = "kubeconfig", "Kubeconfig file and context"
    IN_CLUSTER = "in_cluster", "In-cluster service account"
    SIMULATOR = "simulator", "Demo simulator"
    PROMETHEUS = "prometheus", "Prometheus (kube-state-metrics and cAdvisor)"


class SampleStatus(models.TextChoices):
    OK = "ok", "Sampled"
    GAP = "gap", "Gap"


class SampleSource(models.TextChoices):
    COLLECTOR = "collector", "Collector"
    IMPORT = "import", "Bulk import"
    SIMULATOR = "simulator", "Simulator backfill"
    PROMETHEUS = "prometheus", "Prometheus"


class OwnerKind(models.TextChoices):
    DEPLOYMENT = "Deployment"
    STATEFULSET = "StatefulSet"
    DAEMONSET = "DaemonSet"
    CRONJOB = "CronJob"
    JOB = "Job"
    REPLICASET = "ReplicaSet"
    POD = "Pod"


class BillFormat(models.TextChoices):
    FOCUS = "focus", "FOCUS 1.x"
    CBC = "cbc", "Huawei Cloud CBC resource bill"


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class LineKind(models.TextChoices):
    NODE = "node", "Node compute"
    OVERHEAD = "overhead", "Cluster overhead"
    OUTSIDE = "outside", "Outside Kubernetes"


class SplitMethod(models.TextChoices):
    COST_SHARE = "cost_share", "Cost share (CPU gets share s of the node cost)"
    PRICE_RATIO = "price_ratio", "Price ratio (a core-hour costs k GiB-hours)"


class PoolMethod(models.TextChoices):
    PROPORTIONAL = "proportional", "Proportional to direct cost"
    EVEN = "even", "Evenly"
    WEIGHTS = "weights", "Fixed weights"
    SEPARATE = "separate", "Not divided (own line)"
    PER_RESOURCE = "per_resource", "Per resource (idle only)"


class Scope(models.TextChoices):
    CLUSTER = "cluster", "Within each cluster"
    GLOBAL = "global", "Across all clusters"


class Pool(models.TextChoices):
    SHARED = "shared", "Shared namespaces"
    IDLE = "idle", "Idle"
    OVERHEAD = "overhead", "Overhead"


class Role(models.TextChoices):
    """Django groups that carry the product's roles."""

    ADMIN = "FinOps admin"
    VIEWER = "Viewer"
    DEPARTMENT_VIEWER = "Department viewer"


class SubjectKind(models.TextChoices):
    """What a budget, a forecast or an alert is about."""

    ORGANISATION = "organisation", "Organisation"
    DEPARTMENT = "department", "Department"
    NAMESPACE = "namespace", "Namespace"
    CLUSTER = "cluster", "Cluster"
    WORKLOAD = "workload", "Workload"  # anomalies only: budgets are not set per workload


class BudgetPeriod(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    YEAR = "year", "Year"


class AlertKind(models.TextChoices):
    BUDGET = "budget", "Actual cost crossed a budget threshold"
    FORECAST = "forecast", "Forecast crossed a budget threshold"
    ANOMALY = "anomaly", "Anomalous day"


class ChannelKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    GENERIC = "generic", "Webhook, generic JSON"
    SLACK = "slack", "Slack"
    FEISHU = "feishu", "Feishu / Lark"
    DINGTALK = "dingtalk", "DingTalk"
    WECOM = "wecom", "WeCom"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


# Percent of the budget at which actual or forecast cost raises an alert, unless a budget says otherwise.
DEFAULT_THRESHOLDS = (80, 100)
