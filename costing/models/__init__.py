"""The cost domain's tables, by family: inventory, usage, billing, policy, operations."""

from .billing import BillImport, BillLine
from .inventory import Cluster, Namespace, Node, NodePool, Pod, Workload
from .operations import WorkerHeartbeat
from .policy import Department, DepartmentRule, FallbackPrice, Policy, TagRule
from .usage import CoverageHour, NodeHour, PodHour, SampleSlot

__all__ = [
    "BillImport",
    "BillLine",
    "Cluster",
    "CoverageHour",
    "Department",
    "DepartmentRule",
    "FallbackPrice",
    "Namespace",
    "Node",
    "NodeHour",
    "NodePool",
    "Pod",
    "PodHour",
    "Policy",
    "SampleSlot",
    "TagRule",
    "WorkerHeartbeat",
    "Workload",
]
