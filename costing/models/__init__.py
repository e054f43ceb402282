"""The cost domain's tables, by family: inventory, usage, billing, policy, results, operations."""

from .accounts import SsoGroupRule, SsoIdentity
from .billing import BillImport, BillLine, ExchangeRate
from .inventory import Cluster, Namespace, Node, NodeInstance, NodePool, Pod, Workload
from .operations import WorkerHeartbeat
from .policy import Department, DepartmentRule, FallbackPrice, Policy, TagRule
from .results import (
    ClusterDay,
    DepartmentCostDay,
    NamespaceCostDay,
    NodeCostDay,
    NodeCostHour,
    PodCostDay,
    PoolShareDay,
    WorkloadCostDay,
)
from .usage import ContainerHour, CoverageHour, NodeHour, PodHour, SampleSlot

__all__ = [
    "BillImport",
    "BillLine",
    "Cluster",
    "ClusterDay",
    "ContainerHour",
    "CoverageHour",
    "Department",
    "DepartmentCostDay",
    "DepartmentRule",
    "ExchangeRate",
    "FallbackPrice",
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
    "WorkerHeartbeat",
    "Workload",
    "WorkloadCostDay",
]
