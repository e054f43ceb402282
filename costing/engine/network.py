"""Network cost of one cluster-day: its load balancers' bill shares, charged to their Services' namespaces.

A load balancer is a namespace's cost, not a pod's: it is paid for as long as the Service exists, whatever
pods run behind it (docs/cost-model.md, Load balancers). Exact in 1e-8 units like costing/engine/rollup.py.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from costing.engine._validate import require_columns
from costing.engine.allocation import GPU_QUANTITIES, POD_QUANTITIES
from costing.engine.rollup import POD_MONEY
from costing.money import to_units

LOAD_BALANCER_DAY_COLUMNS = ["load_balancer", "namespace", "cost", "lines"]


def load_balancer_days(hours: pd.DataFrame) -> pd.DataFrame:
    """One row per load balancer: load_balancer, namespace, cost (int64 units), lines.

    hours: the day's hourly shares of the load balancers' bill lines: load_balancer, namespace,
    effective_cost (Decimal), lines (how many bill lines of the load balancer touch the day; the same
    on each of its rows). The Decimal shares are summed, then rounded once per load balancer, so a bill
    line's day equals the line to 1e-8 as a node's does.
    """
    require_columns(hours, ["load_balancer", "namespace", "effective_cost", "lines"], name="hours")
    if hours.empty:
        return pd.DataFrame({c: pd.Series([], dtype=np.int64) for c in LOAD_BALANCER_DAY_COLUMNS})
    totals: dict[tuple[int, int], Decimal] = {}
    lines: dict[tuple[int, int], int] = {}
    for lb, namespace, cost, count in zip(
        hours["load_balancer"].tolist(),
        hours["namespace"].tolist(),
        hours["effective_cost"].tolist(),
        hours["lines"].tolist(),
        strict=True,
    ):
        key = (int(lb), int(namespace))
        totals[key] = totals.get(key, Decimal(0)) + Decimal(cost)
        lines[key] = int(count)
    keys = sorted(totals)
    return pd.DataFrame(
        {
            "load_balancer": np.array([k[0] for k in keys], dtype=np.int64),
            "namespace": np.array([k[1] for k in keys], dtype=np.int64),
            "cost": np.array([to_units(totals[k]) for k in keys], dtype=np.int64),
            "lines": np.array([lines[k] for k in keys], dtype=np.int64),
        }
    )


def with_network(namespaces: pd.DataFrame, load_balancers: pd.DataFrame) -> pd.DataFrame:
    """The rollup's namespace days with network_cost (units) added to each namespace's cost.

    A namespace with a load balancer but no pod that day gets a row of its own (no quantities, no pod
    cost): its cost is its load balancers'. Rows stay sorted by namespace.
    """
    require_columns(load_balancers, ["namespace", "cost"], name="load_balancers")
    network = load_balancers.groupby("namespace")["cost"].sum()
    out = namespaces.copy()
    missing = sorted(set(network.index.tolist()) - set(out["namespace"].tolist()))
    if missing:
        blank = {
            "namespace": np.array(missing, dtype=out["namespace"].dtype if len(out) else np.int64),
            **{q: np.zeros(len(missing)) for q in (*POD_QUANTITIES, *GPU_QUANTITIES) if q in out.columns},
            **{m: np.zeros(len(missing), dtype=np.int64) for m in POD_MONEY},
        }
        # Any other column (the storage parts of costing/storage.py): zero as well.
        blank.update({c: np.zeros(len(missing), dtype=out[c].dtype) for c in out.columns if c not in blank})
        out = pd.concat([out, pd.DataFrame(blank)], ignore_index=True)
        out = out.sort_values("namespace", kind="stable").reset_index(drop=True)
    out["network_cost"] = out["namespace"].map(network).fillna(0).astype(np.int64).to_numpy()
    out["cost"] = out["cost"].astype(np.int64) + out["network_cost"]
    for money in POD_MONEY:
        out[money] = out[money].astype(np.int64)
    return out
