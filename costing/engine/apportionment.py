"""Who pays: one day's namespace, shared, idle and overhead costs divided among departments (docs/cost-model.md, rule 8)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from costing.engine._validate import EngineInputError, require_columns, require_finite, require_unique

# Idle GPU is a pool of its own (its own line, its own column), divided by the idle pool's method unless
# the policy gives it one (docs/policy.md).
POOLS = ("shared", "idle", "gpu_idle", "overhead")
IDLE_POOLS = ("idle", "gpu_idle")
METHODS = ("proportional", "even", "weights", "separate")
IDLE_METHODS = (*METHODS, "per_resource")
SCOPES = ("cluster", "global")
# The line a pool stays on when it is `separate` or nobody can take it.
LINES = {"shared": "Shared", "idle": "Idle", "gpu_idle": "Idle GPU", "overhead": "Overhead"}
UNALLOCATED = "Unallocated"
AMOUNTS = ["direct", "shared", "idle", "gpu_idle", "overhead"]
REL_TOL = 1e-9

EXPLAIN_COLUMNS = [
    "cluster",
    "pool",
    "department",
    "method",
    "applied",
    "scope",
    "basis",
    "resource",
    "via",
    "pool_amount",
    "fraction",
    "amount",
]


class ApportionmentMismatch(AssertionError):
    """Department totals and lines do not add up to a cluster's cost: a bug, never a property of the data."""


@dataclass(frozen=True)
class ApportionInputs:
    """One UTC day of all clusters.

    namespaces: cluster, namespace, department, shared (bool), cpu_cost, mem_cost, cost; one row per
        (cluster, namespace). The department is resolved by the caller ("Unallocated" when no rule
        claims the namespace) and ignored for shared namespaces.
    idle: cluster, cpu_idle, mem_idle, optionally gpu_idle and storage_idle (several rows per cluster are
        added up); namespaces may carry gpu_cost and storage_cost, the bases of idle GPU and of storage
        idle (released or unbound volumes) under per_resource.
    overhead: cluster, cost (several rows per cluster are added up).
    """

    namespaces: pd.DataFrame
    idle: pd.DataFrame
    overhead: pd.DataFrame


@dataclass(frozen=True)
class ApportionRules:
    """How the policy divides each common pool.

    shared, idle, overhead: the method of each pool, one of METHODS (idle also "per_resource").
    gpu_idle: the method of idle GPU (one of IDLE_METHODS); None: idle's method.
    shared_scope, overhead_scope: "cluster" or "global"; idle and idle GPU are always divided within
    their cluster.
    weights: percentage per department for the "weights" method (normalised, need not add to 100).
    departments: every department of the policy, in display order.
    """

    shared: str = "proportional"
    idle: str = "proportional"
    overhead: str = "proportional"
    shared_scope: str = "cluster"
    overhead_scope: str = "cluster"
    weights: Mapping[str, float] = field(default_factory=dict)
    departments: Sequence[str] = ()
    gpu_idle: str | None = None

    def method(self, pool: str) -> str:
        if pool == "gpu_idle" and self.gpu_idle is None:
            return self.idle
        return getattr(self, pool)

    def scope(self, pool: str) -> str:
        return "cluster" if pool in IDLE_POOLS else getattr(self, f"{pool}_scope")

    def validate(self) -> None:
        for pool in POOLS:
            allowed = IDLE_METHODS if pool in IDLE_POOLS else METHODS
            if self.method(pool) not in allowed:
                raise EngineInputError(
                    f"rules.{pool}: {self.method(pool)!r} is not one of {', '.join(allowed)}"
                )
        for pool in ("shared", "overhead"):
            if self.scope(pool) not in SCOPES:
                raise EngineInputError(
                    f"rules.{pool}_scope: {self.scope(pool)!r} is not one of {', '.join(SCOPES)}"
                )
        for name in [*self.departments, *self.weights]:
            if name in LINES.values():
                raise EngineInputError(
                    f"rules.departments: {name!r} is reserved for the line of a common pool"
                )
        if len(set(self.departments)) != len(self.departments):
            raise EngineInputError("rules.departments: a department is listed twice")
        for name, weight in self.weights.items():
            if self.departments and name not in self.departments:
                raise EngineInputError(f"rules.weights[{name!r}]: not a department of the policy")
            if not (np.isfinite(weight) and weight >= 0):
                raise EngineInputError(f"rules.weights[{name!r}]: {weight!r} is not a number >= 0")


@dataclass(frozen=True)
class Apportionment:
    """The result of apportion().

    lines: one row per (cluster, department) plus the pool lines ("Shared", "Idle", "Idle GPU",
        "Overhead"); columns cluster, department, kind ("department" or "line"), direct, shared, idle,
        gpu_idle, overhead, total. `cluster` is always the cluster the cost arose in, also for global-scope pools, so the
        rows of a cluster add up to that cluster's cost and the sum over clusters is the global view.
    explain: one row per (cluster, pool, recipient) with the columns of EXPLAIN_COLUMNS: the method
        configured and the one applied (after fallbacks), the scope, the weight basis, the resource
        ("all", "cpu", "memory"), via ("shared" for the shared namespaces' idle passed on), the
        amount divided, the recipient's fraction of it and its amount.
    """

    lines: pd.DataFrame
    explain: pd.DataFrame


def apportion(
    day_inputs: ApportionInputs,
    rules: ApportionRules,
    *,
    pool_order: Sequence[str] = POOLS,
) -> Apportionment:
    """Divide one day's common pools among departments and return the lines and their explanation.

    Every weight comes from the namespaces' costs before any pool is divided, so the pools do not
    depend on each other; `pool_order` only exists so tests can show that.
    """
    rules.validate()
    if sorted(pool_order) != sorted(POOLS):
        raise EngineInputError(f"pool_order: {list(pool_order)!r} is not an ordering of {', '.join(POOLS)}")
    ns, idle, overhead = _checked(day_inputs)
    day = _Day(ns, idle, overhead, rules)

    columns: dict[str, np.ndarray] = {}
    for pool in pool_order:
        if pool == "gpu_idle" and not day.pools["idle_gpu"].any():
            # No idle GPU anywhere (no GPU nodes): nothing to divide, nothing to explain.
            columns[pool] = np.zeros((len(day.clusters), len(day.recipients)))
        elif pool in IDLE_POOLS and rules.method(pool) == "per_resource":
            columns[pool] = day.per_resource_idle(pool)
        elif pool == "idle":
            columns[pool] = day.divide(
                "idle", day.pools["idle_cpu"] + day.pools["idle_mem"] + day.pools["idle_storage"]
            )
        elif pool == "gpu_idle":
            columns[pool] = day.divide("gpu_idle", day.pools["idle_gpu"])
        else:
            columns[pool] = day.divide(pool, day.pools[pool])

    lines = day.lines(columns)
    day.check(lines)
    return Apportionment(lines=lines, explain=day.explanation())


def _checked(day_inputs: ApportionInputs) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ns = day_inputs.namespaces
    require_columns(
        ns,
        ["cluster", "namespace", "department", "shared", "cpu_cost", "mem_cost", "cost"],
        name="namespaces",
    )
    require_columns(day_inputs.idle, ["cluster", "cpu_idle", "mem_idle"], name="idle")
    require_columns(day_inputs.overhead, ["cluster", "cost"], name="overhead")
    require_finite(ns, ["cpu_cost", "mem_cost", "cost"], name="namespaces")
    require_finite(day_inputs.idle, ["cpu_idle", "mem_idle"], name="idle")
    require_finite(day_inputs.overhead, ["cost"], name="overhead")
    require_unique(ns, ["cluster", "namespace"], name="namespaces")
    ns = ns.assign(shared=ns["shared"].astype(bool))
    # GPUs are optional: without the columns there is no GPU cost and no idle GPU.
    # So are persistent volumes: no storage cost, no storage idle.
    for column in ("gpu_cost", "storage_cost"):
        if column not in ns.columns:
            ns = ns.assign(**{column: 0.0})
    require_finite(ns, ["gpu_cost", "storage_cost"], name="namespaces")
    idle = day_inputs.idle
    for column in ("gpu_idle", "storage_idle"):
        if column not in idle.columns:
            idle = idle.assign(**{column: 0.0})
    require_finite(idle, ["gpu_idle", "storage_idle"], name="idle")
    unnamed = (~ns["shared"] & ns["department"].isna()).to_numpy()
    if unnamed.any():
        row = ns.index[int(unnamed.argmax())]
        raise EngineInputError(f"namespaces: row {row!r}, column department: empty (use {UNALLOCATED!r})")
    reserved = (~ns["shared"] & ns["department"].isin(list(LINES.values()))).to_numpy()
    if reserved.any():
        row = ns.index[int(reserved.argmax())]
        raise EngineInputError(
            f"namespaces: row {row!r}, column department: {ns['department'].iloc[int(reserved.argmax())]!r} "
            "is reserved for the line of a common pool"
        )
    return ns, idle, day_inputs.overhead


def _normalised(basis: np.ndarray) -> np.ndarray:
    """Each row divided by its sum; a row summing to 0 stays all 0 (nobody to take it)."""
    sums = basis.sum(axis=1, keepdims=True)
    return np.divide(basis, sums, out=np.zeros_like(basis), where=sums > 0)


_BASIS = {
    "proportional": "direct cost",
    "even": "departments with direct cost",
    "weights": "policy weights",
    "separate": "not divided",
}
# Name of the shared namespaces as a recipient of per_resource idle, in the explanation only.
SHARED_NAMESPACES = "(shared namespaces)"


class _Day:
    """One day as matrices: a row per cluster, a column per department (then the lines), all small."""

    def __init__(self, ns: pd.DataFrame, idle: pd.DataFrame, overhead: pd.DataFrame, rules: ApportionRules):
        self.rules = rules
        self.clusters = sorted(set(ns["cluster"]) | set(idle["cluster"]) | set(overhead["cluster"]))
        shared = ns["shared"].to_numpy(dtype=bool)
        extra = sorted(set(ns.loc[~shared, "department"]) - set(rules.departments) - set(rules.weights))
        self.departments = [
            *rules.departments,
            *[d for d in rules.weights if d not in rules.departments],
            *extra,
        ]
        self.recipients = [*self.departments, *LINES.values()]
        n_d = len(self.departments)
        cluster_index = pd.Index(self.clusters)

        # Column n_d holds the shared namespaces, so one matrix carries direct and shared costs.
        row = cluster_index.get_indexer(ns["cluster"])
        col = np.where(shared, n_d, pd.Index(self.departments).get_indexer(ns["department"]))

        def table(values) -> np.ndarray:
            out = np.zeros((len(self.clusters), n_d + 1))
            np.add.at(out, (row, col), np.asarray(values, dtype=float))
            return out

        def per_cluster(frame: pd.DataFrame, column: str) -> np.ndarray:
            out = np.zeros(len(self.clusters))
            np.add.at(out, cluster_index.get_indexer(frame["cluster"]), frame[column].to_numpy(dtype=float))
            return out

        costs = table(ns["cost"])
        self.direct = costs[:, :n_d]
        self.cpu_costs = table(ns["cpu_cost"])
        self.mem_costs = table(ns["mem_cost"])
        self.gpu_costs = table(ns["gpu_cost"])
        self.storage_costs = table(ns["storage_cost"])
        self.has_namespace = np.zeros((len(self.clusters), len(self.recipients)), dtype=bool)
        self.has_namespace[row[~shared], col[~shared]] = True
        self.pools = {
            "shared": costs[:, n_d],
            "idle_cpu": per_cluster(idle, "cpu_idle"),
            "idle_mem": per_cluster(idle, "mem_idle"),
            "idle_gpu": per_cluster(idle, "gpu_idle"),
            "idle_storage": per_cluster(idle, "storage_idle"),
            "overhead": per_cluster(overhead, "cost"),
        }
        self._notes: list[dict[str, np.ndarray]] = []

    def fractions(self, method: str, scope: str) -> tuple[np.ndarray, np.ndarray]:
        """Fraction of a pool per (cluster, department) and the method applied per cluster.

        Rows add up to 1, or to 0 where nobody can take the pool.
        """
        direct = (
            self.direct if scope == "cluster" else np.broadcast_to(self.direct.sum(axis=0), self.direct.shape)
        )
        direct = np.clip(direct, 0.0, None)
        even = _normalised((direct > 0).astype(float))
        applied = np.full(len(self.clusters), method, dtype=object)
        if method == "separate":
            return np.zeros_like(direct), applied
        if method == "even":
            result = even
        else:
            if method == "proportional":
                basis = direct
            else:
                weights = np.array([self.rules.weights.get(d, 0.0) for d in self.departments], dtype=float)
                basis = np.broadcast_to(weights, direct.shape)
            result = _normalised(basis)
            fallback = ~result.any(axis=1)
            result[fallback] = even[fallback]
            applied[fallback] = f"even (fallback: no {_BASIS[method]})"
        applied[~result.any(axis=1)] = "no taker"
        return result, applied

    def spread(self, amounts: np.ndarray, fractions: np.ndarray, line: str) -> np.ndarray:
        """amounts * fractions per recipient, with what no department takes on `line`."""
        matrix = np.zeros((len(self.clusters), len(self.recipients)))
        matrix[:, : len(self.departments)] = fractions * amounts[:, None]
        nobody = ~fractions.any(axis=1)
        matrix[:, self.recipients.index(line)] += np.where(nobody, amounts, 0.0)
        return matrix

    def divide(self, pool: str, amounts: np.ndarray, *, via: str = "", noted_as: str = "") -> np.ndarray:
        """Divide `amounts` (per cluster) by the pool's method; what nobody takes stays on the pool's line.

        via="shared" divides idle that passes on with the shared cost: shared's method, noted as the
        idle pool `noted_as`.
        """
        method, scope = self.rules.method(pool), self.rules.scope(pool)
        fractions, applied = self.fractions(method, scope)
        line = LINES[pool]
        self.note(
            noted_as or pool,
            method,
            applied,
            scope,
            _BASIS[method],
            "all",
            via,
            amounts,
            fractions,
            line,
        )
        return self.spread(amounts, fractions, line)

    def per_resource_idle(self, idle_pool: str = "idle") -> np.ndarray:
        """Idle CPU by CPU cost, idle memory by memory cost and storage idle by storage cost (idle_pool
        "idle"), or idle GPU by GPU cost ("gpu_idle"), over all namespaces, shared ones included.

        The shared namespaces' part of idle follows their shared cost: it is divided by the shared
        pool's method and scope, and shows in the idle column of whoever takes it.
        """
        n_d = len(self.departments)
        even, _ = self.fractions("even", "cluster")
        matrix = np.zeros((len(self.clusters), len(self.recipients)))
        passed_on = np.zeros(len(self.clusters))
        resources = (
            (("gpu", self.gpu_costs, "idle_gpu"),)
            if idle_pool == "gpu_idle"
            else (
                ("cpu", self.cpu_costs, "idle_cpu"),
                ("memory", self.mem_costs, "idle_mem"),
                ("storage", self.storage_costs, "idle_storage"),
            )
        )
        for resource, costs, pool in resources:
            if resource == "storage" and not self.pools[pool].any():
                continue  # no storage idle: nothing to divide, nothing to explain
            fractions = _normalised(np.clip(costs, 0.0, None))
            applied = np.full(len(self.clusters), "per_resource", dtype=object)
            fallback = ~fractions.any(axis=1)
            fractions[fallback, :n_d] = even[fallback]
            applied[fallback] = "even (fallback: no allocation)"
            taken = fractions.any(axis=1)
            applied[~taken] = "no taker"
            amounts = self.pools[pool]
            matrix[:, :n_d] += fractions[:, :n_d] * amounts[:, None]
            matrix[:, self.recipients.index(LINES[idle_pool])] += np.where(taken, 0.0, amounts)
            passed_on += fractions[:, n_d] * amounts
            self.note(
                idle_pool,
                "per_resource",
                applied,
                "cluster",
                f"{resource} cost",
                resource,
                "",
                amounts,
                fractions,
                LINES[idle_pool],
            )
        # The shared namespaces' idle goes where their cost goes (to their line when shared is separate).
        return matrix + self.divide("shared", passed_on, via="shared", noted_as=idle_pool)

    def note(self, pool, method, applied, scope, basis, resource, via, amounts, fractions, line) -> None:
        """Record who took which fraction of a division, for the explanation."""
        names = np.array([*self.departments, SHARED_NAMESPACES][: fractions.shape[1]], dtype=object)
        rows, cols = np.nonzero(fractions)
        nobody = np.flatnonzero(~fractions.any(axis=1))
        rows_all = np.concatenate([rows, nobody])
        fraction = np.concatenate([fractions[rows, cols], np.ones(len(nobody))])
        count = len(rows_all)
        self._notes.append(
            {
                "cluster": np.array(self.clusters, dtype=object)[rows_all],
                "pool": np.full(count, pool, dtype=object),
                "department": np.concatenate([names[cols], np.full(len(nobody), line, dtype=object)]),
                "method": np.full(count, method, dtype=object),
                "applied": applied[rows_all],
                "scope": np.full(count, scope, dtype=object),
                "basis": np.full(count, basis, dtype=object),
                "resource": np.full(count, resource, dtype=object),
                "via": np.full(count, via, dtype=object),
                "pool_amount": amounts[rows_all],
                "fraction": fraction,
                "amount": amounts[rows_all] * fraction,
            }
        )

    def explanation(self) -> pd.DataFrame:
        explain = pd.DataFrame(
            {c: np.concatenate([n[c] for n in self._notes]) if self._notes else [] for c in EXPLAIN_COLUMNS}
        )
        explain = explain.astype({"pool_amount": float, "fraction": float, "amount": float})
        explain = explain.sort_values(["cluster", "pool", "via", "resource"], kind="stable")
        return explain.reset_index(drop=True)

    def lines(self, columns: dict[str, np.ndarray]) -> pd.DataFrame:
        n_c, n_r = len(self.clusters), len(self.recipients)
        direct = np.zeros((n_c, n_r))
        direct[:, : len(self.departments)] = self.direct
        amounts = {"direct": direct.ravel(), **{pool: columns[pool].ravel() for pool in POOLS}}
        lines = pd.DataFrame(
            {
                "cluster": np.repeat(np.array(self.clusters, dtype=object), n_r),
                "department": np.tile(np.array(self.recipients, dtype=object), n_c),
                "kind": np.tile(
                    np.array(["department"] * len(self.departments) + ["line"] * len(LINES)), n_c
                ),
                **amounts,
            }
        )
        lines["total"] = lines[AMOUNTS].sum(axis=1)
        keep = self.has_namespace.ravel() | (lines[AMOUNTS] != 0).any(axis=1).to_numpy()
        return lines.loc[keep].reset_index(drop=True)

    def check(self, lines: pd.DataFrame) -> None:
        expected = self.direct.sum(axis=1) + sum(self.pools.values())
        got = np.zeros(len(self.clusters))
        np.add.at(got, pd.Index(self.clusters).get_indexer(lines["cluster"]), lines["total"].to_numpy())
        off = np.abs(got - expected) > REL_TOL * np.maximum(np.abs(expected), 1e-3)
        if off.any():
            i = int(off.argmax())
            raise ApportionmentMismatch(
                f"cluster {self.clusters[i]}: departments and lines add up to {got[i]!r}, "
                f"its cost is {expected[i]!r}"
            )
