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


class SampleStatus(models.TextChoices):
    OK = "ok", "Sampled"
    GAP = "gap", "Gap"


class SampleSource(models.TextChoices):
    COLLECTOR = "collector", "Collector"
    IMPORT = "import", "Bulk import"
    SIMULATOR = "simulator", "Simulator backfill"


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
