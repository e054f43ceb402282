"""The input frames of the capacity levers, and the per-hour figures every lever derives from them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from costing.engine._validate import require_columns
from costing.engine.rightsizing import HOURS_PER_MONTH

__all__ = [
    "ADVICE_COLUMNS",
    "DAEMONSET",
    "HOURS_PER_MONTH",
    "NODE_COLUMNS",
    "POD_COLUMNS",
    "POOL_KEY",
    "WORKLOAD_KEY",
    "monthly",
    "prepare",
]

DAEMONSET = "DaemonSet"
WORKLOAD_KEY = ["cluster", "namespace", "workload_kind", "workload_name"]
POOL_KEY = ["cluster", "pool"]
# One row per node and hour: capacity sampled in the hour (core-hours, GiB-hours: a node present all hour
# gives its cores), the node-hour's cost and the unit prices its pods paid (NaN: not priced yet).
NODE_COLUMNS = ["cluster", "pool", "node", "hour", "cpu_cores", "mem_gib", "cost", "cpu_price", "mem_price"]
# One row per pod, node and hour: `present` is the share of the hour the pod was sampled (0..1]; the
# resource columns are resource-hours (core-hours, GiB-hours) as stored by the recorder.
POD_COLUMNS = [
    *WORKLOAD_KEY, "pod", "node", "hour", "present",
    "cpu_request", "mem_request", "cpu_usage", "mem_usage", "cpu_billable", "mem_billable",
]  # fmt: skip
# Right-sizing per workload: the change of each replica's request (cores, GiB; summed over the containers
# that have a recommendation) and the monthly saving of its over-requested containers.
ADVICE_COLUMNS = [*WORKLOAD_KEY, "cpu_delta_cores", "mem_delta_gib", "monthly_saving"]


def monthly(amount, window_hours: float):
    """A window's amount as a month of 730 hours."""
    return amount * HOURS_PER_MONTH / window_hours if window_hours > 0 else amount * 0


def prepare(
    nodes: pd.DataFrame, pods: pd.DataFrame, advice: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Checked copies of the frames: pods with their node's pool and unit prices, their cost, their request
    rates (cores and GiB while present) today and with the right-sizing advice (`*_rec`)."""
    require_columns(nodes, NODE_COLUMNS, name="nodes")
    require_columns(pods, POD_COLUMNS, name="pods")
    require_columns(advice, ADVICE_COLUMNS, name="advice")
    nodes = nodes[NODE_COLUMNS].copy()
    # Names as objects and numbers as floats whatever the frames were built from (an empty frame too).
    nodes[["cluster", "pool", "node"]] = nodes[["cluster", "pool", "node"]].astype(object)
    nodes["hour"] = pd.to_datetime(nodes["hour"], utc=True)
    for column in ("cpu_cores", "mem_gib", "cost", "cpu_price", "mem_price"):
        nodes[column] = pd.to_numeric(nodes[column], errors="coerce").astype(float)
    nodes[["cpu_cores", "mem_gib", "cost"]] = nodes[["cpu_cores", "mem_gib", "cost"]].fillna(0.0)
    pods = pods[POD_COLUMNS].copy()
    pods[[*WORKLOAD_KEY, "pod", "node"]] = pods[[*WORKLOAD_KEY, "pod", "node"]].astype(object)
    numbers = [
        "present",
        "cpu_request",
        "mem_request",
        "cpu_usage",
        "mem_usage",
        "cpu_billable",
        "mem_billable",
    ]
    pods[numbers] = pods[numbers].astype(float)
    pods["hour"] = pd.to_datetime(pods["hour"], utc=True)
    pods = pods.merge(
        nodes[["cluster", "node", "hour", "pool", "cpu_price", "mem_price"]],
        on=["cluster", "node", "hour"],
        how="left",
    )
    pods["pool"] = pods["pool"].fillna("")
    present = pods["present"].astype(float).clip(lower=1e-9, upper=1.0)
    pods["present"] = present
    cpu_price = pods["cpu_price"].fillna(0.0)
    mem_price = pods["mem_price"].fillna(0.0)
    pods["cost"] = pods["cpu_billable"] * cpu_price + pods["mem_billable"] * mem_price
    pods["cpu_rate"] = pods["cpu_request"] / present
    pods["mem_rate"] = pods["mem_request"] / present
    deltas = advice[[*WORKLOAD_KEY, "cpu_delta_cores", "mem_delta_gib"]].drop_duplicates(WORKLOAD_KEY)
    deltas = deltas.astype(dict.fromkeys(WORKLOAD_KEY, object))
    pods = pods.merge(deltas, on=WORKLOAD_KEY, how="left")
    pods["cpu_rate_rec"] = np.maximum(pods["cpu_rate"] + pods["cpu_delta_cores"].fillna(0.0), 0.0)
    pods["mem_rate_rec"] = np.maximum(pods["mem_rate"] + pods["mem_delta_gib"].fillna(0.0), 0.0)
    pods["cpu_request_rec"] = pods["cpu_rate_rec"] * present
    pods["mem_request_rec"] = pods["mem_rate_rec"] * present
    return nodes, pods.drop(columns=["cpu_delta_cores", "mem_delta_gib"])
