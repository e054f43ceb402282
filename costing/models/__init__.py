"""The cost domain's tables, by family: inventory, usage, billing, policy, results, budgets, operations."""

from .accounts import SsoGroupRule, SsoIdentity, UserLanguage
from .billing import BillImport, BillLine, ExchangeRate
from .budgets import Alert, AlertChannel, AlertDelivery, Budget, BudgetPlan
from .inventory import Cluster, LoadBalancer, Namespace, Node, NodeInstance, NodePool, Pod, Volume, Workload
from .operations import WorkerHeartbeat
from .policy import Department, DepartmentRule, FallbackPrice, Policy, TagRule
from .results import (
    ClusterDay,
    DepartmentCostDay,
    LoadBalancerCostDay,
    NamespaceCostDay,
    NodeCostDay,
    NodeCostHour,
    PodCostDay,
    PoolShareDay,
    VolumeCostDay,
    WorkloadCostDay,
    WorkloadCostMonth,
)
from .usage import (
    ContainerHour,
    CoverageHour,
    LoadBalancerHour,
    NodeHour,
    PodHour,
    SampleSlot,
    VolumeHour,
    VolumeMountHour,
)

__all__ = [
    "Alert",
    "AlertChannel",
    "AlertDelivery",
    "BillImport",
    "BillLine",
    "Budget",
    "BudgetPlan",
    "Cluster",
    "ClusterDay",
    "ContainerHour",
    "CoverageHour",
    "Department",
    "DepartmentCostDay",
    "DepartmentRule",
    "ExchangeRate",
    "FallbackPrice",
    "LoadBalancer",
    "LoadBalancerCostDay",
    "LoadBalancerHour",
    "Namespace",
    "NamespaceCostDay",
    "Node",
    "NodeCostDay",
    "NodeCostHour",
    "NodeHour",
    "NodeInstance",
    "NodePool",
    "Pod",
    "PodCostDay",
    "PodHour",
    "Policy",
    "PoolShareDay",
    "SampleSlot",
    "SsoGroupRule",
    "SsoIdentity",
    "TagRule",
    "UserLanguage",
    "Volume",
    "VolumeCostDay",
    "VolumeHour",
    "VolumeMountHour",
    "WorkerHeartbeat",
    "Workload",
    "WorkloadCostDay",
    "WorkloadCostMonth",
]
